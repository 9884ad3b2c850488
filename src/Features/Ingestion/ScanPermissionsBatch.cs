using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Dapper;
using Npgsql;
using NpgsqlTypes;
using Sentinel.Features.Graph;
using Sentinel.Features.Infrastructure;
using MediatR;
using Microsoft.Extensions.Logging;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// Permissions by SharePoint's inheritance model (docs/ingestion.md "Permission model"). Graph returns an item's
/// EFFECTIVE permissions, so only the roots of permission hierarchies are scanned: drive roots and items delta marks
/// with a <c>shared</c> facet (folders included) — dirty or never scanned first, then non-roots that need a look (a file
/// with sharedChanged, a former root), then roots older than permission_rescan_after_hours, then a rolling
/// verification of inheriting files (permission_verify_per_day). A root stores its permissions as its own; any other
/// scanned item is compared with its parent's hierarchy: equal = it inherits (own rows go), different = it becomes a
/// root (permissions_differ; drift when a verification found it). Inheriting items never get a call: their effective
/// permissions are their root's (<see cref="MaintainPermissionRoots"/>, v_drive_item_effective_permissions).
/// Fetched through $batch (20 per request, several in flight, the next chunk fetched while the previous one is
/// written). A failed fetch (a batch that fails as a whole, or an item answered with an error) is NOT stamped: the
/// item keeps its dirty flag and old sync time, counts as failed, and the run goes on with the other batches.
/// </summary>
public static class ScanPermissionsBatch
{
    public sealed record Command(GraphIngestOptions? Options = null, IngestRun? Run = null) : IExecutorRequest<Result>, INoInput;

    /// <param name="FilesScanned">items whose permissions were fetched (roots, checks and verifications; the name is historical)</param>
    public sealed record Result(long FilesScanned, long Permissions, long Grants, long FilesNotFound, long FilesFailed, int Chunks, bool StoppedByBudget,
        long RootsScanned = 0, long ItemsChecked = 0, long ItemsVerified = 0, long Drift = 0, long PermissionCalls = 0, long ResourceUnits = 0);


    /// <summary>Kinds of picks: a root (stored as its own), a check against the parent's hierarchy, a rolling verification.</summary>
    internal static class Kinds
    {
        public const string Root = "root", Check = "check", Verify = "verify";
    }

    private const string PickDirtyRootsSql = """
        SELECT id, drive_id AS DriveId, CASE WHEN is_root OR coalesce(raw ? 'shared', false) THEN 'root' ELSE 'check' END AS Kind
        FROM msgraph_drive_items
        WHERE deleted_at IS NULL AND has_unique_permissions
          AND (permissions_dirty OR permissions_last_synced_at IS NULL)
          AND NOT (id = ANY(@Exclude))
        ORDER BY permissions_dirty DESC, permissions_last_synced_at NULLS FIRST, id
        LIMIT @Limit
        """;

    private const string PickChecksSql = """
        SELECT id, drive_id AS DriveId, 'check' AS Kind FROM msgraph_drive_items
        WHERE deleted_at IS NULL AND permissions_dirty AND NOT has_unique_permissions AND NOT (id = ANY(@Exclude))
        ORDER BY id
        LIMIT @Limit
        """;

    private const string PickStaleRootsSql = """
        SELECT id, drive_id AS DriveId, CASE WHEN is_root OR coalesce(raw ? 'shared', false) THEN 'root' ELSE 'check' END AS Kind
        FROM msgraph_drive_items
        WHERE deleted_at IS NULL AND has_unique_permissions AND NOT permissions_dirty
          AND permissions_last_synced_at < @StaleBefore AND permissions_last_synced_at < @RunStart
          AND NOT (id = ANY(@Exclude))
        ORDER BY permissions_dirty DESC, permissions_last_synced_at NULLS FIRST, id
        LIMIT @Limit
        """;

    private const string PickVerifySql = """
        SELECT id, drive_id AS DriveId, 'verify' AS Kind FROM msgraph_drive_items
        WHERE deleted_at IS NULL AND NOT has_unique_permissions AND NOT is_folder AND permission_root_id IS NOT NULL
          AND (permission_verified_at IS NULL OR permission_verified_at < @RunStart) AND NOT (id = ANY(@Exclude))
        ORDER BY permission_verified_at NULLS FIRST, id
        LIMIT @Limit
        """;

