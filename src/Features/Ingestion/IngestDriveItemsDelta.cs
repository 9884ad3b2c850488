using System.Text.Json;
using Dapper;
using FluentValidation;
using Sentinel.Features.Graph;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// The full drive-item inventory by /drives/{id}/root/delta, one delta partition per drive, several drives at
/// once. Drives with a completed round are polled through $batch (20 deltaLinks per request): an unchanged drive
/// costs one inner request and moves its checkpoint in one statement per batch; only drives with changes (or a
/// resync, or a round to finish) follow their links one by one. Per page (one transaction with the page's
/// nextLink): binary COPY into a staging table, set-based merge, deleted facet → deleted_at (with permissions and
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
        : IExecutorRequest<Result>;

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

    /// <summary>Only for pages that carry deletions: the deleted items' own permissions and grants (descendants wait for the round end).</summary>
    private const string RemovedPermissionsSql = """
        WITH perms AS (
            UPDATE msgraph_drive_item_permissions p SET deleted_at = @Now, synced_at = @Now
            FROM stage_items s WHERE s.removed AND p.item_id = s.id AND p.deleted_at IS NULL
        )
        UPDATE msgraph_drive_item_permission_grants g SET deleted_at = @Now, synced_at = @Now
        FROM stage_items s WHERE s.removed AND g.item_id = s.id AND g.deleted_at IS NULL;
        """;

    /// <summary>
    /// Round end: folders deleted during the round take the descendants they still have once every page is merged
    /// (a child moved out of a deleted folder, in whatever page, is no longer below it), with their permissions and grants.
    /// </summary>
    private const string CascadeSql = """
        WITH RECURSIVE gone AS (
            SELECT i.id FROM msgraph_drive_items i
            WHERE i.deleted_at >= @RoundStart AND i.drive_id = @DriveId AND i.is_folder
            UNION
            -- LATERAL … OFFSET 0 keeps the walk on the parent_id index (a flattened join plans a hash join over the table).
            SELECT c.id FROM gone CROSS JOIN LATERAL (
                SELECT x.id FROM msgraph_drive_items x WHERE x.parent_id = gone.id AND x.deleted_at IS NULL OFFSET 0) c
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
        -- 4. Descendants of items whose path changed, walked in the table after the merge, page items included: one whose
        --    path came from an ancestor renamed in this same page is reached again from that ancestor, deeper, and the
        --    deepest walk wins. One recursive walk down the parent_id index per changed item not below another one —
        --    a folder rename or move rewrites its whole subtree here.
        WITH RECURSIVE tree AS (
            -- (a moved item below a moved item of the page is reached by its ancestor's walk)
            SELECT s.id, s.path, 0 AS depth FROM stage_items s
            WHERE s.moved AND s.path IS NOT NULL AND NOT EXISTS (SELECT 1 FROM stage_items p WHERE p.id = s.a AND p.moved AND p.path IS NOT NULL)
            UNION ALL
            SELECT c.id, CASE WHEN t.path = '/' THEN '/' || c.name ELSE t.path || '/' || c.name END, t.depth + 1
            FROM tree t CROSS JOIN LATERAL (
                SELECT x.id, x.name FROM msgraph_drive_items x
                WHERE x.parent_id = t.id AND x.deleted_at IS NULL AND NOT x.is_root OFFSET 0) c
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

    private const string StageSql =
        "CREATE TEMP TABLE stage_items (id text NOT NULL, removed boolean NOT NULL, raw jsonb, a text, b text, path text, moved boolean NOT NULL DEFAULT false) ON COMMIT DROP";

    private static (string? A, string? B) ParentOf(JsonElement e) =>
        (e.TryGetProperty("parentReference", out var p) && p.ValueKind == JsonValueKind.Object && p.TryGetProperty("id", out var id) ? id.GetString() : null, null);

    private sealed record DriveRow(string Id, string? Name, string? SiteId, string? SiteUrl, bool OneDrive);

    /// <summary>Moves the checkpoints of drives whose polled deltaLink answered "no changes" (one statement per batch).</summary>
    private const string UnchangedSql = """
        UPDATE msgraph_delta_state s SET delta_link = x.link, last_synced_at = @Now, round_started_at = @Now
        FROM unnest(@Keys::text[], @Links::text[]) AS x(key, link)
        WHERE s.resource_type = 'drive_items' AND s.partition_key = x.key
        """;

    internal sealed class Handler(Db db, GraphHttp graph, GraphRetryOptions retry, TimeProvider clock) : MediatR.IRequestHandler<Command, Result>
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

            // Every drive's checkpoint in one query (one partition per drive; thousands of drives).
            Dictionary<string, DeltaRounds.State> checkpoints;
            await using (var connection = await db.OpenAsync(ct))
                checkpoints = (await connection.QueryAsync<(string Key, string? DeltaLink, string? NextLink, bool Resync, DateTime? RoundStartedAt)>(
                        new CommandDefinition("SELECT partition_key, delta_link, next_link, resync, round_started_at FROM msgraph_delta_state WHERE resource_type = 'drive_items'",
                            cancellationToken: ct)))
                    .ToDictionary(r => r.Key, r => new DeltaRounds.State(r.DeltaLink, r.NextLink, r.Resync, r.RoundStartedAt));
            var tally = new Tally();
            DeltaRounds.State Checkpoint(DriveRow d) => checkpoints.GetValueOrDefault(d.Id) ?? new DeltaRounds.State(null, null, false, null);

            // Drives between rounds are polled in batches; the rest (first sync, a round to finish) go one by one.
            var polled = drives.Where(d => Checkpoint(d) is { NextLink: null, DeltaLink: not null }).ToList();
            var direct = drives.Where(d => Checkpoint(d) is not { NextLink: null, DeltaLink: not null }).ToList();
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.DriveConcurrency, CancellationToken = ct };

            await Parallel.ForEachAsync(direct, parallel, async (drive, token) =>
                await RoundAsync(drive, Checkpoint(drive), null, run, tally, token));

            await Parallel.ForEachAsync(polled.Chunk(GraphBatch.MaxPerBatch), parallel, async (chunk, token) =>
            {
                GraphResponse[] responses;
                try
                {
                    var urls = chunk.Select(d => graph.ToBatchUrl(Checkpoint(d).DeltaLink!)).ToList();
                    responses = await GraphBatch.GetManyAsync(graph, urls, run.Graph, token, PreferHeaders);
                }
                catch (JobFailedException e) when (TargetFailures.IsTargetFailure(e))
                {
                    foreach (var d in chunk) run.Failures.Failed(TargetFailures.Drive, d.Id, TargetFailures.ReasonOf(e), e.Message, d.Name);
                    return;
                }
                run.Add("delta_polls", chunk.Length);
                var unchanged = new List<(string Key, string Link)>();
                var changed = new List<(DriveRow Drive, GraphResponse Response)>();
                for (var i = 0; i < chunk.Length; i++)
                {
                    if (NoChanges(responses[i]) is { } link) unchanged.Add((chunk[i].Id, link));
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
                foreach (var (drive, response) in changed)
                    await RoundAsync(drive, Checkpoint(drive), response, run, tally, token);
            });

            await using var conn = await db.OpenAsync(ct);
            var counts = await conn.QuerySingleAsync<(long Live, long Deleted)>(new CommandDefinition(
                "SELECT count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL) FROM msgraph_drive_items", cancellationToken: ct));
            return new Result(drives.Count, tally.Pages, tally.Items, tally.Resynced, tally.NotFound, counts.Live, counts.Deleted);
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

        private async Task RoundAsync(DriveRow drive, DeltaRounds.State checkpoint, GraphResponse? first, IngestRun run, Tally tally, CancellationToken token)
        {
            var partition = new DeltaPartition("drive_items", drive.Id, $"drives/{drive.Id}/root/delta", PreferHeaders, LogTables);
            DeltaRoundResult round;
            try
            {
                round = await DeltaRounds.RunAsync(db, graph, run, clock, partition,
                    async (c, tx, value, ctx, t) =>
                    {
                        var rows = Staging.Collect(value, e => e.TryGetProperty("deleted", out _) || Staging.HasRemoved(e), ParentOf);
                        await c.ExecuteAsync(new CommandDefinition(StageSql, transaction: tx, cancellationToken: t));
                        await Staging.CopyAsync(c, "stage_items", rows.Values, t, create: false);
                        var removed = rows.Values.Any(r => r.Removed);
                        var sql = removed ? MergeSql + RemovedPermissionsSql + PathSql : MergeSql + PathSql;
                        var affected = await c.ExecuteAsync(new CommandDefinition(sql,
                            new { DriveId = drive.Id, ctx.Now, ctx.Sweep, ctx.RoundStart }, tx, cancellationToken: t));
                        if (affected > 0) ctx.Changed = true;
                        run.Add("items", rows.Count);
                        return rows.Count;
                    },
                    async (c, tx, ctx, t) =>
                    {
                        var args = new { DriveId = drive.Id, ctx.Now, ctx.RoundStart };
                        if (ctx.Sweep && await c.ExecuteAsync(new CommandDefinition(SweepSql, args, tx, cancellationToken: t)) > 0)
                            ctx.Changed = true;
                        if (await c.ExecuteAsync(new CommandDefinition(CascadeSql, args, tx, cancellationToken: t)) > 0)
                            ctx.Changed = true;
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
    }
}
