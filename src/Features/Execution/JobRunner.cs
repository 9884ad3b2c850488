using Dapper;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Execution;

/// <summary>
/// Executes one claimed run through the executor of its job type and keeps its bookkeeping: a heartbeat on the
/// run's lock connection (which also notices cancel requests and a lost connection), progress, and the final
/// compare-and-set. Used by the scheduler loop and by `worker run-once`.
/// </summary>
public sealed class JobRunner(IServiceScopeFactory scopes, TimeProvider clock, SchedulerOptions options, ILogger<JobRunner> logger)
{
    public const string WorkerLost = "worker_lost";
    public const string Shutdown = "shutdown";
    public const string Cancelled = "cancelled";

    private const string HeartbeatSql = """
        UPDATE job_runs SET heartbeat_at = @Now WHERE run_id = @RunId AND status = 'running'
        RETURNING cancel_requested_at IS NOT NULL
        """;

    /// <summary>Runs the job to its end. <paramref name="shutdown"/> cancels it as `shutdown`. Disposes the claim.</summary>
    public async Task<RunOutcome> RunAsync(ClaimedRun run, CancellationToken shutdown)
    {
        await using var _ = run;
        using var activity = SentinelMetrics.Activities.StartActivity($"run {run.JobType}");
        activity?.SetTag("sentinel.run_id", run.RunId.ToString());
        using var jobCts = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
        var stop = new StopReason();
        var progress = new RunProgress(run, clock, scopes, stop, jobCts);
        using var heartbeatCts = new CancellationTokenSource();
        var heartbeat = HeartbeatAsync(run, stop, jobCts, heartbeatCts.Token);

        string status;
        string? error;
        IReadOnlyDictionary<string, object?> summary = new Dictionary<string, object?>();
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var executor = scope.ServiceProvider.GetRequiredService<JobExecutorCatalog>().Resolve(scope.ServiceProvider, run.JobType, logger);
            var outcome = await executor.ExecuteAsync(new JobRunContext(run.RunId, run.JobId, run.Config, run.Actor, progress), jobCts.Token);
            summary = outcome.Summary;
            (status, error) = outcome.Partial is { } partial ? ("partial", Truncate(partial)) : ("success", null);
        }
        catch (OperationCanceledException) when (jobCts.IsCancellationRequested)
        {
            (status, error) = stop.Reason switch
            {
                WorkerLost => ("failed", WorkerLost),
                Cancelled => ("cancelled", Cancelled),
                _ when shutdown.IsCancellationRequested => ("cancelled", Shutdown),
                _ => ("cancelled", stop.Reason ?? Cancelled),
            };
        }
        catch (JobFailedException e)
        {
            (status, error) = ("failed", Truncate($"{e.Code}: {e.Message}"));
        }
        catch (Exception e)
        {
            // The exception text may carry connection strings or tokens: the run keeps only its type.
            logger.LogError(e, "run {RunId} of job {JobId} ({JobType}) failed unexpectedly", run.RunId, run.JobId, run.JobType);
            (status, error) = ("failed", Truncate($"unexpected_error: {e.GetType().Name}"));
        }

        heartbeatCts.Cancel();
        await heartbeat;
        if (stop.Reason == WorkerLost) (status, error) = ("failed", WorkerLost);
        SentinelMetrics.RunFinished(run.JobType, status, clock.GetUtcNow() - run.StartedAt);
        if (stop.ClosedElsewhere)
            return new RunOutcome(run.RunId, status, error, false, summary);

        using var complete = scopes.CreateScope();
        var result = await complete.ServiceProvider.GetRequiredService<IMediator>()
            .Send(new CompleteRun.Command(run.RunId, run.WorkerId, status, error, summary, run.Actor), CancellationToken.None);
        if (!result.Closed)
            logger.LogWarning("run {RunId} was already closed by someone else; its {Status} outcome was not recorded", run.RunId, status);
        return new RunOutcome(run.RunId, status, error, result.Closed, summary);
    }

    private async Task HeartbeatAsync(ClaimedRun run, StopReason stop, CancellationTokenSource jobCts, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await Task.Delay(options.HeartbeatInterval, ct);
                bool? cancelRequested;
                await run.Gate.WaitAsync(ct);
                try
                {
                    cancelRequested = await run.LockConnection.QuerySingleOrDefaultAsync<bool?>(
                        new CommandDefinition(HeartbeatSql, new { run.RunId, Now = clock.GetUtcNow() }, cancellationToken: ct));
                }
                finally
                {
                    run.Gate.Release();
                }
                if (cancelRequested is null)
                {
                    // Closed by someone else (the rescuer, or a shutdown that timed out): stop and record nothing.
                    stop.Set(WorkerLost, closedElsewhere: true);
                    jobCts.Cancel();
                    return;
                }
                if (cancelRequested == true && !jobCts.IsCancellationRequested)
                {
                    // Keep beating while the job winds down, so a slow stop is not mistaken for a hung worker.
                    stop.Set(Cancelled);
                    jobCts.Cancel();
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException or OperationCanceledException)
        {
            // The run's connection died and took the advisory lock with it: another worker may start the job,
            // so this one must stop. The run is closed as worker_lost (by us or by the rescuer, whoever is first).
            logger.LogWarning("run {RunId}: lock connection lost ({Error}); stopping the job", run.RunId, e.GetType().Name);
            stop.Set(WorkerLost);
            jobCts.Cancel();
        }
    }

    private static string Truncate(string s) => s.Length <= 500 ? s : s[..500];

    internal sealed class StopReason
    {
        private int _set;
        public string? Reason { get; private set; }
        public bool ClosedElsewhere { get; private set; }

        public void Set(string reason, bool closedElsewhere = false)
        {
            if (Interlocked.Exchange(ref _set, 1) == 1) return;
            Reason = reason;
            ClosedElsewhere = closedElsewhere;
        }
    }

    /// <summary>IRunProgress over the run's lock connection: merges fields into job_runs.progress and bumps the heartbeat.</summary>
    private sealed class RunProgress(ClaimedRun run, TimeProvider clock, IServiceScopeFactory scopes, StopReason stop, CancellationTokenSource jobCts) : IRunProgress
    {
        private const string Sql = """
            UPDATE job_runs SET progress = progress || @Fields::jsonb, heartbeat_at = @Now
             WHERE run_id = @RunId AND status = 'running'
            """;

        public async Task ReportAsync(IReadOnlyDictionary<string, object?> fields, CancellationToken ct)
        {
            var json = System.Text.Json.JsonSerializer.Serialize(fields, Json.Options);
            await run.Gate.WaitAsync(ct);
            try
            {
                await run.LockConnection.ExecuteAsync(new CommandDefinition(Sql, new { run.RunId, Fields = json, Now = clock.GetUtcNow() }, cancellationToken: ct));
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException && !ct.IsCancellationRequested)
            {
                stop.Set(WorkerLost);
                jobCts.Cancel();
                throw new OperationCanceledException("the run's database connection was lost", e, jobCts.Token);
            }
            finally
            {
                run.Gate.Release();
            }
        }

        public async Task AuditAsync(string action, object details, CancellationToken ct)
        {
            using var scope = scopes.CreateScope();
            var db = scope.ServiceProvider.GetRequiredService<Db>();
            await using var connection = await db.OpenAsync(ct);
            await Infrastructure.Audit.WriteAsync(connection, null, clock.GetUtcNow(), run.Actor, action, "run", run.RunId.ToString(), details, ct);
        }
    }
}
