using System.Net.Http.Headers;
using System.Text.Json;
using Polly;
using Polly.Timeout;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Graph;

/// <summary>
/// Raw Graph HTTP (the ingestion hot path): bearer token, identifying User-Agent, and every attempt through the
/// <see cref="GraphResilience"/> pipeline (shared pause, RU budget, Retry-After, backoff, timeouts). When the tries
/// or the call's time limit run out it throws a secret-free <see cref="JobFailedException"/>; non-retryable statuses
/// (4xx other than 429) are returned to the caller.
/// Usage: <c>var r = await graph.GetAsync("sites/getAllSites?$select=id,name", stats, ct);</c> — a relative
/// URL is resolved against GRAPH_BASE_URL; an absolute nextLink/deltaLink is followed exactly as given,
/// but only on the Graph host (the token is never sent elsewhere).
/// </summary>
public sealed class GraphHttp(SentinelSettings settings, GraphHttpClientHolder http, GraphTokenProvider tokens, GraphResilience resilience)
{
    public const string UserAgent = "NONISV|PrincetonSentinel|Sentinel/1.0";

    private readonly Uri _base = new(settings.GraphBaseUrl.TrimEnd('/') + "/");

    public Uri BaseUrl => _base;
    public GraphResilience Resilience => resilience;

    public Uri Resolve(string url)
    {
        var uri = Uri.TryCreate(url, UriKind.Absolute, out var abs) && abs.Scheme is "https" or "http"
            ? abs
            : new Uri(_base, url.TrimStart('/'));
        // A stored or returned nextLink/deltaLink gets the token only on the configured Graph origin: same scheme, host and port.
        if (!string.Equals(uri.Scheme, _base.Scheme, StringComparison.OrdinalIgnoreCase)
            || !string.Equals(uri.Host, _base.Host, StringComparison.OrdinalIgnoreCase) || uri.Port != _base.Port)
            throw new JobFailedException("graph_bad_link",
                $"Graph returned a link to another origin ({uri.Scheme}://{uri.Host}:{uri.Port}); refusing to send the token there");
        return uri;
    }

    /// <summary>
    /// A nextLink/deltaLink as the relative URL a $batch request carries (path and query below GRAPH_BASE_URL).
    /// The link is checked like <see cref="Resolve"/>, and must lie under the base path (e.g. /v1.0/).
    /// </summary>
    public string ToBatchUrl(string link)
    {
        var uri = Resolve(link);
        if (!uri.AbsolutePath.StartsWith(_base.AbsolutePath, StringComparison.OrdinalIgnoreCase))
            throw new JobFailedException("graph_bad_link", $"Graph returned a link outside {_base.AbsolutePath}; refusing to follow it");
        return "/" + uri.PathAndQuery[_base.AbsolutePath.Length..];
    }

    public Task<GraphResponse> GetAsync(string url, GraphCallStats stats, CancellationToken ct, IReadOnlyDictionary<string, string>? headers = null) =>
        SendAsync(HttpMethod.Get, Resolve(url), null, headers, stats, EstimateRu(url), ct);

    public Task<GraphResponse> PostJsonAsync(string url, byte[] body, GraphCallStats stats, int resourceUnits, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, Resolve(url), body, null, stats, resourceUnits, ct);

    /// <summary>Resource-unit cost by request kind (GRAPH_FACTS §5): permissions 5, delta with token 1, single item 1, lists 2.</summary>
    public static int EstimateRu(string url)
    {
        var path = url.Split('?')[0];
        if (path.EndsWith("/permissions", StringComparison.OrdinalIgnoreCase)) return 5;
        if (path.Contains("delta", StringComparison.OrdinalIgnoreCase))
            return url.Contains("token", StringComparison.OrdinalIgnoreCase) ? 1 : 2;
        return path.Contains("/items/", StringComparison.OrdinalIgnoreCase) || path.EndsWith("/drive", StringComparison.OrdinalIgnoreCase) ? 1 : 2;
    }

    private sealed record Attempt(GraphHttp Graph, HttpMethod Method, Uri Uri, byte[]? Body, IReadOnlyDictionary<string, string>? Headers);

    private async Task<GraphResponse> SendAsync(HttpMethod method, Uri uri, byte[]? body, IReadOnlyDictionary<string, string>? headers,
        GraphCallStats stats, int ru, CancellationToken ct)
    {
        var context = ResilienceContextPool.Shared.Get(ct);
        context.Properties.Set(GraphResilience.ResourceUnits, ru);
        context.Properties.Set(GraphResilience.Stats, stats);
        Outcome<HttpResponseMessage> outcome;
        try
        {
            outcome = await resilience.Http.ExecuteOutcomeAsync(static (ctx, a) => a.Graph.AttemptAsync(a, ctx.CancellationToken), context,
                new Attempt(this, method, uri, body, headers));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }

        switch (outcome.Exception)
        {
            case null:
                break;
            case OperationCanceledException when ct.IsCancellationRequested:
                throw new OperationCanceledException(ct);
            case JobFailedException:
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(outcome.Exception);
                break;
            case TimeoutRejectedException or HttpRequestException or IOException:
                throw Unavailable(method, uri, outcome.Exception is TimeoutRejectedException ? "timed out" : "connection failed");
            default:
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(outcome.Exception);
                break;
        }
        using var response = outcome.Result!;
        if (resilience.Classify(response).Kind != GraphOutcome.Kinds.Done)
            throw Unavailable(method, uri, $"HTTP {(int)response.StatusCode}");
        var bytes = await response.Content.ReadAsByteArrayAsync(ct);
        return new GraphResponse(response.StatusCode, bytes, response.Headers.Location);
    }

    private JobFailedException Unavailable(HttpMethod method, Uri uri, string last) =>
        new("graph_unavailable",
            $"Microsoft Graph did not answer {method} {uri.AbsolutePath} within {resilience.Options.MaxAttempts} tries or {resilience.Options.TotalTimeout.TotalMinutes:0.#} minutes (last: {last}); the next run resumes from the last checkpoint");

    private async ValueTask<Outcome<HttpResponseMessage>> AttemptAsync(Attempt a, CancellationToken ct)
    {
        try
        {
            var token = await tokens.GetTokenAsync(ct);
            using var request = new HttpRequestMessage(a.Method, a.Uri);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            request.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
            if (a.Headers is not null)
                foreach (var (k, v) in a.Headers) request.Headers.TryAddWithoutValidation(k, v);
            if (a.Body is not null)
                request.Content = new ByteArrayContent(a.Body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } };
            var response = await http.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            try
            {
                // The body is read inside the attempt so the attempt's timeout covers it, and a reset mid-body is retried.
                await response.Content.LoadIntoBufferAsync(ct);
            }
            catch
            {
                response.Dispose();
                throw;
            }
            return Outcome.FromResult(response);
        }
        catch (Exception e)
        {
            return Outcome.FromException<HttpResponseMessage>(e);
        }
    }

    /// <summary>Serialises a $batch body of GET requests (ids "0".."n-1").</summary>
    public static byte[] BatchBody(IReadOnlyList<string> relativeUrls, IReadOnlyList<string> ids, IReadOnlyDictionary<string, string>? headers = null)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteStartArray("requests");
            for (var i = 0; i < relativeUrls.Count; i++)
            {
                w.WriteStartObject();
                w.WriteString("id", ids[i]);
                w.WriteString("method", "GET");
                w.WriteString("url", relativeUrls[i]);
                if (headers is { Count: > 0 })
                {
                    w.WriteStartObject("headers");
                    foreach (var (k, v) in headers) w.WriteString(k, v);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return ms.ToArray();
    }
}
