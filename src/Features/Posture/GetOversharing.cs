using Dapper;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Posture;

/// <summary>
/// The dashboard's oversharing cards, from mv_posture_oversharing (db/init/014_posture.sql): anyone links that never
/// expire, anyone/organisation links that allow editing, grants to "Everyone except external users" per site, files
/// exposed (anyone, organisation or external) though untouched for a year, and the top sites and external people by the
/// number of exposed items they reach.
/// </summary>
public static class GetOversharing
{
    public sealed record Query : IRequest<Result>;

    public sealed record Entry(string Key, string? Label, string? SiteId, long Value);

    public sealed record Result(long AnyoneNeverExpire, long EditLinks, long StaleExposed, IReadOnlyList<Entry> EveryoneClaimSites,
        IReadOnlyList<Entry> TopSites, IReadOnlyList<Entry> TopExternal, DateTimeOffset? RefreshedAt);

    private const string Sql = """
        SELECT card, key, label, site_id, value FROM mv_posture_oversharing ORDER BY card, value DESC, key;
        SELECT last_refreshed_at FROM mv_refresh_log WHERE mv_name = 'mv_posture_oversharing';
        """;

    internal sealed class Handler(Db db) : IRequestHandler<Query, Result>
    {
        public async Task<Result> Handle(Query request, CancellationToken ct)
        {
            await using var connection = await db.OpenAsync(ct);
            await using var grid = await connection.QueryMultipleAsync(new CommandDefinition(Sql, cancellationToken: ct));
            var rows = (await grid.ReadAsync<(string Card, string Key, string? Label, string? SiteId, long Value)>()).ToList();
            var refreshed = await grid.ReadSingleOrDefaultAsync<DateTimeOffset?>();
            long One(string card) => rows.FirstOrDefault(r => r.Card == card).Value;
            List<Entry> Many(string card) => rows.Where(r => r.Card == card).Select(r => new Entry(r.Key, r.Label, r.SiteId, r.Value)).ToList();
            return new Result(One("anyone_never_expire"), One("edit_links"), One("stale_exposed"), Many("everyone_claim_site"),
                Many("top_site"), Many("top_external"), refreshed);
        }
    }
}
