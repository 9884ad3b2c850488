using System.Diagnostics;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sentinel.Features.Graph;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Execution;
using Sentinel.Features.Jobs;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// The graph_ingest job: users → drives → drive items → permissions → impacted views, with groups (+ members) and
/// sites alongside until a phase reads them (<see cref="IngestPhasePlan"/>); each phase a slice sent through the
/// mediator on a branch of one <see cref="IngestRun"/> (run time, Graph counters, progress). Audits ingest.started,
/// ingest.phase_completed (with counts) and ingest.completed.
/// </summary>
internal sealed class GraphIngestExecutor(IMediator mediator, TimeProvider clock, IngestionTuning tuning, GraphRuBudget budget) : IJobExecutor
{
    public string JobType => JobTypes.GraphIngest;

    public async Task<JobOutcome> ExecuteAsync(JobRunContext run, CancellationToken ct)
    {
        GraphIngestOptions options;
        try
        {
            options = GraphIngestConfig.Parse(run.Config);
        }
        catch (RequestValidationException e)
        {
            throw new JobFailedException("invalid_config", e.Message);
        }
        // The run's config sets the tenant's RU budget that every process (other workers, the web) draws from.
        await budget.ConfigureAsync(options.RuPerMinute, options.RuPerDay, options.TenantLicences, ct);
        var ingest = new IngestRun(clock.GetUtcNow(), run.Progress) { ReportInterval = tuning.ProgressInterval, RunId = run.RunId };
        var ruByPhase = new Dictionary<string, long>();
        await run.Progress.AuditAsync("ingest.started", new { phases = options.Phases }, ct);
        await mediator.Send(new RecordTargetFailures.Command(ingest), ct);
        var summary = new Dictionary<string, object?>();
        // The dashboard's indexes a first full load deferred are built while the later phases run (BuildDeferredIndexes).
        Task<BuildDeferredIndexes.Result>? indexes = null;
        using var indexesCancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var indexesWatch = new Stopwatch();
        try
        {
            await IngestPhasePlan.RunAsync(GraphIngestConfig.AllPhases.Where(options.Runs).ToList(), ingest,
                async (phase, branch, whenDone, token) => phase switch
                {
                    GraphIngestConfig.Phases.Users => await mediator.Send(new IngestUsersDelta.Command(branch), token),
                    GraphIngestConfig.Phases.Groups => await mediator.Send(new IngestGroupsDelta.Command(branch), token),
                    GraphIngestConfig.Phases.Sites => await mediator.Send(new IngestSites.Command(branch), token),
                    GraphIngestConfig.Phases.Drives => await mediator.Send(new IngestDrives.Command(options, branch)
                        { SitesListed = t => whenDone(GraphIngestConfig.Phases.Sites, t) }, token),
                    GraphIngestConfig.Phases.DriveItems => await mediator.Send(new IngestDriveItemsDelta.Command(options, branch), token),
                    GraphIngestConfig.Phases.Permissions => await mediator.Send(new ScanPermissionsBatch.Command(options, branch), token),
                    GraphIngestConfig.Phases.RefreshViews => await RefreshViewsAsync(token),
                    _ => null,
                },
                async (done, token) =>
                {
                    summary[done.Phase] = done.Result;
                    ruByPhase[done.Phase] = done.ResourceUnits;
                    if (done.Phase == GraphIngestConfig.Phases.Permissions) RecordPermissionFailures(ingest);
                    // Persisted per phase: a later phase that fails the whole run does not lose the counts.
                    await mediator.Send(new RecordTargetFailures.Command(ingest), token);
                    await run.Progress.AuditAsync("ingest.phase_completed", new
                    {
                        phase = done.Phase,
                        result = done.Result,
                        seconds = Math.Round(done.Elapsed.TotalSeconds, 3),
                        requests = done.Requests,
                        estimated_ru = done.ResourceUnits,
                    }, token);
                    if (done.Phase == GraphIngestConfig.Phases.DriveItems)
                    {
                        indexesWatch.Start();
                        indexes = Task.Run(() => mediator.Send(new BuildDeferredIndexes.Command(), indexesCancel.Token), CancellationToken.None);
                    }
                }, ct);
            if (indexes is not null) await AwaitDeferredIndexesAsync(indexes, indexesWatch, ingest, run, summary, ct);
        }
        finally
        {
            // A run that fails or is cancelled stops the build; the next drive-item phase builds what is left.
            if (indexes is { IsCompleted: false })
            {
                await indexesCancel.CancelAsync();
                try { await indexes; } catch (Exception) { /* the failure that ended the run is the one reported */ }
            }
        }
        // The posture change feed compares the picture after this run with the previous one (its own slice).
        summary["posture_changes"] = await mediator.Send(new Posture.RecordPostureChanges.Command(run.RunId), ct);
        ingest.Phase = "done";
        await ingest.ReportAsync(ct, force: true);
        foreach (var (k, v) in ingest.Graph.ToProgress()) summary[k] = v;
        summary["ru_by_phase"] = ruByPhase;
        var failed = (await mediator.Send(new RecordTargetFailures.Command(ingest), ct)).Failed;
        var partial = PartialReason(failed);
        if (failed.Count > 0)
        {
            summary["targets_not_ingested"] = failed.Count;
            summary["failed_targets"] = failed.Take(MaxListedFailures).ToList();
        }
        await run.Progress.AuditAsync("ingest.completed", summary, ct);
        if (partial is not null && ingest.Failures.SucceededCount == 0)
            throw new JobFailedException("all_targets_failed", partial);
        return new JobOutcome(summary, partial);
    }