    /// <summary>How many inheriting files the rolling verification may still check today.</summary>
    private const string VerifyQuotaSql = """
        SELECT ceil(count(*) * @Percent / 100.0)::bigint
               - count(*) FILTER (WHERE permission_verified_at >= @DayAgo)
        FROM msgraph_drive_items
        WHERE deleted_at IS NULL AND NOT has_unique_permissions AND NOT is_folder
        """;

    /// <summary>The effective permissions each checked item would inherit: its parent's hierarchy root's.</summary>
    private const string ExpectedSql = """
        SELECT c.id AS ItemId, p.permission_id AS PermissionId,
               coalesce(array_to_string(ARRAY(SELECT r FROM unnest(p.roles) r ORDER BY r), ','), '') AS Roles
        FROM unnest(@Ids::text[]) AS c(id)
        JOIN msgraph_drive_items i ON i.id = c.id
        JOIN msgraph_drive_items par ON par.id = i.parent_id
        JOIN msgraph_drive_item_permissions p ON p.item_id = par.permission_root_id AND p.deleted_at IS NULL
        """;

    private const string MergeSql = """
        INSERT INTO msgraph_drive_item_permissions AS t (permission_id, drive_id, item_id, roles, link_type, link_scope, link_web_url,
            link_prevents_download, link_expiration_dt, inherited_from_id, synced_at, deleted_at, raw, has_password, share_id)
        SELECT DISTINCT ON (s.a, s.id) s.id, s.b, s.a,
               CASE WHEN jsonb_typeof(s.raw->'roles') = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(s.raw->'roles')) ELSE '{}'::text[] END,
               s.raw->'link'->>'type', s.raw->'link'->>'scope', s.raw->'link'->>'webUrl', (s.raw->'link'->>'preventsDownload')::boolean,
               NULLIF((s.raw->>'expirationDateTime')::timestamptz, '0001-01-01T00:00:00Z'::timestamptz), s.raw->'inheritedFrom'->>'id',
               @Now, NULL, s.raw, (s.raw->>'hasPassword')::boolean, s.raw->>'shareId'
        FROM stage_perms s WHERE s.a = ANY(@Scanned)
        ON CONFLICT (permission_id, item_id) DO UPDATE SET
            drive_id = EXCLUDED.drive_id, roles = EXCLUDED.roles, link_type = EXCLUDED.link_type, link_scope = EXCLUDED.link_scope,
            link_web_url = EXCLUDED.link_web_url, link_prevents_download = EXCLUDED.link_prevents_download,
            link_expiration_dt = EXCLUDED.link_expiration_dt, inherited_from_id = EXCLUDED.inherited_from_id, synced_at = EXCLUDED.synced_at,
            deleted_at = NULL, raw = EXCLUDED.raw, has_password = EXCLUDED.has_password, share_id = EXCLUDED.share_id
        WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL;

        UPDATE msgraph_drive_item_permissions t SET deleted_at = @Now, synced_at = @Now
        WHERE t.item_id = ANY(@Scanned) AND t.deleted_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM stage_perms s WHERE s.a = t.item_id AND s.id = t.permission_id);

        -- Principals: site-scoped ids keyed with their site (or OneDrive), Entra users linked by id or claims login
        -- name, external people by email / UPN / login name, organisation-wide claims flagged.
        INSERT INTO msgraph_drive_item_permission_grants AS t (permission_id, item_id, principal_type, principal_id, principal_display_name,
            principal_email, principal_user_principal_name, synced_at, deleted_at, raw, is_external, login_name,
            site_key, principal_key, person_key, entra_user_id, is_org_wide)
        SELECT DISTINCT ON (x.permission_id, x.item_id, x.principal_type, x.principal_id)
               x.permission_id, x.item_id, x.principal_type, x.principal_id, x.display_name, x.email, x.upn, @Now, NULL, x.raw, x.is_external, x.login_name,
               x.site_key,
               CASE WHEN x.entra_user_id IS NOT NULL THEN 'user:' || x.entra_user_id
                    WHEN x.principal_type IN ('siteUser', 'siteGroup') THEN x.principal_type || ':' || x.site_key || ':' || x.principal_id
                    ELSE x.principal_type || ':' || x.principal_id END,
               lower(coalesce(nullif(x.email, ''), nullif(x.upn, ''), nullif(x.login_name, ''), x.principal_type || ':' || x.principal_id)),
               x.entra_user_id,
               coalesce(x.login_name ILIKE 'c:0-.f|rolemanager|spo-grid-all-users%' OR x.login_name = 'c:0(.s|true'
                        OR x.login_name ILIKE 'c:0!.s|windows', false)
        FROM (
            SELECT g.*, coalesce(d.site_id, 'drive:' || g.drive_id) AS site_key,
                   CASE WHEN g.principal_type = 'user' THEN g.principal_id
                        WHEN g.login_name ILIKE 'i:0#.f|membership|%' THEN
                             (SELECT u.id FROM msgraph_users u WHERE lower(u.user_principal_name) = lower(substr(g.login_name, 19)) LIMIT 1)
                   END AS entra_user_id
            FROM stage_grants g LEFT JOIN msgraph_drives d ON d.id = g.drive_id
            WHERE g.item_id = ANY(@Scanned)
        ) x
        ON CONFLICT (permission_id, item_id, principal_type, principal_id) DO UPDATE SET
            principal_display_name = EXCLUDED.principal_display_name, principal_email = EXCLUDED.principal_email,
            principal_user_principal_name = EXCLUDED.principal_user_principal_name, synced_at = EXCLUDED.synced_at, deleted_at = NULL,
            raw = EXCLUDED.raw, is_external = EXCLUDED.is_external, login_name = EXCLUDED.login_name, site_key = EXCLUDED.site_key,
            principal_key = EXCLUDED.principal_key, person_key = EXCLUDED.person_key, entra_user_id = EXCLUDED.entra_user_id,
            is_org_wide = EXCLUDED.is_org_wide
        WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL OR t.is_external <> EXCLUDED.is_external
           OR t.principal_key IS DISTINCT FROM EXCLUDED.principal_key OR t.entra_user_id IS DISTINCT FROM EXCLUDED.entra_user_id;

        UPDATE msgraph_drive_item_permission_grants t SET deleted_at = @Now, synced_at = @Now
        WHERE t.item_id = ANY(@Scanned) AND t.deleted_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM stage_grants g WHERE g.item_id = t.item_id AND g.permission_id = t.permission_id
                          AND g.principal_type = t.principal_type AND g.principal_id = t.principal_id);
        """;

