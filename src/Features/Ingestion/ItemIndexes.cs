using Dapper;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// Secondary indexes of msgraph_drive_items deferred during the first full load (db/init 016): when the drive-item
/// phase starts on an empty table, every index ingestion does not write through is dropped (its definition kept in
/// ingest_deferred_indexes, in the same transaction). When the phase completes, the table is analysed and the indexes
/// are built by <see cref="BuildConcurrentlyAsync"/>, which the run starts in the background (CREATE INDEX
/// CONCURRENTLY: the permission phase goes on writing the table, Graph-bound) and waits for before it ends — the two the
/// permission phase reads first (<see cref="ReadByPermissionPhase"/>, ≈ 2 s each at 1M items), then the dashboard's
/// sort orders and trigram search. Until then those queries answer from the table without them (slower, never wrong).
/// A phase that fails or is cancelled builds them all itself (<see cref="RestoreAsync"/>: nothing follows it); a phase
/// that finds definitions left by a run that died builds them first unless the table is still empty; an index a
/// cancelled concurrent build left invalid is dropped and built again.
/// Kept: the primary key (merge), (drive_id, parent_id) (path walks, cascades, sweep), the deleted_at partial indexes
/// (round-end cascade) and the two partial indexes of the permission scan whose rows are rare in a first load (roots
/// and dirty inheriting items: a few thousand of 1M rows; maintaining them costs the predicate per row, building them
/// afterwards a scan of the whole table each, ≈ 1.3 s and 2.2 s at 1M items).
/// </summary>
internal static class ItemIndexes
{
    public const string Table = "msgraph_drive_items";

    private static readonly string[] Kept =
    [
        "msgraph_drive_items_pkey", "msgraph_drive_items_drive_parent_idx", "msgraph_drive_items_deleted_idx",
        "msgraph_drive_items_deleted_folders_idx", "msgraph_drive_items_root_scan_idx", "msgraph_drive_items_dirty_inheriting_idx",
    ];

    /// <summary>
    /// Deferred indexes the permission phase reads (verification order — read once the roots are scanned —, hierarchy
    /// members — one query of the roots' maintenance, a table scan without it): first in the concurrent build.
    /// </summary>
    public static readonly string[] ReadByPermissionPhase =
    [
        "msgraph_drive_items_verify_idx", "msgraph_drive_items_permission_root_idx",
    ];

    /// <summary>
    /// One builder at a time, across processes (a session-level advisory lock): another ingestion job's repair would
    /// otherwise drop an index this one is building concurrently (it looks invalid until done), each waiting for the other.
    /// </summary>
    private const string BuilderKey = "hashtextextended('sentinel.ingest_deferred_indexes', 0)";

    /// <summary>null: no such index; false: left invalid by an interrupted concurrent build.</summary>
    private const string ValidSql = "SELECT x.indisvalid FROM pg_index x WHERE x.indexrelid = to_regclass('public.' || quote_ident(@Name))";

