using System.Diagnostics;

namespace Sentinel.Features.Graph;

/// <summary>
/// The shared "pause everything" gate: when Graph answers 429/503 with Retry-After, every request of this
/// process to Graph waits until the pause has passed (Microsoft's scan guidance), not just the throttled one.
/// Uses the monotonic clock (real waiting), not the injected TimeProvider.
/// </summary>
public sealed class GraphThrottleGate
{
    private long _pausedUntil; // Stopwatch timestamp

    /// <summary>True while a pause is pending.</summary>
    public bool IsPaused => Volatile.Read(ref _pausedUntil) > Stopwatch.GetTimestamp();

    /// <summary>Extends the pause to at least <paramref name="delay"/> from now.</summary>
    public void PauseFor(TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero) return;
        var until = Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency);
        long current;
        do
        {
            current = Volatile.Read(ref _pausedUntil);
            if (current >= until) return;
        } while (Interlocked.CompareExchange(ref _pausedUntil, until, current) != current);
    }

    /// <summary>Returns once no pause is pending (immediately in the common case).</summary>
    public async ValueTask WaitAsync(CancellationToken ct)
    {
        while (true)
        {
            var remaining = Volatile.Read(ref _pausedUntil) - Stopwatch.GetTimestamp();
            if (remaining <= 0) return;
            await Task.Delay(TimeSpan.FromSeconds((double)remaining / Stopwatch.Frequency) + TimeSpan.FromMilliseconds(1), ct);
        }
    }
}

/// <summary>Bounded retries with jittered exponential backoff. Tests shorten the delays.</summary>
public sealed record GraphRetryOptions
{
    public int MaxAttempts { get; init; } = 8;
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(500);
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Used when a 429/503 carries no Retry-After.</summary>
    public TimeSpan DefaultThrottleDelay { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(100);
    /// <summary>Added to every Retry-After so we never arrive a hair early.</summary>
    public TimeSpan RetryAfterMargin { get; init; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan Backoff(int attempt)
    {
        var cap = Math.Min(MaxDelay.TotalMilliseconds, BaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 16)));
        // "equal jitter": half fixed, half random, so retries of concurrent callers spread out.
        return TimeSpan.FromMilliseconds(cap / 2 + Random.Shared.NextDouble() * cap / 2);
    }
}

/// <summary>Per-run counters (thread-safe): what progress and the bench report.</summary>
public sealed class GraphCallStats
{
    private long _requests, _throttled, _retries, _resourceUnits;

    public long Requests => Interlocked.Read(ref _requests);
    public long Throttled => Interlocked.Read(ref _throttled);
    public long Retries => Interlocked.Read(ref _retries);
    /// <summary>Estimated SharePoint/Graph resource units (GRAPH_FACTS §5).</summary>
    public long ResourceUnits => Interlocked.Read(ref _resourceUnits);

    internal void Request(int ru) { Interlocked.Increment(ref _requests); Interlocked.Add(ref _resourceUnits, ru); }
    internal void Throttle() => Interlocked.Increment(ref _throttled);
    internal void Retry() => Interlocked.Increment(ref _retries);

    public IReadOnlyDictionary<string, object?> ToProgress() => new Dictionary<string, object?>
    {
        ["requests"] = Requests, ["throttled"] = Throttled, ["retries"] = Retries, ["estimated_ru"] = ResourceUnits,
    };
}