    /// <summary>Items found to differ from their parent's hierarchy become roots; items found equal inherit (own rows go).</summary>
    private const string ClassifySql = """
        WITH became_roots AS (
            UPDATE msgraph_drive_items SET permissions_differ = true, has_unique_permissions = true
            WHERE id = ANY(@Differ) AND NOT (permissions_differ AND has_unique_permissions)
            RETURNING drive_id
        ), inherit AS (
            UPDATE msgraph_drive_items SET permissions_differ = false,
                   has_unique_permissions = (is_root OR coalesce(raw ? 'shared', false))
            WHERE id = ANY(@Inherit) AND (permissions_differ OR has_unique_permissions <> (is_root OR coalesce(raw ? 'shared', false)))
            RETURNING drive_id
        ), perms AS (
            UPDATE msgraph_drive_item_permissions SET deleted_at = @Now, synced_at = @Now
            WHERE item_id = ANY(@Inherit) AND deleted_at IS NULL
        ), grants AS (
            UPDATE msgraph_drive_item_permission_grants SET deleted_at = @Now, synced_at = @Now
            WHERE item_id = ANY(@Inherit) AND deleted_at IS NULL
        )
        SELECT drive_id FROM became_roots UNION SELECT drive_id FROM inherit;
        """;

    private const string StampSql = """
        UPDATE msgraph_drive_items SET permissions_last_synced_at = @Now, permissions_dirty = false WHERE id = ANY(@Done);
        UPDATE msgraph_drive_items SET permission_verified_at = @Now WHERE id = ANY(@Verified);
        """;

