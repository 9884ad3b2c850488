using Sentinel.Features.Ingestion;

namespace Sentinel.Tests.Ingestion;

/// <summary>
/// A run that stops mid-phase (worker cancellation between pages — the same state a crash leaves, since every page
/// commits its rows with its nextLink) is completed by the next run: it resumes from the checkpoint, no duplicates,
/// nothing lost.
/// </summary>
public sealed class ResumeAfterCrashTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public async Task A_run_stopped_in_the_middle_of_drive_items_and_of_the_permission_scan_is_completed_by_the_next_run()
    {
        // Stop after a few drive-item pages.
        var stopInItems = new RecordingProgress
        {
            CancelWhen = f => Equals(f.GetValueOrDefault("phase"), "drive_items") && f.GetValueOrDefault("items") is long n && n >= 150,
        };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            fixture.IngestAsync("""{"drive_concurrency": 1}""", stopInItems, stopInItems.Cancellation.Token));
        var drivesDone = await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_delta_state WHERE resource_type = 'drive_items' AND delta_link IS NOT NULL");
        Assert.True(drivesDone < await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_drives"), "the stop came after the drive-item phase");
        var itemsBefore = await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_drive_items");
        Assert.True(itemsBefore > 0, "nothing was committed before the stop");

        // Resume: the partial drive continues from its nextLink instead of starting over.
        await fixture.ResetStatsAsync();
        var stopInPermissions = new RecordingProgress
        {
            CancelWhen = f => Equals(f.GetValueOrDefault("phase"), "permissions") && f.GetValueOrDefault("files_scanned") is long n && n >= 40,
        };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            fixture.IngestAsync("""{"permission_batch_size": 20, "permission_concurrency": 1}""", stopInPermissions, stopInPermissions.Cancellation.Token));
        await GroundTruth.AssertMatchesAsync(fixture, "users", "groups", "memberships", "sites", "drives", "items");
        var scanned = await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_drive_items WHERE permissions_last_synced_at IS NOT NULL");
        var roots = await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_drive_items WHERE has_unique_permissions AND deleted_at IS NULL");
        Assert.InRange(scanned, 40, roots - 1);

        // The third run finishes the permission scan: every root of a permission hierarchy not scanned yet, nothing twice.
        var (outcome, _) = await fixture.IngestAsync("""{"permission_verify_per_day": 0}""");
        var permissionResult = Assert.IsType<ScanPermissionsBatch.Result>(outcome.Summary["permissions"]);
        Assert.Equal(roots - scanned, permissionResult.FilesScanned);
        await GroundTruth.AssertMatchesAsync(fixture);
    }
}
