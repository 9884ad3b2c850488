using Sentinel.Features.Analytics;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Execution;
using Sentinel.Features.Jobs;
using Sentinel.Features.Runs;
using Sentinel.Features.Views;
using Sentinel.TestSupport;

namespace Sentinel.Tests.Runs;

/// <summary>
/// Issue 11: a run whose targets partly failed ends <c>partial</c> — stored, audited, filterable, in mv_latest_job_runs,
/// and on the dashboard counted like a failed one, with the targets not ingested, their reasons and the run that saw them.
/// </summary>
public sealed class PartialRunTests(SliceFixture fixture) : IClassFixture<SliceFixture>
{
    private static readonly Actor Admin = new("00000000-0000-0000-0000-0000000000a1", "admin@contoso.test", "Ada Admin");

    [Fact]
    public async Task Should_close_a_run_as_partial_and_show_it_wherever_statuses_are_shown()
    {
        var jobId = (await fixture.SendAsync(new CreateJob.Command(JobTypes.GraphIngest, null, true, "ingest", Admin))).JobId;
        var runId = Guid.NewGuid();
        await fixture.ExecuteAsync("""
            INSERT INTO job_runs (run_id, job_id, started_at, status, triggered_by, worker_id, heartbeat_at)
            VALUES (@runId, @jobId, @Now, 'running', 'schedule', 'w1', @Now)
            """, new { runId, jobId, Now = fixture.Clock.GetUtcNow() });
        const string Reason = "targets_not_ingested: 2 targets not ingested: drive ×1 (http_403_accessDenied), site_drives ×1 (http_423_resourceLocked)";
        var closed = await fixture.SendAsync(new CompleteRun.Command(runId, "w1", "partial", Reason, new Dictionary<string, object?> { ["targets_not_ingested"] = 2 }, Admin));
        Assert.True(closed.Closed);
        Assert.Equal("run.partial", await fixture.ScalarAsync<string>("SELECT action FROM audit_events WHERE entity_id = @Id AND action LIKE 'run.%' ORDER BY occurred_at DESC LIMIT 1",
            new { Id = runId.ToString() }));

        var listed = await fixture.SendAsync(new ListRuns.Query(Status: "partial"));
        Assert.Equal(runId, Assert.Single(listed.Items).RunId);
        Assert.Equal(Reason, (await fixture.SendAsync(new GetRun.Query(runId))).Error);

        await fixture.ExecuteAsync("""
            INSERT INTO ingest_target_failures (target_type, target_id, reason, consecutive_failures, first_failed_at, last_failed_at, last_run_id)
            VALUES ('drive', 'd1', 'http_403_accessDenied', 2, @Now, @Now, @runId), ('site_drives', 's1', 'http_423_resourceLocked', 1, @Now, @Now, @runId),
                   ('site_drives', 's2', 'http_423_resourceLocked', 3, @Now, @Now, @runId)
            """, new { runId, Now = fixture.Clock.GetUtcNow() });
        await fixture.SendAsync(new RefreshImpactedViews.Command(Force: true));
        Assert.Equal("partial", await fixture.ScalarAsync<string>("SELECT status FROM mv_latest_job_runs WHERE job_id = @jobId", new { jobId }));

        var dashboard = await fixture.SendAsync(new GetDashboard.Query());
        Assert.Equal("partial", dashboard.Jobs.Single(j => j.JobId == jobId).Status);
        Assert.Equal(Reason, dashboard.Jobs.Single(j => j.JobId == jobId).Error);
        Assert.Equal(1, dashboard.RunTrend.Sum(d => d.Partial));
        Assert.Equal(["site_drives/http_423_resourceLocked/2/3", "drive/http_403_accessDenied/1/2"],
            dashboard.NotIngestedTargets.Select(t => $"{t.TargetType}/{t.Reason}/{t.Targets}/{t.MaxConsecutiveFailures}"));
        Assert.All(dashboard.NotIngestedTargets, t => Assert.Equal(runId, t.LastRunId));
    }
}