    internal sealed record FileRef(string Id, string DriveId, string Kind);

    /// <summary>The fetched permissions of one chunk (bounded: permission_batch_size items).</summary>
    private sealed class ChunkResult
    {
        public List<FileRef> Items { get; init; } = [];
        public List<StageRow> Permissions { get; } = [];
        public List<(string ItemId, string DriveId, string PermissionId, PermissionGrant Grant)> Grants { get; } = [];
        /// <summary>Fetched (200): the item's effective permission set, as (permission id, sorted roles).</summary>
        public Dictionary<string, HashSet<(string Id, string Roles)>> Fetched { get; } = new(StringComparer.Ordinal);
        public List<string> NotFound { get; } = [];
        public List<string> Failed { get; } = [];
        public long Calls;
    }

    /// <summary>What writing a chunk decided.</summary>
    private sealed record ChunkOutcome(int Stored, int Inheriting, int Drift, IReadOnlyCollection<string> ChangedDrives);

    internal sealed class Handler(Db db, GraphHttp graph, TimeProvider clock, IMediator mediator,
        ILogger<ScanPermissionsBatch.Command> log) : MediatR.IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var options = request.Options ?? new GraphIngestOptions();
            var run = request.Run ?? new IngestRun(clock.GetUtcNow());
            var budget = Stopwatch.StartNew();
            var budgetLeft = TimeSpan.FromSeconds(options.TimeBudgetSeconds) - (clock.GetUtcNow() - run.StartedAt);
            long scanned = 0, permissions = 0, grants = 0, notFound = 0, failed = 0, roots = 0, checks = 0, verified = 0, drift = 0, calls = 0;
            var chunks = 0;
            var stoppedByBudget = false;
            var ruBefore = run.Graph.ResourceUnits;
            var changedDrives = new HashSet<string>(StringComparer.Ordinal);
            var failedIds = new HashSet<string>(StringComparer.Ordinal); // not picked again in this run

            // Hierarchies first (drive-items delta just ran): roots, parent roots of sharing changes, clean inheriting items.
            await mediator.Send(new MaintainPermissionRoots.Command(RunStartedAt: run.StartedAt), ct);

            long verifyLeft = -1; // computed when the verification stage starts
            bool MayStartMore()
            {
                if (budget.Elapsed >= budgetLeft) { stoppedByBudget = true; return false; }
                return options.PermissionMaxFiles <= 0 || scanned < options.PermissionMaxFiles;
            }

            int NextLimit() => options.PermissionMaxFiles <= 0
                ? options.PermissionBatchSize
                : (int)Math.Max(0, Math.Min(options.PermissionBatchSize, options.PermissionMaxFiles - scanned));

            async Task<List<FileRef>> Pick(IEnumerable<string> inFlight)
            {
                var exclude = failedIds.Concat(inFlight).ToArray();
                var picked = await PickAsync(NextLimit(), exclude, options, run, verifyLeft, ct);
                if (picked.Count == 0 && verifyLeft < 0 && options.PermissionVerifyPercentPerDay > 0)
                {
                    verifyLeft = await VerifyQuotaAsync(options, ct);
                    picked = await PickAsync(NextLimit(), exclude, options, run, verifyLeft, ct);
                }
                if (verifyLeft > 0) verifyLeft -= picked.Count(p => p.Kind == Kinds.Verify);
                return picked;
            }

