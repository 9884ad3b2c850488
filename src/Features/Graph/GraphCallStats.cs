namespace Sentinel.Features.Graph;

/// <summary>
/// Per-run counters (thread-safe): what progress and the bench report. A phase's own counters also count into the
/// run's (<paramref name="parent"/>), so phases that run at the same time each know their requests and resource units.
/// </summary>
public sealed class GraphCallStats(GraphCallStats? parent = null)
{
    private long _requests, _throttled, _retries, _resourceUnits;

    public long Requests => Interlocked.Read(ref _requests);
    public long Throttled => Interlocked.Read(ref _throttled);
    public long Retries => Interlocked.Read(ref _retries);
    /// <summary>Resource units drawn from the tenant budget (GRAPH_FACTS §5), retries included.</summary>
    public long ResourceUnits => Interlocked.Read(ref _resourceUnits);

    internal void Request(int ru) { Interlocked.Increment(ref _requests); Interlocked.Add(ref _resourceUnits, ru); parent?.Request(ru); }
    internal void Throttle() { Interlocked.Increment(ref _throttled); parent?.Throttle(); }
    internal void Retry() { Interlocked.Increment(ref _retries); parent?.Retry(); }

    public IReadOnlyDictionary<string, object?> ToProgress() => new Dictionary<string, object?>
    {
        ["requests"] = Requests, ["throttled"] = Throttled, ["retries"] = Retries, ["estimated_ru"] = ResourceUnits,
    };
}
