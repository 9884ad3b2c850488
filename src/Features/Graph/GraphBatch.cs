using System.Net;
using System.Text.Json;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Graph;

/// <summary>
/// JSON batching (POST $batch, ≤ 20 GETs per request). Inner 429/503 pause the shared gate for the longest
/// inner Retry-After and only the failed requests are resent in a new batch; inner 5xx get jittered backoff.
/// Returns one <see cref="GraphResponse"/> per URL, in input order.
/// </summary>
public static class GraphBatch
{
    public const int MaxPerBatch = 20;

    /// <param name="headers">Request headers every inner request carries (e.g. the Prefer of drive deltas).</param>
    public static async Task<GraphResponse[]> GetManyAsync(GraphHttp graph, GraphRetryOptions retry, IReadOnlyList<string> relativeUrls,
        GraphCallStats stats, CancellationToken ct, IReadOnlyDictionary<string, string>? headers = null)
    {
        if (relativeUrls.Count > MaxPerBatch) throw new ArgumentException($"at most {MaxPerBatch} requests per batch", nameof(relativeUrls));
        var results = new GraphResponse?[relativeUrls.Count];
        var pending = Enumerable.Range(0, relativeUrls.Count).ToList();
        var attempt = 0;
        string last = "no answer";
        while (pending.Count > 0)
        {
            if (++attempt > retry.MaxAttempts)
                throw new JobFailedException("graph_unavailable",
                    $"Microsoft Graph did not answer {pending.Count} batched requests after {retry.MaxAttempts} tries (last: {last}); the next run resumes where this one stopped");
            var urls = pending.Select(i => "/" + relativeUrls[i].TrimStart('/')).ToList();
            var ids = pending.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
            var ru = urls.Sum(GraphHttp.EstimateRu);
            var response = await graph.PostJsonAsync("$batch", GraphHttp.BatchBody(urls, ids, headers), stats, ru, ct);
            if (!response.IsSuccess)
                throw new JobFailedException("graph_batch_failed", $"Microsoft Graph rejected a $batch request (HTTP {(int)response.Status}, {response.ErrorCode() ?? "no error code"})");

            var retryLater = new List<int>();
            TimeSpan? throttle = null;
            var serverError = false;
            using (var doc = response.Json())
            {
                foreach (var r in doc.RootElement.GetProperty("responses").EnumerateArray())
                {
                    var index = int.Parse(r.GetProperty("id").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
                    var status = r.GetProperty("status").GetInt32();
                    if (status is 429 or 503)
                    {
                        stats.Throttle();
                        var ra = InnerRetryAfter(r) ?? retry.DefaultThrottleDelay;
                        throttle = throttle is null || ra > throttle ? ra : throttle;
                        retryLater.Add(index);
                        last = $"HTTP {status}";
                        continue;
                    }
                    if (status is 500 or 502 or 504)
                    {
                        serverError = true;
                        retryLater.Add(index);
                        last = $"HTTP {status}";
                        continue;
                    }
                    var body = r.TryGetProperty("body", out var b) ? JsonSerializer.SerializeToUtf8Bytes(b) : [];
                    results[index] = new GraphResponse((HttpStatusCode)status, body, InnerLocation(r));
                }
            }
            // Anything the batch did not answer at all is retried too.
            pending = pending.Where(i => results[i] is null).ToList();
            if (pending.Count == 0) break;
            if (throttle is { } t) graph.Gate.PauseFor(t + retry.RetryAfterMargin);
            else if (serverError || retryLater.Count > 0) await Task.Delay(retry.Backoff(attempt), ct);
            stats.Retry();
        }
        return results!;
    }

    /// <summary>An inner response's Location header (a 410 resync names the fresh enumeration there).</summary>
    private static Uri? InnerLocation(JsonElement response)
    {
        if (!response.TryGetProperty("headers", out var headers) || headers.ValueKind != JsonValueKind.Object) return null;
        foreach (var h in headers.EnumerateObject())
            if (h.Name.Equals("Location", StringComparison.OrdinalIgnoreCase) && h.Value.ValueKind == JsonValueKind.String &&
                Uri.TryCreate(h.Value.GetString(), UriKind.Absolute, out var uri))
                return uri;
        return null;
    }

    private static TimeSpan? InnerRetryAfter(JsonElement response)
    {
        if (!response.TryGetProperty("headers", out var headers) || headers.ValueKind != JsonValueKind.Object) return null;
        foreach (var h in headers.EnumerateObject())
        {
            if (!h.Name.Equals("Retry-After", StringComparison.OrdinalIgnoreCase)) continue;
            var value = h.Value.ValueKind == JsonValueKind.Number ? h.Value.GetRawText() : h.Value.GetString();
            if (value is null) return null;
            if (double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var s))
                return TimeSpan.FromSeconds(Math.Max(0, s));
            if (DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var date))
            {
                var wait = date - TimeProvider.System.GetUtcNow() + TimeSpan.FromSeconds(1);
                return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
            }
        }
        return null;
    }
}
