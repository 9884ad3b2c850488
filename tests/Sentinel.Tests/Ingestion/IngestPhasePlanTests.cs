using System.Collections.Concurrent;
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
        // The first groups page and the first site-list page answer 2 s late (the simulator's "slow" fault): the chain
        // goes on meanwhile — the drives list the users' OneDrives before the site list is there.
        await fixture.SetFaultsAsync(new { script = new[] { "slow@/groups/delta", "slow@getAllSites" } });
        // While the drives phase reports with the site list still being read, no listing holds a transaction open across
        // its Graph reads: the sites phase waits for its slow first page, the drives phase between its waves.
        var database = await fixture.ScalarAsync<string>("SELECT current_database()");
        var heldOpen = new ConcurrentBag<string>();
        var checks = 0;
        var watched = new RecordingProgress
        {
            CancelWhen = f =>
            {
                if (!Equals(f.GetValueOrDefault("phase"), GraphIngestConfig.Phases.Drives)
                    || f.GetValueOrDefault("alongside") is not IReadOnlyList<string> a || !a.Contains(GraphIngestConfig.Phases.Sites)) return false;
                Interlocked.Increment(ref checks);
                foreach (var q in fixture.QueryAsync<string>("""
                        SELECT query FROM pg_stat_activity
                        WHERE datname = @Database AND state LIKE 'idle in transaction%' AND (query LIKE '%stage_sites%' OR query LIKE '%stage_drives%')
                        """, new { Database = database }).GetAwaiter().GetResult())
                    heldOpen.Add(q);
                return false;
            },
        };
        (JobOutcome Outcome, RecordingProgress Progress) run;
        try
        {
            run = await fixture.IngestAsync(progress: watched);
        }
        finally
        {
            await fixture.SetFaultsAsync(new { });
        }
        var (outcome, progress) = run;
        await GroundTruth.AssertMatchesAsync(fixture);
        Assert.True(checks > 0, "the drives phase never reported while the site list was read");
        Assert.Empty(heldOpen);

        // The drives phase started while the groups and the site list were still being read, and said so in the progress.
        Assert.Contains(progress.Reports, r => Equals(r["phase"], GraphIngestConfig.Phases.Drives)
            && r.TryGetValue("alongside", out var a) && a is IReadOnlyList<string> list
            && list.Contains(GraphIngestConfig.Phases.Groups) && list.Contains(GraphIngestConfig.Phases.Sites));
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

