using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Dapper;
using Npgsql;
using NpgsqlTypes;
using Sentinel.Features.Graph;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// Permissions of files (no delta exists): picks never-scanned, changed / sharedChanged (permissions_dirty) and then
/// the stalest files, fetches /drives/{d}/items/{i}/permissions through $batch (20 per request, several in flight,
/// the next chunk fetched while the previous one is written), and per chunk commits permissions and one grant row
/// per principal (SIM_CONTRACT grant rule), soft-deleting what vanished, and stamps permissions_last_synced_at.
/// Bounded by permission_max_files and the run's time budget; the next run continues with what is left.
/// </summary>
public static class ScanPermissionsBatch
{
    public sealed record Command(GraphIngestOptions? Options = null, IngestRun? Run = null) : IExecutorRequest<Result>, INoInput;

    public sealed record Result(long FilesScanned, long Permissions, long Grants, long FilesNotFound, long FilesFailed, int Chunks, bool StoppedByBudget);


    private const string PickSql = """
        SELECT id, drive_id AS DriveId FROM msgraph_drive_items
        WHERE deleted_at IS NULL AND NOT is_folder
          AND (permissions_dirty OR permissions_last_synced_at IS NULL OR permissions_last_synced_at < @StaleBefore)
          AND (permissions_last_synced_at IS NULL OR permissions_last_synced_at < @RunStart OR permissions_dirty)
          AND NOT (id = ANY(@Exclude))
        ORDER BY permissions_dirty DESC, permissions_last_synced_at NULLS FIRST, id
        LIMIT @Limit
        """;

    private const string MergeSql = """
        INSERT INTO msgraph_drive_item_permissions AS t (permission_id, drive_id, item_id, roles, link_type, link_scope, link_web_url,
            link_prevents_download, link_expiration_dt, inherited_from_id, synced_at, deleted_at, raw, has_password, share_id)
        SELECT DISTINCT ON (s.a, s.id) s.id, s.b, s.a,
               CASE WHEN jsonb_typeof(s.raw->'roles') = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(s.raw->'roles')) ELSE '{}'::text[] END,
               s.raw->'link'->>'type', s.raw->'link'->>'scope', s.raw->'link'->>'webUrl', (s.raw->'link'->>'preventsDownload')::boolean,
               NULLIF((s.raw->>'expirationDateTime')::timestamptz, '0001-01-01T00:00:00Z'::timestamptz), s.raw->'inheritedFrom'->>'id',
               @Now, NULL, s.raw, (s.raw->>'hasPassword')::boolean, s.raw->>'shareId'
        FROM stage_perms s
        ON CONFLICT (permission_id, item_id) DO UPDATE SET
            drive_id = EXCLUDED.drive_id, roles = EXCLUDED.roles, link_type = EXCLUDED.link_type, link_scope = EXCLUDED.link_scope,
            link_web_url = EXCLUDED.link_web_url, link_prevents_download = EXCLUDED.link_prevents_download,
            link_expiration_dt = EXCLUDED.link_expiration_dt, inherited_from_id = EXCLUDED.inherited_from_id, synced_at = EXCLUDED.synced_at,
            deleted_at = NULL, raw = EXCLUDED.raw, has_password = EXCLUDED.has_password, share_id = EXCLUDED.share_id
        WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL;

        UPDATE msgraph_drive_item_permissions t SET deleted_at = @Now, synced_at = @Now
        WHERE t.item_id = ANY(@Scanned) AND t.deleted_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM stage_perms s WHERE s.a = t.item_id AND s.id = t.permission_id);

        INSERT INTO msgraph_drive_item_permission_grants AS t (permission_id, item_id, principal_type, principal_id, principal_display_name,
            principal_email, principal_user_principal_name, synced_at, deleted_at, raw, is_external, login_name)
        SELECT DISTINCT ON (g.permission_id, g.item_id, g.principal_type, g.principal_id)
               g.permission_id, g.item_id, g.principal_type, g.principal_id, g.display_name, g.email, g.upn, @Now, NULL, g.raw, g.is_external, g.login_name
        FROM stage_grants g
        ON CONFLICT (permission_id, item_id, principal_type, principal_id) DO UPDATE SET
            principal_display_name = EXCLUDED.principal_display_name, principal_email = EXCLUDED.principal_email,
            principal_user_principal_name = EXCLUDED.principal_user_principal_name, synced_at = EXCLUDED.synced_at, deleted_at = NULL,
            raw = EXCLUDED.raw, is_external = EXCLUDED.is_external, login_name = EXCLUDED.login_name
        WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL OR t.is_external <> EXCLUDED.is_external;

        UPDATE msgraph_drive_item_permission_grants t SET deleted_at = @Now, synced_at = @Now
        WHERE t.item_id = ANY(@Scanned) AND t.deleted_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM stage_grants g WHERE g.item_id = t.item_id AND g.permission_id = t.permission_id
                          AND g.principal_type = t.principal_type AND g.principal_id = t.principal_id);

        UPDATE msgraph_drive_items SET permissions_last_synced_at = @Now, permissions_dirty = false WHERE id = ANY(@Done);
        """;

