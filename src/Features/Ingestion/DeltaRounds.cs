using System.Net;
using System.Text.Json;
using Dapper;
using Npgsql;
using Sentinel.Features.Graph;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// Runs one delta round of a partition (users, groups, one drive), checkpointing in msgraph_delta_state:
/// each page's rows and its nextLink commit in one transaction; the deltaLink replaces the checkpoint when the
/// round ends. A round without a token (first sync, resync after 410/syncStateNotFound/resyncChanges*) is a
/// full enumeration and ends with a mark-and-sweep: rows of the partition not seen since the round started
/// are soft-deleted by the round-end handler (<see cref="DeltaPageContext.Sweep"/>).
/// </summary>
internal static class DeltaRounds
{
    private static readonly HashSet<string> ResyncCodes = new(StringComparer.OrdinalIgnoreCase)
    {
        "syncStateNotFound", "resyncRequired", "syncStateInvalid",
        "resyncChangesApplyDifferences", "resyncChangesUploadDifferences", "resyncApplyDifferences", "resyncUploadDifferences",
    };

    /// <summary>A partition's checkpoint row (msgraph_delta_state).</summary>
    internal sealed record State(string? DeltaLink, string? NextLink, bool Resync, DateTime? RoundStartedAt);

    internal const string StateColumns = "delta_link AS DeltaLink, next_link AS NextLink, resync AS Resync, round_started_at AS RoundStartedAt";

    /// <summary>
    /// A page merge is driven by one page (≈200 rows in an unanalysed temp table) against tables of millions: the right
    /// plan is always index nested loops, but the planner's default guess for the temp table (and stale statistics
    /// during a bulk load) make it pick hash joins over full scans, and JIT on top. Both are switched off per page.
    /// </summary>
    public const string PageSettingsSql = "SET LOCAL jit = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off";

    private const string NextSql = """
        INSERT INTO msgraph_delta_state (resource_type, partition_key, next_link, resync, round_started_at)
        VALUES (@ResourceType, @PartitionKey, @Next, @Sweep, @RoundStart)
        ON CONFLICT (resource_type, partition_key) DO UPDATE
           SET next_link = EXCLUDED.next_link, resync = EXCLUDED.resync, round_started_at = EXCLUDED.round_started_at
        """;

    /// <summary>
    /// Ends rounds: each partition's deltaLink replaces its checkpoint. One partition per round here; several at once
    /// when drive rounds of one page are merged together (IngestDriveItemsDelta).
    /// </summary>
    internal const string EndRoundsSql = """
        INSERT INTO msgraph_delta_state (resource_type, partition_key, delta_link, next_link, resync, round_started_at, last_synced_at)
        SELECT @ResourceType, x.key, x.link, NULL, false, @RoundStart, @Now FROM unnest(@PartitionKeys::text[], @Deltas::text[]) AS x(key, link)
        ON CONFLICT (resource_type, partition_key) DO UPDATE
           SET delta_link = EXCLUDED.delta_link, next_link = NULL, resync = false,
               round_started_at = EXCLUDED.round_started_at, last_synced_at = EXCLUDED.last_synced_at
        """;

    public delegate Task<long> PageHandler(NpgsqlConnection connection, NpgsqlTransaction tx, JsonElement value, DeltaPageContext ctx, CancellationToken ct);

    public delegate Task RoundEndHandler(NpgsqlConnection connection, NpgsqlTransaction tx, DeltaPageContext ctx, CancellationToken ct);

