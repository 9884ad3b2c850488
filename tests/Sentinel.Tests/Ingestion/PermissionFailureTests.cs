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
        const string config = """{"phases": ["permissions", "refresh_views"], "permission_concurrency": 1, "permission_batch_size": 100, "permission_verify_per_day": 0}""";
        var (outcome, progress) = await fixture.IngestAsync(config);
        var scan = (ScanPermissionsBatch.Result)outcome.Summary["permissions"]!;
        Assert.Equal(20, scan.FilesFailed);
        var roots = await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_drive_items WHERE deleted_at IS NULL AND has_unique_permissions");
        Assert.Equal(roots - 20, scan.RootsScanned);                    // every other batch went on
        Assert.Equal(20, await fixture.ScalarAsync<long>("""
            SELECT count(*) FROM msgraph_drive_items WHERE deleted_at IS NULL AND has_unique_permissions
               AND permissions_last_synced_at IS NULL
            """));                                                       // not stamped as success (never-scanned stays never-scanned)
        Assert.Contains(progress.Reports, r => r.TryGetValue("permission_items_failed", out var n) && n is long f && f == 20);

        await fixture.SetFaultsAsync(new { });
        fixture.Clock.Advance(TimeSpan.FromMinutes(5));
        (outcome, _) = await fixture.IngestAsync(config);
        scan = (ScanPermissionsBatch.Result)outcome.Summary["permissions"]!;
        Assert.Equal((20L, 0L), (scan.RootsScanned, scan.FilesFailed));
        await GroundTruth.AssertMatchesAsync(fixture, "items", "permissions", "grants", "roots", "effective");
    }
}
