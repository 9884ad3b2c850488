namespace Sentinel.Features.Graph;

/// <summary>How the resilience pipeline treats one answer: done, throttled (wait Retry-After) or a transient server error (back off).</summary>
internal readonly record struct GraphOutcome(GraphOutcome.Kinds Kind, TimeSpan? RetryAfter = null)
{
    public enum Kinds { Done, Throttled, ServerError }

    public static readonly GraphOutcome Done = new(Kinds.Done);
    public static readonly GraphOutcome ServerError = new(Kinds.ServerError);

    public static GraphOutcome Throttled(TimeSpan? retryAfter) => new(Kinds.Throttled, retryAfter);

    /// <summary>429 and 503 are throttling (SharePoint uses both, GRAPH_FACTS §5); 500/502/504 are transient.</summary>
    public static GraphOutcome ForStatus(int status, Func<TimeSpan?> retryAfter) => status switch
    {
        429 or 503 => Throttled(retryAfter()),
        500 or 502 or 504 => ServerError,
        _ => Done,
    };
}
