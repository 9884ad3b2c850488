namespace Sentinel.Features.Graph;

/// <summary>Per-run counters (thread-safe): what progress and the bench report.</summary>
public sealed class GraphCallStats
{
    private long _requests, _throttled, _retries, _resourceUnits;

    public long Requests => Interlocked.Read(ref _requests);
    public long Throttled => Interlocked.Read(ref _throttled);
    public long Retries => Interlocked.Read(ref _retries);
    /// <summary>Resource units drawn from the tenant budget (GRAPH_FACTS §5), retries included.</summary>
    public long ResourceUnits => Interlocked.Read(ref _resourceUnits);

    internal void Request(int ru) { Interlocked.Increment(ref _requests); Interlocked.Add(ref _resourceUnits, ru); }
    internal void Throttle() => Interlocked.Increment(ref _throttled);
    internal void Retry() => Interlocked.Increment(ref _retries);

    public IReadOnlyDictionary<string, object?> ToProgress() => new Dictionary<string, object?>
    {
        ["requests"] = Requests, ["throttled"] = Throttled, ["retries"] = Retries, ["estimated_ru"] = ResourceUnits,
    };
}
