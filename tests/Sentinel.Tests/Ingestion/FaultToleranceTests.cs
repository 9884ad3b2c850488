using Dapper;
using Sentinel.Features.Ingestion;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Tests.Ingestion;

/// <summary>Throttling, server errors, connection resets and expired delta tokens.</summary>
public sealed class FaultToleranceTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public async Task Ingest_under_throttling_errors_and_resets_completes_matches_and_never_sends_during_a_retry_after()
    {
        await fixture.SetFaultsAsync(new
        {
            rate429 = 0.2, rate503 = 0.03, rate500 = 0.02, rateReset = 0.02, rateBatchInner429 = 0.1,
            retryAfterSeconds = 1, retryAfterHttpDateShare = 0.3, seed = 7,
        });
        await fixture.ResetStatsAsync();
        try
        {
            var (outcome, _) = await fixture.IngestAsync("""{"drive_concurrency": 4, "permission_concurrency": 4}""");
            var stats = await fixture.StatsAsync();
            Assert.True(stats.GetProperty("throttled429").GetInt64() > 0, "the simulator throttled nothing: the test would prove nothing");
            Assert.True((long)outcome.Summary["throttled"]! > 0);
            Assert.Equal(0, stats.GetProperty("requestsDuringRetryAfter").GetInt64());
        }
        finally
        {
            await fixture.SetFaultsAsync(new { });
        }
        await GroundTruth.AssertMatchesAsync(fixture);

        // An expired token: drive deltas answer 410 resyncChanges*, the directory 400 syncStateNotFound.
        await fixture.MutateAsync(120, seed: 3);
        fixture.Clock.Advance(TimeSpan.FromHours(2));
        // A row Graph never knew of: the resync must soft-delete it (mark-and-sweep), nothing seen is lost.
        var drive = await fixture.ScalarAsync<string>("SELECT id FROM msgraph_drives WHERE deleted_at IS NULL ORDER BY id LIMIT 1");
        await fixture.ExecuteAsync("""
            INSERT INTO msgraph_drive_items (id, drive_id, name, parent_id, path, is_folder, synced_at)
            VALUES ('ghost-item', @drive, 'ghost.txt', NULL, '/ghost.txt', false, @T)
            """, new { drive, T = fixture.Clock.GetUtcNow().AddDays(-10) });
        await fixture.ExecuteAsync("INSERT INTO msgraph_users (id, display_name, synced_at) VALUES ('ghost-user', 'Ghost', @T)",
            new { T = fixture.Clock.GetUtcNow().AddDays(-10) });
        await fixture.SetFaultsAsync(new { script = new[] { "410@" + drive, "410", "syncStateNotFound@users", "syncStateNotFound@groups" } });
        try
        {
            var (outcome, _) = await fixture.IngestAsync("""{"permission_rescan_after_hours": 0}""");
            var stats = await fixture.StatsAsync();
            Assert.True(stats.GetProperty("resyncs410").GetInt64() >= 1);
        }
        finally
        {
            await fixture.SetFaultsAsync(new { });
        }
        Assert.NotNull(await fixture.ScalarAsync<DateTime?>("SELECT deleted_at FROM msgraph_drive_items WHERE id = 'ghost-item'"));
        Assert.NotNull(await fixture.ScalarAsync<DateTime?>("SELECT deleted_at FROM msgraph_users WHERE id = 'ghost-user'"));
        await GroundTruth.AssertMatchesAsync(fixture);
    }

    [Fact]
    public async Task A_request_that_keeps_failing_fails_the_run_cleanly_and_the_next_run_resumes()
    {
        await using var db = await fixture.OpenAsync();
        await fixture.SetFaultsAsync(new { rate500 = 1.0 });
        try
        {
            var error = await Assert.ThrowsAsync<JobFailedException>(() => fixture.IngestAsync("""{"phases": ["users"]}"""));
            Assert.Equal("graph_unavailable", error.Code);
            Assert.DoesNotContain(fixture.Sim.ClientSecret, error.Message);
            Assert.DoesNotContain("Bearer", error.Message);
        }
        finally
        {
            await fixture.SetFaultsAsync(new { });
        }
        var (outcome, _) = await fixture.IngestAsync("""{"phases": ["users"]}""");
        Assert.NotNull(outcome.Summary["users"]);
        await GroundTruth.AssertMatchesAsync(fixture, "users");
    }
}