            var current = MayStartMore() ? await Pick([]) : [];
            var fetch = current.Count > 0 ? FetchAsync(current, options, run, ct) : null;
            while (current.Count > 0 && fetch is not null)
            {
                var result = await fetch;
                scanned += current.Count;
                foreach (var id in result.Failed) failedIds.Add(id);
                // Fetch the next chunk while this one is written.
                List<FileRef> next = [];
                fetch = null;
                if (MayStartMore() && NextLimit() > 0)
                {
                    next = await Pick(current.Select(f => f.Id));
                    if (next.Count > 0) fetch = FetchAsync(next, options, run, ct);
                }
                ChunkOutcome outcome;
                try
                {
                    outcome = await WriteAsync(result, ct);
                }
                catch
                {
                    if (fetch is not null) await Task.WhenAny(fetch); // never leave a fetch running unobserved
                    throw;
                }
                chunks++;
                calls += result.Calls;
                permissions += result.Permissions.Count;
                grants += result.Grants.Count;
                notFound += result.NotFound.Count;
                failed += result.Failed.Count;
                drift += outcome.Drift;
                foreach (var d in outcome.ChangedDrives) changedDrives.Add(d);
                var ok = result.Fetched.Keys.ToHashSet(StringComparer.Ordinal);
                roots += result.Items.Count(i => i.Kind == Kinds.Root && ok.Contains(i.Id));
                checks += result.Items.Count(i => i.Kind == Kinds.Check && ok.Contains(i.Id));
                verified += result.Items.Count(i => i.Kind == Kinds.Verify && ok.Contains(i.Id));
                run.Add("files_scanned", current.Count);
                run.Add("permission_roots_scanned", result.Items.Count(i => i.Kind == Kinds.Root && ok.Contains(i.Id)));
                run.Add("permissions", result.Permissions.Count);
                run.Add("grants", result.Grants.Count);
                if (result.Failed.Count > 0) run.Add("permission_items_failed", result.Failed.Count);
                if (outcome.Drift > 0) run.Add("permission_drift", outcome.Drift);
                await run.ReportAsync(ct);
                current = next;
            }