    internal sealed record FileRef(string Id, string DriveId);

    /// <summary>The fetched permissions of one chunk (bounded: permission_batch_size files).</summary>
    private sealed class ChunkResult
    {
        public List<StageRow> Permissions { get; } = [];
        public List<(string ItemId, string PermissionId, PermissionGrant Grant)> Grants { get; } = [];
        public List<string> Scanned { get; } = []; // 200: the item's permission set is authoritative
        public List<string> Done { get; } = [];    // every attempted file (stamped so the scan moves on)
        public long NotFound, Failed;
    }

    internal sealed class Handler(Db db, GraphHttp graph, GraphRetryOptions retry, TimeProvider clock) : MediatR.IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var options = request.Options ?? new GraphIngestOptions();
            var run = request.Run ?? new IngestRun(clock.GetUtcNow());
            var budget = Stopwatch.StartNew();
            var budgetLeft = TimeSpan.FromSeconds(options.TimeBudgetSeconds) - (clock.GetUtcNow() - run.StartedAt);
            long scanned = 0, permissions = 0, grants = 0, notFound = 0, failed = 0;
            var chunks = 0;
            var stoppedByBudget = false;

            bool MayStartMore()
            {
                if (budget.Elapsed >= budgetLeft) { stoppedByBudget = true; return false; }
                return options.PermissionMaxFiles <= 0 || scanned < options.PermissionMaxFiles;
            }

            int NextLimit() => options.PermissionMaxFiles <= 0
                ? options.PermissionBatchSize
                : (int)Math.Max(0, Math.Min(options.PermissionBatchSize, options.PermissionMaxFiles - scanned));

