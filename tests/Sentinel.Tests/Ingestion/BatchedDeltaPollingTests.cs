using Sentinel.Features.Ingestion;

namespace Sentinel.Tests.Ingestion;

/// <summary>
/// Incremental rounds at scale: drives between rounds are polled through $batch (20 deltaLinks per request); only drives
/// with changes (or a resync) follow their links one by one; an inner 410 resyncs that drive alone.
/// </summary>
public sealed class BatchedDeltaPollingTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public async Task Unchanged_drives_cost_one_inner_request_each_and_changed_or_resynced_drives_still_match()
    {
        var options = new GraphIngestOptions();
        await fixture.IngestAsync("""{"phases": ["users", "sites", "drives", "drive_items"]}""");
        var drives = await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_drives WHERE deleted_at IS NULL");

        fixture.Clock.Advance(TimeSpan.FromMinutes(10));
        fixture.Sim.ResetStats();
        var unchanged = await fixture.SendAsync(new IngestDriveItemsDelta.Command(options));
        var stats = fixture.Sim.Stats;
        Assert.Equal(drives, unchanged.Drives);
        // One poll per 20 drives; drives whose answer was an empty page with a nextLink (allowed by Graph; the simulator
        // does it for one drive in five) are followed in $batch too: at most one more batch per poll, no single request.
        var polls = (drives + 19) / 20;
        var batches = stats.RequestsByEndpoint.GetValueOrDefault("$batch");
        Assert.InRange(batches, polls + 1, 2 * polls);
        Assert.Equal(batches, stats.GraphRequests);
        Assert.InRange(stats.BatchInnerRequests, drives + 1, drives + drives / 4);

        // Changes in a few drives and a forced resync (inner 410) of one: those follow their links; the result matches.
        var applied = await fixture.Sim.MutateAsync(6, 4, ["createFile", "renameItem"]);
        Assert.NotEmpty(applied);
        var resynced = await fixture.ScalarAsync<string>("SELECT id FROM msgraph_drives WHERE deleted_at IS NULL ORDER BY id DESC LIMIT 1");
        await fixture.SetFaultsAsync(new { script = new[] { "410@" + resynced } });
        try
        {
            fixture.Clock.Advance(TimeSpan.FromMinutes(10));
            fixture.Sim.ResetStats();
            var changed = await fixture.SendAsync(new IngestDriveItemsDelta.Command(options));
            Assert.Equal(1, changed.DrivesResynced);
            Assert.Equal(1, fixture.Sim.Stats.Resyncs410);
        }
        finally
        {
            await fixture.SetFaultsAsync(new { });
        }
        await GroundTruth.AssertMatchesAsync(fixture, "items");
    }

    [Fact]
    public async Task Drives_whose_polled_answer_is_one_final_page_are_merged_together_and_still_match_ground_truth()
    {
        var options = new GraphIngestOptions();
        await fixture.IngestAsync("""{"phases": ["users", "sites", "drives", "drive_items"]}""");

        // Changes spread over many drives, deletions, renames and moves included (paths and cascades are merged per group).
        var applied = await fixture.Sim.MutateAsync(80, 11, ["createFile", "createFolder", "renameItem", "moveItem", "deleteItem", "renameFolderAndEditGrandchild"]);
        Assert.NotEmpty(applied);
        fixture.Clock.Advance(TimeSpan.FromMinutes(10));
        var run = new IngestRun(fixture.Clock.GetUtcNow());
        await fixture.SendAsync(new IngestDriveItemsDelta.Command(options, run));

        var merged = run.Get("drives_merged_together");
        var transactions = run.Get("merge_transactions");
        Assert.True(merged > transactions, $"{merged} drives in {transactions} transactions: no drives were merged together");
        await GroundTruth.AssertMatchesAsync(fixture, "items");
    }
}
