using System.Net;
using System.Text.Json;
using Dapper;
using Sentinel.Features.Graph;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// The OneDrive of every member user (/users/{id}/drive; 404/400/403 = no drive listed), then — once the site list is
/// written (<see cref="Command.SitesListed"/>) — the document libraries of every in-scope site (/sites/{id}/drives;
/// personal sites excluded), fetched through $batch, merged in one transaction.
/// A OneDrive is listed once, through its owner (deterministic owner, no site), and only with include_onedrive.
/// Drives survive flapping listings: a drive missing from the listing of its site/user is soft-deleted (with its
/// items, permissions and grants) only after <c>drive_missing_runs</c> listings in a row missed it, or at once when
/// its site/owner is confirmed deleted. A site whose drive list Graph refused (403/423/5xx…) is recorded in
/// <see cref="IngestRun.Failures"/> and its drives are left alone. A drive that comes back after being soft-deleted
/// loses its delta checkpoint, so its next round is a full one with mark-and-sweep and everything that still
/// exists comes back (its old deltaLink would only bring changes).
/// </summary>
public static class IngestDrives
{
    public sealed record Command(GraphIngestOptions? Options = null, IngestRun? Run = null) : IExecutorRequest<Result>, INoInput
    {
        /// <summary>
        /// Completes when the site list is written (a run reads it alongside, IngestPhasePlan): the users' OneDrives are
        /// listed first, the sites' libraries after it. Null: the site list is there already.
        /// </summary>
        public Func<CancellationToken, Task>? SitesListed { get; init; }
    }

    public sealed record Result(long SitesScanned, long UsersScanned, long UsersWithoutDrive, long Listed, long SitesFailed, long UsersFailed,
        long DrivesMissing, long LiveDrives, long DeletedDrives);


    private const string UserTargetsSql = """
        SELECT 'u' AS kind, id, NULL AS web_url, user_principal_name AS name FROM msgraph_users
        WHERE deleted_at IS NULL AND @OneDrive AND COALESCE(user_type, 'Member') <> 'Guest'
        ORDER BY id
        """;

    private const string SiteTargetsSql = "SELECT 's' AS kind, id, web_url, name FROM msgraph_sites WHERE deleted_at IS NULL AND NOT is_personal ORDER BY id";

    private const string MergeSql = """
        -- Drives that come back after a soft delete restart their delta from scratch (full round, mark-and-sweep).
        DELETE FROM msgraph_delta_state st USING stage_drives s, msgraph_drives t
        WHERE st.resource_type = 'drive_items' AND st.partition_key = s.id AND t.id = s.id AND t.deleted_at IS NOT NULL;

        INSERT INTO msgraph_drives AS t (id, site_id, name, drive_type, web_url, owner_id, quota_total, quota_used, created_dt, synced_at, deleted_at, raw, missing_runs)
        SELECT DISTINCT ON (s.id) s.id, s.a, s.raw->>'name', s.raw->>'driveType', s.raw->>'webUrl', s.b,
               (s.raw->'quota'->>'total')::bigint, (s.raw->'quota'->>'used')::bigint, (s.raw->>'createdDateTime')::timestamptz, @Now, NULL, s.raw, 0
        FROM stage_drives s
        -- listed through its owner wins over any site (a OneDrive has one owner and no site)
        ORDER BY s.id, s.b NULLS LAST
        ON CONFLICT (id) DO UPDATE SET
            site_id = EXCLUDED.site_id, name = EXCLUDED.name, drive_type = EXCLUDED.drive_type, web_url = EXCLUDED.web_url,
            owner_id = EXCLUDED.owner_id, quota_total = EXCLUDED.quota_total, quota_used = EXCLUDED.quota_used,
            created_dt = EXCLUDED.created_dt, synced_at = EXCLUDED.synced_at, deleted_at = NULL, raw = EXCLUDED.raw, missing_runs = 0
        WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL OR t.missing_runs <> 0
           OR t.site_id IS DISTINCT FROM EXCLUDED.site_id OR t.owner_id IS DISTINCT FROM EXCLUDED.owner_id;

        -- Missed by a listing that worked (its site/user answered): one more miss in a row.
        UPDATE msgraph_drives t SET missing_runs = t.missing_runs + 1
        WHERE t.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM stage_drives s WHERE s.id = t.id)
          -- IN (SELECT unnest(…)) is a hashed subplan; = ANY(array) would compare every drive with every target
          AND ((t.site_id IN (SELECT unnest(@Sites::text[])) AND NOT EXISTS (SELECT 1 FROM msgraph_sites x WHERE x.id = t.site_id AND x.is_personal))
               OR ((t.site_id IS NULL OR EXISTS (SELECT 1 FROM msgraph_sites x WHERE x.id = t.site_id AND x.is_personal))
                   AND t.owner_id IN (SELECT unnest(@Users::text[]))));
        """;

