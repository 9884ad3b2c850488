using System.Text.Json;
using Dapper;
using Npgsql;
using FluentValidation;
using Sentinel.Features.Graph;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// The full drive-item inventory by /drives/{id}/root/delta, one delta partition per drive, several drives at
/// once. Drives with a completed round are polled through $batch (20 deltaLinks per request): an unchanged drive
/// costs one inner request and moves its checkpoint in one statement per batch; only drives with changes (or a
/// resync, or a round to finish) follow their links one by one. A first full load (empty table) starts the drives'
/// first rounds through $batch as well and writes the single-page ones together (FirstLoadCopy). Per page (one
/// transaction with the page's nextLink): binary COPY into a staging table, set-based merge, deleted facet → deleted_at (with permissions and
/// grants), and paths recomputed set-based for the subtrees whose name or parent changed (delta never returns
/// paths, and a folder rename does not re-emit its children) — walking the table after the merge, so an item of
/// the page whose ancestor was renamed in the same page gets the new path too. A deleted folder takes its
/// descendants only when the round ends ("only delete a folder locally if it is empty after syncing all the
/// changes", driveItem delta): a child moved out of it in a later page keeps its subtree. Items changed since
/// their last permission scan, or flagged with sharedChanged, become permissions_dirty. A drive Graph refuses
/// (403/423/…, 5xx after retries) is recorded in <see cref="IngestRun.Failures"/> and keeps its checkpoint; the
/// other drives go on.
/// </summary>
public static class IngestDriveItemsDelta
{
    public sealed record Command(GraphIngestOptions? Options = null, IngestRun? Run = null, IReadOnlyList<string>? DriveIds = null)
        : IExecutorRequest<Result>
    {
        /// <summary>
        /// Folders a first load's COPY remembers per round before the round goes on by merge (<see cref="FirstLoadCopy.MaxFolders"/>;
        /// lower only in tests, to reach that switch with a small tenant).
        /// </summary>
        internal int FirstLoadMaxFolders { get; init; } = FirstLoadCopy.MaxFolders;
    }

