using Sentinel.Features.Infrastructure;
using Sentinel.Features.Scheduling;
using Sentinel.Tests.Infrastructure;

namespace Sentinel.Tests.Scheduling;

public sealed class JobSlicesTests(SliceFixture fixture) : IClassFixture<SliceFixture>
{
    private static readonly Actor Admin = new("00000000-0000-0000-0000-0000000000a1", "admin@contoso.test", "Ada Admin");
    private static readonly Actor Operator = new("00000000-0000-0000-0000-0000000000b2", "op@contoso.test", "Otto Operator");

    private async Task<Guid> NewJobAsync(string? name = "views") =>
        (await fixture.SendAsync(new CreateJob.Command(JobTypes.RefreshMv, null, true, name, Admin))).JobId;

    /// <summary>A run as a scheduler would have left it, forced with SQL.</summary>
    private Task<int> InsertRunAsync(Guid jobId, Guid runId, string status, DateTimeOffset startedAt, string triggeredBy = "schedule") =>
        fixture.ExecuteAsync("""
            INSERT INTO job_runs (run_id, job_id, started_at, finished_at, status, triggered_by, worker_id, heartbeat_at)
            VALUES (@RunId, @JobId, @StartedAt, CASE WHEN @Status = 'running' THEN NULL ELSE @StartedAt + interval '1 minute' END, @Status, @TriggeredBy, 'w1', @StartedAt)
            """, new { RunId = runId, JobId = jobId, Status = status, StartedAt = startedAt, TriggeredBy = triggeredBy });

    [Fact]
    public async Task Should_update_name_and_config_and_audit_the_changed_fields()
    {
        var jobId = await NewJobAsync();
        var updated = await fixture.SendAsync(new UpdateJob.Command(jobId, "renamed", """{"note": "x"}""", Admin));
        Assert.Equal("renamed", updated.Name);
        Assert.Equal("""{"note": "x"}""", updated.Config);
        Assert.Equal("""["name", "config"]""", await fixture.ScalarAsync<string>(
            "SELECT details->>'changed' FROM audit_events WHERE action = 'job.updated' AND entity_id = @Id", new { Id = jobId.ToString() }));
    }

    [Fact]
    public async Task Should_reject_a_non_object_config_update_and_404_an_unknown_job()
    {
        var jobId = await NewJobAsync();
        var error = await Assert.ThrowsAsync<RequestValidationException>(() => fixture.SendAsync(new UpdateJob.Command(jobId, null, "42", Admin)));
        Assert.Contains("must be a JSON object", Assert.Single(error.Errors["config"]));
        Assert.Equal("{}", await fixture.ScalarAsync<string>("SELECT config::text FROM jobs WHERE job_id = @jobId", new { jobId }));
        await Assert.ThrowsAsync<NotFoundException>(() => fixture.SendAsync(new UpdateJob.Command(Guid.NewGuid(), "x", null, Admin)));
    }

