using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Graph;

/// <summary>A buffered Graph response: status, body bytes (one page — bounded), and the headers callers need.</summary>
public sealed record GraphResponse(HttpStatusCode Status, byte[] Body, Uri? Location)
{
    public bool IsSuccess => (int)Status is >= 200 and < 300;

    public JsonDocument Json() => JsonDocument.Parse(Body);

    /// <summary>Graph error code (<c>error.code</c>) if the body is a Graph error.</summary>
    public string? ErrorCode()
    {
        try
        {
            using var doc = JsonDocument.Parse(Body);
            return doc.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object &&
                   e.TryGetProperty("code", out var c) ? c.GetString() : null;
        }
        catch (JsonException) { return null; }
    }
}

/// <summary>
/// Raw Graph HTTP (the ingestion hot path and the web's live drill-down): bearer token, identifying
/// User-Agent, the shared <see cref="GraphThrottleGate"/>, Retry-After (seconds or HTTP date) on 429/503,
/// jittered exponential backoff on 5xx / timeouts / connection resets, bounded tries, then a secret-free
/// <see cref="JobFailedException"/>. Non-retryable statuses (4xx other than 429) are returned to the caller.
/// Usage: <c>var r = await graph.GetAsync("sites/getAllSites?$select=id,name", stats, ct);</c> — a relative
/// URL is resolved against GRAPH_BASE_URL; an absolute nextLink/deltaLink is followed exactly as given,
/// but only on the Graph host (the token is never sent elsewhere).
/// </summary>
public sealed class GraphHttp(SentinelSettings settings, GraphHttpClientHolder http, GraphTokenProvider tokens,
    GraphThrottleGate gate, GraphRetryOptions retry)
{
    public const string UserAgent = "NONISV|PrincetonSentinel|Sentinel/1.0";

    private readonly Uri _base = new(settings.GraphBaseUrl.TrimEnd('/') + "/");

    public Uri BaseUrl => _base;
    public GraphThrottleGate Gate => gate;

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

    /// <summary>Resource-unit estimate by request kind (GRAPH_FACTS §5): permissions 5, delta with token 1, lists 2.</summary>
    public static int EstimateRu(string url)
    {
        var path = url.Split('?')[0];
        if (path.EndsWith("/permissions", StringComparison.OrdinalIgnoreCase)) return 5;
        if (path.Contains("delta", StringComparison.OrdinalIgnoreCase))
            return url.Contains("token", StringComparison.OrdinalIgnoreCase) ? 1 : 2;
        return path.Contains("/items/", StringComparison.OrdinalIgnoreCase) || path.EndsWith("/drive", StringComparison.OrdinalIgnoreCase) ? 1 : 2;
    }

    private async Task<GraphResponse> SendAsync(HttpMethod method, Uri uri, byte[]? body, IReadOnlyDictionary<string, string>? headers,
        GraphCallStats stats, int ru, CancellationToken ct)
    {
        string last = "no answer";
        for (var attempt = 1; attempt <= retry.MaxAttempts; attempt++)
        {
            await gate.WaitAsync(ct);
            var token = await tokens.GetTokenAsync(ct);
            using var request = new HttpRequestMessage(method, uri);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            request.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
            if (headers is not null)
                foreach (var (k, v) in headers) request.Headers.TryAddWithoutValidation(k, v);
            if (body is not null)
                request.Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } };

            stats.Request(ru);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(retry.RequestTimeout);
            HttpResponseMessage response;
            byte[] bytes;
            try
            {
                response = await http.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                bytes = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                last = "timed out";
                await BackoffAsync(attempt, stats, ct);
                continue;
            }
            catch (Exception e) when (e is HttpRequestException or IOException && !ct.IsCancellationRequested)
            {
                last = "connection failed";
                await BackoffAsync(attempt, stats, ct);
                continue;
            }

            using (response)
            {
                var status = (int)response.StatusCode;
                if (status is 429 or 503)
                {
                    stats.Throttle();
                    last = $"HTTP {status}";
                    var delay = RetryAfter(response.Headers) ?? retry.DefaultThrottleDelay;
                    gate.PauseFor(delay + retry.RetryAfterMargin);
                    stats.Retry();
                    continue;
                }
                if (status is 500 or 502 or 504)
                {
                    last = $"HTTP {status}";
                    await BackoffAsync(attempt, stats, ct);
                    continue;
                }
                return new GraphResponse(response.StatusCode, bytes, response.Headers.Location);
            }
        }
        throw new JobFailedException("graph_unavailable",
            $"Microsoft Graph did not answer {method} {uri.AbsolutePath} after {retry.MaxAttempts} tries (last: {last}); the next run resumes from the last checkpoint");
    }

    private async Task BackoffAsync(int attempt, GraphCallStats stats, CancellationToken ct)
    {
        stats.Retry();
        if (attempt < retry.MaxAttempts) await Task.Delay(retry.Backoff(attempt), ct);
    }

    /// <summary>Retry-After as a delay: delta-seconds or an HTTP date (relative to the response's Date, else now).</summary>
    public static TimeSpan? RetryAfter(HttpResponseHeaders headers)
    {
        var ra = headers.RetryAfter;
        if (ra is null)
        {
            // A malformed value lands in NonValidated; accept a bare decimal too.
            if (headers.NonValidated.TryGetValues("Retry-After", out var raw) &&
                double.TryParse(raw.ToString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var s) && s >= 0)
                return TimeSpan.FromSeconds(s);
            return null;
        }
        if (ra.Delta is { } delta) return delta;
        if (ra.Date is { } date)
        {
            // HTTP dates have whole-second resolution: add one second so we never resume early.
            var now = headers.Date ?? TimeProvider.System.GetUtcNow();
            var wait = date - now + TimeSpan.FromSeconds(1);
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }
        return null;
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

    internal static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}