    public sealed record Result(int Drives, int Pages, long Items, int DrivesResynced, int DrivesNotFound, long LiveItems, long DeletedItems);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => RuleForEach(c => c.DriveIds).NotEmpty().WithMessage("drive_ids must not contain empty ids");
    }

    public static readonly IReadOnlyDictionary<string, string> PreferHeaders = new Dictionary<string, string>
    {
        ["Prefer"] = "deltashowremovedasdeleted, deltatraversepermissiongaps, deltashowsharingchanges, hierarchicalsharing",
    };

    /// <summary>A drive of a personal site is a OneDrive (include_onedrive), whichever way it was listed.</summary>
    private const string DrivesSql = """
        SELECT d.id, d.name, d.site_id AS SiteId, s.web_url AS SiteUrl, (d.site_id IS NULL OR COALESCE(s.is_personal, false)) AS OneDrive
        FROM msgraph_drives d LEFT JOIN msgraph_sites s ON s.id = d.site_id
        WHERE d.deleted_at IS NULL ORDER BY d.id
        """;

    /// <summary>
    /// One statement per page, no temp table (a temp table with a jsonb column is three relations created and dropped
    /// per page): the page arrives as arrays; its paths are computed before the rows are written, the merge writes only
    /// changed objects, deleted items take their own permissions and grants. Returns the items the path walk starts
    /// from (whose path changed and that already had children in the table) and how many rows changed.
    /// </summary>
    private const string MergeSql = """
        WITH RECURSIVE s AS MATERIALIZED (
            SELECT x.id, x.removed, x.raw::jsonb AS raw, x.a, x.drive_id
            FROM unnest(@Ids::text[], @Removed::boolean[], @Raws::text[], @Parents::text[], @DriveIds::text[]) AS x(id, removed, raw, a, drive_id)
        ),
        -- 1. Paths of the page's live items: from the items whose parent is not in the page (parent path from the table;
        --    NULL while the parent is unknown) down through the page, with the permission root (the nearest
        --    ancestor-or-self that is a drive root or carries the shared facet). s.a = parentReference.id.
        sp AS (
            SELECT s.id,
                   CASE WHEN s.raw ? 'root' THEN '/'
                        WHEN p.path IS NULL OR p.deleted_at IS NOT NULL THEN NULL
                        WHEN p.path = '/' THEN '/' || (s.raw->>'name')
                        ELSE p.path || '/' || (s.raw->>'name') END AS path,
                   CASE WHEN s.raw ? 'root' OR s.raw ? 'shared' THEN s.id
                        WHEN p.deleted_at IS NULL THEN p.permission_root_id END AS root,
                   0 AS depth
            FROM s LEFT JOIN msgraph_drive_items p ON p.id = s.a
            WHERE NOT s.removed AND NOT EXISTS (SELECT 1 FROM s x WHERE x.id = s.a AND NOT x.removed)
            UNION ALL
            SELECT c.id, CASE WHEN sp.path = '/' THEN '/' || (c.raw->>'name') ELSE sp.path || '/' || (c.raw->>'name') END,
                   CASE WHEN c.raw ? 'shared' THEN c.id ELSE sp.root END, sp.depth + 1
            FROM sp JOIN s c ON c.a = sp.id AND NOT c.removed AND NOT c.raw ? 'root'
            WHERE sp.path IS NOT NULL AND sp.depth < 1000
        ),
        -- 2. Whose path changes (new, revived, renamed, moved, or below such an item): their table descendants follow (the walk).
        staged AS MATERIALIZED (
            SELECT s.id, s.raw, s.a, s.drive_id, sp.path, sp.root,
                   NOT EXISTS (SELECT 1 FROM msgraph_drive_items i WHERE i.id = s.id AND i.deleted_at IS NULL AND i.path IS NOT DISTINCT FROM sp.path) AS moved
            FROM s LEFT JOIN sp ON sp.id = s.id
            WHERE NOT s.removed
        ),
        -- 3. Merge (an unchanged object is not rewritten).
        live AS (
            INSERT INTO msgraph_drive_items AS t (id, drive_id, name, web_url, parent_id, path, is_folder, size, mime_type, file_hash_sha1,
                created_dt, modified_dt, created_by_user_id, last_modified_by_user_id, synced_at, deleted_at, raw, is_root, c_tag, permissions_dirty,
                has_unique_permissions, permission_root_id)
            SELECT s.id, s.drive_id, s.raw->>'name', s.raw->>'webUrl', s.a, s.path, (s.raw ? 'folder' OR s.raw ? 'root'),
                   (s.raw->>'size')::bigint, s.raw->'file'->>'mimeType', s.raw->'file'->'hashes'->>'sha1Hash',
                   (s.raw->>'createdDateTime')::timestamptz, (s.raw->>'lastModifiedDateTime')::timestamptz,
                   s.raw->'createdBy'->'user'->>'id', s.raw->'lastModifiedBy'->'user'->>'id', @Now, NULL, s.raw, s.raw ? 'root', s.raw->>'cTag',
                   lower(COALESCE(s.raw->>'@microsoft.graph.sharedChanged', '')) = 'true',
                   -- a new item's place in the permission hierarchy, as MaintainPermissionRoots computes it (it stays the
                   -- authority and recomputes every touched drive; set here, a first load does not rewrite every row there)
                   s.raw ? 'root' OR s.raw ? 'shared', s.root
            FROM staged s
            ON CONFLICT (id) DO UPDATE SET
                drive_id = EXCLUDED.drive_id, name = EXCLUDED.name, web_url = EXCLUDED.web_url, parent_id = EXCLUDED.parent_id, path = EXCLUDED.path,
                is_folder = EXCLUDED.is_folder, size = EXCLUDED.size, mime_type = EXCLUDED.mime_type, file_hash_sha1 = EXCLUDED.file_hash_sha1,
                created_dt = EXCLUDED.created_dt, modified_dt = EXCLUDED.modified_dt, created_by_user_id = EXCLUDED.created_by_user_id,
                last_modified_by_user_id = EXCLUDED.last_modified_by_user_id, synced_at = EXCLUDED.synced_at, deleted_at = NULL,
                raw = EXCLUDED.raw, is_root = EXCLUDED.is_root, c_tag = EXCLUDED.c_tag,
                -- moved, moved across drives or revived: its hierarchy (and its subtree's) is unknown until MaintainPermissionRoots
                -- walks the drive again — a NULL root is what sends a drive there
                permission_root_id = CASE WHEN t.deleted_at IS NOT NULL OR t.drive_id <> EXCLUDED.drive_id OR t.parent_id IS DISTINCT FROM EXCLUDED.parent_id
                                          THEN NULL ELSE t.permission_root_id END,
                -- a folder re-emitted only because its child count changed (delta sends the parent chain) keeps its permissions
                permissions_dirty = t.permissions_dirty OR EXCLUDED.permissions_dirty OR t.deleted_at IS NOT NULL
                    OR (t.raw #- '{folder,childCount}') IS DISTINCT FROM (EXCLUDED.raw #- '{folder,childCount}')
            WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL OR t.drive_id <> EXCLUDED.drive_id
               OR t.path IS DISTINCT FROM EXCLUDED.path OR (@Sweep AND t.synced_at < @RoundStart)
            RETURNING 1
        ),
        gone AS (
            INSERT INTO msgraph_drive_items AS t (id, drive_id, name, parent_id, is_folder, synced_at, deleted_at, raw)
            SELECT s.id, s.drive_id, s.raw->>'name', s.a, s.raw ? 'folder', @Now, @Now, s.raw
            FROM s WHERE s.removed
            ON CONFLICT (id) DO UPDATE SET deleted_at = COALESCE(t.deleted_at, EXCLUDED.deleted_at), synced_at = EXCLUDED.synced_at
            WHERE t.deleted_at IS NULL OR (@Sweep AND t.synced_at < @RoundStart)
            RETURNING 1
        ),
        -- the deleted items' own permissions and grants (descendants wait for the round end)
        gone_permissions AS (
            UPDATE msgraph_drive_item_permissions p SET deleted_at = @Now, synced_at = @Now
            FROM s WHERE s.removed AND p.item_id = s.id AND p.deleted_at IS NULL
            RETURNING 1
        ),
        gone_grants AS (
            UPDATE msgraph_drive_item_permission_grants g SET deleted_at = @Now, synced_at = @Now
            FROM s WHERE s.removed AND g.item_id = s.id AND g.deleted_at IS NULL
            RETURNING 1
        )
        -- The walk starts at changed items that had live children in the table before this statement (@WithChildren,
        -- WithChildrenSql): children in the page got their paths above, so a first load (children arrive with or after
        -- their parents) walks nothing; an item below a stale table ancestor is reached, deeper, from the page item above
        -- that ancestor.
        SELECT m.id AS Id, m.drive_id AS DriveId, m.path AS Path, 0::bigint AS Changed FROM staged m
        WHERE m.moved AND m.path IS NOT NULL AND m.id = ANY(@WithChildren::text[])
        UNION ALL
        SELECT NULL, NULL, NULL, (SELECT count(*) FROM live) + (SELECT count(*) FROM gone) + (SELECT count(*) FROM gone_permissions) + (SELECT count(*) FROM gone_grants)
        """;

    /// <summary>
    /// Round end: folders deleted during the round take the descendants they still have once every page is merged
    /// (a child moved out of a deleted folder, in whatever page, is no longer below it), with their permissions and grants.
    /// </summary>
    private const string CascadeSql = """
        WITH RECURSIVE gone AS (
            SELECT i.id, i.drive_id FROM msgraph_drive_items i
            WHERE i.deleted_at >= @RoundStart AND i.drive_id = ANY(@DriveIds) AND i.is_folder
            UNION
            -- LATERAL … OFFSET 0 keeps the walk on the (drive_id, parent_id) index (a flattened join plans a hash join over
            -- the table); a child is in its parent's drive.
            SELECT c.id, gone.drive_id FROM gone CROSS JOIN LATERAL (
                SELECT x.id FROM msgraph_drive_items x WHERE x.drive_id = gone.drive_id AND x.parent_id = gone.id AND x.deleted_at IS NULL OFFSET 0) c
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

    /// <summary>
    /// The page's live items that have live children in the table, asked before the merge: asked inside it, the probe of
    /// a folder met the index entries of its children the merge had just inserted — invisible to the statement, each one
    /// a heap visit (35 of 57 ms of a 200-item page of a first load, EXPLAIN ANALYZE at 1M items).
    /// </summary>
    private const string WithChildrenSql = """
        SELECT x.id FROM unnest(@Ids::text[], @Removed::boolean[], @DriveIds::text[]) AS x(id, removed, drive_id)
        WHERE NOT x.removed
          AND EXISTS (SELECT 1 FROM msgraph_drive_items c WHERE c.drive_id = x.drive_id AND c.parent_id = x.id AND c.deleted_at IS NULL)
        """;

    internal const string PathWalkSql = """
        -- 4. Descendants of the page's items whose path changed, walked in the table after the merge, page items included:
        --    one whose path came from an ancestor renamed in this same page is reached again from that ancestor, deeper,
        --    and the deepest walk wins (walks overlap: every changed item with children in the table starts one). One
        --    recursive walk down the (drive_id, parent_id) index per start item — a folder rename or move rewrites its whole subtree here.
        WITH RECURSIVE tree AS (
            SELECT m.id, m.drive_id, m.path, 0 AS depth FROM unnest(@StartIds::text[], @StartDrives::text[], @StartPaths::text[]) AS m(id, drive_id, path)
            UNION ALL
            SELECT c.id, t.drive_id, CASE WHEN t.path = '/' THEN '/' || c.name ELSE t.path || '/' || c.name END, t.depth + 1
            FROM tree t CROSS JOIN LATERAL (
                SELECT x.id, x.name FROM msgraph_drive_items x
                WHERE x.drive_id = t.drive_id AND x.parent_id = t.id AND x.deleted_at IS NULL AND NOT x.is_root OFFSET 0) c
            WHERE t.depth < 1000
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

    /// <summary>
    /// Every statement of a drive's page and round end touches one drive or one page, and an index path always exists;
    /// during a bulk load the statistics lag far behind the table (the sweep was planned as a sequential scan of the
    /// whole table, once per drive), so sequential scans are priced out for the transaction. With that, hash joins are
    /// safe again (a hash join against a big table would now need a full index scan, which never wins) and are what
    /// the page's own sets need: the joins between the page's CTEs were quadratic nested loops (45 of 99 ms of a
    /// 200-item page, EXPLAIN ANALYZE at 1M items).
    /// </summary>
    private const string PageIndexOnlySql = "SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = on;\n";

    /// <summary>
    /// The round-end statements join the recursive set of deleted items with the permission tables: its estimate is
    /// large, so with hash joins allowed they were planned as full index scans of those tables (10–12 ms per round
    /// instead of 0.4 ms at 1M items): index nested loops only.
    /// </summary>
    private const string RoundEndSettingsSql = "SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off;\n";

    /// <summary>A page's items keyed by id (last wins); a = parentReference.id; the deleted facet or @removed marks a removal.</summary>
    private static IReadOnlyCollection<StageRow> PageRows(JsonElement value) =>
        Staging.Collect(value, e => e.TryGetProperty("deleted", out _) || Staging.HasRemoved(e), ParentOf).Values;

    private static (string? A, string? B) ParentOf(JsonElement e) =>
        (e.TryGetProperty("parentReference", out var p) && p.ValueKind == JsonValueKind.Object && p.TryGetProperty("id", out var id) ? id.GetString() : null, null);

    private sealed record DriveRow(string Id, string? Name, string? SiteId, string? SiteUrl, bool OneDrive);

    /// <summary>Moves the checkpoints of drives whose polled deltaLink answered "no changes" (one statement per batch).</summary>
    private const string UnchangedSql = """
        UPDATE msgraph_delta_state s SET delta_link = x.link, last_synced_at = @Now, round_started_at = @Now
        FROM unnest(@Keys::text[], @Links::text[]) AS x(key, link)
        WHERE s.resource_type = 'drive_items' AND s.partition_key = x.key
        """;

    /// <summary>Empty pages with a nextLink followed in $batch before a drive falls back to its own round.</summary>
    private const int MaxEmptyHops = 3;

    internal sealed class Handler(Db db, GraphHttp graph, TimeProvider clock) : MediatR.IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var options = request.Options ?? new GraphIngestOptions();
            var run = request.Run ?? new IngestRun(clock.GetUtcNow());
            List<DriveRow> drives;
            await using (var connection = await db.OpenAsync(ct))
                drives = (await connection.QueryAsync<DriveRow>(new CommandDefinition(DrivesSql, cancellationToken: ct))).ToList();
            drives = drives.Where(d => d.OneDrive ? options.IncludeOneDrive : options.SiteInScope(d.SiteUrl))
                .Where(d => request.DriveIds is null || request.DriveIds.Contains(d.Id))
                .ToList();

            // First full load: the indexes ingestion does not read are built once at the end (ItemIndexes); leftovers of a
            // run that died are built first when the table already has rows.
            var deferred = await ItemIndexes.DeferIfEmptyAsync(db, ct);
            if (deferred == 0 && await ItemIndexes.PendingAsync(db, ct) > 0) run.Add("indexes_rebuilt", await ItemIndexes.RestoreAsync(db, 2, ct));
            if (deferred > 0) run.Add("indexes_deferred", deferred);
            var completed = false;
            try
            {
                var result = await IngestAsync(request, options, run, drives, deferred > 0, ct);
                completed = true;
                return result;
            }
            finally
            {
                if (deferred > 0)
                {
                    await run.ReportAsync(CancellationToken.None, force: true);
                    // A completed phase leaves the indexes to BuildDeferredIndexes, which the run starts next, concurrently; the
                    // statistics cannot wait (the permission phase's first statements are planned on them). A phase that
                    // failed or was cancelled builds them all: nothing follows it.
                    if (completed) await ItemIndexes.AnalyzeAsync(db, CancellationToken.None, exceptRaw: true);
                    else run.Add("indexes_rebuilt", await ItemIndexes.RestoreAsync(db, 2, CancellationToken.None));
                }
            }
        }

        /// <param name="emptyAtStart">The item table was empty when the phase started (a first full load).</param>
        private async Task<Result> IngestAsync(Command request, GraphIngestOptions options, IngestRun run, List<DriveRow> drives, bool emptyAtStart,
            CancellationToken ct)
        {
            // Every drive's checkpoint in one query (one partition per drive; thousands of drives).
            Dictionary<string, DeltaRounds.State> checkpoints;
            await using (var connection = await db.OpenAsync(ct))
                checkpoints = (await connection.QueryAsync<(string Key, string? DeltaLink, string? NextLink, bool Resync, DateTime? RoundStartedAt)>(
                        new CommandDefinition("SELECT partition_key, delta_link, next_link, resync, round_started_at FROM msgraph_delta_state WHERE resource_type = 'drive_items'",
                            cancellationToken: ct)))
                    .ToDictionary(r => r.Key, r => new DeltaRounds.State(r.DeltaLink, r.NextLink, r.Resync, r.RoundStartedAt));
            var tally = new Tally { MaxFolders = request.FirstLoadMaxFolders };
            DeltaRounds.State Checkpoint(DriveRow d) => checkpoints.GetValueOrDefault(d.Id) ?? new DeltaRounds.State(null, null, false, null);

            // Drives between rounds are polled in batches; in a first full load, drives never synced start their first
            // round in batches too (most drives are one page: a round of their own cost a request and a transaction
            // each); the rest (a round to finish, a first round on a table with rows) go one by one.
            bool Polled(DriveRow d) => Checkpoint(d) is { NextLink: null, DeltaLink: not null };
            bool Fresh(DriveRow d) => emptyAtStart && Checkpoint(d) is { NextLink: null, DeltaLink: null };
            var polled = drives.Where(Polled).ToList();
            // Libraries first: they are the shared content and usually the larger drives (many pages), so the last batches
            // are small OneDrives and the phase does not end waiting on one long round.
            var fresh = drives.Where(Fresh).OrderBy(d => d.OneDrive).ThenBy(d => d.Id, StringComparer.Ordinal).ToList();
            var direct = drives.Where(d => !Polled(d) && !Fresh(d)).ToList();
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.DriveConcurrency, CancellationToken = ct };

            await Parallel.ForEachAsync(direct, parallel, async (drive, token) =>
                await RoundAsync(drive, Checkpoint(drive), null, run, tally, emptyAtStart, token));

            await Parallel.ForEachAsync(fresh.Chunk(GraphBatch.MaxPerBatch), parallel, async (chunk, token) =>
                await BatchedRoundsAsync(chunk, d => graph.ToBatchUrl(RootDelta(d)), firstLoad: true, Checkpoint, options, run, tally, token));

            await Parallel.ForEachAsync(polled.Chunk(GraphBatch.MaxPerBatch), parallel, async (chunk, token) =>
                await BatchedRoundsAsync(chunk, d => graph.ToBatchUrl(Checkpoint(d).DeltaLink!), firstLoad: false, Checkpoint, options, run, tally, token));

            // A first full load is analysed by ItemIndexes; a large later round (a new big library) is here.
            if (!emptyAtStart) await TableStatistics.RefreshAsync(db, new Dictionary<string, long> { [ItemIndexes.Table] = tally.Items }, ct);
            // A first load written by COPY alone (no merge, sweep or cascade touched a row) knows its counts: every copied row
            // was new (the primary key guarantees it). Otherwise they are counted (a scan of the table: ≈ 0.7 s at 1M items).
            var fromCopies = emptyAtStart && tally.CopyOnly;
            if (fromCopies) run.Add("counts_from_copies", 1);
            var counts = fromCopies ? (Live: tally.CopiedLive, Deleted: tally.CopiedDeleted) : await CountAsync(ct);
            return new Result(drives.Count, tally.Pages, tally.Items, tally.Resynced, tally.NotFound, counts.Live, counts.Deleted);
        }

        private async Task<(long Live, long Deleted)> CountAsync(CancellationToken ct)
        {
            await using var conn = await db.OpenAsync(ct);
            return await conn.QuerySingleAsync<(long Live, long Deleted)>(new CommandDefinition(
                "SELECT count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL) FROM msgraph_drive_items", cancellationToken: ct));
        }

        private static string RootDelta(DriveRow d) => $"drives/{d.Id}/root/delta";

        /// <summary>
        /// One $batch of drive deltas (20 drives): the polled deltaLinks of drives between rounds, or, in a first full
        /// load, the first page of drives never synced. An unchanged drive moves its checkpoint; drives whose answer is
        /// one final page are written together in one transaction; the rest run their own round from the answer.
        /// </summary>
        private async Task BatchedRoundsAsync(DriveRow[] chunk, Func<DriveRow, string> url, bool firstLoad, Func<DriveRow, DeltaRounds.State> checkpoint,
            GraphIngestOptions options, IngestRun run, Tally tally, CancellationToken token)
        {
            GraphResponse[] responses;
            try
            {
                responses = await GraphBatch.GetManyAsync(graph, chunk.Select(url).ToList(), run.Graph, token, PreferHeaders);
            }
            catch (JobFailedException e) when (TargetFailures.IsTargetFailure(e))
            {
                foreach (var d in chunk) run.Failures.Failed(TargetFailures.Drive, d.Id, TargetFailures.ReasonOf(e), e.Message, d.Name);
                return;
            }
            run.Add(firstLoad ? "first_rounds_batched" : "delta_polls", chunk.Length);
            var unchanged = new List<(string Key, string Link)>();
            var changed = new List<(DriveRow Drive, GraphResponse Response)>();
            for (var i = 0; i < chunk.Length; i++)
            {
                // a first round that is empty still ends as a round (its checkpoint row does not exist yet)
                if (!firstLoad && NoChanges(responses[i]) is { } link) unchanged.Add((chunk[i].Id, link));
                else changed.Add((chunk[i], responses[i]));
            }
            if (unchanged.Count > 0)
            {
                await using var c = await db.OpenAsync(token);
                await c.ExecuteAsync(new CommandDefinition(UnchangedSql, new
                {
                    Keys = unchanged.Select(u => u.Key).ToArray(), Links = unchanged.Select(u => u.Link).ToArray(), Now = clock.GetUtcNow(),
                }, cancellationToken: token));
                foreach (var (key, _) in unchanged) run.Failures.Succeeded(TargetFailures.Drive, key);
                run.Add("drives_done", unchanged.Count);
                run.Add("drives_unchanged", unchanged.Count);
            }
            // A drive whose answer is one final page (most changed drives of an incremental run, most drives of a first
            // load) is written with the others of its batch in one transaction; the rest (more pages, a resync, an
            // error) run their own round.
            var single = new List<(DriveRow Drive, JsonElement Value, string DeltaLink)>();
            var rounds = new List<(DriveRow Drive, GraphResponse Response)>();
            var docs = new List<JsonDocument>();
            try
            {
                // An empty page with a nextLink (Graph may answer a deltaLink so) is followed through $batch too, for all
                // such drives of the batch at once: most end in one final page and join the merged ones.
                var pending = changed;
                for (var hop = 0; pending.Count > 0; hop++)
                {
                    var follow = new List<(DriveRow Drive, string Url)>();
                    foreach (var (drive, response) in pending)
                    {
                        if (FinalPage(response) is { } page)
                        {
                            docs.Add(page.Doc);
                            single.Add((drive, page.Value, page.DeltaLink));
                        }
                        else if (hop < MaxEmptyHops && EmptyWithNext(response) is { } next) follow.Add((drive, next));
                        else rounds.Add((drive, response));
                    }
                    if (follow.Count == 0) break;
                    GraphResponse[] answers;
                    try
                    {
                        answers = await GraphBatch.GetManyAsync(graph, follow.Select(f => f.Url).ToList(), run.Graph, token, PreferHeaders);
                    }
                    catch (JobFailedException e) when (TargetFailures.IsTargetFailure(e))
                    {
                        foreach (var f in follow) run.Failures.Failed(TargetFailures.Drive, f.Drive.Id, TargetFailures.ReasonOf(e), e.Message, f.Drive.Name);
                        break;
                    }
                    run.Add("delta_follow_polls", follow.Count);
                    // the empty pages followed are pages of their rounds, as when a round follows them itself
                    Interlocked.Add(ref tally.Pages, follow.Count);
                    run.Add("pages", follow.Count);
                    pending = follow.Select((f, i) => (f.Drive, answers[i])).ToList();
                }
                if (single.Count > 0) await WriteFinalPagesAsync(single, firstLoad, run, tally, token);
                // Rounds with more pages follow their links side by side (Graph latency, not the database, bounds them).
                await Parallel.ForEachAsync(rounds, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.DriveConcurrency / 2), CancellationToken = token },
                    async (r, t) => await RoundAsync(r.Drive, checkpoint(r.Drive), r.Response, run, tally, firstLoad, t));
            }
            finally
            {
                foreach (var d in docs) d.Dispose();
            }
        }

        /// <summary>An empty page with a nextLink, as the relative URL of a $batch request (null when it is anything else or the link is foreign).</summary>
        private string? EmptyWithNext(GraphResponse response)
        {
            if (!response.IsSuccess) return null;
            using var doc = response.Json();
            var root = doc.RootElement;
            if (root.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.Array && v.GetArrayLength() > 0) return null;
            if (!root.TryGetProperty("@odata.nextLink", out var n) || n.GetString() is not { } next) return null;
            try
            {
                return graph.ToBatchUrl(next);
            }
            catch (JobFailedException)
            {
                return null; // its own round refuses it with the reason
            }
        }

        /// <summary>An answer that is one whole round: items and a deltaLink, no nextLink. The caller disposes the document.</summary>
        private (JsonDocument Doc, JsonElement Value, string DeltaLink)? FinalPage(GraphResponse response)
        {
            if (!response.IsSuccess) return null;
            var doc = response.Json();
            var root = doc.RootElement;
            if (!root.TryGetProperty("@odata.nextLink", out _) && root.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.Array
                && root.TryGetProperty("@odata.deltaLink", out var d) && d.GetString() is { } link)
            {
                graph.Resolve(link); // a link to another origin is never stored
                return (doc, v, link);
            }
            doc.Dispose();
            return null;
        }

        /// <summary>
        /// The page merge of <see cref="RoundAsync"/> for several drives whose round is one final page, in one transaction:
        /// one merge, one path walk, one round-end cascade and one checkpoint statement for all of them (no sweep: these
        /// are incremental rounds, or first rounds of a first load, whose drives have no rows to sweep). In a first load
        /// the pages are one COPY (<see cref="FirstLoadCopy.TryCopyRoundsAsync"/>) unless it cannot state them.
        /// </summary>
        private async Task WriteFinalPagesAsync(List<(DriveRow Drive, JsonElement Value, string DeltaLink)> drives, bool firstLoad, IngestRun run, Tally tally,
            CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            var driveIds = drives.Select(d => d.Drive.Id).ToArray();
            long written;
            var copied = false;
            var copiedRemoved = 0;
            var changed = 0L;
            await using (var c = await db.OpenAsync(ct))
            await using (var tx = await c.BeginTransactionAsync(ct))
            {
                await c.ExecuteAsync(new CommandDefinition(DeltaRounds.PageSettingsSql + "; " + TableLog.DeferSql, transaction: tx, cancellationToken: ct));
                bool cascade;
                if (firstLoad && await FirstLoadCopy.TryCopyRoundsAsync(c, tx, drives.Select(d => (tally.NewCopy(d.Drive.Id), d.Value)).ToList(),
                        new DeltaPageContext(now, now, true) { WholeRoundHere = true }, tally.CopyWriters, ct) is { } copy)
                {
                    (written, cascade, copied, changed) = (copy.Rows, copy.RemovedFolder, true, copy.Rows);
                    copiedRemoved = copy.Removed;
                }
                else
                {
                    tally.Merged();
                    var pages = drives.Select(d => (d.Drive.Id, Rows: PageRows(d.Value))).ToList();
                    var rows = pages.SelectMany(p => p.Rows).ToList();
                    var ctx = new DeltaPageContext(now, now, false);
                    // One merge statement for all, unless an id is in two of the pages (an item moved between drives: one
                    // statement cannot write a row twice), then one per drive in page order.
                    if (rows.Select(r => r.Id).Distinct(StringComparer.Ordinal).Count() == rows.Count)
                        changed = await MergeAsync(c, tx, rows, pages.SelectMany(p => Enumerable.Repeat(p.Id, p.Rows.Count)).ToArray(), ctx, ct);
                    else
                        foreach (var (id, page) in pages)
                            changed += await MergeAsync(c, tx, page, Enumerable.Repeat(id, page.Count).ToArray(), ctx, ct);
                    // Only a deletion in the round can start a cascade (these rounds are this one page).
                    (written, cascade) = (rows.Count, rows.Any(r => r.Removed));
                }
                var cascaded = cascade ? await c.ExecuteAsync(new CommandDefinition(RoundEndSettingsSql + CascadeSql, new { DriveIds = driveIds, Now = now, RoundStart = now },
                    tx, cancellationToken: ct)) : 0;
                if (cascaded > 0) tally.Merged();
                changed += cascaded;
                await c.ExecuteAsync(new CommandDefinition(DeltaRounds.EndRoundsSql, new
                {
                    ResourceType = "drive_items", PartitionKeys = driveIds, Deltas = drives.Select(d => d.DeltaLink).ToArray(), RoundStart = now, Now = now,
                }, tx, cancellationToken: ct));
                await tx.CommitAsync(ct);
            }
            if (copied) tally.Copied(written, copiedRemoved); // committed
            if (changed > 0) await TableLog.TouchAsync(db, LogTables, CancellationToken.None);
            foreach (var (drive, _, _) in drives) run.Failures.Succeeded(TargetFailures.Drive, drive.Id);
            Interlocked.Add(ref tally.Pages, drives.Count);
            Interlocked.Add(ref tally.Items, written);
            run.Add("items", written);
            if (copied) run.Add("items_copied", written);
            run.Add("pages", drives.Count);
            run.Add("drives_done", drives.Count);
            run.Add("drives_merged_together", drives.Count);
            run.Add("merge_transactions", 1);
            await run.ReportAsync(ct);
        }

        /// <summary>Merges page rows (each with its drive) and walks the subtrees whose path changed; returns the rows changed.</summary>
        private static async Task<long> MergeAsync(NpgsqlConnection c, NpgsqlTransaction tx, IReadOnlyCollection<StageRow> rows, string[] driveIds,
            DeltaPageContext ctx, CancellationToken ct)
        {
            var ids = rows.Select(r => r.Id).ToArray();
            var removed = rows.Select(r => r.Removed).ToArray();
            var withChildren = (await c.QueryAsync<string>(new CommandDefinition(PageIndexOnlySql + WithChildrenSql,
                new { Ids = ids, Removed = removed, DriveIds = driveIds }, tx, cancellationToken: ct))).ToArray();
            // The merge is one large statement run once per page (hundreds of times per incremental run): prepared on the
            // connection (Npgsql keeps it across pool returns), it is parsed once and, once PostgreSQL settles on a generic
            // plan, planned once — parsing and planning it were ≈ a sixth of the database's CPU in an incremental run.
            var merged = new List<(string? Id, string? DriveId, string? Path, long Changed)>();
            await using (var merge = new NpgsqlCommand(MergeSql, c, tx))
            {
                merge.Parameters.Add(new NpgsqlParameter<string[]>("Ids", ids));
                merge.Parameters.Add(new NpgsqlParameter<bool[]>("Removed", removed));
                merge.Parameters.Add(new NpgsqlParameter<string?[]>("Raws", rows.Select(r => r.Raw).ToArray()));
                merge.Parameters.Add(new NpgsqlParameter<string?[]>("Parents", rows.Select(r => r.A).ToArray()));
                merge.Parameters.Add(new NpgsqlParameter<string[]>("DriveIds", driveIds));
                merge.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("Now", ctx.Now));
                merge.Parameters.Add(new NpgsqlParameter<bool>("Sweep", ctx.Sweep));
                merge.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("RoundStart", ctx.RoundStart));
                merge.Parameters.Add(new NpgsqlParameter<string[]>("WithChildren", withChildren));
                await merge.PrepareAsync(ct);
                await using var reader = await merge.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                    merged.Add((reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1),
                        reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetInt64(3)));
            }
            var start = merged.Where(m => m.Id is not null).ToList();
            var affected = merged.Sum(m => m.Changed);
            if (start.Count > 0)
                affected += await c.ExecuteAsync(new CommandDefinition(PathWalkSql, new
                {
                    StartIds = start.Select(m => m.Id).ToArray(), StartDrives = start.Select(m => m.DriveId).ToArray(), StartPaths = start.Select(m => m.Path).ToArray(),
                }, tx, cancellationToken: ct));
            return affected;
        }

        /// <summary>The deltaLink of an answer that says "nothing changed" (an empty last page), else null.</summary>
        private string? NoChanges(GraphResponse response)
        {
            if (!response.IsSuccess) return null;
            using var doc = response.Json();
            var root = doc.RootElement;
            if (root.TryGetProperty("@odata.nextLink", out _)) return null;
            if (root.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.Array && v.GetArrayLength() > 0) return null;
            if (!root.TryGetProperty("@odata.deltaLink", out var d) || d.GetString() is not { } link) return null;
            graph.Resolve(link); // a link to another origin is never stored
            return link;
        }

        /// <param name="emptyAtStart">The table had no items when the phase started: a round run whole here has nothing older to sweep.</param>
        private async Task RoundAsync(DriveRow drive, DeltaRounds.State checkpoint, GraphResponse? first, IngestRun run, Tally tally, bool emptyAtStart,
            CancellationToken token)
        {
            var partition = new DeltaPartition("drive_items", drive.Id, RootDelta(drive), PreferHeaders, LogTables);
            // Whether the round merged a deletion (a cascade can start only from one); unknown for a round resumed from an
            // earlier run's nextLink, whose first pages were merged by that run.
            var removedSeen = checkpoint.NextLink is not null;
            // A drive's first round in a first full load writes its pages by COPY (every item is new).
            var copy = emptyAtStart && checkpoint is { NextLink: null, DeltaLink: null } ? tally.NewCopy(drive.Id) : null;
            DeltaRoundResult round;
            try
            {
                round = await DeltaRounds.RunAsync(db, graph, run, clock, partition,
                    async (c, tx, value, ctx, t) =>
                    {
                        if (copy is not null && await copy.TryCopyAsync(c, tx, value, ctx, t) is { } copied)
                        {
                            // counted before the page's commit: a failure between here and the commit fails the phase (no counts)
                            tally.Copied(copied.Rows, copied.Removed);
                            if (copied.RemovedFolder) removedSeen = true;
                            ctx.Changed = true;
                            run.Add("items", copied.Rows);
                            run.Add("items_copied", copied.Rows);
                            return copied.Rows;
                        }
                        var rows = PageRows(value);
                        if (rows.Any(r => r.Removed)) removedSeen = true;
                        var ids = new string[rows.Count];
                        Array.Fill(ids, drive.Id);
                        tally.Merged();
                        if (await MergeAsync(c, tx, rows, ids, ctx, t) > 0) ctx.Changed = true;
                        run.Add("items", rows.Count);
                        return rows.Count;
                    },
                    async (c, tx, ctx, t) =>
                    {
                        var args = new { DriveId = drive.Id, DriveIds = new[] { drive.Id }, ctx.Now, ctx.RoundStart };
                        await c.ExecuteAsync(new CommandDefinition(RoundEndSettingsSql, transaction: tx, cancellationToken: t));
                        if (copy is not null) await copy.EndRoundAsync(c, tx, t);
                        // A first full load's round run whole here wrote every row of its drive itself (0.7 ms per drive of
                        // index and heap reads for nothing otherwise).
                        var swept = ctx.Sweep && !(emptyAtStart && ctx.WholeRoundHere)
                                    && await c.ExecuteAsync(new CommandDefinition(SweepSql, args, tx, cancellationToken: t)) > 0;
                        if (swept)
                        {
                            ctx.Changed = true;
                            tally.Merged();
                        }
                        if ((removedSeen || swept) && await c.ExecuteAsync(new CommandDefinition(CascadeSql, args, tx, cancellationToken: t)) > 0)
                        {
                            ctx.Changed = true;
                            tally.Merged();
                        }
                    },
                    token, checkpoint, first, isolate: true);
            }
            catch (JobFailedException e) when (TargetFailures.IsTargetFailure(e))
            {
                run.Failures.Failed(TargetFailures.Drive, drive.Id, TargetFailures.ReasonOf(e), e.Message, drive.Name);
                return;
            }
            if (round.FailureReason is { } reason) run.Failures.Failed(TargetFailures.Drive, drive.Id, reason, round.FailureMessage, drive.Name);
            else run.Failures.Succeeded(TargetFailures.Drive, drive.Id);
            Interlocked.Add(ref tally.Pages, round.Pages);
            Interlocked.Add(ref tally.Items, round.Items);
            if (round.Resynced) Interlocked.Increment(ref tally.Resynced);
            if (round.NotFound) Interlocked.Increment(ref tally.NotFound);
            run.Add("drives_done", 1);
        }
    }

    private sealed class Tally
    {
        public int Pages, Resynced, NotFound;
        public long Items;
        private long _copiedLive, _copiedDeleted;
        private int _merged;

        /// <summary>Rows a first load's COPY wrote (committed), of which <paramref name="removed"/> deleted items.</summary>
        public void Copied(long rows, long removed)
        {
            Interlocked.Add(ref _copiedLive, rows - removed);
            Interlocked.Add(ref _copiedDeleted, removed);
        }

        /// <summary>A merge, sweep or cascade wrote rows: the copied counts no longer describe the table.</summary>
        public void Merged() => Volatile.Write(ref _merged, 1);

        public bool CopyOnly => Volatile.Read(ref _merged) == 0;
        public long CopiedLive => Interlocked.Read(ref _copiedLive);
        public long CopiedDeleted => Interlocked.Read(ref _copiedDeleted);
        /// <summary>A first load's page COPYs at once (the rounds fetching them: drive_concurrency).</summary>
        public readonly SemaphoreSlim CopyWriters = new(FirstLoadCopy.MaxWriters);
        /// <summary>Folders a round's COPY remembers (<see cref="Command.FirstLoadMaxFolders"/>).</summary>
        public required int MaxFolders { get; init; }

        public FirstLoadCopy NewCopy(string driveId) => new(driveId, CopyWriters, MaxFolders);
    }
}