    /// <summary>Missed drive_missing_runs times in a row, or whose site/owner is confirmed gone: they go (their content follows, GoneContentSql).</summary>
    private const string GoneSql = """
        UPDATE msgraph_drives t SET deleted_at = @Now, synced_at = @Now
        WHERE t.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM stage_drives s WHERE s.id = t.id)
          AND (t.missing_runs >= @MissingRuns
               OR EXISTS (SELECT 1 FROM msgraph_sites x WHERE x.id = t.site_id AND x.deleted_at IS NOT NULL)
               -- A deleted user's OneDrive is no longer reachable through Graph: it goes with its owner.
               OR EXISTS (SELECT 1 FROM msgraph_users x WHERE x.id = t.owner_id AND t.site_id IS NULL AND x.deleted_at IS NOT NULL))
        RETURNING t.id
        """;

    /// <summary>
    /// The items of the drives that went, with their permissions and grants. The drive ids come as an array, so the
    /// plan knows how many, and sequential scans are priced out: planned from the drives' UPDATE … RETURNING (no
    /// estimate), it was a sequential scan and a hash of all items (3.5 s for the 13,600 items of 166 OneDrives at 1M
    /// items, 1.8 s so). Hash joins stay allowed: with them off and the grants table's statistics stale (just after a
    /// permission scan), the grants were joined by a nested loop over the whole table for every item (130 s).
    /// </summary>
    private const string GoneContentSql = """
        SET LOCAL jit = off; SET LOCAL enable_seqscan = off; SET LOCAL enable_mergejoin = off;
        WITH items AS (
            UPDATE msgraph_drive_items i SET deleted_at = @Now, synced_at = @Now
            FROM unnest(@Drives::text[]) AS gone(id) WHERE i.drive_id = gone.id AND i.deleted_at IS NULL
            RETURNING i.id
        ), perms AS (
            UPDATE msgraph_drive_item_permissions p SET deleted_at = @Now, synced_at = @Now
            FROM items WHERE p.item_id = items.id AND p.deleted_at IS NULL
        )
        UPDATE msgraph_drive_item_permission_grants g SET deleted_at = @Now, synced_at = @Now
        FROM items WHERE g.item_id = items.id AND g.deleted_at IS NULL;
        """;

    private sealed record Target(string Kind, string Id, string? WebUrl, string? Name);

    internal sealed class Handler(Db db, GraphHttp graph, TimeProvider clock) : MediatR.IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var options = request.Options ?? new GraphIngestOptions();
            var run = request.Run ?? new IngestRun(clock.GetUtcNow());
            var now = clock.GetUtcNow();
            await using var connection = await db.OpenAsync(ct);
            var targets = (await connection.QueryAsync<Target>(new CommandDefinition(UserTargetsSql, new { OneDrive = options.IncludeOneDrive }, cancellationToken: ct)))
                .ToList();

            // Staged outside a transaction (Staging.SessionTableAsync): the phase may wait minutes for Graph, and for the
            // site list; the merge, the sweep and the content of the drives that went commit together at the end.
            await using var staged = await Staging.SessionTableAsync(connection, "stage_drives", ct);
            long listed = 0, withoutDrive = 0;
            var answered = new List<Target>();
            var concurrency = Math.Max(2, options.DriveConcurrency);
            await ListAsync(targets);
            // The sites' libraries once the site list is written (the users' OneDrives did not need it: a run reads
            // the site list alongside, so the OneDrives are listed meanwhile).
            if (request.SitesListed is { } sitesListed) await sitesListed(ct);
            var siteTargets = (await connection.QueryAsync<Target>(new CommandDefinition(SiteTargetsSql, cancellationToken: ct)))
                .Where(t => options.SiteInScope(t.WebUrl))
                .ToList();
            await ListAsync(siteTargets);
            targets.AddRange(siteTargets);

