using Sentinel.Features.Ingestion;

namespace Sentinel.Tests.Ingestion;

/// <summary>
/// Issue 11 item 5 and per-batch isolation: a permission batch that fails as a whole (Graph keeps answering 500 until
/// the retries are spent) does not abort the run; its items are NOT stamped (they keep their dirty flag and old sync
/// time), count as failed, and the next run scans them.
/// </summary>
public sealed class PermissionFailureTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public async Task A_failing_permission_batch_is_counted_as_failed_not_stamped_and_scanned_by_the_next_run()
    {
        await fixture.IngestAsync("""{"phases": ["users", "groups", "sites", "drives", "drive_items"]}""");
        // The fixture's retry policy makes 10 attempts: the first batch (one in flight at a time) gets ten 500s.
        await fixture.SetFaultsAsync(new { script = Enumerable.Repeat("500@batch", 10).ToArray() });
        // The slice itself (the executor turns failed items into one failed "permission_scan" target: RecordTargetFailures).
        var options = new GraphIngestOptions { PermissionConcurrency = 1, PermissionBatchSize = 100, PermissionVerifyPercentPerDay = 0 };
        var run = new IngestRun(fixture.Clock.GetUtcNow());
        var scan = await fixture.SendAsync(new ScanPermissionsBatch.Command(options, run));
        Assert.Equal(20, scan.FilesFailed);
        Assert.Equal(20, run.Get("permission_items_failed"));
        var roots = await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_drive_items WHERE deleted_at IS NULL AND has_unique_permissions");
        Assert.Equal(roots - 20, scan.RootsScanned);                    // every other batch went on
        Assert.Equal(20, await fixture.ScalarAsync<long>("""
            SELECT count(*) FROM msgraph_drive_items WHERE deleted_at IS NULL AND has_unique_permissions
               AND permissions_last_synced_at IS NULL
            """));                                                       // not stamped as success (never-scanned stays never-scanned)

        await fixture.SetFaultsAsync(new { });
        fixture.Clock.Advance(TimeSpan.FromMinutes(5));
        scan = await fixture.SendAsync(new ScanPermissionsBatch.Command(options, new IngestRun(fixture.Clock.GetUtcNow())));
        Assert.Equal((20L, 0L), (scan.RootsScanned, scan.FilesFailed));
        await GroundTruth.AssertMatchesAsync(fixture, "items", "permissions", "grants", "roots", "effective");
    }
}
