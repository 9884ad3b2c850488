using System.Net;
using System.Text.Json;
using Dapper;
using FluentValidation;
using Sentinel.Features.Graph;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// Document libraries of every in-scope site (/sites/{id}/drives) and the OneDrive of every member user
/// (/users/{id}/drive; users without one — 404/400/403 — are skipped), fetched through $batch. One transaction:
/// staged, merged, and drives of scanned sites/users that are no longer listed are soft-deleted with their items,
/// permissions and grants.
/// </summary>
public static class IngestDrives
{
    public sealed record Command(GraphIngestOptions? Options = null, IngestRun? Run = null) : IExecutorRequest<Result>;

    public sealed record Result(long SitesScanned, long UsersScanned, long UsersWithoutDrive, long Listed, long LiveDrives, long DeletedDrives);

    internal sealed class Validator : AbstractValidator<Command>;

    private const string TargetsSql = """
        SELECT 's' AS kind, id, web_url FROM msgraph_sites WHERE deleted_at IS NULL
        UNION ALL
        SELECT 'u', id, NULL FROM msgraph_users WHERE deleted_at IS NULL AND @OneDrive AND COALESCE(user_type, 'Member') <> 'Guest'
        ORDER BY 1, 2
        """;

    private const string MergeSql = """
        INSERT INTO msgraph_drives AS t (id, site_id, name, drive_type, web_url, owner_id, quota_total, quota_used, created_dt, synced_at, deleted_at, raw)
        SELECT DISTINCT ON (s.id) s.id, s.a, s.raw->>'name', s.raw->>'driveType', s.raw->>'webUrl', s.b,
               (s.raw->'quota'->>'total')::bigint, (s.raw->'quota'->>'used')::bigint, (s.raw->>'createdDateTime')::timestamptz, @Now, NULL, s.raw
        FROM stage_drives s
        ON CONFLICT (id) DO UPDATE SET
            site_id = EXCLUDED.site_id, name = EXCLUDED.name, drive_type = EXCLUDED.drive_type, web_url = EXCLUDED.web_url,
            owner_id = EXCLUDED.owner_id, quota_total = EXCLUDED.quota_total, quota_used = EXCLUDED.quota_used,
            created_dt = EXCLUDED.created_dt, synced_at = EXCLUDED.synced_at, deleted_at = NULL, raw = EXCLUDED.raw
        WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL
           OR t.site_id IS DISTINCT FROM EXCLUDED.site_id OR t.owner_id IS DISTINCT FROM EXCLUDED.owner_id;

        -- Drives that vanished from a scanned site/user, or whose site/owner is gone, go with their content.
        WITH gone AS (
            UPDATE msgraph_drives t SET deleted_at = @Now, synced_at = @Now
            WHERE t.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM stage_drives s WHERE s.id = t.id)
              AND (t.site_id = ANY(@Sites) OR t.owner_id = ANY(@Users)
                   OR EXISTS (SELECT 1 FROM msgraph_sites x WHERE x.id = t.site_id AND x.deleted_at IS NOT NULL)
                   -- A deleted user's OneDrive is no longer reachable through Graph: it goes with its owner.
                   OR EXISTS (SELECT 1 FROM msgraph_users x WHERE x.id = t.owner_id AND t.site_id IS NULL AND x.deleted_at IS NOT NULL))
            RETURNING t.id
        ), items AS (
            UPDATE msgraph_drive_items i SET deleted_at = @Now, synced_at = @Now
            FROM gone WHERE i.drive_id = gone.id AND i.deleted_at IS NULL
            RETURNING i.id
        ), perms AS (
            UPDATE msgraph_drive_item_permissions p SET deleted_at = @Now, synced_at = @Now
            FROM items WHERE p.item_id = items.id AND p.deleted_at IS NULL
        )
        UPDATE msgraph_drive_item_permission_grants g SET deleted_at = @Now, synced_at = @Now
        FROM items WHERE g.item_id = items.id AND g.deleted_at IS NULL;
        """;

    private sealed record Target(string Kind, string Id, string? WebUrl);

