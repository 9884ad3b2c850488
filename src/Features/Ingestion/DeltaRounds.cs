using System.Net;
using System.Text.Json;
using Dapper;
using Npgsql;
using NpgsqlTypes;
using Sentinel.Features.Graph;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Ingestion;

/// <summary>One Graph object of a page, flattened only as far as the COPY needs; SQL extracts the typed columns from raw.</summary>
internal readonly record struct StageRow(string Id, bool Removed, string Raw, string? A = null, string? B = null);

/// <summary>What a page handler knows about the round it is in.</summary>
internal sealed record DeltaPageContext(DateTimeOffset Now, DateTimeOffset RoundStart, bool Sweep)
{
    /// <summary>Set by the page / round-end handler when its merge changed rows (drives the deferred table_update_log touch).</summary>
    public bool Changed { get; set; }
}

/// <param name="DeferredLogTables">When set, page transactions defer the table_update_log trigger (touch_table_update_log in 001_schema.sql) and
/// these tables are touched right after a commit that changed rows, so concurrent partitions do not serialise on the log row.</param>
internal sealed record DeltaPartition(string ResourceType, string PartitionKey, string InitialUrl, IReadOnlyDictionary<string, string>? Headers = null,
    string[]? DeferredLogTables = null);

/// <summary>table_update_log writes outside the page transactions (see touch_table_update_log in 001_schema.sql).</summary>
internal static class TableLog
{
    public const string DeferSql = "SET LOCAL sentinel.defer_table_log = 'on'";

    public static async Task TouchAsync(Db db, string[] tables, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await c.ExecuteAsync(new CommandDefinition("""
            INSERT INTO table_update_log (table_name, last_updated_at)
            SELECT t, clock_timestamp() FROM unnest(@Tables) AS t
            ON CONFLICT (table_name) DO UPDATE SET last_updated_at = GREATEST(table_update_log.last_updated_at, EXCLUDED.last_updated_at)
            """, new { Tables = tables }, cancellationToken: ct));
    }
}

internal sealed record DeltaRoundResult(int Pages, long Items, bool Resynced, bool RoundCompleted, bool NotFound);

/// <summary>Binary COPY of page rows into a transaction-scoped temp table (then one set-based merge).</summary>
internal static class Staging
{
    public static async Task CopyAsync(NpgsqlConnection connection, string table, IEnumerable<StageRow> rows, CancellationToken ct, bool create = true)
    {
        if (create)
            await connection.ExecuteAsync($"CREATE TEMP TABLE {table} (id text NOT NULL, removed boolean NOT NULL, raw jsonb, a text, b text) ON COMMIT DROP");
        await using var writer = await connection.BeginBinaryImportAsync($"COPY {table} (id, removed, raw, a, b) FROM STDIN (FORMAT BINARY)", ct);
        foreach (var row in rows)
        {
            await writer.StartRowAsync(ct);
            await writer.WriteAsync(row.Id, NpgsqlDbType.Text, ct);
            await writer.WriteAsync(row.Removed, NpgsqlDbType.Boolean, ct);
            await writer.WriteAsync(row.Raw, NpgsqlDbType.Jsonb, ct);
            if (row.A is null) await writer.WriteNullAsync(ct); else await writer.WriteAsync(row.A, NpgsqlDbType.Text, ct);
            if (row.B is null) await writer.WriteNullAsync(ct); else await writer.WriteAsync(row.B, NpgsqlDbType.Text, ct);
        }
        await writer.CompleteAsync(ct);
    }

    /// <summary>Page objects keyed by id, last occurrence wins (Graph may repeat an object within a round).</summary>
    public static Dictionary<string, StageRow> Collect(JsonElement value, Func<JsonElement, bool> isRemoved,
        Func<JsonElement, (string? A, string? B)>? extra = null)
    {
        var rows = new Dictionary<string, StageRow>(StringComparer.Ordinal);
        foreach (var e in value.EnumerateArray())
        {
            if (!e.TryGetProperty("id", out var idProp) || idProp.GetString() is not { Length: > 0 } id) continue;
            var (a, b) = extra?.Invoke(e) ?? (null, null);
            rows[id] = new StageRow(id, isRemoved(e), e.GetRawText(), a, b);
        }
        return rows;
    }

