using System.Text.Json;
using Dapper;
using FluentValidation;
using Sentinel.Features.Graph;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// The full drive-item inventory by /drives/{id}/root/delta, one delta partition per drive, several drives at
/// once. Per page (one transaction with the page's nextLink): binary COPY into a staging table, set-based merge,
/// deleted facet → deleted_at (descendants, permissions and grants too), and paths recomputed set-based for the
/// subtrees whose name or parent changed (delta never returns paths, and a folder rename does not re-emit its
/// children). Items changed since their last permission scan, or flagged with sharedChanged, become
/// permissions_dirty.
/// </summary>
public static class IngestDriveItemsDelta
{
    public sealed record Command(GraphIngestOptions? Options = null, IngestRun? Run = null, IReadOnlyList<string>? DriveIds = null)
        : IExecutorRequest<Result>;

    public sealed record Result(int Drives, int Pages, long Items, int DrivesResynced, int DrivesNotFound, long LiveItems, long DeletedItems);

    internal sealed class Validator : AbstractValidator<Command>;

    public static readonly IReadOnlyDictionary<string, string> PreferHeaders = new Dictionary<string, string>
    {
        ["Prefer"] = "deltashowremovedasdeleted, deltatraversepermissiongaps, deltashowsharingchanges, hierarchicalsharing",
    };

    private const string DrivesSql = """
        SELECT d.id, d.site_id AS SiteId, s.web_url AS SiteUrl FROM msgraph_drives d LEFT JOIN msgraph_sites s ON s.id = d.site_id
        WHERE d.deleted_at IS NULL ORDER BY d.id
        """;

    private const string MergeSql = """
        -- 1. Paths of the page's live items, computed before they are written (no second write per row): from the
        --    items whose parent is not in the page (parent path from the table; NULL while the parent is unknown) down
        --    through the page. stage_items.a = parentReference.id.
        WITH RECURSIVE sp AS (
            SELECT s.id,
                   CASE WHEN s.raw ? 'root' THEN '/'
                        WHEN p.path IS NULL OR p.deleted_at IS NOT NULL THEN NULL
                        WHEN p.path = '/' THEN '/' || (s.raw->>'name')
                        ELSE p.path || '/' || (s.raw->>'name') END AS path,
                   0 AS depth
            FROM stage_items s LEFT JOIN msgraph_drive_items p ON p.id = s.a
            WHERE NOT s.removed AND NOT EXISTS (SELECT 1 FROM stage_items x WHERE x.id = s.a AND NOT x.removed)
            UNION ALL
            SELECT c.id, CASE WHEN sp.path = '/' THEN '/' || (c.raw->>'name') ELSE sp.path || '/' || (c.raw->>'name') END, sp.depth + 1
            FROM sp JOIN stage_items c ON c.a = sp.id AND NOT c.removed AND NOT c.raw ? 'root'
            WHERE sp.path IS NOT NULL AND sp.depth < 1000
        )
        UPDATE stage_items s SET path = sp.path FROM sp WHERE s.id = sp.id;

        -- 2. Whose path changes (new, revived, renamed, moved, or below such an item): their table descendants follow (step 4).
        UPDATE stage_items s SET moved = NOT EXISTS (
            SELECT 1 FROM msgraph_drive_items i WHERE i.id = s.id AND i.deleted_at IS NULL AND i.path IS NOT DISTINCT FROM s.path)
        WHERE NOT s.removed;

        -- 3. Merge (an unchanged object is not rewritten).
        INSERT INTO msgraph_drive_items AS t (id, drive_id, name, web_url, parent_id, path, is_folder, size, mime_type, file_hash_sha1,
            created_dt, modified_dt, created_by_user_id, last_modified_by_user_id, synced_at, deleted_at, raw, is_root, c_tag, permissions_dirty)
        SELECT s.id, @DriveId, s.raw->>'name', s.raw->>'webUrl', s.a, s.path, (s.raw ? 'folder' OR s.raw ? 'root'),
               (s.raw->>'size')::bigint, s.raw->'file'->>'mimeType', s.raw->'file'->'hashes'->>'sha1Hash',
               (s.raw->>'createdDateTime')::timestamptz, (s.raw->>'lastModifiedDateTime')::timestamptz,
               s.raw->'createdBy'->'user'->>'id', s.raw->'lastModifiedBy'->'user'->>'id', @Now, NULL, s.raw, s.raw ? 'root', s.raw->>'cTag',
               lower(COALESCE(s.raw->>'@microsoft.graph.sharedChanged', '')) = 'true'
        FROM stage_items s WHERE NOT s.removed
        ON CONFLICT (id) DO UPDATE SET
            drive_id = EXCLUDED.drive_id, name = EXCLUDED.name, web_url = EXCLUDED.web_url, parent_id = EXCLUDED.parent_id, path = EXCLUDED.path,
            is_folder = EXCLUDED.is_folder, size = EXCLUDED.size, mime_type = EXCLUDED.mime_type, file_hash_sha1 = EXCLUDED.file_hash_sha1,
            created_dt = EXCLUDED.created_dt, modified_dt = EXCLUDED.modified_dt, created_by_user_id = EXCLUDED.created_by_user_id,
            last_modified_by_user_id = EXCLUDED.last_modified_by_user_id, synced_at = EXCLUDED.synced_at, deleted_at = NULL,
            raw = EXCLUDED.raw, is_root = EXCLUDED.is_root, c_tag = EXCLUDED.c_tag,
            -- a folder re-emitted only because its child count changed (delta sends the parent chain) keeps its permissions
            permissions_dirty = t.permissions_dirty OR EXCLUDED.permissions_dirty OR t.deleted_at IS NOT NULL
                OR (t.raw #- '{folder,childCount}') IS DISTINCT FROM (EXCLUDED.raw #- '{folder,childCount}')
        WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL OR t.drive_id <> EXCLUDED.drive_id
           OR t.path IS DISTINCT FROM EXCLUDED.path OR (@Sweep AND t.synced_at < @RoundStart);

        INSERT INTO msgraph_drive_items AS t (id, drive_id, name, parent_id, is_folder, synced_at, deleted_at, raw)
        SELECT s.id, @DriveId, s.raw->>'name', s.a, s.raw ? 'folder', @Now, @Now, s.raw
        FROM stage_items s WHERE s.removed
        ON CONFLICT (id) DO UPDATE SET deleted_at = COALESCE(t.deleted_at, EXCLUDED.deleted_at), synced_at = EXCLUDED.synced_at
        WHERE t.deleted_at IS NULL OR (@Sweep AND t.synced_at < @RoundStart);

        """;

