namespace Sentinel.Features.Execution;

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