    internal sealed class Handler(Db db, GraphHttp graph, GraphRetryOptions retry, TimeProvider clock) : MediatR.IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var options = request.Options ?? new GraphIngestOptions();
            var run = request.Run ?? new IngestRun(clock.GetUtcNow());
            var now = clock.GetUtcNow();
            await using var connection = await db.OpenAsync(ct);
            var targets = (await connection.QueryAsync<Target>(new CommandDefinition(TargetsSql, new { OneDrive = options.IncludeOneDrive }, cancellationToken: ct)))
                .Where(t => t.Kind == "u" || options.SiteInScope(t.WebUrl))
                .ToList();

            await using var tx = await connection.BeginTransactionAsync(ct);
            await Staging.CopyAsync(connection, "stage_drives", [], ct);
            long listed = 0, withoutDrive = 0;
            var concurrency = Math.Max(2, options.DriveConcurrency);
            foreach (var wave in targets.Chunk(GraphBatch.MaxPerBatch * concurrency))
            {
                ct.ThrowIfCancellationRequested();
                var chunks = wave.Chunk(GraphBatch.MaxPerBatch).ToList();
                var responses = await Task.WhenAll(chunks.Select(chunk => GraphBatch.GetManyAsync(graph, retry,
                    chunk.Select(t => t.Kind == "s" ? $"sites/{t.Id}/drives" : $"users/{t.Id}/drive").ToList(), run.Graph, ct)));
                var rows = new List<StageRow>();
                for (var c = 0; c < chunks.Count; c++)
                for (var i = 0; i < chunks[c].Length; i++)
                {
                    var target = chunks[c][i];
                    var response = responses[c][i];
                    if (target.Kind == "u")
                    {
                        if (response.Status is HttpStatusCode.NotFound or HttpStatusCode.BadRequest or HttpStatusCode.Forbidden)
                        {
                            withoutDrive++;
                            continue;
                        }
                        EnsureOk(response, "OneDrive of a user");
                        using var doc = response.Json();
                        if (doc.RootElement.TryGetProperty("id", out var id) && id.GetString() is { } driveId)
                            rows.Add(new StageRow(driveId, false, doc.RootElement.GetRawText(), null, target.Id));
                        continue;
                    }
                    if (response.Status == HttpStatusCode.NotFound) continue; // the site went away since the site phase
                    EnsureOk(response, "drives of a site");
                    var body = response;
                    while (true)
                    {
                        using var doc = body.Json();
                        foreach (var d in doc.RootElement.GetProperty("value").EnumerateArray())
                            if (d.TryGetProperty("id", out var id) && id.GetString() is { } driveId)
                                rows.Add(new StageRow(driveId, false, d.GetRawText(), target.Id, null));
                        if (!doc.RootElement.TryGetProperty("@odata.nextLink", out var next) || next.GetString() is not { } nextUrl) break;
                        body = await graph.GetAsync(nextUrl, run.Graph, ct);
                        EnsureOk(body, "drives of a site");
                    }
                }
                await Staging.CopyAsync(connection, "stage_drives", rows, ct, create: false);
                listed += rows.Count;
                run.Add("drives", rows.Count);
                await run.ReportAsync(ct);
            }
            await connection.ExecuteAsync(new CommandDefinition(MergeSql, new
            {
                Now = now,
                Sites = targets.Where(t => t.Kind == "s").Select(t => t.Id).ToArray(),
                Users = targets.Where(t => t.Kind == "u").Select(t => t.Id).ToArray(),
            }, tx, cancellationToken: ct));
            var counts = await connection.QuerySingleAsync<(long Live, long Deleted)>(new CommandDefinition(
                "SELECT count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL) FROM msgraph_drives", transaction: tx, cancellationToken: ct));
            await tx.CommitAsync(ct);
            return new Result(targets.Count(t => t.Kind == "s"), targets.Count(t => t.Kind == "u"), withoutDrive, listed, counts.Live, counts.Deleted);
        }

        private static void EnsureOk(GraphResponse response, string what)
        {
            if (!response.IsSuccess)
                throw new JobFailedException("graph_request_failed",
                    $"Graph answered HTTP {(int)response.Status} ({response.ErrorCode() ?? "no error code"}) when listing the {what}");
        }
    }
}
