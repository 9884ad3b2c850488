namespace Sentinel.Features.Graph;

/// <summary>Limits of the Graph resilience pipeline (<see cref="GraphResilience"/>). Tests shorten the delays.</summary>
public sealed record GraphRetryOptions
{
    /// <summary>Tries per call, the first included.</summary>
    public int MaxAttempts { get; init; } = 8;
    /// <summary>First backoff after a 5xx, timeout or reset; doubles per try, with jitter.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(500);
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Used when a 429/503 carries no Retry-After.</summary>
    public TimeSpan DefaultThrottleDelay { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Timeout of one attempt (headers and body).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(100);
    /// <summary>Time limit of one call, every retry and wait included.</summary>
    public TimeSpan TotalTimeout { get; init; } = TimeSpan.FromMinutes(15);
    /// <summary>Added to every Retry-After so we never arrive a hair early.</summary>
    public TimeSpan RetryAfterMargin { get; init; } = TimeSpan.FromMilliseconds(50);
}
