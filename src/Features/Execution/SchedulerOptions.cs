namespace Sentinel.Features.Execution;

/// <summary>Knobs of the scheduler loop and run bookkeeping (SCHEDULER_* environment variables, see docs/scheduler.md).</summary>
public sealed record SchedulerOptions
{
    /// <summary>How often due schedules are polled (SCHEDULER_POLL_SECONDS); run-now wakes the loop at once via NOTIFY.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often a running run bumps heartbeat_at and looks at cancel_requested_at.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A running run whose heartbeat is older than this is closed as worker_lost even if its lock is held.</summary>
    public TimeSpan LostRunHorizon { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Runs one scheduler instance executes at the same time (SCHEDULER_MAX_CONCURRENT_RUNS).</summary>
    public int MaxConcurrentRuns { get; init; } = 4;

    /// <summary>
    /// On shutdown, how long running jobs get to stop before their runs are closed anyway. The default fits inside
    /// Docker's 10 s stop timeout; a longer grace needs a longer stop_grace_period, or the rescuer closes the runs later.
    /// </summary>
    public TimeSpan ShutdownGrace { get; init; } = TimeSpan.FromSeconds(8);

    /// <summary>Identifies this scheduler instance in job_runs.worker_id (host:pid:instance).</summary>
    public string WorkerId { get; init; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
}
