using Sentinel.Features.Ingestion;

namespace Sentinel.Tests.Ingestion;

/// <summary>Full ingest of the small tenant, then incremental runs after mutations, compared with the ground truth.</summary>
public sealed class FullAndIncrementalIngestTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public async Task Full_ingest_matches_the_ground_truth_and_incremental_runs_match_again_with_far_fewer_requests()
    {
        await fixture.ResetStatsAsync();
        var (outcome, progress) = await fixture.IngestAsync();
        await GroundTruth.AssertMatchesAsync(fixture);
        var full = await fixture.StatsAsync();
        Assert.True(full.GetProperty("driveItemsServed").GetInt64() > 0);

        // Progress and audit milestones were written while it ran.
        Assert.Contains(progress.Reports, r => Equals(r["phase"], "drive_items") && r.ContainsKey("requests"));
        Assert.Equal("ingest.started", progress.Audits.First().Action);
        Assert.Equal("ingest.completed", progress.Audits.Last().Action);
        Assert.Equal(GraphIngestConfig.AllPhases.Count, progress.Audits.Count(a => a.Action == "ingest.phase_completed"));
        Assert.True((long)outcome.Summary["requests"]! > 0);

        // Mutations: renames and moves of folders with descendants, deletes, new links, removed grants, membership changes.
        for (var round = 1; round <= 2; round++)
        {
            await fixture.MutateAsync(150, seed: round);
            fixture.Clock.Advance(TimeSpan.FromHours(1));
            await fixture.ResetStatsAsync();
            // Round 1 relies on permissions_dirty (changed items, sharedChanged); round 2 rescans every file.
            await fixture.IngestAsync(round == 1 ? "{}" : """{"permission_rescan_after_hours": 0}""");
            await GroundTruth.AssertMatchesAsync(fixture);
        }

        // Without permission rescans an incremental run is a fraction of a full one.
        await fixture.MutateAsync(20, seed: 9);
        fixture.Clock.Advance(TimeSpan.FromHours(1));
        await fixture.ResetStatsAsync();
        var (incOutcome, _) = await fixture.IngestAsync();
        // The small tenant has one delta request per drive either way; what shrinks is what is transferred and charged.
        var incremental = await fixture.StatsAsync();
        // Permission calls: only the roots the mutations touched, not every root again (the other batched calls, e.g.
        // OneDrive lookups, are the same in both runs).
        var (fullCalls, incCalls) = (((ScanPermissionsBatch.Result)outcome.Summary["permissions"]!).PermissionCalls,
            ((ScanPermissionsBatch.Result)incOutcome.Summary["permissions"]!).PermissionCalls);
        Assert.True(incCalls * 4 < fullCalls, $"permission calls: incremental {incCalls}, full {fullCalls}");
        foreach (var counter in new[] { "driveItemsServed", "resourceUnits" })
        {
            var (f, i) = (full.GetProperty(counter).GetInt64(), incremental.GetProperty(counter).GetInt64());
            Assert.True(i * 4 < f, $"{counter}: incremental {i}, full {f}");
        }
        Assert.True(incremental.GetProperty("graphRequests").GetInt64() < full.GetProperty("graphRequests").GetInt64());
        await GroundTruth.AssertMatchesAsync(fixture);
    }
}
