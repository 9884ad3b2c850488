using Sentinel.Features.Ingestion;
using Sentinel.TestSupport;

namespace Sentinel.Tests.Ingestion;

/// <summary>Each slice's result on the fixed small tenant (seed 42), in dependency order.</summary>
public sealed class IngestSliceSnapshotTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public async Task Slices_report_what_they_ingested_from_the_small_tenant()
    {
        var run = new IngestRun(fixture.Clock.GetUtcNow());
        var options = new GraphIngestOptions { DriveConcurrency = 2 };
        var users = await fixture.SendAsync(new IngestUsersDelta.Command(run));
        var groups = await fixture.SendAsync(new IngestGroupsDelta.Command(run));
        var sites = await fixture.SendAsync(new IngestSites.Command(run));
        var drives = await fixture.SendAsync(new IngestDrives.Command(options, run));
        var items = await fixture.SendAsync(new IngestDriveItemsDelta.Command(options, run));
        var permissions = await fixture.SendAsync(new ScanPermissionsBatch.Command(options, run));
        Snapshot.Match(new { users, groups, sites, drives, items, permissions }, "full");
        await GroundTruth.AssertMatchesAsync(fixture);

        // Drive-item pages defer the table_update_log trigger and touch the log after commit (touch_table_update_log in 001_schema.sql).
        const string LogSql = "SELECT last_updated_at FROM table_update_log WHERE table_name = 'msgraph_drive_items'";
        var logged = await fixture.ScalarAsync<DateTime?>(LogSql);
        Assert.NotNull(logged);

        // A second run without changes: empty deltas, nothing rewritten, no permission scan, the log left alone.
        fixture.Clock.Advance(TimeSpan.FromMinutes(5));
        var again = new IngestRun(fixture.Clock.GetUtcNow());
        var second = new
        {
            users = await fixture.SendAsync(new IngestUsersDelta.Command(again)),
            groups = await fixture.SendAsync(new IngestGroupsDelta.Command(again)),
            sites = await fixture.SendAsync(new IngestSites.Command(again)),
            drives = await fixture.SendAsync(new IngestDrives.Command(options, again)),
            items = await fixture.SendAsync(new IngestDriveItemsDelta.Command(options, again)),
            permissions = await fixture.SendAsync(new ScanPermissionsBatch.Command(options, again)),
        };
        Snapshot.Match(second, "unchanged");
        Assert.Equal(logged, await fixture.ScalarAsync<DateTime?>(LogSql));
        foreach (var table in new[] { "msgraph_users", "msgraph_groups", "msgraph_sites", "msgraph_drives", "msgraph_drive_items", "msgraph_drive_item_permissions" })
            Assert.Equal(0, await fixture.ScalarAsync<long>($"SELECT count(*) FROM {table} WHERE synced_at >= @T", new { T = again.StartedAt }));
    }
}
