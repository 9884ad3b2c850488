using Sentinel.Features.Infrastructure;
using Sentinel.Features.Jobs;
using Sentinel.Features.Runs;
using Sentinel.TestSupport;
using Sentinel.Tests.Infrastructure;

namespace Sentinel.Tests.Runs;

public sealed class RunSlicesTests(SliceFixture fixture) : IClassFixture<SliceFixture>
{
    private static readonly Actor Admin = new("00000000-0000-0000-0000-0000000000a1", "admin@contoso.test", "Ada Admin");
    private static readonly Actor Operator = new("00000000-0000-0000-0000-0000000000b2", "op@contoso.test", "Otto Operator");

    [Fact]
    public async Task Should_queue_run_now_once_and_return_the_same_request_to_a_second_caller()
    {
        fixture.Clock.Set(new DateTimeOffset(2026, 4, 1, 8, 0, 0, TimeSpan.Zero));
        var jobId = await fixture.NewJobAsync(Admin);
        var first = await fixture.SendAsync(new RunNow.Command(jobId, false, Operator));
        var second = await fixture.SendAsync(new RunNow.Command(jobId, false, Operator));

        Assert.NotNull(first.RequestId);
        Assert.False(first.AlreadyQueued);
        Assert.Equal(first.RequestId, second.RequestId);
        Assert.True(second.AlreadyQueued);
        var requests = await fixture.QueryAsync<(Guid RequestId, DateTimeOffset RequestedAt, string ActorUpn, bool Force, string Status)>(
            "SELECT request_id, requested_at, actor_upn, force, status FROM job_run_requests WHERE job_id = @jobId", new { jobId });
        var audit = await fixture.QueryAsync<(string Action, string ActorUpn, DateTimeOffset OccurredAt, string Details)>(
            "SELECT action, actor_upn, occurred_at, details::text FROM audit_events WHERE entity_id = @Id ORDER BY occurred_at, action, details::text",
            new { Id = jobId.ToString() });
        Snapshot.Match(new
        {
            first, second,
            requests = requests.Select(r => new { r.RequestId, r.RequestedAt, r.ActorUpn, r.Force, r.Status }),
            audit = audit.Select(a => new { a.Action, a.ActorUpn, a.OccurredAt, a.Details }),
        }, keepDates: true);
    }

    [Fact]
    public async Task Should_return_the_running_run_instead_of_queueing_another()
    {
        var jobId = await fixture.NewJobAsync(Admin);
        var runId = Guid.NewGuid();
        await fixture.InsertRunAsync(jobId, runId, "running", fixture.Clock.GetUtcNow());

        var result = await fixture.SendAsync(new RunNow.Command(jobId, false, Operator));

        Assert.True(result.AlreadyRunning);
        Assert.Equal(runId, result.RunId);
        Assert.Null(result.RequestId);
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM job_run_requests WHERE job_id = @jobId", new { jobId }));
    }

    [Fact]
    public async Task Should_refuse_run_now_on_a_paused_job_unless_forced()
    {
        var jobId = await fixture.NewJobAsync(Admin);
        await fixture.SendAsync(new PauseJob.Command(jobId, Admin));

        var conflict = await Assert.ThrowsAsync<ConflictException>(() => fixture.SendAsync(new RunNow.Command(jobId, false, Operator)));
        Assert.Equal("job_paused", conflict.Code);
        Assert.Contains("force", conflict.Message);

        var forced = await fixture.SendAsync(new RunNow.Command(jobId, true, Operator));
        Assert.NotNull(forced.RequestId);
        Assert.True(await fixture.ScalarAsync<bool>("SELECT force FROM job_run_requests WHERE request_id = @Id", new { Id = forced.RequestId }));
    }

    [Fact]
    public async Task Should_request_cancellation_of_a_running_run_and_refuse_a_finished_one()
    {
        var jobId = await fixture.NewJobAsync(Admin);
        var running = Guid.NewGuid();
        var finished = Guid.NewGuid();
        await fixture.InsertRunAsync(jobId, running, "running", fixture.Clock.GetUtcNow());
        await fixture.InsertRunAsync(jobId, finished, "success", fixture.Clock.GetUtcNow().AddHours(-1));

        var result = await fixture.SendAsync(new CancelRun.Command(running, Operator));
        Assert.Equal(fixture.Clock.GetUtcNow(), result.CancelRequestedAt);
        Assert.Equal("op@contoso.test", await fixture.ScalarAsync<string>(
            "SELECT actor_upn FROM audit_events WHERE action = 'run.cancel_requested' AND entity_id = @Id", new { Id = running.ToString() }));

        var conflict = await Assert.ThrowsAsync<ConflictException>(() => fixture.SendAsync(new CancelRun.Command(finished, Operator)));
        Assert.Equal("run_not_running", conflict.Code);
        await Assert.ThrowsAsync<NotFoundException>(() => fixture.SendAsync(new CancelRun.Command(Guid.NewGuid(), Operator)));
    }

    [Fact]
    public async Task Should_list_runs_newest_first_with_filters_and_keyset_paging()
    {
        var jobId = await fixture.NewJobAsync(Admin);
        var other = await fixture.NewJobAsync(Admin);
        var start = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        var ids = new List<Guid>();
        for (var i = 0; i < 7; i++)
        {
            var id = Guid.NewGuid();
            ids.Add(id);
            await fixture.InsertRunAsync(jobId, id, i % 3 == 0 ? "failed" : "success", start.AddMinutes(i), i == 6 ? "run_now" : "schedule");
        }
        await fixture.InsertRunAsync(other, Guid.NewGuid(), "success", start.AddMinutes(3));

        var seen = new List<Guid>();
        string? cursor = null;
        do
        {
            var page = await fixture.SendAsync(new ListRuns.Query(JobId: jobId.ToString(), Limit: 3, Cursor: cursor));
            seen.AddRange(page.Items.Select(r => r.RunId));
            cursor = page.NextCursor;
        } while (cursor is not null);
        Assert.Equal(Enumerable.Reverse(ids), seen);

        var failed = await fixture.SendAsync(new ListRuns.Query(JobId: jobId.ToString(), Status: "failed"));
        Assert.Equal([ids[6], ids[3], ids[0]], failed.Items.Select(r => r.RunId));
        var manual = await fixture.SendAsync(new ListRuns.Query(JobId: jobId.ToString(), TriggeredBy: "run_now"));
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
