using System.Globalization;
using System.Net;
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
            foreach (var r in Answers(response.Body))
            {
                var outcome = GraphOutcome.ForStatus(r.Status, () => r.RetryAfter is { } ra ? GraphRetryAfter.Parse(ra, now) : null);
                if (outcome.Kind == GraphOutcome.Kinds.Throttled)
                {
                    await graph.Resilience.ThrottledAsync(outcome.RetryAfter, stats, ct);
                    // The next round waits for the longest inner Retry-After.
                    if (worst.Kind != GraphOutcome.Kinds.Throttled || (outcome.RetryAfter ?? TimeSpan.Zero) > (worst.RetryAfter ?? TimeSpan.Zero))
                        worst = outcome;
                    last = $"HTTP {r.Status}";
                    continue;
                }
                if (outcome.Kind == GraphOutcome.Kinds.ServerError)
                {
                    if (worst.Kind == GraphOutcome.Kinds.Done) worst = outcome;
                    last = $"HTTP {r.Status}";
                    continue;
                }
                Results[r.Index] = new GraphResponse((HttpStatusCode)r.Status, r.Body, r.Location);
            }
            // Anything the batch did not answer at all is retried too.
            Pending = pending.Where(i => Results[i] is null).ToList();
            if (Pending.Count > 0 && worst.Kind == GraphOutcome.Kinds.Done) { worst = GraphOutcome.ServerError; last = "no answer"; }
            return new Round(worst, last);
        }
    }

    /// <summary>One inner answer: its request's index, status, body as sent (empty when absent) and the headers read here.</summary>
    private sealed record Answer(int Index, int Status, ReadOnlyMemory<byte> Body, Uri? Location, string? RetryAfter);

    /// <summary>
    /// The inner answers of a $batch response, read in one forward pass: the bodies (pages of up to 200 drive items each,
    /// a few MB per batch) are sliced out as sent instead of being built into a document and parsed again by their
    /// reader, and not copied either (each is a slice of the batch's buffer, which lives as long as one of its pages).
    /// Headers: Location (a 410 names the fresh enumeration there) and Retry-After (seconds or an HTTP date).
    /// </summary>
    private static List<Answer> Answers(ReadOnlyMemory<byte> json)
    {
        var answers = new List<Answer>();
        var r = new Utf8JsonReader(json.Span);
        Expect(ref r, JsonTokenType.StartObject);
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            var isResponses = r.ValueTextEquals("responses"u8);
            r.Read();
            if (!isResponses || r.TokenType != JsonTokenType.StartArray)
            {
                r.Skip();
                continue;
            }
            while (r.Read() && r.TokenType == JsonTokenType.StartObject)
            {
                int? index = null, status = null;
                ReadOnlyMemory<byte> body = default;
                Uri? location = null;
                string? retryAfter = null;
                while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                {
                    if (r.ValueTextEquals("id"u8))
                    {
                        r.Read();
                        index = int.Parse(r.GetString()!, CultureInfo.InvariantCulture);
                    }
                    else if (r.ValueTextEquals("status"u8))
                    {
                        r.Read();
                        status = r.GetInt32();
                    }
                    else if (r.ValueTextEquals("body"u8))
                    {
                        r.Read();
                        var start = (int)r.TokenStartIndex;
                        r.Skip();
                        body = json[start..(int)r.BytesConsumed];
                    }
                    else if (r.ValueTextEquals("headers"u8))
                    {
                        r.Read();
                        if (r.TokenType != JsonTokenType.StartObject)
                        {
                            r.Skip();
                            continue;
                        }
                        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                        {
                            var name = r.GetString();
                            r.Read();
                            if (string.Equals(name, "Location", StringComparison.OrdinalIgnoreCase) && r.TokenType == JsonTokenType.String
                                && Uri.TryCreate(r.GetString(), UriKind.Absolute, out var uri))
                                location = uri;
                            else if (string.Equals(name, "Retry-After", StringComparison.OrdinalIgnoreCase) && r.TokenType is JsonTokenType.String or JsonTokenType.Number)
                                retryAfter = r.TokenType == JsonTokenType.Number
                                    ? System.Text.Encoding.UTF8.GetString(r.ValueSpan) : r.GetString();
                            else r.Skip();
                        }
                    }
                    else
                    {
                        r.Read();
                        r.Skip();
                    }
                }
                if (index is not { } i || status is not { } st)
                    throw new JsonException("a $batch answer without its id or status");
                answers.Add(new Answer(i, st, body, location, retryAfter));
            }
        }
        return answers;
    }

    private static void Expect(ref Utf8JsonReader r, JsonTokenType type)
    {
        if (!r.Read() || r.TokenType != type) throw new JsonException($"a $batch response that is not a JSON object");
    }
}
