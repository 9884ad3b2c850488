using Sentinel.Features.Ingestion;

namespace Sentinel.Tests.Ingestion;

/// <summary>Delta never returns paths: renames and moves of folders must rewrite the paths of their whole subtrees.</summary>
public sealed class PathMaintenanceTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public async Task Paths_follow_folder_renames_and_moves_including_every_descendant()
    {
        var options = new GraphIngestOptions();
        await fixture.IngestAsync("""{"phases": ["users", "sites", "drives", "drive_items"]}""");
        await GroundTruth.AssertMatchesAsync(fixture, "items");

        var applied = await fixture.Sim.MutateAsync(60, 11, ["renameItem", "moveItem", "createFolder", "createFile"]);
        Assert.Contains(applied, m => m.Kind == "moveItem");
        Assert.Contains(applied, m => m.Kind == "renameItem");
        var before = await fixture.QueryAsync<(string Id, string Path)>("SELECT id, path FROM msgraph_drive_items WHERE deleted_at IS NULL");
        fixture.Clock.Advance(TimeSpan.FromMinutes(10));
        var roundTime = fixture.Clock.GetUtcNow();
        await fixture.SendAsync(new IngestDriveItemsDelta.Command(options));

        await GroundTruth.AssertMatchesAsync(fixture, "items");
        // Descendants of renamed/moved folders got new paths although delta did not send them (their rows were not merged:
        // synced_at is older than this round).
        var untouched = (await fixture.QueryAsync<(string Id, string Path)>(
            "SELECT id, path FROM msgraph_drive_items WHERE deleted_at IS NULL AND synced_at < @T", new { T = roundTime })).ToDictionary(r => r.Id, r => r.Path);
        var moved = before.Count(b => untouched.TryGetValue(b.Id, out var p) && p != b.Path);
        Assert.True(moved > 0, "no descendant path was rewritten: the test exercised nothing");
    }
}
