using System.Text.Json;
using Sentinel.Features.Execution;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Ingestion;

namespace Sentinel.Tests.Ingestion;

/// <summary>
/// IngestPhasePlan: groups and sites run alongside the users → drives → drive items chain of a graph_ingest run, each
/// phase with its own Graph counters; a failing phase alongside fails the run and stops the chain.
/// </summary>
public sealed class IngestPhasePlanTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public async Task Groups_and_sites_run_alongside_the_chain_and_each_phase_reports_its_own_requests()
    {
        // The first groups page answers 2 s late (the simulator's "slow" fault): the chain goes on meanwhile.
        await fixture.SetFaultsAsync(new { script = new[] { "slow@/groups/delta" } });
        (JobOutcome Outcome, RecordingProgress Progress) run;
        try
        {
            run = await fixture.IngestAsync();
        }
        finally
        {
            await fixture.SetFaultsAsync(new { });
        }
        var (outcome, progress) = run;
        await GroundTruth.AssertMatchesAsync(fixture);

        // The drives phase started while the groups were still being read, and said so in the run's progress.
        Assert.Contains(progress.Reports, r => Equals(r["phase"], GraphIngestConfig.Phases.Drives)
            && r.TryGetValue("alongside", out var a) && a is IReadOnlyList<string> list && list.Contains(GraphIngestConfig.Phases.Groups));
        // Phases are reported in chain order: sites before the drives that read them, groups before the drive items.
        var completed = progress.Audits.Where(a => a.Action == "ingest.phase_completed")
            .Select(a => JsonDocument.Parse(a.Details).RootElement.Clone()).ToList();
        Assert.Equal(["users", "sites", "drives", "groups", "drive_items", "permissions", "refresh_views"],
            completed.Select(c => c.GetProperty("phase").GetString()));
        // Every request counted once, by the phase that made it.
        Assert.Equal((long)outcome.Summary["requests"]!, completed.Sum(c => c.GetProperty("requests").GetInt64()));
        var groups = completed.Single(c => c.GetProperty("phase").GetString() == "groups");
        Assert.Equal(groups.GetProperty("result").GetProperty("pages").GetInt64(), groups.GetProperty("requests").GetInt64());
        Assert.True(groups.GetProperty("seconds").GetDouble() >= 2);
    }
}

/// <summary>IngestPhasePlan, on a tenant of its own: a phase alongside the chain that fails.</summary>
public sealed class IngestPhasePlanFailureTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public async Task A_phase_alongside_that_fails_fails_the_run_and_stops_the_chain()
    {
        // Groups are refused at once while the first users page is still on its way (2 s late).
        await fixture.SetFaultsAsync(new
        {
            script = new[] { "slow@/users/delta" },
            targetErrors = new[] { new { match = "/groups/delta", status = 403, code = "accessDenied", message = "Access denied" } },
        });
        var progress = new RecordingProgress();
        JobFailedException failure;
        try
        {
            failure = await Assert.ThrowsAsync<JobFailedException>(() => fixture.IngestAsync(progress: progress));
        }
        finally
        {
            await fixture.SetFaultsAsync(new { });
        }
        Assert.Equal("graph_request_failed", failure.Code);
        Assert.Contains("groups", failure.Message);
        // The chain stopped in its first phase: nothing completed, no drive was listed.
        Assert.DoesNotContain(progress.Audits, a => a.Action is "ingest.phase_completed" or "ingest.completed");
        Assert.DoesNotContain(progress.Reports, r => Equals(r["phase"], GraphIngestConfig.Phases.Drives));
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_drives"));
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_delta_state WHERE resource_type = 'groups'"));

        // Groups readable again: the next run ingests everything.
        var (healed, _) = await fixture.IngestAsync();
        Assert.Null(healed.Partial);
        await GroundTruth.AssertMatchesAsync(fixture);
    }
}
