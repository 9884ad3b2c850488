using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Graph;

/// <summary>
/// The tenant's one SharePoint/Graph resource-unit budget, kept in PostgreSQL (<c>graph_ru_budget</c>) and shared
/// by every process that calls Graph (workers, the web's live drill-down). Every Graph attempt draws its RU here
/// before it is sent; a 429/503 anywhere sets <c>paused_until</c>, which every process honours.
/// <para>
/// Cheap: a process reserves RU in chunks (1/50 of the per-minute limit) with one UPDATE and spends them locally;
/// a reservation lives at most <see cref="GraphBudgetOptions.LeaseTime"/> and what is left is handed back with the
/// next reservation (same minute/day window only). Windows are fixed UTC minutes and days; "now" is the Graph clock,
/// passed into SQL. The row is created with the smallest tier's limits when missing; graph_ingest runs set the
/// configured limits (<see cref="ConfigureAsync"/>).
/// </para>
/// </summary>
public sealed class GraphRuBudget(Db db, SentinelSettings settings, GraphBudgetOptions options,
    [FromKeyedServices(GraphClock.Key)] TimeProvider clock)
{
    private readonly SemaphoreSlim _refill = new(1, 1);
    private readonly object _lock = new();
    private int _available;
    private DateTimeOffset _leaseExpires = DateTimeOffset.MinValue;
    private DateTimeOffset _leaseMinute, _leaseDay;
    private DateTimeOffset _pausedUntil = DateTimeOffset.MinValue;
    private bool _rowEnsured;
    private int _perMinute;

    public string TenantId => settings.EntraTenantId ?? "default";

    private const string EnsureSql = """
        INSERT INTO graph_ru_budget (tenant_id, ru_per_minute, ru_per_day) VALUES (@tenant, @perMinute, @perDay)
        ON CONFLICT (tenant_id) DO NOTHING
        """;

    private const string ConfigureSql = """
        INSERT INTO graph_ru_budget (tenant_id, ru_per_minute, ru_per_day, tenant_licences) VALUES (@tenant, @perMinute, @perDay, @licences)
        ON CONFLICT (tenant_id) DO UPDATE SET ru_per_minute = excluded.ru_per_minute, ru_per_day = excluded.ru_per_day,
            tenant_licences = excluded.tenant_licences, updated_at = @now
        """;

    // Every SET expression sees the row as it was, and a concurrent UPDATE re-evaluates them on the newest
    // version (READ COMMITTED), so two processes can never grant the same RU twice.
    private const string MinuteUsed = "(CASE WHEN minute_start = @minute THEN GREATEST(minute_used - @returnMinute, 0) ELSE 0 END)";
    private const string DayUsed = "(CASE WHEN day_start = @day THEN GREATEST(day_used - @returnDay, 0) ELSE 0 END)";
    private const string Grant = $"""
        (CASE WHEN paused_until > @now THEN 0
              WHEN LEAST(@want::bigint, ru_per_minute - {MinuteUsed}, ru_per_day - {DayUsed}) >= @need
                   THEN LEAST(@want::bigint, ru_per_minute - {MinuteUsed}, ru_per_day - {DayUsed})
              ELSE 0 END)
        """;
    private const string ReserveSql = $"""
        UPDATE graph_ru_budget SET
            minute_start = @minute, minute_used = {MinuteUsed} + {Grant},
            day_start = @day, day_used = {DayUsed} + {Grant},
            last_grant = {Grant}, updated_at = @now
        WHERE tenant_id = @tenant
        RETURNING last_grant AS Granted, paused_until AS PausedUntil, minute_used AS MinuteUsed, ru_per_minute AS PerMinute,
                  day_used AS DayUsed, ru_per_day AS PerDay
        """;

    private const string PauseSql = """
        UPDATE graph_ru_budget SET paused_until = GREATEST(paused_until, @until), updated_at = @now WHERE tenant_id = @tenant
        """;

    private sealed record Reservation(int Granted, DateTimeOffset PausedUntil, int MinuteUsed, int PerMinute, long DayUsed, long PerDay);

    /// <summary>Sets the tenant's limits (graph_ingest config). Values were validated by <c>GraphIngestConfig</c>.</summary>
    public async Task ConfigureAsync(int perMinute, long perDay, int? licences, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await c.ExecuteAsync(new CommandDefinition(ConfigureSql,
            new { tenant = TenantId, perMinute, perDay, licences, now = clock.GetUtcNow() }, cancellationToken: ct));
        _rowEnsured = true;
        _perMinute = perMinute;
        lock (_lock) _leaseExpires = DateTimeOffset.MinValue;
    }

    /// <summary>Waits until <paramref name="ru"/> resource units are granted (and no pause is pending), then returns.</summary>
    public async ValueTask AcquireAsync(int ru, CancellationToken ct)
    {
        while (true)
        {
            if (TryTakeLocal(ru)) return;
            await _refill.WaitAsync(ct);
            TimeSpan wait;
            try
            {
                if (TryTakeLocal(ru)) return;
                wait = await ReserveAsync(ru, ct);
            }
            finally { _refill.Release(); }
            if (wait <= TimeSpan.Zero) continue;
            if (wait > options.MaxWait)
                throw new JobFailedException("graph_budget_exhausted",
                    $"the tenant's Graph resource-unit budget (graph_ru_per_day) is spent until {clock.GetUtcNow() + wait:u}; the next run continues");
            await Task.Delay(wait, clock, ct);
        }
    }

    /// <summary>A 429/503 was answered: every process pauses until <paramref name="delay"/> from now has passed.</summary>
    public async Task PauseAsync(TimeSpan delay, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var until = now + delay;
        lock (_lock)
        {
            if (until > _pausedUntil) _pausedUntil = until;
            _leaseExpires = DateTimeOffset.MinValue;
        }
        await EnsureRowAsync(ct);
        await using var c = await db.OpenAsync(ct);
        await c.ExecuteAsync(new CommandDefinition(PauseSql, new { tenant = TenantId, until, now }, cancellationToken: ct));
    }

    private bool TryTakeLocal(int ru)
    {
        var now = clock.GetUtcNow();
        lock (_lock)
        {
            if (now >= _leaseExpires || now < _pausedUntil || _available < ru) return false;
            _available -= ru;
            return true;
        }
    }

    /// <summary>One round trip: hands back what is left, reserves a chunk. Returns how long to wait before trying again (zero: try now).</summary>
    private async Task<TimeSpan> ReserveAsync(int ru, CancellationToken ct)
    {
        await EnsureRowAsync(ct);
        var now = clock.GetUtcNow();
        var minute = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero);
        var day = new DateTimeOffset(now.Year, now.Month, now.Day, 0, 0, 0, TimeSpan.Zero);
        int leftover;
        DateTimeOffset leaseMinute, leaseDay;
        lock (_lock)
        {
            leftover = _available;
            leaseMinute = _leaseMinute;
            leaseDay = _leaseDay;
            _available = 0;
            _leaseExpires = DateTimeOffset.MinValue;
        }
        var want = Math.Max(ru, Chunk());
        await using var c = await db.OpenAsync(ct);
        var r = await c.QuerySingleAsync<Reservation>(new CommandDefinition(ReserveSql, new
        {
            tenant = TenantId, now, minute, day, want, need = ru,
            returnMinute = leaseMinute == minute ? leftover : 0,
            returnDay = leaseDay == day ? leftover : 0,
        }, cancellationToken: ct));
        _perMinute = r.PerMinute;
        lock (_lock)
        {
            if (r.PausedUntil > _pausedUntil) _pausedUntil = r.PausedUntil;
            if (r.Granted >= ru)
            {
                _available = r.Granted;
                _leaseMinute = minute;
                _leaseDay = day;
                // A lease never outlives its minute window: RU of a new minute come from a new reservation.
                var expires = now + options.LeaseTime;
                _leaseExpires = expires < minute.AddMinutes(1) ? expires : minute.AddMinutes(1);
            }
        }
        if (r.PausedUntil > now) return r.PausedUntil - now;
        if (r.Granted >= ru) return TimeSpan.Zero;
        if (ru > r.PerMinute)
            throw new JobFailedException("graph_budget_too_small",
                $"one Graph request needs {ru} resource units but graph_ru_per_minute is {r.PerMinute}");
        // Not enough left: the next minute, or the next day when the day's budget is what is spent.
        return r.PerDay - r.DayUsed < ru ? day.AddDays(1) - now : minute.AddMinutes(1) - now;
    }

    private int Chunk() =>
        Math.Max(1, (_perMinute > 0 ? _perMinute : GraphRuTiers.For(GraphRuTiers.DefaultLicences).PerMinute) / options.ChunkDivisor);

    private async Task EnsureRowAsync(CancellationToken ct)
    {
        if (_rowEnsured) return;
        var (perMinute, perDay) = GraphRuTiers.For(GraphRuTiers.DefaultLicences);
        await using var c = await db.OpenAsync(ct);
        await c.ExecuteAsync(new CommandDefinition(EnsureSql, new { tenant = TenantId, perMinute, perDay }, cancellationToken: ct));
        _rowEnsured = true;
    }
}
