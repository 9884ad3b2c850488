using Polly;

namespace Sentinel.Features.Graph;

/// <summary>Options of <see cref="GraphThrottleStrategy"/> (none: it takes its limits from <see cref="GraphResilience"/>).</summary>
internal sealed class GraphThrottleStrategyOptions : ResilienceStrategyOptions
{
    public GraphThrottleStrategyOptions() => Name = "graph-throttle";
}
