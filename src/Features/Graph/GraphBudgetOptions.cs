namespace Sentinel.Features.Graph;

/// <summary>How a process draws from the tenant's RU budget (<see cref="GraphRuBudget"/>).</summary>
public sealed record GraphBudgetOptions
{
    /// <summary>
    /// RU reserved per database round trip, as a share of the per-minute limit (1/50: 25 RU on the smallest tier,
    /// five permission calls). Bigger chunks mean fewer round trips but more RU parked in one process.
    /// </summary>
    public int ChunkDivisor { get; init; } = 50;
    /// <summary>A reservation is spent or handed back within this time, so a pause set by another process is seen this late at most.</summary>
    public TimeSpan LeaseTime { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>A call that would have to wait longer than this for budget fails instead (the day's budget is spent).</summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromMinutes(15);
}
