using Sentinel.Features.Ingestion;

namespace Sentinel.Tests.Ingestion;

/// <summary>
/// Issue 11 item 2: a OneDrive whose /users/{id}/drive answers 403/404/400 for a while, a site answering 404, and a
/// user deleted then restored from the recycle bin: nothing still in Graph is lost for good.
/// </summary>
public sealed class FlappingDriveTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    private const string DrivesOnly = """{"phases": ["users", "sites", "drives", "drive_items"]}""";

    [Fact]
    public async Task A_drive_missing_from_fewer_than_drive_missing_runs_listings_keeps_its_content_and_comes_back_whole_after_more()
    {
        await fixture.IngestAsync(DrivesOnly);
        await GroundTruth.AssertMatchesAsync(fixture, "drives", "items");
        var (userId, driveId) = (await fixture.QueryAsync<(string, string)>("""
            SELECT d.owner_id, d.id FROM msgraph_drives d
            WHERE d.site_id IS NULL AND (SELECT count(*) FROM msgraph_drive_items i WHERE i.drive_id = d.id AND i.deleted_at IS NULL) > 3
            ORDER BY d.id LIMIT 1
            """)).Single();
        var liveItems = await LiveItemsAsync(driveId);

        // 403, 404, 400 in a row: two misses are tolerated (drive_missing_runs = 3), nothing is soft-deleted.
        foreach (var (status, code, stillLive) in new[] { (403, "accessDenied", true), (404, "UnknownError", true), (400, "UnknownError", false) })
        {
            await fixture.SetFaultsAsync(new { targetErrors = new[] { new { match = $"/users/{userId}/drive", status, code, message = "flapping" } } });
            try
            {
                fixture.Clock.Advance(TimeSpan.FromHours(1));
                await fixture.IngestAsync(DrivesOnly);
            }
            finally
            {
                await fixture.SetFaultsAsync(new { });
            }
            Assert.Equal(stillLive, await fixture.ScalarAsync<bool>("SELECT deleted_at IS NULL FROM msgraph_drives WHERE id = @driveId", new { driveId }));
            Assert.Equal(stillLive ? liveItems : 0, await LiveItemsAsync(driveId));
        }

        // Back: the drive revives and its next round is a full one with mark-and-sweep, so its unchanged items come back too.
        fixture.Clock.Advance(TimeSpan.FromHours(1));
        await fixture.IngestAsync(DrivesOnly);
        Assert.Equal(liveItems, await LiveItemsAsync(driveId));
        Assert.Equal(0, await fixture.ScalarAsync<int>("SELECT missing_runs FROM msgraph_drives WHERE id = @driveId", new { driveId }));
        await GroundTruth.AssertMatchesAsync(fixture, "sites", "drives", "items");

        // A site answering 404 for its drives (and then not) loses nothing either.
        var siteId = await fixture.ScalarAsync<string>("SELECT site_id FROM msgraph_drives WHERE site_id IS NOT NULL ORDER BY id LIMIT 1");
        await fixture.SetFaultsAsync(new { targetErrors = new[] { new { match = $"/sites/{siteId}/drives", status = 404, code = "itemNotFound", message = "Requested site could not be found" } } });
        try
        {
            var (outcome, _) = await fixture.IngestAsync(DrivesOnly);
            Assert.NotNull(outcome.Partial);
        }
        finally
        {
            await fixture.SetFaultsAsync(new { });
        }
        await GroundTruth.AssertMatchesAsync(fixture, "sites", "drives", "items");
    }

    [Fact]
    public async Task A_user_deleted_and_restored_from_the_recycle_bin_gets_back_every_item_of_its_onedrive()
    {
        await fixture.IngestAsync(DrivesOnly);
        var deleted = await fixture.Sim.MutateAsync(8, 5, ["deleteUser"]);
        Assert.NotEmpty(deleted);
        fixture.Clock.Advance(TimeSpan.FromHours(1));
        await fixture.IngestAsync(DrivesOnly);
        await GroundTruth.AssertMatchesAsync(fixture, "users", "drives", "items");

        var restored = await fixture.Sim.MutateAsync(8, 6, ["restoreUser"]);
        var withDrive = await fixture.ScalarAsync<long>("""
            SELECT count(*) FROM msgraph_drives d WHERE d.owner_id = ANY(@Ids) AND d.deleted_at IS NOT NULL
               AND EXISTS (SELECT 1 FROM msgraph_drive_items i WHERE i.drive_id = d.id AND NOT i.is_root)
            """, new { Ids = restored.Select(r => r.Id).ToArray() });
        Assert.True(withDrive > 0, "no restored user had a OneDrive with content: the test would prove nothing");
        fixture.Clock.Advance(TimeSpan.FromHours(1));
        await fixture.IngestAsync(DrivesOnly);
        await GroundTruth.AssertMatchesAsync(fixture, "users", "drives", "items");
    }

    private Task<long> LiveItemsAsync(string driveId) =>
        fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_drive_items WHERE drive_id = @driveId AND deleted_at IS NULL", new { driveId });
}