    /// <param name="first">The answer to the checkpoint's link when the caller already fetched it (drive deltas polled through $batch).</param>
    /// <param name="isolate">A partition Graph refuses (4xx other than 404, a resync loop, a malformed page) ends the round with a
    /// <see cref="DeltaRoundResult.FailureReason"/> instead of failing the run.</param>
    public static async Task<DeltaRoundResult> RunAsync(Db db, GraphHttp graph, IngestRun run, TimeProvider clock, DeltaPartition partition,
        PageHandler onPage, RoundEndHandler onRoundEnd, CancellationToken ct, State? checkpoint = null, GraphResponse? first = null, bool isolate = false)
    {
        var state = checkpoint;
        if (state is null)
        {
            await using var c = await db.OpenAsync(ct);
            state = await c.QuerySingleOrDefaultAsync<State>(new CommandDefinition($"""
                SELECT {StateColumns} FROM msgraph_delta_state
                WHERE resource_type = @ResourceType AND partition_key = @PartitionKey
                """, new { partition.ResourceType, partition.PartitionKey }, cancellationToken: ct)) ?? new State(null, null, false, null);
        }

        string url;
        bool sweep;
        DateTimeOffset roundStart;
        if (state.NextLink is not null)
        {
            // Resume mid-round where the last run stopped.
            (url, sweep, roundStart) = (state.NextLink, state.Resync, state.RoundStartedAt is { } rs ? new DateTimeOffset(DateTime.SpecifyKind(rs, DateTimeKind.Utc)) : run.StartedAt);
        }
        else if (state.DeltaLink is not null)
            (url, sweep, roundStart) = (state.DeltaLink, false, clock.GetUtcNow());
        else
            (url, sweep, roundStart) = (partition.InitialUrl, true, clock.GetUtcNow());

        var pages = 0;
        long items = 0;
        var resyncs = 0;
        // The next page is requested while this one is written (Graph's latency and the database's work overlap); it is
        // taken only once this page committed, so the checkpoint still moves page by page, and dropped otherwise.
        using var prefetchCancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task<GraphResponse>? prefetch = null;
        try
        {
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                var response = first ?? (prefetch is not null ? await prefetch : await graph.GetAsync(url, run.Graph, ct, partition.Headers));
                first = null;
                prefetch = null;
                if (!response.IsSuccess)
                {
                    var code = response.ErrorCode();
                    if (response.Status == HttpStatusCode.Gone || (code is not null && ResyncCodes.Contains(code)))
                    {
                        if (++resyncs > 3)
                            return Fail("graph_resync_loop", $"Graph kept asking {partition.ResourceType} {partition.PartitionKey} to resync");
                        run.Add("resyncs", 1);
                        url = response.Location is { } location ? location.ToString() : partition.InitialUrl;
                        sweep = true;
                        roundStart = clock.GetUtcNow();
                        continue;
                    }
                    if (response.Status == HttpStatusCode.NotFound)
                        return new DeltaRoundResult(pages, items, resyncs > 0, false, true);
                    return Fail(TargetFailures.ReasonOf(response),
                        $"Graph answered HTTP {(int)response.Status} ({code ?? "no error code"}) to the {partition.ResourceType} delta of {partition.PartitionKey}");
                }

                using var doc = response.Json();
                var root = doc.RootElement;
                var value = root.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.Array ? v : default;
                var next = root.TryGetProperty("@odata.nextLink", out var n) ? n.GetString() : null;
                var delta = root.TryGetProperty("@odata.deltaLink", out var d) ? d.GetString() : null;
                if (next is null && delta is null)
                    return Fail("graph_bad_page", $"a {partition.ResourceType} delta page had neither nextLink nor deltaLink");

                if (next is not null) prefetch = Deferred(() => graph.GetAsync(next, run.Graph, prefetchCancel.Token, partition.Headers));
                var ctx = new DeltaPageContext(clock.GetUtcNow(), roundStart, sweep) { WholeRoundHere = state.NextLink is null && resyncs == 0 };
                var empty = value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0;
                if (empty && !(next is null && sweep))
                {
                    // Nothing to merge (the common case of an unchanged partition): one autocommit statement moves the checkpoint.
                    await using var c = await db.OpenAsync(ct);
                    await c.ExecuteAsync(new CommandDefinition(next is not null ? NextSql : EndRoundsSql, new
                    {
                        partition.ResourceType, partition.PartitionKey, Next = next, Sweep = sweep, RoundStart = roundStart, ctx.Now,
                        PartitionKeys = new[] { partition.PartitionKey }, Deltas = new[] { delta },
                    }, cancellationToken: ct));
                }
                else
                await using (var c = await db.OpenAsync(ct))
                await using (var tx = await c.BeginTransactionAsync(ct))
                {
                    await c.ExecuteAsync(new CommandDefinition(partition.DeferredLogTables is not null
                        ? PageSettingsSql + "; " + TableLog.DeferSql : PageSettingsSql, transaction: tx, cancellationToken: ct));
                    if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0)
                        items += await onPage(c, tx, value, ctx, ct);
                    if (next is not null)
                    {
                        await c.ExecuteAsync(new CommandDefinition(NextSql,
                            new { partition.ResourceType, partition.PartitionKey, Next = next, Sweep = sweep, RoundStart = roundStart }, tx, cancellationToken: ct));
                    }
                    else
                    {
                        await onRoundEnd(c, tx, ctx, ct);
                        await c.ExecuteAsync(new CommandDefinition(EndRoundsSql, new
                        {
                            partition.ResourceType, PartitionKeys = new[] { partition.PartitionKey }, Deltas = new[] { delta }, RoundStart = roundStart, ctx.Now,
                        }, tx, cancellationToken: ct));
                    }
                    await tx.CommitAsync(ct);
                }
                if (partition.DeferredLogTables is not null && ctx.Changed)
                    await TableLog.TouchAsync(db, partition.DeferredLogTables, CancellationToken.None);
                pages++;
                run.Add("pages", 1);
                await run.ReportAsync(ct);
                if (next is null) return new DeltaRoundResult(pages, items, resyncs > 0, true, false);
                url = next;
            }
        }
        finally
        {
            // a page that failed to write (or a cancelled round) leaves its successor unread: stopped and observed here
            if (prefetch is not null)
            {
                await prefetchCancel.CancelAsync();
                try { await prefetch; }
                catch (Exception) { /* the page's own failure is the one reported */ }
            }
        }

        // a link refused before it is sent (another origin) fails where the page is taken, as when it was fetched then
        static async Task<GraphResponse> Deferred(Func<Task<GraphResponse>> fetch) => await fetch();

        DeltaRoundResult Fail(string reason, string message) => isolate
            ? new DeltaRoundResult(pages, items, resyncs > 0, false, false, reason, message)
            : throw new JobFailedException(reason.StartsWith("http_", StringComparison.Ordinal) ? "graph_request_failed" : reason, message);
    }
}