    /// <summary>Only for pages that carry deletions.</summary>
    private const string CascadeSql = """
        -- A deleted folder takes its live descendants, and every deleted item its permissions and grants.
        WITH RECURSIVE gone AS (
            SELECT s.id FROM stage_items s WHERE s.removed
            UNION
            -- LATERAL … OFFSET 0 keeps the walk on the parent_id index (a flattened join plans a hash join over the table).
            SELECT c.id FROM gone CROSS JOIN LATERAL (
                SELECT x.id FROM msgraph_drive_items x WHERE x.parent_id = gone.id AND x.deleted_at IS NULL OFFSET 0) c
            WHERE NOT EXISTS (SELECT 1 FROM stage_items x WHERE x.id = c.id AND NOT x.removed)
        ), items AS (
            UPDATE msgraph_drive_items i SET deleted_at = @Now, synced_at = @Now
            FROM gone WHERE i.id = gone.id AND i.deleted_at IS NULL
        ), perms AS (
            UPDATE msgraph_drive_item_permissions p SET deleted_at = @Now, synced_at = @Now
            FROM gone WHERE p.item_id = gone.id AND p.deleted_at IS NULL
        )
        UPDATE msgraph_drive_item_permission_grants g SET deleted_at = @Now, synced_at = @Now
        FROM gone WHERE g.item_id = gone.id AND g.deleted_at IS NULL;
        """;

    private const string PathSql = """
        -- 4. Descendants already in the table (not in this page) of items whose path changed: one recursive walk down
        --    the parent_id index per changed item — a folder rename or move rewrites its whole subtree here.
        WITH RECURSIVE tree AS (
            SELECT s.id, s.path, 0 AS depth FROM stage_items s WHERE s.moved AND s.path IS NOT NULL
            UNION ALL
            SELECT c.id, CASE WHEN t.path = '/' THEN '/' || c.name ELSE t.path || '/' || c.name END, t.depth + 1
            FROM tree t CROSS JOIN LATERAL (
                SELECT x.id, x.name FROM msgraph_drive_items x
                WHERE x.parent_id = t.id AND x.deleted_at IS NULL AND NOT x.is_root OFFSET 0) c
            WHERE t.depth < 1000 AND NOT EXISTS (SELECT 1 FROM stage_items y WHERE y.id = c.id AND NOT y.removed)
        )
        UPDATE msgraph_drive_items d SET path = x.path
        FROM (SELECT DISTINCT ON (id) id, path FROM tree WHERE depth > 0 ORDER BY id, depth DESC) x
        WHERE d.id = x.id AND d.path IS DISTINCT FROM x.path;
        """;

    private const string SweepSql = """
        WITH gone AS (
            UPDATE msgraph_drive_items i SET deleted_at = @Now
            WHERE i.drive_id = @DriveId AND i.deleted_at IS NULL AND i.synced_at < @RoundStart
            RETURNING i.id
        ), perms AS (
            UPDATE msgraph_drive_item_permissions p SET deleted_at = @Now, synced_at = @Now
            FROM gone WHERE p.item_id = gone.id AND p.deleted_at IS NULL
        )
        UPDATE msgraph_drive_item_permission_grants g SET deleted_at = @Now, synced_at = @Now
        FROM gone WHERE g.item_id = gone.id AND g.deleted_at IS NULL;
        """;

