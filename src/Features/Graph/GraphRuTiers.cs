namespace Sentinel.Features.Graph;

/// <summary>
/// SharePoint's resource-unit limits per app per tenant, by the tenant's licence count ("Avoid getting throttled
/// or blocked in SharePoint Online", application throttling table,
/// https://learn.microsoft.com/sharepoint/dev/general-development/how-to-avoid-getting-throttled-or-blocked-in-sharepoint-online).
/// Microsoft may change them: graph_ru_per_minute / graph_ru_per_day override.
/// </summary>
public static class GraphRuTiers
{
    /// <summary>The licence count assumed when none is configured (the smallest tier).</summary>
    public const int DefaultLicences = 1_000;

    private static readonly (int MaxLicences, int PerMinute, long PerDay)[] Tiers =
    [
        (1_000, 1_250, 1_200_000),
        (5_000, 2_500, 2_400_000),
        (15_000, 3_750, 3_600_000),
        (50_000, 5_000, 4_800_000),
        (int.MaxValue, 6_250, 6_000_000),
    ];

    public static (int PerMinute, long PerDay) For(int licences)
    {
        foreach (var t in Tiers)
            if (licences <= t.MaxLicences) return (t.PerMinute, t.PerDay);
        return (Tiers[^1].PerMinute, Tiers[^1].PerDay);
    }
}
