using Dapper;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Views;

/// <summary>
/// Refreshes only the materialized views whose dependency tables changed since the view's last refresh
/// (table_update_log vs mv_refresh_log, via mv_dependencies), each with REFRESH MATERIALIZED VIEW CONCURRENTLY
/// (plain REFRESH for a view that was never populated). Force refreshes every view.
/// </summary>
public static class RefreshImpactedViews
{
    public sealed record Command(bool Force = false) : IExecutorRequest<Result>, INoInput;

    public sealed record Result(IReadOnlyList<RefreshedView> Refreshed, IReadOnlyList<string> UpToDate);

    public sealed record RefreshedView(string MvName, double Seconds, string Reason);

    // Staleness compares database-written times only (the statement triggers stamp clock_timestamp()), so the
    // refresh is stamped with the database clock too, read BEFORE the refresh: a change that commits while the
    // view refreshes is newer than the stamp and makes the view stale again, rather than being lost.
    private const string PlanSql = """
        SELECT m.matviewname AS mv_name, quote_ident(m.schemaname) || '.' || quote_ident(m.matviewname) AS qualified, m.ispopulated,
               max(u.last_updated_at) AS changed_at, l.last_refreshed_at
          FROM mv_dependencies d
          JOIN pg_matviews m ON m.matviewname = d.mv_name AND m.schemaname = current_schema()
          LEFT JOIN table_update_log u ON u.table_name = d.table_name
          LEFT JOIN mv_refresh_log l ON l.mv_name = d.mv_name
         GROUP BY m.schemaname, m.matviewname, m.ispopulated, l.last_refreshed_at
         ORDER BY m.matviewname
        """;

    private const string StampSql = "SELECT clock_timestamp()";

    private const string LogSql = """
        INSERT INTO mv_refresh_log (mv_name, last_refreshed_at) VALUES (@MvName, @At)
        ON CONFLICT (mv_name) DO UPDATE SET last_refreshed_at = GREATEST(mv_refresh_log.last_refreshed_at, EXCLUDED.last_refreshed_at)
        """;

    private sealed record Plan(string MvName, string Qualified, bool Ispopulated, DateTime? ChangedAt, DateTime? LastRefreshedAt)
    {
        public string? Reason(bool force) =>
            force ? "forced"
            : LastRefreshedAt is null ? "never_refreshed"
            : !Ispopulated ? "not_populated"
            : ChangedAt is { } changed && changed > LastRefreshedAt ? "dependencies_changed"
            : null;
    }

    internal sealed class Handler(Db db) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            await using var connection = await db.OpenAsync(ct);
            var plans = (await connection.QueryAsync<Plan>(new CommandDefinition(PlanSql, cancellationToken: ct))).ToList();
            var stale = plans.Where(p => p.Reason(request.Force) is not null).ToList();
            var refreshed = new List<RefreshedView>();
            foreach (var plan in stale)
            {
                var at = await connection.ExecuteScalarAsync<DateTime>(new CommandDefinition(StampSql, cancellationToken: ct));
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                var concurrently = plan.Ispopulated ? "CONCURRENTLY " : "";
                await connection.ExecuteAsync(new CommandDefinition($"REFRESH MATERIALIZED VIEW {concurrently}{plan.Qualified}", commandTimeout: 0, cancellationToken: ct));
                await connection.ExecuteAsync(new CommandDefinition(LogSql, new { plan.MvName, At = at }, cancellationToken: ct));
                var view = new RefreshedView(plan.MvName, Math.Round(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, 3), plan.Reason(request.Force)!);
                refreshed.Add(view);
            }
            return new Result(refreshed, plans.Where(p => p.Reason(request.Force) is null).Select(p => p.MvName).ToList());
        }
    }
}