    private static readonly string[] LogTables = ["msgraph_drive_items", "msgraph_drive_item_permissions", "msgraph_drive_item_permission_grants"];

    private const string StageSql =
        "CREATE TEMP TABLE stage_items (id text NOT NULL, removed boolean NOT NULL, raw jsonb, a text, b text, path text, moved boolean NOT NULL DEFAULT false) ON COMMIT DROP";

    private static (string? A, string? B) ParentOf(JsonElement e) =>
        (e.TryGetProperty("parentReference", out var p) && p.ValueKind == JsonValueKind.Object && p.TryGetProperty("id", out var id) ? id.GetString() : null, null);

    private sealed record DriveRow(string Id, string? SiteId, string? SiteUrl);

    internal sealed class Handler(Db db, GraphHttp graph, TimeProvider clock) : MediatR.IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var options = request.Options ?? new GraphIngestOptions();
            var run = request.Run ?? new IngestRun(clock.GetUtcNow());
            List<DriveRow> drives;
            await using (var connection = await db.OpenAsync(ct))
                drives = (await connection.QueryAsync<DriveRow>(new CommandDefinition(DrivesSql, cancellationToken: ct))).ToList();
            drives = drives.Where(d => d.SiteId is null ? options.IncludeOneDrive : options.SiteInScope(d.SiteUrl))
                .Where(d => request.DriveIds is null || request.DriveIds.Contains(d.Id))
                .ToList();

            // Every drive's checkpoint in one query (one partition per drive; thousands of drives).
            Dictionary<string, DeltaRounds.State> checkpoints;
            await using (var connection = await db.OpenAsync(ct))
                checkpoints = (await connection.QueryAsync<(string Key, string? DeltaLink, string? NextLink, bool Resync, DateTime? RoundStartedAt)>(
                        new CommandDefinition("SELECT partition_key, delta_link, next_link, resync, round_started_at FROM msgraph_delta_state WHERE resource_type = 'drive_items'",
                            cancellationToken: ct)))
                    .ToDictionary(r => r.Key, r => new DeltaRounds.State(r.DeltaLink, r.NextLink, r.Resync, r.RoundStartedAt));
            int pages = 0, resynced = 0, notFound = 0;
            long items = 0;
            await Parallel.ForEachAsync(drives, new ParallelOptions { MaxDegreeOfParallelism = options.DriveConcurrency, CancellationToken = ct },
                async (drive, token) =>
                {
                    var partition = new DeltaPartition("drive_items", drive.Id, $"drives/{drive.Id}/root/delta", PreferHeaders, LogTables);
                    var round = await DeltaRounds.RunAsync(db, graph, run, clock, partition,
                        async (c, tx, value, ctx, t) =>
                        {
                            var rows = Staging.Collect(value, e => e.TryGetProperty("deleted", out _) || Staging.HasRemoved(e), ParentOf);
                            await c.ExecuteAsync(new CommandDefinition(StageSql, transaction: tx, cancellationToken: t));
                            await Staging.CopyAsync(c, "stage_items", rows.Values, t, create: false);
                            var removed = rows.Values.Any(r => r.Removed);
                            var sql = removed ? MergeSql + CascadeSql + PathSql : MergeSql + PathSql;
                            var affected = await c.ExecuteAsync(new CommandDefinition(sql,
                                new { DriveId = drive.Id, ctx.Now, ctx.Sweep, ctx.RoundStart }, tx, cancellationToken: t));
                            if (affected > 0) ctx.Changed = true;
                            run.Add("items", rows.Count);
                            return rows.Count;
                        },
                        async (c, tx, ctx, t) =>
                        {
                            if (ctx.Sweep &&
                                await c.ExecuteAsync(new CommandDefinition(SweepSql, new { DriveId = drive.Id, ctx.Now, ctx.RoundStart }, tx, cancellationToken: t)) > 0)
                                ctx.Changed = true;
                        },
                        token, checkpoints.GetValueOrDefault(drive.Id) ?? new DeltaRounds.State(null, null, false, null));
                    Interlocked.Add(ref pages, round.Pages);
                    Interlocked.Add(ref items, round.Items);
                    if (round.Resynced) Interlocked.Increment(ref resynced);
                    if (round.NotFound) Interlocked.Increment(ref notFound);
                    run.Add("drives_done", 1);
                });

            await using var conn = await db.OpenAsync(ct);
            var counts = await conn.QuerySingleAsync<(long Live, long Deleted)>(new CommandDefinition(
                "SELECT count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL) FROM msgraph_drive_items", cancellationToken: ct));
            return new Result(drives.Count, pages, items, resynced, notFound, counts.Live, counts.Deleted);
        }
    }
}
