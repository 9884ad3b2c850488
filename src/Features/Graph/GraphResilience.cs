using Sentinel.Features.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Sentinel.Features.Graph;

/// <summary>
/// The one Polly pipeline every Graph call goes through (raw JSON, $batch rounds and the SDK's HttpClient):
/// <list type="number">
/// <item>a total time limit per call (<see cref="GraphRetryOptions.TotalTimeout"/>);</item>
/// <item>retries: 429/503 wait Retry-After (seconds or HTTP date) plus a margin, 500/502/504, timeouts and connection
/// resets back off exponentially with jitter, at most <see cref="GraphRetryOptions.MaxAttempts"/> tries;</item>
/// <item>the shared throttle pause (<see cref="GraphThrottleStrategy"/>): wait for this process's gate and draw the
/// attempt's RU from the tenant budget; a 429/503 pauses this process and, through PostgreSQL, every other one;</item>
/// <item>a timeout per attempt (<see cref="GraphRetryOptions.RequestTimeout"/>).</item>
/// </list>
/// Inner $batch answers go through <see cref="Build{T}"/> with the same retry rules (see <see cref="GraphBatch"/>).
/// All waiting uses the Graph clock (<see cref="GraphClock"/>).
/// </summary>
public sealed class GraphResilience
{
    internal static readonly ResiliencePropertyKey<int> ResourceUnits = new("sentinel.graph.ru");
    internal static readonly ResiliencePropertyKey<GraphCallStats> Stats = new("sentinel.graph.stats");

    private readonly GraphRetryOptions _options;
    private readonly GraphThrottleGate _gate;
    private readonly GraphRuBudget _budget;
    private readonly TimeProvider _clock;
    
    public GraphResilience(GraphRetryOptions options, GraphThrottleGate gate, GraphRuBudget budget,
        [FromKeyedServices(GraphClock.Key)] TimeProvider clock)
    {
        _options = options;
        _gate = gate;
        _budget = budget;
        _clock = clock;
        Http = Build<HttpResponseMessage>(r => Classify(r), new GraphThrottleStrategy(this));
        Batch = Build<GraphBatch.Round>(r => r.Outcome);
    }

    public GraphRetryOptions Options => _options;

    /// <summary>For one HTTP attempt: send it, buffer the body, return the response (never throws for a status).</summary>
    public ResiliencePipeline<HttpResponseMessage> Http { get; }

    /// <summary>For $batch rounds: retries the inner requests that failed, by the same rules (no attempt timeout: the POST has its own).</summary>
    internal ResiliencePipeline<GraphBatch.Round> Batch { get; }

    internal GraphThrottleGate Gate => _gate;
    internal GraphRuBudget Budget => _budget;
    internal TimeProvider Clock => _clock;

    internal GraphOutcome Classify(HttpResponseMessage r) =>
        GraphOutcome.ForStatus((int)r.StatusCode, () => GraphRetryAfter.From(r.Headers, _clock.GetUtcNow()));

    /// <summary>A 429/503 was answered (top level or inside a batch): pause this process and every other one.</summary>
    internal async Task ThrottledAsync(TimeSpan? retryAfter, GraphCallStats? stats, CancellationToken ct)
    {
        stats?.Throttle();
        SentinelMetrics.GraphThrottle();
        var delay = (retryAfter ?? _options.DefaultThrottleDelay) + _options.RetryAfterMargin;
        _gate.PauseFor(delay);
        await _budget.PauseAsync(delay, ct);
    }

    /// <summary>
    /// The pipeline for results of type <typeparamref name="T"/>: total timeout → retry (classified by
    /// <paramref name="classify"/>) → for HTTP: the throttle strategy → attempt timeout.
    /// </summary>
    internal ResiliencePipeline<T> Build<T>(Func<T, GraphOutcome> classify, ResilienceStrategy<T>? perAttempt = null)
    {
        var builder = new ResiliencePipelineBuilder<T> { TimeProvider = _clock };
        builder.AddTimeout(_options.TotalTimeout);
        builder.AddRetry(new RetryStrategyOptions<T>
        {
            MaxRetryAttempts = Math.Max(0, _options.MaxAttempts - 1),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = _options.BaseDelay,
            MaxDelay = _options.MaxDelay,
            ShouldHandle = args => new ValueTask<bool>(args.Outcome.Exception switch
            {
                null => classify(args.Outcome.Result!).Kind != GraphOutcome.Kinds.Done,
                HttpRequestException or IOException or TimeoutRejectedException => !args.Context.CancellationToken.IsCancellationRequested,
                _ => false,
            }),
            // Throttled: exactly Retry-After (+ margin); everything else: the jittered exponential backoff.
            DelayGenerator = args => new ValueTask<TimeSpan?>(
                args.Outcome.Exception is null && classify(args.Outcome.Result!) is { Kind: GraphOutcome.Kinds.Throttled } t
                    ? (t.RetryAfter ?? _options.DefaultThrottleDelay) + _options.RetryAfterMargin
                    : null),
            OnRetry = args =>
            {
                if (args.Context.Properties.TryGetValue(Stats, out var stats)) stats.Retry();
                SentinelMetrics.GraphRetry();
                return default;
            },
        });
        if (perAttempt is not null)
        {
            builder.AddStrategy(_ => perAttempt, new GraphThrottleStrategyOptions());
            builder.AddTimeout(_options.RequestTimeout);
        }
        return builder.Build();
    }
}
