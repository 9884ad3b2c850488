using System.Collections.Concurrent;
using System.Threading.Channels;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Runs;

namespace Sentinel.Features.Execution;

/// <summary>
/// The worker's scheduler loop (no cron daemon anywhere). Every poll interval, and at once when a run-now
/// request NOTIFYs it, it rescues lost runs and claims due work up to its concurrency limit; each claimed run
/// executes in the background on its own lock connection. On shutdown it stops claiming, cancels its runs,
/// waits up to the grace period and closes what is left as cancelled (shutdown).
/// Thin by design: every decision is in the slices it sends (ClaimNextRun, RecoverLostRuns, CompleteRun).
/// </summary>
public sealed class Scheduler(
    IServiceScopeFactory scopes, Db db, JobRunner runner, TimeProvider clock, SchedulerOptions options, SchedulerState state, ILogger<Scheduler> logger)
    : BackgroundService
{
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<Guid, (ClaimedRun Run, Task<RunOutcome> Task)> _running = new();
    private readonly CancellationTokenSource _shutdown = new();
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string WorkerId => options.WorkerId;

    /// <summary>Runs this instance is executing right now.</summary>
    public IReadOnlyCollection<Guid> RunningRunIds => _running.Keys.ToList();

    /// <summary>Completes once the first LISTEN for run-now requests is in effect (a signal for tests and health, not a sleep).</summary>
    public Task Listening => _listening.Task;

    /// <summary>Completes when every run this instance is executing now has ended (its completion recorded); at once when none runs.</summary>
    public Task WhenIdle() => Task.WhenAll(_running.Values.Select(r => r.Task));

    /// <summary>Completes when one of the runs executing now ends, freeing a slot and its job's lock; at once when none runs.</summary>
    public Task WhenAnyRunEnds() => _running.IsEmpty ? Task.CompletedTask : Task.WhenAny(_running.Values.Select(r => r.Task));

    /// <summary>Asks the loop to tick now (run-now NOTIFY, a finished run freeing a slot).</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        state.Running = true;
        var listener = ListenAsync(stoppingToken);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await TickAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    logger.LogWarning("scheduler tick failed: {Error}", e is NpgsqlException ? e.Message : e.GetType().Name + ": " + e.Message);
                }
                try
                {
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    wait.CancelAfter(options.PollInterval);
                    await _wake.Reader.ReadAsync(wait.Token);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // Poll interval elapsed.
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            state.Running = false;
            try { await listener; } catch (OperationCanceledException) { }
        }
    }

    private long _lastRecovery = long.MinValue;

    /// <summary>
    /// One pass: rescue lost runs (at most once per poll interval: wake-ups after every finished run would
    /// otherwise scan pg_locks hundreds of times a second), then claim until nothing is due or every slot is busy.
    /// </summary>
    public async Task TickAsync(CancellationToken ct)
    {
        var now = Environment.TickCount64;
        if (_lastRecovery == long.MinValue || now - Interlocked.Read(ref _lastRecovery) >= (long)options.PollInterval.TotalMilliseconds)
        {
            Interlocked.Exchange(ref _lastRecovery, now);
            using var scope = scopes.CreateScope();
            await scope.ServiceProvider.GetRequiredService<IMediator>().Send(new RecoverLostRuns.Command(options.LostRunHorizon), ct);
        }

        while (_running.Count < options.MaxConcurrentRuns && !ct.IsCancellationRequested && !_shutdown.IsCancellationRequested)
        {
            ClaimedRun? run;
            using (var scope = scopes.CreateScope())
                run = await scope.ServiceProvider.GetRequiredService<IMediator>().Send(new ClaimNextRun.Command(options.WorkerId), ct);
            if (run is null) break;
            Start(run);
        }
        state.LastTickAt = clock.GetUtcNow();
    }

    private void Start(ClaimedRun run)
    {
        logger.LogInformation("run {RunId} of job {JobId} ({JobType}) started ({TriggeredBy})", run.RunId, run.JobId, run.JobType, run.TriggeredBy);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var task = Task.Run(async () =>
        {
            await gate.Task;
            try
            {
                var outcome = await runner.RunAsync(run, _shutdown.Token);
                logger.LogInformation("run {RunId} finished: {Status} {Error}", run.RunId, outcome.Status, outcome.Error);
                return outcome;
            }
            finally
            {
                _running.TryRemove(run.RunId, out _);
                Wake();
            }
        });
        _running[run.RunId] = (run, task);
        gate.SetResult();
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Stop claiming first, then cancel what runs, wait (bounded), and close leftovers as cancelled/shutdown.
        await base.StopAsync(cancellationToken);
        await _shutdown.CancelAsync();
        var running = _running.Values.ToList();
        if (running.Count == 0) return;
        logger.LogInformation("shutdown: cancelling {Count} running run(s)", running.Count);
        var all = Task.WhenAll(running.Select(r => r.Task));
        await Task.WhenAny(all, Task.Delay(options.ShutdownGrace, CancellationToken.None));
        foreach (var (run, task) in running.Where(r => !r.Task.IsCompleted))
        {
            try
            {
                using var scope = scopes.CreateScope();
                await scope.ServiceProvider.GetRequiredService<IMediator>().Send(
                    new CompleteRun.Command(run.RunId, run.WorkerId, "cancelled", JobRunner.Shutdown, null, run.Actor), CancellationToken.None);
            }
            catch (Exception e)
            {
                logger.LogWarning("shutdown: could not close run {RunId}: {Error}", run.RunId, e.GetType().Name);
            }
        }
    }

    public override void Dispose()
    {
        _shutdown.Dispose();
        base.Dispose();
    }

    /// <summary>LISTEN for run-now requests on a connection of its own; reconnects after failures.</summary>
    private async Task ListenAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = await db.OpenAsync(ct);
                connection.Notification += (_, _) => Wake();
                await using (var listen = new NpgsqlCommand($"LISTEN {RunNow.NotifyChannel}", connection))
                    await listen.ExecuteNonQueryAsync(ct);
                // Requests queued before LISTEN took effect are picked up by this tick.
                Wake();
                _listening.TrySetResult();
                while (!ct.IsCancellationRequested)
                    await connection.WaitAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogWarning("scheduler: LISTEN connection failed ({Error}); polling continues, retrying in 2 s", e.GetType().Name);
                try { await Task.Delay(TimeSpan.FromSeconds(2), ct); } catch (OperationCanceledException) { return; }
            }
        }
    }
}
