using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Analytics;

/// <summary>
/// Everything the dashboard shows, read from the materialized views (plus the small job tables).
/// <see cref="Result.LastRefreshedAt"/> is the OLDEST recorded refresh among the views used, so the label never overstates freshness.
/// </summary>
public static class GetDashboard
{
    public sealed record Query(int TopN = 10) : IRequest<Result>;

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => RuleFor(q => q.TopN).InclusiveBetween(1, 100).WithMessage("top_n must be between 1 and 100");
    }

    public sealed record EntityCount(string Entity, long Total, long Active, long Deleted, DateTimeOffset? LastSyncedAt);
    public sealed record DriveExposure(string DriveId, string? SiteId, string DriveName, string? SiteName, long AnonymousLinks,
        long OrganizationLinks, long ExternalPermissions, long ExposedPermissions);
    public sealed record SiteExposure(string SiteId, string? SiteName, long AnonymousLinks, long OrganizationLinks, long ExternalPermissions, long ExposedPermissions);
    public sealed record ScopeCount(string LinkScope, long PermissionCount);
    public sealed record JobHealth(Guid JobId, string JobType, string? Name, Guid RunId, string Status, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? Error);
    public sealed record DayRuns(DateOnly Day, long Success, long Failed, long Cancelled, long Partial);
    /// <summary>Targets (drives, sites, …) the latest runs could not ingest, per type and reason; LastRunId is the newest run that reported one.</summary>
    public sealed record NotIngested(string TargetType, string Reason, long Targets, int MaxConsecutiveFailures, Guid? LastRunId);

    /// <summary>
    /// Permission coverage: share of hierarchy roots scanned within permission_rescan_after_hours, and the ETA to full
    /// coverage at the tenant's daily RU budget (unscanned roots × 5 RU / RU per day). <see cref="RuPerDaySource"/> says
    /// where the budget came from: graph_ru_budget, or Microsoft's smallest tier (1,200,000 RU/day) when none is configured.
    /// </summary>
    public sealed record PermissionCoverage(long Roots, long ScannedWithinWindow, int RescanAfterHours, long RuPerDay, string RuPerDaySource)
    {
        public const int RuPerPermissionCall = 5;
        public const long DefaultRuPerDay = 1_200_000;
        public long Unscanned => Roots - ScannedWithinWindow;
        public double? Share => Roots == 0 ? null : (double)ScannedWithinWindow / Roots;
        /// <summary>Hours until every root is scanned if the whole daily budget went to permission calls.</summary>
        public double EtaHours => RuPerDay <= 0 ? double.PositiveInfinity : Unscanned * (double)RuPerPermissionCall / RuPerDay * 24;
    }

    /// <summary>Graph resource units drawn today (UTC) from the tenant budget by every process, and the day's limit.</summary>
    public sealed record RuToday(long Used, long PerDay)
    {
        public double Share => PerDay <= 0 ? 0 : (double)Used / PerDay;
    }

    public sealed record Result(
        IReadOnlyDictionary<string, long> Metrics,
        IReadOnlyList<EntityCount> Inventory,
        IReadOnlyList<DriveExposure> TopDrives,
        IReadOnlyList<SiteExposure> TopSites,
        IReadOnlyList<ScopeCount> Scopes,
        IReadOnlyList<JobHealth> Jobs,
        IReadOnlyList<DayRuns> RunTrend,
        IReadOnlyList<NotIngested> NotIngestedTargets,
        DateTimeOffset? LastSuccessfulIngestAt,
        DateTimeOffset? DataChangedAt,
        DateTimeOffset? LastRefreshedAt,
        PermissionCoverage? Coverage = null,
        RuToday? GraphRuToday = null);

    internal static readonly string[] Views =
        ["mv_dashboard_posture", "mv_dashboard_drive_exposure", "mv_msgraph_inventory_summary", "mv_msgraph_sharing_posture_summary"];

    private const string Sql = """
        SELECT metric, value FROM mv_dashboard_posture;
        SELECT entity, total, active, deleted, last_synced_at FROM mv_msgraph_inventory_summary ORDER BY entity;
        SELECT drive_id, site_id, drive_name, site_name, anonymous_links, organization_links, external_permissions, exposed_permissions
          FROM mv_dashboard_drive_exposure WHERE exposed_permissions > 0
         ORDER BY exposed_permissions DESC, drive_id LIMIT @TopN;
        SELECT site_id, max(site_name) AS site_name, sum(anonymous_links)::bigint AS anonymous_links, sum(organization_links)::bigint AS organization_links,
               sum(external_permissions)::bigint AS external_permissions, sum(exposed_permissions)::bigint AS exposed_permissions
          FROM mv_dashboard_drive_exposure WHERE site_id IS NOT NULL
         GROUP BY site_id HAVING sum(exposed_permissions) > 0
         ORDER BY sum(exposed_permissions) DESC, site_id LIMIT @TopN;
        SELECT link_scope, sum(permission_count)::bigint AS permission_count FROM mv_msgraph_sharing_posture_summary
         GROUP BY link_scope ORDER BY sum(permission_count) DESC;
        -- Job badges come from job_runs itself, not mv_latest_job_runs: a view refreshed after the run started would say "running" after it ended.
        SELECT j.job_id, j.job_type, j.name, l.run_id, l.status, l.started_at, l.finished_at, l.error
          FROM jobs j CROSS JOIN LATERAL (SELECT r.run_id, r.status, r.started_at, r.finished_at, r.error FROM job_runs r
                                           WHERE r.job_id = j.job_id ORDER BY r.started_at DESC, r.run_id DESC LIMIT 1) l
         ORDER BY j.job_type, j.name, j.job_id;
        SELECT d::date AS day,
               count(r.run_id) FILTER (WHERE r.status = 'success') AS success,
               count(r.run_id) FILTER (WHERE r.status = 'failed') AS failed,
               count(r.run_id) FILTER (WHERE r.status = 'cancelled') AS cancelled,
               count(r.run_id) FILTER (WHERE r.status = 'partial') AS partial
          FROM generate_series((@Now AT TIME ZONE 'UTC')::date - 13, (@Now AT TIME ZONE 'UTC')::date, interval '1 day') AS d
          LEFT JOIN job_runs r ON r.started_at >= (d::date AT TIME ZONE 'UTC') AND r.started_at < ((d::date + 1) AT TIME ZONE 'UTC')
         GROUP BY d ORDER BY d;
        SELECT target_type, reason, count(*) AS targets, max(consecutive_failures) AS max_consecutive_failures,
               (array_agg(last_run_id ORDER BY last_failed_at DESC))[1] AS last_run_id
          FROM ingest_target_failures GROUP BY target_type, reason ORDER BY count(*) DESC, target_type, reason;
        SELECT max(r.finished_at) FROM job_runs r JOIN jobs j ON j.job_id = r.job_id WHERE j.job_type = 'graph_ingest' AND r.status = 'success';
        SELECT max(last_updated_at) FROM table_update_log WHERE table_name LIKE 'msgraph\_%';
        SELECT min(last_refreshed_at) FROM mv_refresh_log WHERE mv_name = ANY(@Views);
        SELECT coalesce((SELECT min((config->>'permission_rescan_after_hours')::int) FROM jobs
                          WHERE job_type = 'graph_ingest' AND enabled AND jsonb_typeof(config->'permission_rescan_after_hours') = 'number'), 24);
        SELECT to_regclass('graph_ru_budget') IS NOT NULL;
        """;

    /// <summary>Roots of permission hierarchies and those scanned within the window (the root scan index serves it).</summary>
    private const string CoverageSql = """
        SELECT count(*) AS roots, count(*) FILTER (WHERE permissions_last_synced_at >= @Since) AS scanned
          FROM msgraph_drive_items WHERE deleted_at IS NULL AND has_unique_permissions
        """;

    /// <summary>
    /// Everything above changes only when a view is refreshed or a run changes, so the result is reused until one of
    /// those stamps moves (one tiny query instead of ten under load). Keyed per database and TopN.
    /// </summary>
    private const string StampSql = """
        SELECT coalesce((SELECT max(last_refreshed_at) FROM mv_refresh_log), '-infinity')::text || '|' ||
               coalesce((SELECT last_updated_at FROM table_update_log WHERE table_name = 'job_runs'), '-infinity')::text || '|' ||
               coalesce((SELECT last_updated_at FROM table_update_log WHERE table_name = 'jobs'), '-infinity')::text || '|' ||
               coalesce((SELECT last_updated_at FROM table_update_log WHERE table_name = 'ingest_target_failures'), '-infinity')::text || '|' ||
               (@Now AT TIME ZONE 'UTC')::date::text
        """;

    /// <summary>Read on every request (outside the cache): it moves with every Graph call, not with view refreshes.</summary>
    private const string RuTodaySql = """
        SELECT coalesce(sum(CASE WHEN day_start = @Day THEN day_used ELSE 0 END), 0)::bigint AS used, coalesce(min(ru_per_day), 0)::bigint AS per_day
          FROM graph_ru_budget
        """;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Database, int TopN), (string Stamp, Result Result)> Cache = new();

    internal sealed class Handler(Db db, TimeProvider clock) : IRequestHandler<Query, Result>
    {
        public async Task<Result> Handle(Query request, CancellationToken ct)
        {
            await using var connection = await db.OpenAsync(ct);
            var key = (connection.Host + ":" + connection.Port + "/" + connection.Database, request.TopN);
            var stamp = await connection.ExecuteScalarAsync<string>(new CommandDefinition(StampSql, new { Now = clock.GetUtcNow() }, cancellationToken: ct)) ?? "";
            if (!Cache.TryGetValue(key, out var hit) || hit.Stamp != stamp)
            {
                hit = (stamp, await LoadAsync(connection, request, ct));
                Cache[key] = hit;
            }
            var now = clock.GetUtcNow();
            var (used, perDay) = await connection.QuerySingleAsync<(long, long)>(new CommandDefinition(RuTodaySql,
                new { Day = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero) }, cancellationToken: ct));
            return hit.Result with { GraphRuToday = perDay > 0 ? new RuToday(used, perDay) : null };
        }

        private async Task<Result> LoadAsync(Npgsql.NpgsqlConnection connection, Query request, CancellationToken ct)
        {
            await using var grid = await connection.QueryMultipleAsync(new CommandDefinition(Sql,
                new { request.TopN, Now = clock.GetUtcNow(), Views }, cancellationToken: ct));
            var metrics = (await grid.ReadAsync<(string Metric, long Value)>()).ToDictionary(m => m.Metric, m => m.Value);
            var inventory = (await grid.ReadAsync<EntityCount>()).ToList();
            var drives = (await grid.ReadAsync<DriveExposure>()).ToList();
            var sites = (await grid.ReadAsync<SiteExposure>()).ToList();
            var scopes = (await grid.ReadAsync<ScopeCount>()).ToList();
            var jobs = (await grid.ReadAsync<JobHealth>()).ToList();
            var trend = (await grid.ReadAsync<DayRuns>()).ToList();
            var notIngested = (await grid.ReadAsync<NotIngested>()).ToList();
            var lastIngest = await grid.ReadSingleAsync<DateTimeOffset?>();
            var changed = await grid.ReadSingleAsync<DateTimeOffset?>();
            var refreshed = await grid.ReadSingleAsync<DateTimeOffset?>();
            var rescanHours = await grid.ReadSingleAsync<int>();
            var hasBudget = await grid.ReadSingleAsync<bool>();
            await grid.DisposeAsync();
            var (roots, scanned) = await connection.QuerySingleAsync<(long, long)>(new CommandDefinition(CoverageSql,
                new { Since = clock.GetUtcNow() - TimeSpan.FromHours(rescanHours) }, cancellationToken: ct));
            long? ruPerDay = hasBudget
                ? await connection.ExecuteScalarAsync<long?>(new CommandDefinition("SELECT min(ru_per_day)::bigint FROM graph_ru_budget", cancellationToken: ct))
                : null;
            var coverage = new PermissionCoverage(roots, scanned, rescanHours, ruPerDay ?? PermissionCoverage.DefaultRuPerDay,
                ruPerDay is null ? "default (smallest tier: 1,200,000 RU/day)" : "graph_ru_budget");
            return new Result(metrics, inventory, drives, sites, scopes, jobs, trend, notIngested, lastIngest, changed, refreshed, coverage);
        }
    }
}
