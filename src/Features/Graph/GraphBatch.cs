using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;
using Polly;
using Polly.Timeout;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Graph;

/// <summary>
/// JSON batching (POST $batch, ≤ 20 GETs per request). Each inner request is throttled on its own (GRAPH_FACTS §4):
/// the batch is repeated through the resilience pipeline's retry rules with only the inner requests that failed —
/// an inner 429/503 pauses every process for its own Retry-After and the next round waits for the longest one,
/// inner 500/502/504 back off with jitter. The POST itself goes through the HTTP pipeline (gate, RU, retries).
/// Returns one <see cref="GraphResponse"/> per URL, in input order.
/// </summary>
public static class GraphBatch
{
    public const int MaxPerBatch = 20;

    /// <param name="headers">Request headers every inner request carries (e.g. the Prefer of drive deltas).</param>
    public static async Task<GraphResponse[]> GetManyAsync(GraphHttp graph, IReadOnlyList<string> relativeUrls, GraphCallStats stats,
        CancellationToken ct, IReadOnlyDictionary<string, string>? headers = null)
    {
        if (relativeUrls.Count > MaxPerBatch) throw new ArgumentException($"at most {MaxPerBatch} requests per batch", nameof(relativeUrls));
        var state = new Rounds(graph, relativeUrls, stats, headers);
        var context = ResilienceContextPool.Shared.Get(ct);
        context.Properties.Set(GraphResilience.Stats, stats);
        Outcome<Round> outcome;
        try
        {
            outcome = await graph.Resilience.Batch.ExecuteOutcomeAsync(static async (ctx, s) =>
            {
                try { return Outcome.FromResult(await s.SendPendingAsync(ctx.CancellationToken)); }
                catch (Exception e) { return Outcome.FromException<Round>(e); }
            }, context, state);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
        if (outcome.Exception is OperationCanceledException && ct.IsCancellationRequested) throw new OperationCanceledException(ct);
        if (outcome.Exception is TimeoutRejectedException)
            throw Unavailable(state.Pending.Count, graph, "timed out");
        if (outcome.Exception is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(outcome.Exception);
        if (state.Pending.Count > 0) throw Unavailable(state.Pending.Count, graph, outcome.Result!.Last);
        return state.Results!;
    }

    private static JobFailedException Unavailable(int pending, GraphHttp graph, string last) =>
        new("graph_unavailable",
            $"Microsoft Graph did not answer {pending} batched requests within {graph.Resilience.Options.MaxAttempts} tries (last: {last}); the next run resumes where this one stopped");

    /// <summary>One round's verdict for the retry strategy: Done when nothing is left, else the worst inner outcome.</summary>
    internal sealed record Round(GraphOutcome Outcome, string Last);

    private sealed class Rounds(GraphHttp graph, IReadOnlyList<string> urls, GraphCallStats stats, IReadOnlyDictionary<string, string>? headers)
    {
        public GraphResponse?[] Results { get; } = new GraphResponse?[urls.Count];
        public List<int> Pending { get; private set; } = Enumerable.Range(0, urls.Count).ToList();

        public async Task<Round> SendPendingAsync(CancellationToken ct)
        {
            var pending = Pending;
            var relative = pending.Select(i => "/" + urls[i].TrimStart('/')).ToList();
            var ids = pending.Select(i => i.ToString(CultureInfo.InvariantCulture)).ToList();
            var response = await graph.PostJsonAsync("$batch", GraphHttp.BatchBody(relative, ids, headers), stats, relative.Sum(GraphHttp.EstimateRu), ct);
            if (!response.IsSuccess)
                throw new JobFailedException("graph_batch_failed", $"Microsoft Graph rejected a $batch request (HTTP {(int)response.Status}, {response.ErrorCode() ?? "no error code"})");

            var worst = GraphOutcome.Done;
            var last = "";
            var now = graph.Resilience.Clock.GetUtcNow();
            using (var doc = response.Json())
            {
                foreach (var r in doc.RootElement.GetProperty("responses").EnumerateArray())
                {
                    var index = int.Parse(r.GetProperty("id").GetString()!, CultureInfo.InvariantCulture);
                    var status = r.GetProperty("status").GetInt32();
                    var outcome = GraphOutcome.ForStatus(status, () => InnerRetryAfter(r, now));
                    if (outcome.Kind == GraphOutcome.Kinds.Throttled)
                    {
                        await graph.Resilience.ThrottledAsync(outcome.RetryAfter, stats, ct);
                        // The next round waits for the longest inner Retry-After.
                        if (worst.Kind != GraphOutcome.Kinds.Throttled || (outcome.RetryAfter ?? TimeSpan.Zero) > (worst.RetryAfter ?? TimeSpan.Zero))
                            worst = outcome;
                        last = $"HTTP {status}";
                        continue;
                    }
                    if (outcome.Kind == GraphOutcome.Kinds.ServerError)
                    {
                        if (worst.Kind == GraphOutcome.Kinds.Done) worst = outcome;
                        last = $"HTTP {status}";
                        continue;
                    }
                    // the inner body as Graph sent it (re-serialising it cost as much as parsing it: pages of drive items are large)
                    var body = r.TryGetProperty("body", out var b) ? JsonMarshal.GetRawUtf8Value(b).ToArray() : [];
                    Results[index] = new GraphResponse((HttpStatusCode)status, body, InnerLocation(r));
                }
            }
            // Anything the batch did not answer at all is retried too.
            Pending = pending.Where(i => Results[i] is null).ToList();
            if (Pending.Count > 0 && worst.Kind == GraphOutcome.Kinds.Done) { worst = GraphOutcome.ServerError; last = "no answer"; }
            return new Round(worst, last);
        }
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

    private static TimeSpan? InnerRetryAfter(JsonElement response, DateTimeOffset now)
    {
        if (!response.TryGetProperty("headers", out var headers) || headers.ValueKind != JsonValueKind.Object) return null;
        foreach (var h in headers.EnumerateObject())
        {
            if (!h.Name.Equals("Retry-After", StringComparison.OrdinalIgnoreCase)) continue;
            return GraphRetryAfter.Parse(h.Value.ValueKind == JsonValueKind.Number ? h.Value.GetRawText() : h.Value.GetString(), now);
        }
        return null;
    }
}