    /// <summary>Drops the deferrable indexes when the table is empty. Returns how many are deferred now.</summary>
    public static async Task<int> DeferIfEmptyAsync(Db db, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        // The common case (the table has rows) answers without a lock: the lock below conflicts with autovacuum, which
        // gives way only after deadlock_timeout (1 s of every incremental run, measured).
        if (await c.ExecuteScalarAsync<bool>(new CommandDefinition($"SELECT EXISTS (SELECT 1 FROM {Table})", cancellationToken: ct)))
            return 0;
        await using var tx = await c.BeginTransactionAsync(ct);
        // No writer can slip a row in between the emptiness check and the drops.
        await c.ExecuteAsync(new CommandDefinition($"LOCK TABLE {Table} IN SHARE ROW EXCLUSIVE MODE", transaction: tx, cancellationToken: ct));
        if (await c.ExecuteScalarAsync<bool>(new CommandDefinition($"SELECT EXISTS (SELECT 1 FROM {Table})", transaction: tx, cancellationToken: ct)))
            return 0;
        var indexes = (await c.QueryAsync<(string Name, string Definition)>(new CommandDefinition("""
            SELECT i.relname, pg_get_indexdef(x.indexrelid)
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
            WHERE t.relname = @Table AND t.relnamespace = 'public'::regnamespace AND NOT x.indisunique AND NOT x.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
              AND i.relname <> ALL(@Kept)
            """, new { Table, Kept }, tx, cancellationToken: ct))).ToList();
        foreach (var (name, definition) in indexes)
        {
            await c.ExecuteAsync(new CommandDefinition("""
                INSERT INTO ingest_deferred_indexes (index_name, table_name, definition) VALUES (@name, @Table, @definition)
                ON CONFLICT (index_name) DO UPDATE SET definition = EXCLUDED.definition, deferred_at = now()
                """, new { name, Table, definition }, tx, cancellationToken: ct));
            await c.ExecuteAsync(new CommandDefinition($"DROP INDEX public.\"{name}\"", transaction: tx, cancellationToken: ct));
        }
        var pending = await c.ExecuteScalarAsync<int>(new CommandDefinition("SELECT count(*) FROM ingest_deferred_indexes", transaction: tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
        return pending;
    }

    /// <summary>Whether definitions are waiting (a first load in progress, or one that died).</summary>
    public static async Task<int> PendingAsync(Db db, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        return await c.ExecuteScalarAsync<int>(new CommandDefinition("SELECT count(*) FROM ingest_deferred_indexes", cancellationToken: ct));
    }

    /// <summary>
    /// Builds every deferred index (<paramref name="parallel"/> at a time; sorted builds with a larger
    /// maintenance_work_mem) and forgets each definition in the transaction that built it, then analyses the table.
    /// For a phase that failed or was stopped, and for leftovers of a run that died. Idempotent.
    /// </summary>
    public static async Task<int> RestoreAsync(Db db, int parallel, CancellationToken ct)
    {
        await using var guard = await db.OpenAsync(ct);
        // Another session is building them (a concurrent build of another run): it builds what is pending.
        if (!await guard.ExecuteScalarAsync<bool>(new CommandDefinition($"SELECT pg_try_advisory_lock({BuilderKey})", cancellationToken: ct)))
            return 0;
        try
        {
            return await RestoreLockedAsync(db, parallel, ct);
        }
        finally
        {
            await guard.ExecuteAsync(new CommandDefinition($"SELECT pg_advisory_unlock({BuilderKey})", cancellationToken: CancellationToken.None));
        }
    }

    private static async Task<int> RestoreLockedAsync(Db db, int parallel, CancellationToken ct)
    {
        var deferred = await DeferredAsync(db, ct);
        await Parallel.ForEachAsync(deferred, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallel), CancellationToken = ct }, async (index, token) =>
        {
            await using var c = await db.OpenAsync(token);
            await using var tx = await c.BeginTransactionAsync(token);
            await c.ExecuteAsync(new CommandDefinition("SET LOCAL maintenance_work_mem = '256MB'", transaction: tx, cancellationToken: token));
            var valid = await c.ExecuteScalarAsync<bool?>(new CommandDefinition(ValidSql, new { index.Name }, tx, cancellationToken: token));
            if (valid == false) await c.ExecuteAsync(new CommandDefinition($"DROP INDEX public.\"{index.Name}\"", transaction: tx, cancellationToken: token));
            if (valid != true) await c.ExecuteAsync(new CommandDefinition(index.Definition, transaction: tx, cancellationToken: token, commandTimeout: 0));
            await c.ExecuteAsync(new CommandDefinition("DELETE FROM ingest_deferred_indexes WHERE index_name = @Name", new { index.Name }, tx, cancellationToken: token));
            await tx.CommitAsync(token);
        });
        if (deferred.Count > 0) await AnalyzeAsync(db, ct);
        return deferred.Count;
    }

    /// <summary>
    /// Builds every deferred index with CREATE INDEX CONCURRENTLY, one at a time (writers of the table are not blocked),
    /// then analyses the table (statistics of the expression indexes). Returns how many were built.
    /// </summary>
    public static async Task<int> BuildConcurrentlyAsync(Db db, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await c.ExecuteAsync(new CommandDefinition($"SELECT pg_advisory_lock({BuilderKey})", cancellationToken: ct, commandTimeout: 0));
        try
        {
            return await BuildConcurrentlyLockedAsync(db, c, ct);
        }
        finally
        {
            if (c.State == System.Data.ConnectionState.Open)
                await c.ExecuteAsync(new CommandDefinition($"SELECT pg_advisory_unlock({BuilderKey})", cancellationToken: CancellationToken.None));
        }
    }

