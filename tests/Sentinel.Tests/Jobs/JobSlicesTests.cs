using Sentinel.Features.Infrastructure;
using Sentinel.Features.Jobs;
using Sentinel.Features.Schedules;
using Sentinel.Features.Runs;
using Sentinel.TestSupport;
using Sentinel.Tests.Infrastructure;

namespace Sentinel.Tests.Jobs;

public sealed class JobSlicesTests(SliceFixture fixture) : IClassFixture<SliceFixture>
{
    private static readonly Actor Admin = new("00000000-0000-0000-0000-0000000000a1", "admin@contoso.test", "Ada Admin");
    private static readonly Actor Operator = new("00000000-0000-0000-0000-0000000000b2", "op@contoso.test", "Otto Operator");

    private Task<Guid> NewJobAsync(string? name = "views") => fixture.NewJobAsync(Admin, name);

    private Task<int> InsertRunAsync(Guid jobId, Guid runId, string status, DateTimeOffset startedAt, string triggeredBy = "schedule") =>
        fixture.InsertRunAsync(jobId, runId, status, startedAt, triggeredBy);

    [Fact]
    public async Task Should_update_name_and_config_and_audit_the_changed_fields()
    {
        var jobId = await NewJobAsync();
        var updated = await fixture.SendAsync(new UpdateJob.Command(jobId, "renamed", """{"force": true}""", Admin));
        Assert.Equal("renamed", updated.Name);
        Assert.Equal("""{"force": true}""", updated.Config);
        Assert.Equal("""["name", "config"]""", await fixture.ScalarAsync<string>(
            "SELECT details->>'changed' FROM audit_events WHERE action = 'job.updated' AND entity_id = @Id", new { Id = jobId.ToString() }));
    }

    [Fact]
    public async Task Should_reject_a_non_object_config_update_and_404_an_unknown_job()
    {
        var jobId = await NewJobAsync();
        var error = await Assert.ThrowsAsync<RequestValidationException>(() => fixture.SendAsync(new UpdateJob.Command(jobId, null, "42", Admin)));
        Assert.Contains("must be a JSON object", Assert.Single(error.Errors["config"]));
        // The job type's own rules, which the handler applies once it knows the type: refresh_mv knows only "force".
        var typed = await Assert.ThrowsAsync<RequestValidationException>(() => fixture.SendAsync(new UpdateJob.Command(jobId, null, """{"force": "yes", "note": 1}""", Admin)));
        Assert.Equal(["config.force", "config.note"], typed.Errors.Keys.Order());
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
    public async Task Should_disable_and_enable_through_update_with_pause_and_resume_semantics_in_one_transaction()
    {
        fixture.Clock.Set(new DateTimeOffset(2026, 1, 15, 9, 30, 0, TimeSpan.Zero));
        var jobId = await NewJobAsync();
        await fixture.SendAsync(new CreateSchedule.Command(jobId, "0 * * * *", null, true, Admin));
        var request = await fixture.SendAsync(new RunNow.Command(jobId, false, Operator));

        var disabled = await fixture.SendAsync(new UpdateJob.Command(jobId, "off", null, Admin, Enabled: false));
        Assert.False(disabled.Enabled);
        Assert.Equal("dropped", await fixture.ScalarAsync<string>("SELECT status FROM job_run_requests WHERE request_id = @Id", new { Id = request.RequestId }));

        // A rejected update changes nothing, enabled included: the same transaction holds every field.
        fixture.Clock.Set(new DateTimeOffset(2026, 1, 16, 14, 5, 0, TimeSpan.Zero));
        await Assert.ThrowsAsync<RequestValidationException>(() => fixture.SendAsync(new UpdateJob.Command(jobId, null, """{"nope": 1}""", Admin, Enabled: true)));
        Assert.False(await fixture.ScalarAsync<bool>("SELECT enabled FROM jobs WHERE job_id = @jobId", new { jobId }));

        var enabled = await fixture.SendAsync(new UpdateJob.Command(jobId, null, null, Admin, Enabled: true));
        Assert.True(enabled.Enabled);
        Assert.Equal(new DateTime(2026, 1, 16, 15, 0, 0, DateTimeKind.Utc),
            await fixture.ScalarAsync<DateTime>("SELECT next_run_at FROM job_schedules WHERE job_id = @jobId", new { jobId }));
        Assert.Equal(["""["name", "enabled"]""", """["enabled"]"""], await fixture.QueryAsync<string>(
            "SELECT details->>'changed' FROM audit_events WHERE action = 'job.updated' AND entity_id = @Id ORDER BY occurred_at", new { Id = jobId.ToString() }));
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
        Snapshot.Match(status, keepDates: true);

        var all = await fixture.SendAsync(new ListJobs.Query());
        Assert.Contains(all.Jobs, j => j.JobId == jobId && j.RunningRun!.RunId == running);
        await Assert.ThrowsAsync<NotFoundException>(() => fixture.SendAsync(new GetJobStatus.Query(Guid.NewGuid())));
    }
}