            // Waves of DriveConcurrency $batch requests (20 targets each), each wave's rows copied in one statement.
            async Task ListAsync(List<Target> list)
            {
                foreach (var wave in list.Chunk(GraphBatch.MaxPerBatch * concurrency))
                {
                    ct.ThrowIfCancellationRequested();
                    var chunks = wave.Chunk(GraphBatch.MaxPerBatch).ToList();
                    var responses = await Task.WhenAll(chunks.Select(async chunk =>
                    {
                        try
                        {
                            return await GraphBatch.GetManyAsync(graph,
                                chunk.Select(t => t.Kind == "s" ? $"sites/{t.Id}/drives" : $"users/{t.Id}/drive").ToList(), run.Graph, ct);
                        }
                        catch (JobFailedException e) when (TargetFailures.IsTargetFailure(e))
                        {
                            foreach (var t in chunk) Fail(run, t, TargetFailures.ReasonOf(e), e.Message);
                            return null;
                        }
                    }));
                    var rows = new List<StageRow>();
                    for (var c = 0; c < chunks.Count; c++)
                    {
                        if (responses[c] is not { } batch) continue;
                        for (var i = 0; i < chunks[c].Length; i++)
                        {
                            var target = chunks[c][i];
                            var response = batch[i];
                            if (target.Kind == "u")
                            {
                                // No OneDrive listed (not provisioned, or answering 403/404/400 for a while): counts as a miss.
                                if (response.Status is HttpStatusCode.NotFound or HttpStatusCode.BadRequest or HttpStatusCode.Forbidden)
                                {
                                    withoutDrive++;
                                    answered.Add(target);
                                    continue;
                                }
                                if (!response.IsSuccess)
                                {
                                    Fail(run, target, TargetFailures.ReasonOf(response), Message(response, "OneDrive of a user"));
                                    continue;
                                }
                                using var doc = response.Json();
                                if (doc.RootElement.TryGetProperty("id", out var id) && id.GetString() is { } driveId)
                                    rows.Add(new StageRow(driveId, false, doc.RootElement.GetRawText(), null, target.Id));
                                answered.Add(target);
                                run.Failures.Succeeded(TargetFailures.UserDrive, target.Id);
                                continue;
                            }
                            var siteRows = new List<StageRow>();
                            var (ok, reason, message) = await ListSiteDrivesAsync(target, response, siteRows, run, ct);
                            if (!ok)
                            {
                                // 404 (gone since the site phase, or flapping), 423 locked, 403, 5xx: the site's drives are left as they are.
                                Fail(run, target, reason!, message);
                                continue;
                            }
                            rows.AddRange(siteRows);
                            answered.Add(target);
                            run.Failures.Succeeded(TargetFailures.SiteDrives, target.Id);
                        }
                    }
                    await Staging.CopyAsync(connection, "stage_drives", rows, ct, create: false);
                    listed += rows.Count;
                    run.Add("drives", rows.Count);
                    await run.ReportAsync(ct);
                }
            }
            // The two "missed by this listing" updates are planned on the drive table as the statement before left it (a
            // first load: 8,635 rows no statistics describe, estimated at ≈ 560,000 cost units): PostgreSQL compiled them
            // with JIT, 0.47 s and 0.28 s of a 1.7 s phase, to run in ≈ 40 ms. No JIT here (analysing the staged listing
            // instead costs ≈ 65 ms, its JSON's statistics, and did not change the estimate that called for JIT).
            await using var tx = await connection.BeginTransactionAsync(ct);
            await connection.ExecuteAsync(new CommandDefinition("SET LOCAL jit = off", transaction: tx, cancellationToken: ct));
            await connection.ExecuteAsync(new CommandDefinition(MergeSql, new
            {
                Now = now,
                Sites = answered.Where(t => t.Kind == "s").Select(t => t.Id).ToArray(),
                Users = answered.Where(t => t.Kind == "u").Select(t => t.Id).ToArray(),
                MissingRuns = options.DriveMissingRuns,
            }, tx, cancellationToken: ct));
            var gone = (await connection.QueryAsync<string>(new CommandDefinition(GoneSql, new { Now = now, MissingRuns = options.DriveMissingRuns },
                tx, cancellationToken: ct))).ToArray();
            var counts = await connection.QuerySingleAsync<(long Live, long Deleted, long Missing)>(new CommandDefinition("""
                SELECT count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL),
                       count(*) FILTER (WHERE deleted_at IS NULL AND missing_runs > 0)
                FROM msgraph_drives
                """, transaction: tx, cancellationToken: ct));
            if (gone.Length > 0)
                await connection.ExecuteAsync(new CommandDefinition(GoneContentSql, new { Now = now, Drives = gone }, tx, cancellationToken: ct, commandTimeout: 0));
            await tx.CommitAsync(ct);
            var sites = targets.Count(t => t.Kind == "s");
            var users = targets.Count(t => t.Kind == "u");
            return new Result(sites, users, withoutDrive, listed, sites - answered.Count(t => t.Kind == "s"), users - answered.Count(t => t.Kind == "u"),
                counts.Missing, counts.Live, counts.Deleted);
        }

        private static void Fail(IngestRun run, Target target, string reason, string? message) =>
            run.Failures.Failed(target.Kind == "s" ? TargetFailures.SiteDrives : TargetFailures.UserDrive, target.Id, reason, message, target.Name);

        private static string Message(GraphResponse response, string what) =>
            $"Graph answered HTTP {(int)response.Status} ({response.ErrorCode() ?? "no error code"}) when listing the {what}";

        /// <summary>All drives of one site (following nextLinks); nothing is kept from a listing that failed half-way.</summary>
        private async Task<(bool Ok, string? Reason, string? Message)> ListSiteDrivesAsync(Target site, GraphResponse response, List<StageRow> into,
            IngestRun run, CancellationToken ct)
        {
            try
            {
                while (true)
                {
                    if (!response.IsSuccess) return (false, TargetFailures.ReasonOf(response), Message(response, "drives of a site"));
                    using var doc = response.Json();
                    foreach (var d in doc.RootElement.GetProperty("value").EnumerateArray())
                        if (d.TryGetProperty("id", out var id) && id.GetString() is { } driveId)
                            into.Add(new StageRow(driveId, false, d.GetRawText(), site.Id, null));
                    if (!doc.RootElement.TryGetProperty("@odata.nextLink", out var next) || next.GetString() is not { } nextUrl) return (true, null, null);
                    response = await graph.GetAsync(nextUrl, run.Graph, ct);
                }
            }
            catch (JobFailedException e) when (TargetFailures.IsTargetFailure(e))
            {
                return (false, TargetFailures.ReasonOf(e), e.Message);
            }
        }
    }
}