    private static async Task<int> BuildConcurrentlyLockedAsync(Db db, Npgsql.NpgsqlConnection c, CancellationToken ct)
    {
        var deferred = await DeferredAsync(db, ct);
        foreach (var (name, definition) in deferred)
        {
            var valid = await c.ExecuteScalarAsync<bool?>(new CommandDefinition(ValidSql, new { Name = name }, cancellationToken: ct));
            if (valid == false) await c.ExecuteAsync(new CommandDefinition($"DROP INDEX CONCURRENTLY public.\"{name}\"", cancellationToken: ct, commandTimeout: 0));
            if (valid != true)
            {
                if (!definition.StartsWith("CREATE INDEX ", StringComparison.Ordinal))
                    throw new InvalidOperationException($"deferred index {name} has an unexpected definition");
                await c.ExecuteAsync(new CommandDefinition("SET maintenance_work_mem = '256MB'", cancellationToken: ct));
                await c.ExecuteAsync(new CommandDefinition("CREATE INDEX CONCURRENTLY " + definition["CREATE INDEX ".Length..], cancellationToken: ct, commandTimeout: 0));
            }
            await c.ExecuteAsync(new CommandDefinition("DELETE FROM ingest_deferred_indexes WHERE index_name = @Name", new { Name = name }, cancellationToken: ct));
        }
        // The table as a first load left it: every row new since the last vacuum, so autovacuum takes it on within minutes
        // of the load (at 1M items ≈ 2 GB to scan), in the middle of whatever runs next (measured: the bench's incremental
        // run, 12.4 s instead of 9–11 s). Vacuumed here instead, once, with the run still waiting for its deferred work.
        if (deferred.Count > 0) await AnalyzeAsync(db, ct, vacuum: true);
        return deferred.Count;
    }

    /// <summary>The permission phase's first, then the largest (trigram) first.</summary>
    private static async Task<List<(string Name, string Definition)>> DeferredAsync(Db db, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        return (await c.QueryAsync<(string, string)>(new CommandDefinition("""
            SELECT index_name, definition FROM ingest_deferred_indexes
            ORDER BY index_name = ANY(@ReadByPermissionPhase) DESC, (definition ILIKE '%USING gin%') DESC, index_name
            """, new { ReadByPermissionPhase }, cancellationToken: ct))).ToList();
    }

    /// <summary>
    /// After a bulk load the statistics still describe the empty table until autovacuum gets to it: the next statements
    /// (the permission phase's walk of every drive) were planned on them — one such walk ran for more than 4 minutes
    /// instead of 8 s at 1M items. One ANALYZE (a sample, ≈ 1 s) before anything else is planned.
    /// <paramref name="exceptRaw"/> (the end of a first load, before BuildDeferredIndexes' VACUUM (ANALYZE) of every column):
    /// the item JSON is left out — no statement is planned on its statistics (its <c>?</c> tests sit inside <c>coalesce</c>
    /// and <c>CASE</c>), and it was half of the ANALYZE at 1M items (1.34–1.39 s with it, 0.65 s without). A column list
    /// does not reset the table's count of changes since its last analysis, so autovacuum still analyses the whole table
    /// if that VACUUM (ANALYZE) never comes.
    /// </summary>
    public static async Task AnalyzeAsync(Db db, CancellationToken ct, bool vacuum = false, bool exceptRaw = false)
    {
        await using var c = await db.OpenAsync(ct);
        var columns = exceptRaw ? await c.ExecuteScalarAsync<string>(new CommandDefinition($"""
            SELECT ' (' || string_agg(quote_ident(attname), ', ' ORDER BY attnum) || ')' FROM pg_attribute
            WHERE attrelid = 'public.{Table}'::regclass AND attnum > 0 AND NOT attisdropped AND attname <> 'raw'
            """, cancellationToken: ct)) : "";
        await c.ExecuteAsync(new CommandDefinition(vacuum ? $"VACUUM (ANALYZE) {Table}" : $"ANALYZE {Table}{columns}", cancellationToken: ct, commandTimeout: 0));
    }
}