            var current = MayStartMore() ? await PickAsync(NextLimit(), [], options, run, ct) : [];
            var fetch = current.Count > 0 ? FetchAsync(current, options, run, ct) : null;
            while (current.Count > 0 && fetch is not null)
            {
                var result = await fetch;
                scanned += current.Count;
                // Fetch the next chunk while this one is written.
                List<FileRef> next = [];
                fetch = null;
                if (MayStartMore() && NextLimit() > 0)
                {
                    next = await PickAsync(NextLimit(), current.Select(f => f.Id).ToArray(), options, run, ct);
                    if (next.Count > 0) fetch = FetchAsync(next, options, run, ct);
                }
                try
                {
                    await WriteAsync(result, ct);
                }
                catch
                {
                    if (fetch is not null) await Task.WhenAny(fetch); // never leave a fetch running unobserved
                    throw;
                }
                chunks++;
                permissions += result.Permissions.Count;
                grants += result.Grants.Count;
                notFound += result.NotFound;
                failed += result.Failed;
                run.Add("files_scanned", current.Count);
                run.Add("permissions", result.Permissions.Count);
                run.Add("grants", result.Grants.Count);
                await run.ReportAsync(ct);
                current = next;
            }
            return new Result(scanned, permissions, grants, notFound, failed, chunks, stoppedByBudget);
        }

        private async Task<List<FileRef>> PickAsync(int limit, string[] exclude, GraphIngestOptions options, IngestRun run, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            await using var connection = await db.OpenAsync(ct);
            var rows = await connection.QueryAsync<FileRef>(new CommandDefinition(PickSql, new
            {
                StaleBefore = now - TimeSpan.FromHours(options.PermissionRescanAfterHours),
                RunStart = run.StartedAt, // nothing scanned in this run is picked twice
                Exclude = exclude,
                Limit = limit,
            }, cancellationToken: ct));
            return rows.ToList();
        }

        private async Task<ChunkResult> FetchAsync(List<FileRef> files, GraphIngestOptions options, IngestRun run, CancellationToken ct)
        {
            var result = new ChunkResult();
            using var gate = new SemaphoreSlim(options.PermissionConcurrency);
            var batches = files.Chunk(GraphBatch.MaxPerBatch).ToList();
            var responses = await Task.WhenAll(batches.Select(async batch =>
            {
                await gate.WaitAsync(ct);
                try
                {
                    return await GraphBatch.GetManyAsync(graph, retry,
                        batch.Select(f => $"drives/{f.DriveId}/items/{f.Id}/permissions").ToList(), run.Graph, ct);
                }
                finally { gate.Release(); }
            }));
            for (var b = 0; b < batches.Count; b++)
            for (var i = 0; i < batches[b].Length; i++)
            {
                var file = batches[b][i];
                var response = responses[b][i];
                result.Done.Add(file.Id);
                if (response.Status == HttpStatusCode.NotFound) { result.NotFound++; continue; }
                if (!response.IsSuccess) { result.Failed++; continue; }
                result.Scanned.Add(file.Id);
                var page = response;
                while (true)
                {
                    using var doc = page.Json();
                    if (doc.RootElement.TryGetProperty("value", out var value) && value.ValueKind == JsonValueKind.Array)
                        foreach (var p in value.EnumerateArray())
                        {
                            if (!p.TryGetProperty("id", out var pid) || pid.GetString() is not { Length: > 0 } permissionId) continue;
                            result.Permissions.Add(new StageRow(permissionId, false, p.GetRawText(), file.Id, file.DriveId));
                            foreach (var grant in PermissionGrant.Of(p)) result.Grants.Add((file.Id, permissionId, grant));
                        }
                    if (!doc.RootElement.TryGetProperty("@odata.nextLink", out var next) || next.GetString() is not { } nextUrl) break;
                    page = await graph.GetAsync(nextUrl, run.Graph, ct);
                    if (!page.IsSuccess) { result.Failed++; result.Scanned.Remove(file.Id); break; }
                }
            }
            return result;
        }

        private async Task WriteAsync(ChunkResult result, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            await connection.ExecuteAsync(new CommandDefinition(DeltaRounds.PageSettingsSql, transaction: tx, cancellationToken: ct));
            await Staging.CopyAsync(connection, "stage_perms", result.Permissions, ct);
            await connection.ExecuteAsync("""
                CREATE TEMP TABLE stage_grants (permission_id text, item_id text, principal_type text, principal_id text, display_name text,
                    email text, upn text, login_name text, is_external boolean, raw jsonb) ON COMMIT DROP
                """);
            await using (var writer = await connection.BeginBinaryImportAsync(
                "COPY stage_grants (permission_id, item_id, principal_type, principal_id, display_name, email, upn, login_name, is_external, raw) FROM STDIN (FORMAT BINARY)", ct))
            {
                foreach (var (itemId, permissionId, g) in result.Grants)
                {
                    await writer.StartRowAsync(ct);
                    await writer.WriteAsync(permissionId, NpgsqlDbType.Text, ct);
                    await writer.WriteAsync(itemId, NpgsqlDbType.Text, ct);
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
            await connection.ExecuteAsync(new CommandDefinition(MergeSql, new
            {
                Now = now,
                Scanned = result.Scanned.ToArray(),
                Done = result.Done.ToArray(),
            }, tx, cancellationToken: ct));
            await tx.CommitAsync(ct);
        }

        private static async Task WriteNullable(NpgsqlBinaryImporter writer, string? value, CancellationToken ct)
        {
            if (value is null) await writer.WriteNullAsync(ct);
            else await writer.WriteAsync(value, NpgsqlDbType.Text, ct);
        }
    }
}
