using Sentinel.Features.Infrastructure;
using Polly;

namespace Sentinel.Features.Graph;

/// <summary>
/// The shared throttle pause as a pipeline step, run before every attempt: wait while this process is paused,
/// draw the attempt's resource units from the tenant budget (it also waits while another process's 429 pause is
/// pending), count the request; after the attempt, a 429/503 pauses everyone for its Retry-After.
/// </summary>
internal sealed class GraphThrottleStrategy(GraphResilience resilience) : ResilienceStrategy<HttpResponseMessage>
{
    protected override async ValueTask<Outcome<HttpResponseMessage>> ExecuteCore<TState>(
        Func<ResilienceContext, TState, ValueTask<Outcome<HttpResponseMessage>>> callback, ResilienceContext context, TState state)
    {
        var ct = context.CancellationToken;
        var ru = context.Properties.GetValue(GraphResilience.ResourceUnits, 1);
        context.Properties.TryGetValue(GraphResilience.Stats, out var stats);
        try
        {
            await resilience.Gate.WaitAsync(ct);
            await resilience.Budget.AcquireAsync(ru, ct);
        }
        catch (Exception e)
        {
            return Outcome.FromException<HttpResponseMessage>(e);
        }
        stats?.Request(ru);
        SentinelMetrics.GraphSpent(ru);
        var outcome = await callback(context, state);
        if (outcome.Result is { } response)
        {
            SentinelMetrics.GraphAnswered((int)response.StatusCode);
            if (resilience.Classify(response) is { Kind: GraphOutcome.Kinds.Throttled } t)
            {
                try { await resilience.ThrottledAsync(t.RetryAfter, stats, ct); }
                catch (Exception e) { response.Dispose(); return Outcome.FromException<HttpResponseMessage>(e); }
            }
        }
        else SentinelMetrics.GraphAnswered(0);
        return outcome;
    }
}
