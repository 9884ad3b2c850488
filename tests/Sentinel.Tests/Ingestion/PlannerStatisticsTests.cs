using Sentinel.Features.Ingestion;

namespace Sentinel.Tests.Ingestion;

/// <summary>
/// Issue 11 (incremental rounds at scale): a phase that wrote a large share of a table analyses it before the next
/// phase plans on it (TableStatistics; ItemIndexes after a first full load). At 1M items, statements planned on the
/// statistics of the empty tables ran for minutes (a permission-root walk > 4 min, a deleted-OneDrive cleanup 130 s).
/// A small write leaves the statistics to autovacuum.
/// </summary>
public sealed class PlannerStatisticsTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    private Task<DateTime?> LastAnalyzeAsync(string table) =>
        fixture.ScalarAsync<DateTime?>("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = @Table", new { Table = table });

    [Fact]
    public async Task The_first_permission_scan_analyses_the_tables_it_filled_and_a_small_later_scan_does_not()
    {
        await fixture.IngestAsync("""{"phases": ["users", "groups", "sites", "drives", "drive_items"]}""");
        await fixture.ExecuteAsync("TRUNCATE msgraph_drive_item_permissions, msgraph_drive_item_permission_grants");
        var before = await fixture.ScalarAsync<DateTime>("SELECT now()");
        var options = new GraphIngestOptions { PermissionVerifyPercentPerDay = 0 };

        var scan = await fixture.SendAsync(new ScanPermissionsBatch.Command(options, new IngestRun(fixture.Clock.GetUtcNow())));
        Assert.True(scan.Permissions > 50 && scan.Grants > 50, $"the small tenant wrote {scan.Permissions} permissions, {scan.Grants} grants");
        var permissions = await LastAnalyzeAsync("msgraph_drive_item_permissions");
        var grants = await LastAnalyzeAsync("msgraph_drive_item_permission_grants");
        Assert.True(permissions >= before, "permissions were not analysed after the scan that filled them");
        Assert.True(grants >= before, "grants were not analysed after the scan that filled them");
        // The planner now knows the rows are there.
        Assert.Equal(await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_drive_item_permission_grants"),
            (long)await fixture.ScalarAsync<float>("SELECT reltuples FROM pg_class WHERE relname = 'msgraph_drive_item_permission_grants'"));

        // A scan that rescans a handful of items (far below 10 % of the rows) does not analyse again.
        await fixture.MutateAsync(3, 11);
        await fixture.IngestAsync("""{"phases": ["drive_items"]}""");
        fixture.Clock.Advance(TimeSpan.FromMinutes(5));
        await fixture.SendAsync(new ScanPermissionsBatch.Command(options with { PermissionMaxFiles = 5 }, new IngestRun(fixture.Clock.GetUtcNow())));
        Assert.Equal(grants, await LastAnalyzeAsync("msgraph_drive_item_permission_grants"));
    }
}