    [Fact]
    public async Task Should_refuse_to_delete_a_running_job_and_delete_it_once_idle()
    {
        var jobId = await NewJobAsync();
        var runId = Guid.NewGuid();
        await InsertRunAsync(jobId, runId, "running", fixture.Clock.GetUtcNow());

        var conflict = await Assert.ThrowsAsync<ConflictException>(() => fixture.SendAsync(new DeleteJob.Command(jobId, Admin)));
        Assert.Equal("job_running", conflict.Code);

        await fixture.ExecuteAsync("UPDATE job_runs SET status = 'success', finished_at = started_at WHERE run_id = @runId", new { runId });
        await fixture.SendAsync(new DeleteJob.Command(jobId, Admin));
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM jobs WHERE job_id = @jobId", new { jobId }));
        Assert.Equal(1, await fixture.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE action = 'job.deleted' AND entity_id = @Id", new { Id = jobId.ToString() }));
    }

    [Fact]
    public async Task Should_queue_run_now_once_and_return_the_same_request_to_a_second_caller()
    {
        var jobId = await NewJobAsync();
        var first = await fixture.SendAsync(new RunNow.Command(jobId, false, Operator));
        var second = await fixture.SendAsync(new RunNow.Command(jobId, false, Operator));

        Assert.NotNull(first.RequestId);
        Assert.False(first.AlreadyQueued);
        Assert.Equal(first.RequestId, second.RequestId);
        Assert.True(second.AlreadyQueued);
        Assert.Equal(1, await fixture.ScalarAsync<long>("SELECT count(*) FROM job_run_requests WHERE job_id = @jobId", new { jobId }));
        Assert.Equal("op@contoso.test", await fixture.ScalarAsync<string>("SELECT actor_upn FROM job_run_requests WHERE job_id = @jobId", new { jobId }));
    }

    [Fact]
    public async Task Should_return_the_running_run_instead_of_queueing_another()
    {
        var jobId = await NewJobAsync();
        var runId = Guid.NewGuid();
        await InsertRunAsync(jobId, runId, "running", fixture.Clock.GetUtcNow());

        var result = await fixture.SendAsync(new RunNow.Command(jobId, false, Operator));

        Assert.True(result.AlreadyRunning);
        Assert.Equal(runId, result.RunId);
        Assert.Null(result.RequestId);
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM job_run_requests WHERE job_id = @jobId", new { jobId }));
    }

    [Fact]
    public async Task Should_refuse_run_now_on_a_paused_job_unless_forced()
    {
        var jobId = await NewJobAsync();
        await fixture.SendAsync(new PauseJob.Command(jobId, Admin));

        var conflict = await Assert.ThrowsAsync<ConflictException>(() => fixture.SendAsync(new RunNow.Command(jobId, false, Operator)));
        Assert.Equal("job_paused", conflict.Code);
        Assert.Contains("force", conflict.Message);

        var forced = await fixture.SendAsync(new RunNow.Command(jobId, true, Operator));
        Assert.NotNull(forced.RequestId);
        Assert.True(await fixture.ScalarAsync<bool>("SELECT force FROM job_run_requests WHERE request_id = @Id", new { Id = forced.RequestId }));
    }

    [Fact]
    public async Task Should_pause_dropping_unforced_requests_and_resume_recomputing_next_run_from_now()
    {
        fixture.Clock.Set(new DateTimeOffset(2026, 1, 15, 9, 30, 0, TimeSpan.Zero));
        var jobId = await NewJobAsync();
        var schedule = await fixture.SendAsync(new CreateSchedule.Command(jobId, "0 * * * *", null, true, Admin));
        var request = await fixture.SendAsync(new RunNow.Command(jobId, false, Operator));

        var paused = await fixture.SendAsync(new PauseJob.Command(jobId, Operator));
        Assert.True(paused.Changed);
        Assert.Equal(1, paused.DroppedRequests);
        Assert.Equal("dropped", await fixture.ScalarAsync<string>("SELECT status FROM job_run_requests WHERE request_id = @Id", new { Id = request.RequestId }));

        fixture.Clock.Set(new DateTimeOffset(2026, 1, 16, 14, 5, 0, TimeSpan.Zero));
        var resumed = await fixture.SendAsync(new ResumeJob.Command(jobId, Operator));
        Assert.True(resumed.Changed);
        Assert.Equal(new DateTimeOffset(2026, 1, 16, 15, 0, 0, TimeSpan.Zero), Assert.Single(resumed.Schedules).NextRunAt);
        Assert.Equal(schedule.ScheduleId, resumed.Schedules[0].ScheduleId);

        var again = await fixture.SendAsync(new ResumeJob.Command(jobId, Operator));
        Assert.False(again.Changed);
        var audit = await fixture.QueryAsync<(string Action, string ActorUpn)>(
            "SELECT action, actor_upn FROM audit_events WHERE entity_id = @Id AND action IN ('job.paused', 'job.resumed') ORDER BY occurred_at, action",
            new { Id = jobId.ToString() });
        Assert.Equal([("job.paused", "op@contoso.test"), ("job.resumed", "op@contoso.test"), ("job.resumed", "op@contoso.test")], audit);
    }

    [Fact]
    public async Task Should_request_cancellation_of_a_running_run_and_refuse_a_finished_one()
    {
        var jobId = await NewJobAsync();
        var running = Guid.NewGuid();
        var finished = Guid.NewGuid();
        await InsertRunAsync(jobId, running, "running", fixture.Clock.GetUtcNow());
        await InsertRunAsync(jobId, finished, "success", fixture.Clock.GetUtcNow().AddHours(-1));

        var result = await fixture.SendAsync(new CancelRun.Command(running, Operator));
        Assert.Equal(fixture.Clock.GetUtcNow(), result.CancelRequestedAt);
        Assert.Equal("op@contoso.test", await fixture.ScalarAsync<string>(
            "SELECT actor_upn FROM audit_events WHERE action = 'run.cancel_requested' AND entity_id = @Id", new { Id = running.ToString() }));

        var conflict = await Assert.ThrowsAsync<ConflictException>(() => fixture.SendAsync(new CancelRun.Command(finished, Operator)));
        Assert.Equal("run_not_running", conflict.Code);
        await Assert.ThrowsAsync<NotFoundException>(() => fixture.SendAsync(new CancelRun.Command(Guid.NewGuid(), Operator)));
    }

    [Fact]
    public async Task Should_show_job_status_with_schedules_last_and_running_run()
    {
        fixture.Clock.Set(new DateTimeOffset(2026, 2, 1, 8, 0, 0, TimeSpan.Zero));
        var jobId = await NewJobAsync("status job");
        await fixture.SendAsync(new CreateSchedule.Command(jobId, "*/10 * * * *", null, true, Admin));
        await InsertRunAsync(jobId, Guid.NewGuid(), "success", fixture.Clock.GetUtcNow().AddHours(-2));
        var running = Guid.NewGuid();
        await InsertRunAsync(jobId, running, "running", fixture.Clock.GetUtcNow().AddMinutes(-1), "run_now");
        await fixture.ExecuteAsync("""UPDATE job_runs SET progress = '{"phase": "refresh", "views": 2}' WHERE run_id = @running""", new { running });

        var status = await fixture.SendAsync(new GetJobStatus.Query(jobId));
        Snapshot.Match(status);

        var all = await fixture.SendAsync(new ListJobs.Query());
        Assert.Contains(all.Jobs, j => j.JobId == jobId && j.RunningRun!.RunId == running);
        await Assert.ThrowsAsync<NotFoundException>(() => fixture.SendAsync(new GetJobStatus.Query(Guid.NewGuid())));
    }

    [Fact]
    public async Task Should_list_runs_newest_first_with_filters_and_keyset_paging()
    {
        var jobId = await NewJobAsync();
        var other = await NewJobAsync();
        var start = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        var ids = new List<Guid>();
        for (var i = 0; i < 7; i++)
        {
            var id = Guid.NewGuid();
            ids.Add(id);
            await InsertRunAsync(jobId, id, i % 3 == 0 ? "failed" : "success", start.AddMinutes(i), i == 6 ? "run_now" : "schedule");
        }
        await InsertRunAsync(other, Guid.NewGuid(), "success", start.AddMinutes(3));

        var seen = new List<Guid>();
        string? cursor = null;
        do
        {
            var page = await fixture.SendAsync(new ListRuns.Query(JobId: jobId, Limit: 3, Cursor: cursor));
            seen.AddRange(page.Items.Select(r => r.RunId));
            cursor = page.NextCursor;
        } while (cursor is not null);
        Assert.Equal(Enumerable.Reverse(ids), seen);

        var failed = await fixture.SendAsync(new ListRuns.Query(JobId: jobId, Status: "failed"));
        Assert.Equal([ids[6], ids[3], ids[0]], failed.Items.Select(r => r.RunId));
        var manual = await fixture.SendAsync(new ListRuns.Query(JobId: jobId, TriggeredBy: "run_now"));
        Assert.Equal(ids[6], Assert.Single(manual.Items).RunId);

        var run = await fixture.SendAsync(new GetRun.Query(ids[2]));
        Assert.Equal(60, run.DurationSeconds);
        await Assert.ThrowsAsync<NotFoundException>(() => fixture.SendAsync(new GetRun.Query(Guid.NewGuid())));
    }

    [Fact]
    public async Task Should_reject_bad_run_filters_together()
    {
        var error = await Assert.ThrowsAsync<RequestValidationException>(() =>
            fixture.SendAsync(new ListRuns.Query(Status: "exploded", TriggeredBy: "cron", Limit: 0, Cursor: "nope")));
        Assert.Equal(["status", "triggered_by", "limit", "cursor"], error.Errors.Keys);
    }
}
