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
/// The graph_ingest job: users → groups (+ members) → sites → drives → drive items → permissions → impacted views,
/// each phase a slice sent through the mediator, sharing one <see cref="IngestRun"/> (run time, Graph counters,
/// progress). Audits ingest.started, ingest.phase_completed (with counts) and ingest.completed.
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
        var ingest = new IngestRun(clock.GetUtcNow(), run.Progress) { ReportInterval = tuning.ProgressInterval };
        var ruByPhase = new Dictionary<string, long>();
        await run.Progress.AuditAsync("ingest.started", new { phases = options.Phases }, ct);
        var summary = new Dictionary<string, object?>();
        foreach (var phase in GraphIngestConfig.AllPhases.Where(options.Runs))
        {
            ingest.Phase = phase;
            await ingest.ReportAsync(ct, force: true);
            var requestsBefore = ingest.Graph.Requests;
            var ruBefore = ingest.Graph.ResourceUnits;
            var watch = Stopwatch.StartNew();
            object? result = phase switch
            {
                GraphIngestConfig.Phases.Users => await mediator.Send(new IngestUsersDelta.Command(ingest), ct),
                GraphIngestConfig.Phases.Groups => await mediator.Send(new IngestGroupsDelta.Command(ingest), ct),
                GraphIngestConfig.Phases.Sites => await mediator.Send(new IngestSites.Command(ingest), ct),
                GraphIngestConfig.Phases.Drives => await mediator.Send(new IngestDrives.Command(options, ingest), ct),
                GraphIngestConfig.Phases.DriveItems => await mediator.Send(new IngestDriveItemsDelta.Command(options, ingest), ct),
                GraphIngestConfig.Phases.Permissions => await mediator.Send(new ScanPermissionsBatch.Command(options, ingest), ct),
                GraphIngestConfig.Phases.RefreshViews => await RefreshViewsAsync(ct),
                _ => null,
            };
            summary[phase] = result;
            ruByPhase[phase] = ingest.Graph.ResourceUnits - ruBefore;
            await run.Progress.AuditAsync("ingest.phase_completed", new
            {
                phase,
                result,
                seconds = Math.Round(watch.Elapsed.TotalSeconds, 3),
                requests = ingest.Graph.Requests - requestsBefore,
                estimated_ru = ingest.Graph.ResourceUnits - ruBefore,
            }, ct);
        }
        ingest.Phase = "done";
        await ingest.ReportAsync(ct, force: true);
        foreach (var (k, v) in ingest.Graph.ToProgress()) summary[k] = v;
        summary["ru_by_phase"] = ruByPhase;
        await run.Progress.AuditAsync("ingest.completed", summary, ct);
        return new JobOutcome(summary);
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