    /// <summary>Waits for the dashboard indexes the run is building in the background (progress phase "deferred_indexes").</summary>
    private static async Task AwaitDeferredIndexesAsync(Task<BuildDeferredIndexes.Result> indexes, Stopwatch watch, IngestRun ingest,
        JobRunContext run, Dictionary<string, object?> summary, CancellationToken ct)
    {
        if (!indexes.IsCompleted)
        {
            ingest.Phase = "deferred_indexes";
            await ingest.ReportAsync(ct, force: true);
        }
        BuildDeferredIndexes.Result built;
        try
        {
            built = await indexes;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new JobFailedException("index_build_failed", $"building the deferred drive-item indexes failed: {e.Message}");
        }
        if (built.Built == 0) return;
        summary["deferred_indexes_built"] = built.Built;
        await run.Progress.AuditAsync("ingest.deferred_indexes_built", new { built = built.Built, seconds = Math.Round(watch.Elapsed.TotalSeconds, 3) }, ct);
    }

    /// <summary>
    /// Items whose permission fetch failed stay dirty and are retried (the permission scan's own rule); for the run they
    /// are one failed target, so the run ends partial and the dashboard lists them with the other targets not ingested.
    /// </summary>
    private static void RecordPermissionFailures(IngestRun ingest)
    {
        var failed = ingest.Get("permission_items_failed");
        // items scanned in this run count as work done: a scan where some items failed is partial, not failed
        if (ingest.Get("files_scanned") > failed) ingest.Failures.Succeeded(TargetFailures.Permissions, PermissionScanTarget + "_items");
        if (failed > 0)
            ingest.Failures.Failed(TargetFailures.Permissions, PermissionScanTarget, "permission_fetch_failed",
                $"the permissions of {failed} items could not be fetched; they stay dirty and are retried next run");
        else
            ingest.Failures.Succeeded(TargetFailures.Permissions, PermissionScanTarget);
    }

    /// <summary>The target id under which failed permission fetches of a run are recorded.</summary>
    public const string PermissionScanTarget = "permission_scan";

    /// <summary>The run statistics list at most this many failed targets (the count and ingest_target_failures have them all).</summary>
    public const int MaxListedFailures = 200;

    /// <summary>"2 targets not ingested: drive ×1 (http_403_accessDenied), site_drives ×1 (http_423_resourceLocked)" — null when none failed.</summary>
    public static string? PartialReason(IReadOnlyList<RecordTargetFailures.FailedTarget> failed)
    {
        if (failed.Count == 0) return null;
        var groups = failed.GroupBy(f => f.TargetType).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key} ×{g.Count()} ({string.Join(", ", g.Select(f => f.Reason).Distinct().Order(StringComparer.Ordinal).Take(3))})");
        return $"targets_not_ingested: {failed.Count} target{(failed.Count == 1 ? "" : "s")} not ingested: {string.Join(", ", groups)}";
    }

    /// <summary>Refreshes the materialized views whose dependency tables changed (the Views area's slice).</summary>
    private async Task<object?> RefreshViewsAsync(CancellationToken ct) => await mediator.Send(new Views.RefreshImpactedViews.Command(), ct);
}

public static class IngestionRegistration
{
    /// <summary>Worker: the Graph client (token provider, raw HTTP, gate) the ingestion slices use. Slices and the executor are found by the feature scan.</summary>
    public static IServiceCollection AddGraphIngestion(this IServiceCollection services, SentinelSettings settings)
    {
        services.TryAddSingleton<IngestionTuning>();
        return services.AddGraphClient(settings);
    }
}

/// <summary>Process-level knobs of the ingestion that are not job config (tests shorten them).</summary>
public sealed record IngestionTuning
{
    /// <summary>Minimum time between progress writes to the run.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromMilliseconds(250);
}
