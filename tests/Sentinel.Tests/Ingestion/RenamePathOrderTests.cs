using Sentinel.Features.Ingestion;

namespace Sentinel.Tests.Ingestion;

/// <summary>
/// Issue 11 item 1: a folder renamed while a file two levels below it changes in the same round — delivered children
/// first, without parent chains, on one page or across pages — leaves every live item with the path of its current
/// parent chain.
/// </summary>
public sealed class RenamePathOrderTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public async Task Every_path_follows_a_rename_whatever_order_and_pages_the_round_delivers_the_grandchild_in()
    {
        var options = new GraphIngestOptions();
        await fixture.IngestAsync("""{"phases": ["users", "sites", "drives", "drive_items"]}""");
        await GroundTruth.AssertMatchesAsync(fixture, "items");

        var seed = 20;
        // Children first on one page (the rename and the grandchild in one merge), then one item per page (grandchild
        // pages before the rename), then the documented order (parents first) for contrast.
        foreach (var (childrenFirst, pageSize) in new[] { (true, 1000), (true, 1), (false, 1), (false, 1000) })
        {
            var applied = await fixture.Sim.MutateAsync(4, seed++, ["renameFolderAndEditGrandchild"]);
            Assert.NotEmpty(applied);
            var ids = applied.Select(m => m.Id).Distinct().ToArray();
            var before = (await fixture.QueryAsync<(string Id, string Path)>("SELECT id, path FROM msgraph_drive_items WHERE id = ANY(@ids)", new { ids }))
                .ToDictionary(r => r.Id, r => r.Path);
            await fixture.SetFaultsAsync(new { driveDeltaChildrenFirst = childrenFirst, drivePageSize = pageSize });
            try
            {
                fixture.Clock.Advance(TimeSpan.FromMinutes(10));
                var result = await fixture.SendAsync(new IngestDriveItemsDelta.Command(options));
                if (pageSize == 1) Assert.True(result.Pages > applied.Count * 3, $"{result.Pages} pages: the changes did not span pages");
            }
            finally
            {
                await fixture.SetFaultsAsync(new { });
            }
            // Every changed grandchild got a new path (the scenario happened), and every path equals the truth's.
            foreach (var id in ids)
                Assert.NotEqual(before[id], await fixture.ScalarAsync<string>("SELECT path FROM msgraph_drive_items WHERE id = @id", new { id }));
            await GroundTruth.AssertMatchesAsync(fixture, "items");
        }

        // Random renames and moves (items moved below folders renamed in the same round), children first on one page.
        Assert.NotEmpty(await fixture.Sim.MutateAsync(80, seed, ["renameItem", "moveItem", "createFolder", "createFile"]));
        await fixture.SetFaultsAsync(new { driveDeltaChildrenFirst = true, drivePageSize = 1000 });
        try
        {
            fixture.Clock.Advance(TimeSpan.FromMinutes(10));
            await fixture.SendAsync(new IngestDriveItemsDelta.Command(options));
        }
        finally
        {
            await fixture.SetFaultsAsync(new { });
        }
        await GroundTruth.AssertMatchesAsync(fixture, "items");
    }
}
