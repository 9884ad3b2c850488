using Sentinel.Features.Infrastructure;
using Sentinel.Features.Jobs;
using Sentinel.Features.Schedules;
using Sentinel.TestSupport;
using Sentinel.Tests.Infrastructure;

namespace Sentinel.Tests.Schedules;

public sealed class ScheduleSlicesTests(SliceFixture fixture) : IClassFixture<SliceFixture>
{
    private static readonly Actor Admin = new("00000000-0000-0000-0000-0000000000a1", "admin@contoso.test", "Ada Admin");

    private async Task<Guid> NewJobAsync() =>
        (await fixture.SendAsync(new CreateJob.Command(JobTypes.RefreshMv, null, true, "views", Admin))).JobId;

    [Fact]
    public async Task Should_create_a_schedule_with_its_next_run_in_the_schedule_zone_and_audit_it()
    {
        fixture.Clock.Set(new DateTimeOffset(2026, 3, 29, 0, 30, 0, TimeSpan.Zero));
        var jobId = await NewJobAsync();

        var schedule = await fixture.SendAsync(new CreateSchedule.Command(jobId, " 30 2 * * * ", "Europe/Berlin", true, Admin));

        Assert.Equal(new DateTimeOffset(2026, 3, 29, 1, 0, 0, TimeSpan.Zero), schedule.NextRunAt);
        var audit = await fixture.QueryAsync<(string Action, string ActorUpn, string Details)>(
            "SELECT action, actor_upn, details::text FROM audit_events WHERE entity_id = @Id", new { Id = schedule.ScheduleId.ToString() });
        Snapshot.Match(new { schedule, audit = audit.Select(a => new { a.Action, a.ActorUpn, a.Details }) }, keepDates: true);
    }

    [Fact]
    public async Task Should_reject_bad_cron_unknown_zone_and_missing_job_id_together_and_write_nothing()
    {
        var before = await fixture.ScalarAsync<long>("SELECT count(*) FROM job_schedules");
        var error = await Assert.ThrowsAsync<RequestValidationException>(() =>
            fixture.SendAsync(new CreateSchedule.Command(Guid.Empty, "0 0 * * 1#2", "Europe/Atlantis", true, Admin)));

        Assert.Equal("job_id is required", Assert.Single(error.Errors["job_id"]));
        Assert.StartsWith("day_of_week:", Assert.Single(error.Errors["cron_expr"]));
        Assert.Contains("Europe/Atlantis", Assert.Single(error.Errors["time_zone"]));
        Assert.Equal(before, await fixture.ScalarAsync<long>("SELECT count(*) FROM job_schedules"));
    }

    [Fact]
    public async Task Should_reject_six_field_cron_naming_the_expression()
    {
        var error = await Assert.ThrowsAsync<RequestValidationException>(() =>
            fixture.SendAsync(new CreateSchedule.Command(Guid.NewGuid(), "0 0 0 * * ?", null, true, Admin)));
        Assert.Contains("expected 5 fields", Assert.Single(error.Errors["cron_expr"]));
    }

    [Fact]
    public async Task Should_return_not_found_for_a_schedule_of_an_unknown_job()
    {
        await Assert.ThrowsAsync<NotFoundException>(() =>
            fixture.SendAsync(new CreateSchedule.Command(Guid.NewGuid(), "@hourly", null, true, Admin)));
    }

    [Fact]
    public async Task Should_recompute_next_run_when_cron_or_zone_changes_or_schedule_is_re_enabled()
    {
        fixture.Clock.Set(new DateTimeOffset(2026, 1, 15, 9, 30, 0, TimeSpan.Zero));
        var jobId = await NewJobAsync();
        var created = await fixture.SendAsync(new CreateSchedule.Command(jobId, "0 * * * *", null, true, Admin));
        Assert.Equal(new DateTimeOffset(2026, 1, 15, 10, 0, 0, TimeSpan.Zero), created.NextRunAt);

        var rezoned = await fixture.SendAsync(new UpdateSchedule.Command(created.ScheduleId, "0 12 * * *", "America/New_York", null, Admin));
        Assert.Equal(new DateTimeOffset(2026, 1, 15, 17, 0, 0, TimeSpan.Zero), rezoned.NextRunAt);

        var disabled = await fixture.SendAsync(new UpdateSchedule.Command(created.ScheduleId, null, null, false, Admin));
        Assert.False(disabled.Enabled);
        Assert.Equal(rezoned.NextRunAt, disabled.NextRunAt);

        fixture.Clock.Set(new DateTimeOffset(2026, 1, 20, 18, 0, 0, TimeSpan.Zero));
        var enabled = await fixture.SendAsync(new UpdateSchedule.Command(created.ScheduleId, null, null, true, Admin));
        Assert.Equal(new DateTimeOffset(2026, 1, 21, 17, 0, 0, TimeSpan.Zero), enabled.NextRunAt);

        var actions = await fixture.QueryAsync<string>("SELECT action FROM audit_events WHERE entity_id = @Id ORDER BY occurred_at", new { Id = created.ScheduleId.ToString() });
        Assert.Equal(["schedule.created", "schedule.updated", "schedule.updated", "schedule.updated"], actions);
    }

    [Fact]
    public async Task Should_delete_a_schedule_and_audit_it_and_404_the_second_time()
    {
        var jobId = await NewJobAsync();
        var created = await fixture.SendAsync(new CreateSchedule.Command(jobId, "@daily", "UTC", true, Admin));

        var deleted = await fixture.SendAsync(new DeleteSchedule.Command(created.ScheduleId, Admin));

        Assert.Equal(jobId, deleted.JobId);
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM job_schedules WHERE schedule_id = @Id", new { Id = created.ScheduleId }));
        Assert.Equal("admin@contoso.test", await fixture.ScalarAsync<string>(
            "SELECT actor_upn FROM audit_events WHERE action = 'schedule.deleted' AND entity_id = @Id", new { Id = created.ScheduleId.ToString() }));
        await Assert.ThrowsAsync<NotFoundException>(() => fixture.SendAsync(new DeleteSchedule.Command(created.ScheduleId, Admin)));
    }
}
