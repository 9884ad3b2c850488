using Sentinel.Features.Ingestion;

namespace Sentinel.Tests.Ingestion;

/// <summary>
/// MaintainPermissionRoots walks again only the drives whose hierarchies may have changed: an item moved (the merge
/// clears its root), new below an unknown parent, revived, or a unique-permission flag that changed. Renamed or edited
/// items keep their place, so their drives are not walked; moved items and their subtrees get their new roots.
/// </summary>
public sealed class PermissionRootsMaintenanceTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    private const string ItemsOnly = """{"phases": ["users", "sites", "drives", "drive_items"]}""";

    private Task<long> DrivesWithoutRootsAsync() => fixture.ScalarAsync<long>(
        "SELECT count(DISTINCT drive_id) FROM msgraph_drive_items WHERE deleted_at IS NULL AND permission_root_id IS NULL");

    [Fact]
    public async Task Only_drives_with_moved_or_rootless_items_are_walked_again_and_moved_subtrees_get_their_new_roots()
    {
        await fixture.IngestAsync(ItemsOnly);
        await fixture.SendAsync(new MaintainPermissionRoots.Command(RunStartedAt: fixture.Clock.GetUtcNow()));
        await GroundTruth.AssertMatchesAsync(fixture, "items", "roots");
        var rootless = await DrivesWithoutRootsAsync();

        // Renames only: nothing moves, no drive is walked beyond those already without a root.
        var renamed = await fixture.Sim.MutateAsync(10, 31, ["renameItem"]);
        Assert.NotEmpty(renamed);
        fixture.Clock.Advance(TimeSpan.FromMinutes(10));
        await fixture.IngestAsync(ItemsOnly);
        Assert.Equal(rootless, await DrivesWithoutRootsAsync());
        var afterRenames = await fixture.SendAsync(new MaintainPermissionRoots.Command(RunStartedAt: fixture.Clock.GetUtcNow()));
        Assert.Equal(rootless, afterRenames.Drives);
        await GroundTruth.AssertMatchesAsync(fixture, "items", "roots");

        // Moves (folders with their subtrees, into other hierarchies): the merge clears the moved items' roots, their drives
        // are walked, and every item — the moved subtrees included — has the root of its new place.
        var moved = await fixture.Sim.MutateAsync(12, 32, ["moveItem", "shareFolder"]);
        Assert.Contains(moved, m => m.Kind == "moveItem");
        fixture.Clock.Advance(TimeSpan.FromMinutes(10));
        await fixture.IngestAsync(ItemsOnly);
        Assert.True(await DrivesWithoutRootsAsync() > rootless, "no moved item lost its root: the test exercised nothing");
        var afterMoves = await fixture.SendAsync(new MaintainPermissionRoots.Command(RunStartedAt: fixture.Clock.GetUtcNow()));
        Assert.True(afterMoves.Drives > rootless);
        await GroundTruth.AssertMatchesAsync(fixture, "items", "roots");
    }
}