    public static bool HasRemoved(JsonElement e) => e.TryGetProperty("@removed", out _);
}

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

    private const string DeltaSql = """
        INSERT INTO msgraph_delta_state (resource_type, partition_key, delta_link, next_link, resync, round_started_at, last_synced_at)
        VALUES (@ResourceType, @PartitionKey, @Delta, NULL, false, @RoundStart, @Now)
        ON CONFLICT (resource_type, partition_key) DO UPDATE
           SET delta_link = EXCLUDED.delta_link, next_link = NULL, resync = false,
               round_started_at = EXCLUDED.round_started_at, last_synced_at = EXCLUDED.last_synced_at
        """;

    public delegate Task<long> PageHandler(NpgsqlConnection connection, NpgsqlTransaction tx, JsonElement value, DeltaPageContext ctx, CancellationToken ct);

    public delegate Task RoundEndHandler(NpgsqlConnection connection, NpgsqlTransaction tx, DeltaPageContext ctx, CancellationToken ct);

    public static async Task<DeltaRoundResult> RunAsync(Db db, GraphHttp graph, IngestRun run, TimeProvider clock, DeltaPartition partition,
        PageHandler onPage, RoundEndHandler onRoundEnd, CancellationToken ct, State? checkpoint = null)
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
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var response = await graph.GetAsync(url, run.Graph, ct, partition.Headers);
            if (!response.IsSuccess)
            {
                var code = response.ErrorCode();
                if (response.Status == HttpStatusCode.Gone || (code is not null && ResyncCodes.Contains(code)))
                {
                    if (++resyncs > 3)
                        throw new JobFailedException("graph_resync_loop", $"Graph kept asking {partition.ResourceType} {partition.PartitionKey} to resync");
                    run.Add("resyncs", 1);
                    url = response.Location is { } location ? location.ToString() : partition.InitialUrl;
                    sweep = true;
                    roundStart = clock.GetUtcNow();
                    continue;
                }
                if (response.Status == HttpStatusCode.NotFound)
                    return new DeltaRoundResult(pages, items, resyncs > 0, false, true);
                throw new JobFailedException("graph_request_failed",
                    $"Graph answered HTTP {(int)response.Status} ({code ?? "no error code"}) to the {partition.ResourceType} delta of {partition.PartitionKey}");
            }

            using var doc = response.Json();
            var root = doc.RootElement;
            var value = root.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.Array ? v : default;
            var next = root.TryGetProperty("@odata.nextLink", out var n) ? n.GetString() : null;
            var delta = root.TryGetProperty("@odata.deltaLink", out var d) ? d.GetString() : null;
            if (next is null && delta is null)
                throw new JobFailedException("graph_bad_page", $"a {partition.ResourceType} delta page had neither nextLink nor deltaLink");

            var ctx = new DeltaPageContext(clock.GetUtcNow(), roundStart, sweep);
            var empty = value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0;
            if (empty && !(next is null && sweep))
            {
                // Nothing to merge (the common case of an unchanged partition): one autocommit statement moves the checkpoint.
                await using var c = await db.OpenAsync(ct);
                await c.ExecuteAsync(new CommandDefinition(next is not null ? NextSql : DeltaSql, new
                {
                    partition.ResourceType, partition.PartitionKey, Next = next, Delta = delta, Sweep = sweep, RoundStart = roundStart, ctx.Now,
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
                    await c.ExecuteAsync(new CommandDefinition(DeltaSql,
                        new { partition.ResourceType, partition.PartitionKey, Delta = delta, RoundStart = roundStart, ctx.Now }, tx, cancellationToken: ct));
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
}
