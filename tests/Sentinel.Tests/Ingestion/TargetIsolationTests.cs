using System.Text.Json;
using Sentinel.Features.Ingestion;
using Sentinel.Features.Execution;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Tests.Ingestion;

/// <summary>
/// Issue 11 item 4: a site answering 403, a locked (423) site and a drive whose delta is refused, among healthy ones:
/// the others are ingested, the run ends partial with the failed targets (reason, consecutive failures), the failed
/// ones keep their checkpoints and are ingested by the next run.
/// </summary>
public sealed class TargetIsolationTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public async Task Failing_sites_and_drives_end_the_run_partial_and_everything_else_is_ingested()
    {
        await fixture.IngestAsync();
        await GroundTruth.AssertMatchesAsync(fixture);

        var sites = await fixture.QueryAsync<string>("SELECT id FROM msgraph_sites WHERE deleted_at IS NULL ORDER BY id LIMIT 2");
        var drive = await fixture.ScalarAsync<string>("SELECT id FROM msgraph_drives WHERE site_id IS NULL ORDER BY id LIMIT 1");
        var checkpoint = await fixture.ScalarAsync<string>("SELECT delta_link FROM msgraph_delta_state WHERE resource_type = 'drive_items' AND partition_key = @drive", new { drive });
        var faults = new
        {
            targetErrors = new object[]
            {
                new { match = $"/sites/{sites[0]}/drives", status = 403, code = "accessDenied", message = "Access denied" },
                new { match = $"/sites/{sites[1]}/drives", status = 423, code = "resourceLocked", message = "The resource that is being accessed is locked." },
                new { match = $"/drives/{drive}/", status = 403, code = "accessDenied", message = "Access denied" },
            },
        };
        var applied = await fixture.Sim.MutateAsync(80, 3, ["createFile", "renameItem", "deleteItem", "addUser"]);
        Assert.NotEmpty(applied);

        for (var run = 1; run <= 2; run++)
        {
            await fixture.SetFaultsAsync(faults);
            JobOutcome outcome;
            try
            {
                fixture.Clock.Advance(TimeSpan.FromHours(1));
                (outcome, _) = await fixture.IngestAsync("""{"permission_rescan_after_hours": 0}""");
            }
            finally
            {
                await fixture.SetFaultsAsync(new { });
            }
            Assert.NotNull(outcome.Partial);
            Assert.Contains("site_drives ×2", outcome.Partial);
            Assert.Contains("drive ×1", outcome.Partial);
            var failed = (IReadOnlyList<RecordTargetFailures.FailedTarget>)outcome.Summary["failed_targets"]!;
            Assert.Equal(
                // the refused drive's permission calls fail too: its items stay dirty and count as one failed target
                new[] { $"drive/{drive}/http_403_accessDenied/{run}", $"item_permissions/permission_scan/permission_fetch_failed/{run}",
                        $"site_drives/{sites[0]}/http_403_accessDenied/{run}", $"site_drives/{sites[1]}/http_423_resourceLocked/{run}" }
                    .Order(StringComparer.Ordinal),
                failed.Select(f => $"{f.TargetType}/{f.TargetId}/{f.Reason}/{f.ConsecutiveFailures}").Order(StringComparer.Ordinal));
            // The refused drive keeps its checkpoint: the next run resumes from it.
            Assert.Equal(checkpoint, await fixture.ScalarAsync<string>(
                "SELECT delta_link FROM msgraph_delta_state WHERE resource_type = 'drive_items' AND partition_key = @drive", new { drive }));
        }

        // Everything else went in: compare the truth outside the failed targets.
        var diffs = await GroundTruth.CompareAsync(fixture, "users", "groups", "memberships", "sites");
        Assert.All(diffs, d => Assert.Empty(d.Problems));
        var blocked = await fixture.QueryAsync<string>("SELECT id FROM msgraph_drives WHERE site_id = ANY(@Sites) OR id = @drive",
            new { Sites = sites.ToArray(), drive });
        var items = (await GroundTruth.CompareAsync(fixture, "items")).Single();
        Assert.All(items.Problems, p => Assert.Contains(blocked, b => p.Contains(b, StringComparison.Ordinal)));

        // Healthy again: the next run is a success and the database matches the truth; the failure rows are gone.
        fixture.Clock.Advance(TimeSpan.FromHours(1));
        var (healed, _) = await fixture.IngestAsync("""{"permission_rescan_after_hours": 0}""");
        Assert.Null(healed.Partial);
        Assert.False(healed.Summary.ContainsKey("failed_targets"));
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM ingest_target_failures"));
        await GroundTruth.AssertMatchesAsync(fixture);
    }

    [Fact]
    public async Task A_run_where_every_target_fails_is_failed_not_partial()
    {
        await fixture.SetFaultsAsync(new { targetErrors = new[] { new { match = "/sites/", status = 403, code = "accessDenied", message = "Access denied" } } });
        try
        {
            var error = await Assert.ThrowsAsync<JobFailedException>(() => fixture.IngestAsync("""{"phases": ["sites"]}"""));
            Assert.Equal("all_targets_failed", error.Code);
        }
        finally
        {
            await fixture.SetFaultsAsync(new { });
        }
    }
}
