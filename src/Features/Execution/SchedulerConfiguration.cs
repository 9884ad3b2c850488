namespace Sentinel.Features.Execution;

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
