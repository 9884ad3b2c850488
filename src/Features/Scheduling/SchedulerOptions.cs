namespace Sentinel.Features.Scheduling;

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

/// <summary>What /health reports about the loop: is it running, and when did it last tick.</summary>
public sealed class SchedulerState
{
    private long _lastTickTicks;

    public bool Running { get; internal set; }

    public DateTimeOffset? LastTickAt
    {
        get => Interlocked.Read(ref _lastTickTicks) is var t and > 0 ? new DateTimeOffset(t, TimeSpan.Zero) : null;
        internal set => Interlocked.Exchange(ref _lastTickTicks, value?.UtcTicks ?? 0);
    }

    /// <summary>Alive: running and ticked within a few poll intervals (a tick waits for no job, so this is generous).</summary>
    public bool IsAlive(DateTimeOffset now, TimeSpan pollInterval) =>
        Running && LastTickAt is { } last && now - last <= pollInterval * 3 + TimeSpan.FromSeconds(30);
}

/// <summary>Reads the scheduler's environment variables (beyond SCHEDULER_POLL_SECONDS in SentinelSettings).</summary>
public static class SchedulerConfiguration
{
    public static SchedulerOptions FromConfiguration(Microsoft.Extensions.Configuration.IConfiguration config, Infrastructure.SentinelSettings settings) => new()
    {
        PollInterval = TimeSpan.FromSeconds(settings.SchedulerPollSeconds),
        MaxConcurrentRuns = Whole(config, "SCHEDULER_MAX_CONCURRENT_RUNS", 4, 1, 256),
        ShutdownGrace = TimeSpan.FromSeconds(Whole(config, "SCHEDULER_SHUTDOWN_GRACE_SECONDS", 8, 1, 600)),
        LostRunHorizon = TimeSpan.FromSeconds(Whole(config, "SCHEDULER_LOST_RUN_SECONDS", 300, 10, 86400)),
    };

    /// <summary>SCHEDULER_ENABLED=false runs the control plane without the loop (e.g. a maintenance worker).</summary>
    public static bool Enabled(Microsoft.Extensions.Configuration.IConfiguration config) =>
        config["SCHEDULER_ENABLED"] is not { } v || v.Trim().ToLowerInvariant() is not ("0" or "false" or "no" or "off");

    private static int Whole(Microsoft.Extensions.Configuration.IConfiguration config, string name, int fallback, int min, int max)
    {
        var value = config[name];
        if (string.IsNullOrWhiteSpace(value)) return fallback;
        if (!int.TryParse(value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < min || n > max)
            throw new Infrastructure.ConfigurationException($"{name} must be a whole number between {min} and {max}");
        return n;
    }
}
