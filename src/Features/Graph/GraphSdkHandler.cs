using Polly;
using Polly.Timeout;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Graph;

/// <summary>
/// The SDK client's only handler: runs each request through <see cref="GraphResilience.Http"/> (RU cost from the
/// URL, GRAPH_FACTS §5) and sets the identifying User-Agent. Kiota's own retry handler is not installed, so
/// there is one retry policy for the whole product.
/// </summary>
internal sealed class GraphSdkHandler(GraphResilience resilience) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        request.Headers.Remove("User-Agent");
        request.Headers.TryAddWithoutValidation("User-Agent", GraphHttp.UserAgent);
        var context = ResilienceContextPool.Shared.Get(ct);
        context.Properties.Set(GraphResilience.ResourceUnits, GraphHttp.EstimateRu(request.RequestUri!.PathAndQuery));
        try
        {
            var outcome = await resilience.Http.ExecuteOutcomeAsync(static async (ctx, s) =>
            {
                try
                {
                    var response = await s.Handler.BaseSendAsync(s.Request, ctx.CancellationToken);
                    await response.Content.LoadIntoBufferAsync(ctx.CancellationToken);
                    return Outcome.FromResult(response);
                }
                catch (Exception e) { return Outcome.FromException<HttpResponseMessage>(e); }
            }, context, (Handler: this, Request: request));
            return outcome.Exception switch
            {
                null => outcome.Result!,
                TimeoutRejectedException => throw new JobFailedException("graph_unavailable", "Microsoft Graph did not answer in time"),
                _ => throw outcome.Exception,
            };
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private Task<HttpResponseMessage> BaseSendAsync(HttpRequestMessage request, CancellationToken ct) => base.SendAsync(request, ct);
}
