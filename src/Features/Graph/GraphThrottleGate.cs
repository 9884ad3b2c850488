namespace Sentinel.Features.Graph;

/// <summary>
/// This process's "pause everything" gate: when Graph answers 429/503 with Retry-After, every request of this
/// process waits until the pause has passed (Microsoft's scan guidance), not just the throttled one. Other
/// processes learn the pause through <see cref="GraphRuBudget"/> (paused_until in PostgreSQL). Time comes from
/// the Graph clock (<see cref="GraphClock"/>), so tests drive it with a fake clock.
/// </summary>
public sealed class GraphThrottleGate([Microsoft.Extensions.DependencyInjection.FromKeyedServices(GraphClock.Key)] TimeProvider clock)
{
    private long _pausedUntilTicks; // UTC ticks

    /// <summary>True while a pause is pending.</summary>
    public bool IsPaused => Interlocked.Read(ref _pausedUntilTicks) > clock.GetUtcNow().UtcTicks;

    /// <summary>Extends the pause to at least <paramref name="until"/>.</summary>
    public void PauseUntil(DateTimeOffset until)
    {
        var ticks = until.UtcTicks;
        long current;
        do
        {
            current = Interlocked.Read(ref _pausedUntilTicks);
            if (current >= ticks) return;
        } while (Interlocked.CompareExchange(ref _pausedUntilTicks, ticks, current) != current);
    }

    /// <summary>Extends the pause to at least <paramref name="delay"/> from now.</summary>
    public void PauseFor(TimeSpan delay)
    {
        if (delay > TimeSpan.Zero) PauseUntil(clock.GetUtcNow() + delay);
    }

    /// <summary>Returns once no pause is pending (immediately in the common case).</summary>
    public async ValueTask WaitAsync(CancellationToken ct)
    {
        while (true)
        {
            var remaining = Interlocked.Read(ref _pausedUntilTicks) - clock.GetUtcNow().UtcTicks;
            if (remaining <= 0) return;
            await Task.Delay(TimeSpan.FromTicks(remaining), clock, ct);
        }
    }
}