            await TableStatistics.RefreshAsync(db, new Dictionary<string, long>
            {
                ["msgraph_drive_item_permissions"] = permissions, ["msgraph_drive_item_permission_grants"] = grants,
            }, ct);
            // Hierarchies a scan changed (an item became a root, or turned out to inherit) are walked again.
            if (changedDrives.Count > 0)
                await mediator.Send(new MaintainPermissionRoots.Command(changedDrives, run.StartedAt, ChangedOnly: true), ct);
            if (failed > 0)
                log.LogWarning("Permission scan: {Failed} items could not be fetched; they stay dirty and are retried by the next run", failed);
            return new Result(scanned, permissions, grants, notFound, failed, chunks, stoppedByBudget, roots, checks, verified, drift, calls,
                run.Graph.ResourceUnits - ruBefore);
        }

        private async Task<long> VerifyQuotaAsync(GraphIngestOptions options, CancellationToken ct)
        {
            await using var connection = await db.OpenAsync(ct);
            return await connection.ExecuteScalarAsync<long>(new CommandDefinition(VerifyQuotaSql, new
            {
                Percent = options.PermissionVerifyPercentPerDay,
                DayAgo = clock.GetUtcNow() - TimeSpan.FromDays(1),
            }, cancellationToken: ct));
        }

        private async Task<List<FileRef>> PickAsync(int limit, string[] exclude, GraphIngestOptions options, IngestRun run, long verifyLeft, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            await using var connection = await db.OpenAsync(ct);
            var picked = new List<FileRef>();
            var args = new DynamicParameters(new
            {
                StaleBefore = now - TimeSpan.FromHours(options.PermissionRescanAfterHours),
                RunStart = run.StartedAt, // nothing scanned in this run is picked twice
                Exclude = exclude,
            });
            // Dirty / never-scanned roots, then non-roots that need a look, then stale roots, then verification.
            foreach (var sql in new[] { PickDirtyRootsSql, PickChecksSql, PickStaleRootsSql })
            {
                if (picked.Count >= limit) break;
                args.Add("Limit", limit - picked.Count);
                args.Add("Exclude", exclude.Concat(picked.Select(p => p.Id)).ToArray());
                picked.AddRange(await connection.QueryAsync<FileRef>(new CommandDefinition(sql, args, cancellationToken: ct)));
            }
            if (picked.Count == 0 && verifyLeft > 0)
            {
                args.Add("Limit", (int)Math.Min(limit, verifyLeft));
                picked.AddRange(await connection.QueryAsync<FileRef>(new CommandDefinition(PickVerifySql, args, cancellationToken: ct)));
            }
            return picked;
        }

        private async Task<ChunkResult> FetchAsync(List<FileRef> files, GraphIngestOptions options, IngestRun run, CancellationToken ct)
        {
            var result = new ChunkResult { Items = files };
            using var gate = new SemaphoreSlim(options.PermissionConcurrency);
            var batches = files.Chunk(GraphBatch.MaxPerBatch).ToList();
            var responses = await Task.WhenAll(batches.Select(async batch =>
            {
                await gate.WaitAsync(ct);
                try
                {
                    return await GraphBatch.GetManyAsync(graph,
                        batch.Select(f => $"drives/{f.DriveId}/items/{f.Id}/permissions").ToList(), run.Graph, ct);
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    // One failing batch does not abort the run: its items count as failed and stay dirty.
                    log.LogWarning("Permission batch of {Count} items failed: {Error}", batch.Length, e.Message);
                    return null;
                }
                finally { gate.Release(); }
            }));
            for (var b = 0; b < batches.Count; b++)
            for (var i = 0; i < batches[b].Length; i++)
            {
                var file = batches[b][i];
                if (responses[b] is not { } batchResponses) { result.Failed.Add(file.Id); continue; }
                result.Calls++;
                var response = batchResponses[i];
                if (response.Status == HttpStatusCode.NotFound) { result.NotFound.Add(file.Id); continue; }
                if (!response.IsSuccess) { result.Failed.Add(file.Id); continue; }
                var rows = new List<StageRow>();
                var grantRows = new List<(string, string, string, PermissionGrant)>();
                var set = new HashSet<(string, string)>();
                var page = response;
                var complete = true;
                while (true)
                {
                    using var doc = page.Json();
                    if (doc.RootElement.TryGetProperty("value", out var value) && value.ValueKind == JsonValueKind.Array)
                        foreach (var p in value.EnumerateArray())
                        {
                            if (!p.TryGetProperty("id", out var pid) || pid.GetString() is not { Length: > 0 } permissionId) continue;
                            rows.Add(new StageRow(permissionId, false, p.GetRawText(), file.Id, file.DriveId));
                            set.Add((permissionId, RolesOf(p)));
                            foreach (var grant in PermissionGrant.Of(p)) grantRows.Add((file.Id, file.DriveId, permissionId, grant));
                        }
                    if (!doc.RootElement.TryGetProperty("@odata.nextLink", out var next) || next.GetString() is not { } nextUrl) break;
                    try
                    {
                        page = await graph.GetAsync(nextUrl, run.Graph, ct);
                        result.Calls++;
                    }
                    catch (Exception) when (!ct.IsCancellationRequested) { complete = false; break; }
                    if (!page.IsSuccess) { complete = false; break; }
                }
                if (!complete) { result.Failed.Add(file.Id); continue; }
                result.Permissions.AddRange(rows);
                result.Grants.AddRange(grantRows);
                result.Fetched[file.Id] = set;
            }
            return result;
        }

        private static string RolesOf(JsonElement permission) =>
            permission.TryGetProperty("roles", out var r) && r.ValueKind == JsonValueKind.Array
                ? string.Join(',', r.EnumerateArray().Select(x => x.GetString() ?? "").Order(StringComparer.Ordinal))
                : "";

        private async Task<ChunkOutcome> WriteAsync(ChunkResult result, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            await connection.ExecuteAsync(new CommandDefinition(DeltaRounds.PageSettingsSql, transaction: tx, cancellationToken: ct));
            await Staging.CopyAsync(connection, "stage_perms", result.Permissions, ct);
            await connection.ExecuteAsync("""
                CREATE TEMP TABLE stage_grants (permission_id text, item_id text, drive_id text, principal_type text, principal_id text, display_name text,
                    email text, upn text, login_name text, is_external boolean, raw jsonb) ON COMMIT DROP
                """);
            await using (var writer = await connection.BeginBinaryImportAsync(
                "COPY stage_grants (permission_id, item_id, drive_id, principal_type, principal_id, display_name, email, upn, login_name, is_external, raw) FROM STDIN (FORMAT BINARY)", ct))
            {
                foreach (var (itemId, driveId, permissionId, g) in result.Grants)
                {
                    await writer.StartRowAsync(ct);
                    await writer.WriteAsync(permissionId, NpgsqlDbType.Text, ct);
                    await writer.WriteAsync(itemId, NpgsqlDbType.Text, ct);
                    await writer.WriteAsync(driveId, NpgsqlDbType.Text, ct);
                    await writer.WriteAsync(g.PrincipalType, NpgsqlDbType.Text, ct);
                    await writer.WriteAsync(g.PrincipalId, NpgsqlDbType.Text, ct);
                    await WriteNullable(writer, g.DisplayName, ct);
                    await WriteNullable(writer, g.Email, ct);
                    await WriteNullable(writer, g.Upn, ct);
                    await WriteNullable(writer, g.LoginName, ct);
                    await writer.WriteAsync(g.IsExternal, NpgsqlDbType.Boolean, ct);
                    await writer.WriteAsync(g.Raw, NpgsqlDbType.Jsonb, ct);
                }
                await writer.CompleteAsync(ct);
            }

            // 1. Roots: what Graph returned is the root's own set.
            var rootIds = result.Items.Where(i => i.Kind == Kinds.Root && result.Fetched.ContainsKey(i.Id)).Select(i => i.Id).ToArray();
            if (rootIds.Length > 0)
                await connection.ExecuteAsync(new CommandDefinition(MergeSql, new { Now = now, Scanned = rootIds }, tx, cancellationToken: ct));

            // 2. Everything else is compared with the hierarchy it would inherit (after step 1, so a root and its
            //    subtree in one chunk compare with the fresh root).
            var compared = result.Items.Where(i => i.Kind != Kinds.Root && result.Fetched.ContainsKey(i.Id)).ToList();
            var differ = new List<string>();
            var inherit = new List<string>();
            var driftCount = 0;
            if (compared.Count > 0)
            {
                var expected = (await connection.QueryAsync<(string ItemId, string PermissionId, string Roles)>(new CommandDefinition(ExpectedSql,
                        new { Ids = compared.Select(c => c.Id).ToArray() }, tx, cancellationToken: ct)))
                    .GroupBy(r => r.ItemId, StringComparer.Ordinal)
                    .ToDictionary(g => g.Key, g => g.Select(r => (r.PermissionId, r.Roles)).ToHashSet(), StringComparer.Ordinal);
                foreach (var item in compared)
                {
                    var want = expected.GetValueOrDefault(item.Id) ?? [];
                    if (want.SetEquals(result.Fetched[item.Id])) inherit.Add(item.Id);
                    else
                    {
                        differ.Add(item.Id);
                        if (item.Kind == Kinds.Verify) driftCount++;
                    }
                }
            }
            if (differ.Count > 0)
                await connection.ExecuteAsync(new CommandDefinition(MergeSql, new { Now = now, Scanned = differ.ToArray() }, tx, cancellationToken: ct));
            var changedDrives = (differ.Count + inherit.Count) > 0
                ? (await connection.QueryAsync<string>(new CommandDefinition(ClassifySql,
                    new { Now = now, Differ = differ.ToArray(), Inherit = inherit.ToArray() }, tx, cancellationToken: ct))).ToList()
                : [];

            // 3. Stamp what was answered (200 or 404); failed items keep their dirty flag and old sync time.
            var done = result.Fetched.Keys.Concat(result.NotFound).ToArray();
            await connection.ExecuteAsync(new CommandDefinition(StampSql, new
            {
                Now = now,
                Done = done,
                Verified = compared.Where(c => result.Fetched.ContainsKey(c.Id)).Select(c => c.Id).ToArray(),
            }, tx, cancellationToken: ct));
            await tx.CommitAsync(ct);
            return new ChunkOutcome(rootIds.Length + differ.Count, inherit.Count, driftCount, changedDrives);
        }

        private static async Task WriteNullable(NpgsqlBinaryImporter writer, string? value, CancellationToken ct)
        {
            if (value is null) await writer.WriteNullAsync(ct);
            else await writer.WriteAsync(value, NpgsqlDbType.Text, ct);
        }
    }
}
