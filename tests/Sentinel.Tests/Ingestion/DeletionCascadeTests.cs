using Sentinel.Features.Ingestion;

namespace Sentinel.Tests.Ingestion;

/// <summary>
/// Issue 11 item 3: a folder deleted in one page, one of its subfolders moved out of it in another — the moved
/// subtree stays live, everything that was still below the folder is deleted (cascades run at the end of the round).
/// </summary>
public sealed class DeletionCascadeTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public async Task A_subtree_moved_out_of_a_folder_deleted_in_an_earlier_page_stays_live()
    {
        var options = new GraphIngestOptions();
        await fixture.IngestAsync("""{"phases": ["users", "sites", "drives", "drive_items"]}""");

        var seed = 40;
        foreach (var childrenFirst in new[] { false, true })
        {
            var applied = await fixture.Sim.MutateAsync(3, seed++, ["moveOutAndDeleteFolder"]);
            Assert.NotEmpty(applied);
            // Live rows below the moved subfolders before the round: they were not re-sent by delta (unchanged).
            var deletedFolders = applied.Select(m => m.Id).ToArray();
            await fixture.SetFaultsAsync(new { driveDeltaChildrenFirst = childrenFirst, drivePageSize = 1 });
            try
            {
                fixture.Clock.Advance(TimeSpan.FromMinutes(10));
                await fixture.SendAsync(new IngestDriveItemsDelta.Command(options));
            }
            finally
            {
                await fixture.SetFaultsAsync(new { });
            }
            Assert.Equal(deletedFolders.Length, await fixture.ScalarAsync<long>(
                "SELECT count(*) FROM msgraph_drive_items WHERE id = ANY(@Ids) AND deleted_at IS NOT NULL", new { Ids = deletedFolders }));
            // Nothing live is missing, nothing deleted is live, every path right.
            await GroundTruth.AssertMatchesAsync(fixture, "items");
        }
    }
}