/// <summary>
/// IngestPhasePlan's order on its own (no Graph, no database): phases that signal each other, so that running groups
/// or sites one after the other instead of alongside would stop the test at its first wait (10 s), not pass it.
/// </summary>
public sealed class IngestPhasePlanOrderTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private sealed class Phases
    {
        public readonly ConcurrentQueue<string> Events = new();
        public readonly List<IngestPhasePlan.PhaseDone> Completed = [];
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _started = new();
        public Task Started(string phase) => _started.GetOrAdd(phase, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(Wait);
        public void Start(string phase)
        {
            Events.Enqueue(phase + ":start");
            _started.GetOrAdd(phase, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
        public bool Ended(string phase) => Events.Contains(phase + ":end");
    }

    private static Task RunAsync(IReadOnlyList<string> phases, IngestRun run, Phases p, Func<string, IngestRun, CancellationToken, Task> body,
        CancellationToken ct = default) =>
        RunAsync(phases, run, p, (phase, branch, _, token) => body(phase, branch, token), ct);

    private static Task RunAsync(IReadOnlyList<string> phases, IngestRun run, Phases p,
        Func<string, IngestRun, Func<string, CancellationToken, Task>, CancellationToken, Task> body, CancellationToken ct = default) =>
        IngestPhasePlan.RunAsync(phases, run, async (phase, branch, whenDone, token) =>
        {
            p.Start(phase);
            await body(phase, branch, whenDone, token);
            p.Events.Enqueue(phase + ":end");
            return phase;
        }, (done, _) => { p.Completed.Add(done); return Task.CompletedTask; }, ct);

    [Fact]
    public async Task Groups_and_sites_run_next_to_the_chain_until_a_phase_that_reads_them_and_each_counts_its_own_requests()
    {
        var run = new IngestRun(DateTimeOffset.UtcNow);
        var p = new Phases();
        var requests = new Dictionary<string, int> { ["users"] = 3, ["groups"] = 5, ["sites"] = 2, ["drives"] = 4, ["drive_items"] = 7 };
        var oneDrivesListed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var drivesListed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await RunAsync(GraphIngestConfig.AllPhases, run, p, async (phase, branch, whenDone, token) =>
        {
            for (var i = 0; i < requests.GetValueOrDefault(phase); i++) branch.Graph.Request(ru: 2);
            switch (phase)
            {
                case "users":
                    await p.Started("groups");
                    Assert.Contains("groups", run.Alongside); // waits for the drives: cannot have ended
                    break;
                case "groups":
                    await drivesListed.Task.WaitAsync(Wait); // still reading while the drives are listed
                    break;
                case "sites":
                    await oneDrivesListed.Task.WaitAsync(Wait); // the drives start (the users' OneDrives) before the site list is read
                    break;
                case "drives":
                    Assert.False(p.Ended("sites"));
                    oneDrivesListed.SetResult();
                    await whenDone("sites", token); // then wait for it before the sites' libraries
                    Assert.True(p.Ended("sites"));
                    Assert.False(p.Ended("groups"));
                    drivesListed.SetResult();
                    break;
                case "drive_items":
                    Assert.True(p.Ended("groups"));
                    Assert.Empty(run.Alongside);
                    break;
            }
        });
        Assert.Equal(["users", "sites", "drives", "groups", "drive_items", "permissions", "refresh_views"], p.Completed.Select(c => c.Phase));
        Assert.All(p.Completed, c => Assert.Equal(c.Phase, c.Result));
        Assert.All(p.Completed, c => Assert.Equal(requests.GetValueOrDefault(c.Phase), c.Requests));
        Assert.All(p.Completed, c => Assert.Equal(2 * c.Requests, c.ResourceUnits));
        Assert.Equal(requests.Values.Sum(), run.Graph.Requests);
    }

    [Fact]
    public async Task A_phase_the_first_chain_phase_reads_runs_before_it_and_the_others_keep_their_order()
    {
        var run = new IngestRun(DateTimeOffset.UtcNow);
        var p = new Phases();
        await RunAsync(["groups", "sites", "permissions"], run, p, (phase, _, _) =>
        {
            Assert.Empty(run.Alongside);
            if (phase == "permissions") Assert.True(p.Ended("groups") && p.Ended("sites"));
            return Task.CompletedTask;
        });
        Assert.Equal(["groups:start", "groups:end", "sites:start", "sites:end", "permissions:start", "permissions:end"], p.Events);
    }

    [Fact]
    public async Task A_failing_phase_alongside_stops_the_chain_and_its_failure_is_thrown()
    {
        var run = new IngestRun(DateTimeOffset.UtcNow);
        var p = new Phases();
        var chainStopped = false;
        var failure = await Assert.ThrowsAsync<JobFailedException>(() => RunAsync(GraphIngestConfig.AllPhases, run, p, async (phase, _, token) =>
        {
            switch (phase)
            {
                case "groups":
                    await p.Started("users");
                    throw new JobFailedException("graph_request_failed", "groups refused");
                case "users":
                    try { await Task.Delay(Wait, token); }
                    catch (OperationCanceledException) { chainStopped = true; throw; }
                    break;
            }
        }));
        Assert.Equal("groups refused", failure.Message);
        Assert.True(chainStopped);
        Assert.Empty(p.Completed);
        Assert.DoesNotContain("drives:start", p.Events);
    }

    [Fact]
    public async Task Cancelling_the_run_stops_the_phases_alongside_too()
    {
        var run = new IngestRun(DateTimeOffset.UtcNow);
        var p = new Phases();
        using var cancel = new CancellationTokenSource();
        var groupsStopped = false;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => RunAsync(GraphIngestConfig.AllPhases, run, p, async (phase, _, token) =>
        {
            switch (phase)
            {
                case "groups":
                    try { await Task.Delay(Wait, token); }
                    catch (OperationCanceledException) { groupsStopped = true; throw; }
                    break;
                case "users":
                    await p.Started("groups");
                    await cancel.CancelAsync();
                    token.ThrowIfCancellationRequested();
                    break;
            }
        }, cancel.Token));
        Assert.True(groupsStopped);
        Assert.Empty(run.Alongside);
    }
}
