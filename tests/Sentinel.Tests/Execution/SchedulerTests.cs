using Dapper;
using Npgsql;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Jobs;
using Sentinel.Features.Runs;
using Sentinel.Features.Execution;

namespace Sentinel.Tests.Execution;

public sealed class SchedulerTests(SchedulerFixture fixture) : IClassFixture<SchedulerFixture>
{
    private static readonly Actor Operator = new("00000000-0000-0000-0000-0000000000b2", "op@contoso.test", "Otto Operator");

    private DateTimeOffset Now => fixture.Clock.GetUtcNow();

    /// <summary>Each test works on its own jobs, from a fresh full hour (earlier tests' schedules are disabled).</summary>
    private async Task<DateTimeOffset> NextHourAsync()
    {
        await fixture.ResetAsync();
        var now = Now;
        var next = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero).AddHours(2);
        fixture.Clock.Set(next);
        return next;
    }

    [Fact]
    public async Task Three_schedulers_run_every_occurrence_exactly_once_and_never_overlap_a_job()
    {
        var t0 = await NextHourAsync();
        var jobs = new List<Guid>();
        var schedules = new List<Guid>();
        for (var i = 0; i < 40; i++)
        {
            var (jobId, scheduleId) = await fixture.NewScheduledJobAsync("test_record", "* * * * *", t0);
            jobs.Add(jobId);
            schedules.Add(scheduleId);
            // A quarter of the jobs have a second schedule due at the same instants: it must not overlap the first.
            if (i % 4 == 0) schedules.Add(await fixture.AddScheduleAsync(jobId, "* * * * *", t0));
        }
        var schedulers = new[] { fixture.NewScheduler("w1", 3), fixture.NewScheduler("w2", 3), fixture.NewScheduler("w3", 3) };

        const int minutes = 4;
        for (var m = 0; m < minutes; m++)
        {
            fixture.Clock.Set(t0.AddMinutes(m).AddSeconds(1));
            // Tick all instances together until nothing is due and nothing runs; between ticks, wait for a run to end.
            await fixture.TickUntilDoneAsync(schedulers, async () =>
                await fixture.ScalarAsync<long>("SELECT count(*) FROM job_schedules WHERE next_run_at <= @now AND job_id = ANY(@jobs)", new { now = Now, jobs }) > 0
                || schedulers.Any(s => s.RunningRunIds.Count > 0));
            await fixture.WaitIdleAsync(schedulers);
        }

        // Exactly once: one run per (schedule, occurrence) at most — enforced by the unique index — and every
        // occurrence of the first schedule of each job ran or was skipped because its sibling held the job.
        var runs = await fixture.QueryAsync<(Guid JobId, Guid ScheduleId, DateTime ScheduledFor, string Status, string WorkerId)>(
            "SELECT job_id, schedule_id, scheduled_for, status, worker_id FROM job_runs WHERE job_id = ANY(@jobs)", new { jobs });
        Assert.All(runs, r => Assert.Equal("success", r.Status));
        Assert.Equal(runs.Count, runs.Select(r => (r.ScheduleId, r.ScheduledFor)).Distinct().Count());
        var skipped = await fixture.QueryAsync<(Guid ScheduleId, DateTime ScheduledFor)>(
            "SELECT entity_id::uuid, (details->>'scheduled_for')::timestamptz FROM audit_events WHERE action = 'run.skipped'");
        foreach (var scheduleId in schedules)
        {
            var handled = runs.Where(r => r.ScheduleId == scheduleId).Select(r => r.ScheduledFor)
                .Concat(skipped.Where(s => s.ScheduleId == scheduleId).Select(s => s.ScheduledFor)).OrderBy(t => t).ToList();
            Assert.Equal(Enumerable.Range(0, minutes).Select(m => t0.AddMinutes(m).UtcDateTime), handled);
        }
        foreach (var jobId in jobs)
            Assert.Equal(minutes, runs.Where(r => r.JobId == jobId).Select(r => r.ScheduledFor).Distinct().Count());
        Assert.True(runs.Select(r => r.WorkerId).Distinct().Count() > 1, "work should spread over the instances");

        // No overlap: per job, real-time run intervals are disjoint.
        foreach (var group in fixture.Recorder.Intervals.Where(i => jobs.Contains(i.JobId)).GroupBy(i => i.JobId))
        {
            var ordered = group.OrderBy(i => i.Start).ToList();
            for (var i = 1; i < ordered.Count; i++)
                Assert.True(ordered[i].Start >= ordered[i - 1].End, $"job {group.Key}: runs {ordered[i - 1].RunId} and {ordered[i].RunId} overlap");
        }
    }

    [Fact]
    public async Task Missed_occurrences_run_once_and_the_schedule_continues_from_now()
    {
        var t0 = await NextHourAsync();
        var (jobId, scheduleId) = await fixture.NewScheduledJobAsync("test_record", "*/5 * * * *", t0);
        fixture.Clock.Set(t0.AddMinutes(62)); // twelve occurrences missed while "down"
        var scheduler = fixture.NewScheduler("w-missed");

        await scheduler.TickAsync(CancellationToken.None);
        await fixture.WaitIdleAsync(scheduler);
        await scheduler.TickAsync(CancellationToken.None);
        await fixture.WaitIdleAsync(scheduler);

        Assert.Equal(1, await fixture.ScalarAsync<long>("SELECT count(*) FROM job_runs WHERE job_id = @jobId", new { jobId }));
        Assert.Equal(t0.UtcDateTime, await fixture.ScalarAsync<DateTime>("SELECT scheduled_for FROM job_runs WHERE job_id = @jobId", new { jobId }));
        Assert.Equal(t0.AddMinutes(65).UtcDateTime, await fixture.ScalarAsync<DateTime>("SELECT next_run_at FROM job_schedules WHERE schedule_id = @scheduleId", new { scheduleId }));
    }

    [Fact]
    public async Task Killing_a_runs_connection_closes_it_as_worker_lost_and_a_later_run_succeeds()
    {
        var t0 = await NextHourAsync();
        var (jobId, _) = await fixture.NewScheduledJobAsync("test_gate", "*/10 * * * *", t0);
        var scheduler = fixture.NewScheduler("w-killed");
        await scheduler.TickAsync(CancellationToken.None);
        var runId = await fixture.Gates.NextStartedAsync();

        // With a timeout, pg_terminate_backend returns once the backend has exited, and its session locks with it.
        var killed = await fixture.ScalarAsync<bool>("""
            SELECT pg_terminate_backend(l.pid, 30000) FROM pg_locks l
             WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND l.objid = (sentinel_job_lock_key(@jobId) & 4294967295)::oid
            """, new { jobId });
        Assert.True(killed);
        Assert.False(await fixture.ScalarAsync<bool>("SELECT sentinel_job_lock_held(@jobId)", new { jobId }));

        // The rescuer step, called directly; the dying worker may have beaten it to the same verdict.
        await fixture.SendAsync(new RecoverLostRuns.Command(TimeSpan.FromMinutes(5)));
        var (status, error) = await fixture.ScalarAsync<string>("SELECT status FROM job_runs WHERE run_id = @runId", new { runId }) is var s
            ? (s, await fixture.ScalarAsync<string>("SELECT error FROM job_runs WHERE run_id = @runId", new { runId })) : default;
        Assert.Equal(("failed", "worker_lost"), (status, error));
        await fixture.WaitIdleAsync(scheduler); // the job noticed its lost connection and stopped

        fixture.Gates.Open(jobId);
        fixture.Clock.Set(t0.AddMinutes(10).AddSeconds(1));
        await scheduler.TickAsync(CancellationToken.None);
        await fixture.WaitIdleAsync(scheduler);
        var statuses = await fixture.QueryAsync<string>("SELECT status FROM job_runs WHERE job_id = @jobId ORDER BY started_at", new { jobId });
        Assert.Equal(["failed", "success"], statuses);
    }

    [Fact]
    public async Task Rescuer_closes_runs_without_a_lock_or_with_an_old_heartbeat_but_not_live_ones()
    {
        var t0 = await NextHourAsync();
        var (orphanJob, _) = await fixture.NewScheduledJobAsync("test_gate", "0 0 1 1 *", t0.AddYears(1));
        var (liveJob, _) = await fixture.NewScheduledJobAsync("test_gate", "* * * * *", t0);
        var orphan = Guid.NewGuid();
        await fixture.ExecuteAsync("""
            INSERT INTO job_runs (run_id, job_id, started_at, status, triggered_by, worker_id, heartbeat_at)
            VALUES (@orphan, @orphanJob, @t0, 'running', 'schedule', 'dead-worker', @t0)
            """, new { orphan, orphanJob, t0 });
        var scheduler = fixture.NewScheduler("w-rescue");
        fixture.Clock.Set(t0.AddSeconds(1));
        await scheduler.TickAsync(CancellationToken.None); // the tick's own rescue closes the orphan, then claims the live job
        var live = await fixture.Gates.NextStartedAsync();

        Assert.Equal("worker_lost", await fixture.ScalarAsync<string>("SELECT error FROM job_runs WHERE run_id = @orphan", new { orphan }));
        Assert.Empty((await fixture.SendAsync(new RecoverLostRuns.Command(TimeSpan.FromMinutes(5)))).Closed);
        Assert.Equal("running", await fixture.ScalarAsync<string>("SELECT status FROM job_runs WHERE run_id = @live", new { live }));

        // A hung worker: lock still held but heartbeat far in the past → closed; the stale worker then records nothing.
        await fixture.ExecuteAsync("UPDATE job_runs SET heartbeat_at = @old WHERE run_id = @live", new { live, old = t0.AddHours(-1) });
        var closed = await fixture.SendAsync(new RecoverLostRuns.Command(TimeSpan.FromMinutes(5)));
        Assert.Equal("heartbeat_expired", Assert.Single(closed.Closed).Reason);
        await fixture.WaitIdleAsync(scheduler);
        fixture.Gates.Open(liveJob);
        Assert.Equal(("failed", "worker_lost"), await fixture.QueryAsync<(string, string)>("SELECT status, error FROM job_runs WHERE run_id = @live", new { live }) is var rows ? rows.Single() : default);
        Assert.Equal(2, await fixture.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE action = 'run.worker_lost' AND entity_id IN (@a, @b)", new { a = orphan.ToString(), b = live.ToString() }));
    }

    [Fact]
    public async Task Jobs_whose_ids_share_their_first_64_bits_take_different_locks_and_both_run()
    {
        var t0 = await NextHourAsync();
        // Ids as SQL inserts or sequential generators make them: equal up to the last 64 bits (002's whole key).
        var first = Guid.Parse("5e171ae1-0000-4000-8000-000000000001");
        var second = Guid.Parse("5e171ae1-0000-4000-8000-000000000002");
        await fixture.NewScheduledJobAsync("test_gate", "*/10 * * * *", t0, id: first);
        await fixture.NewScheduledJobAsync("test_gate", "*/10 * * * *", t0, id: second);
        Assert.NotEqual(await fixture.ScalarAsync<long>("SELECT sentinel_job_lock_key(@first)", new { first }),
            await fixture.ScalarAsync<long>("SELECT sentinel_job_lock_key(@second)", new { second }));
        var scheduler = fixture.NewScheduler("w-prefix");
        fixture.Clock.Set(t0.AddSeconds(1));

        await scheduler.TickAsync(CancellationToken.None);
        var started = new[] { await fixture.Gates.NextStartedAsync(), await fixture.Gates.NextStartedAsync() };

        var running = await fixture.QueryAsync<Guid>("SELECT job_id FROM job_runs WHERE run_id = ANY(@started) AND status = 'running'", new { started });
        Assert.Equal(new[] { first, second }.Order(), running.Order());
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE action = 'run.skipped' AND details->>'job_id' IN (@a, @b)",
            new { a = first.ToString(), b = second.ToString() }));
        fixture.Gates.Open(first);
        fixture.Gates.Open(second);
        await fixture.WaitIdleAsync(scheduler);
    }

    [Fact]
    public async Task A_lock_held_without_a_running_run_of_the_job_keeps_its_occurrence_and_request_due_until_a_later_tick()
    {
        var t0 = await NextHourAsync();
        var (blocked, blockedSchedule) = await fixture.NewScheduledJobAsync("test_record", "*/10 * * * *", t0);
        var (queued, _) = await fixture.NewScheduledJobAsync("test_record", "0 0 1 1 *", t0.AddYears(1));
        var (other, _) = await fixture.NewScheduledJobAsync("test_record", "*/10 * * * *", t0.AddMinutes(1));
        var request = (await fixture.SendAsync(new RunNow.Command(queued, false, Operator))).RequestId;
        fixture.Clock.Set(t0.AddMinutes(2));

        // Another session holds both jobs' keys, as a colliding job's run would: neither job has a running run.
        // Unpooled: closing it must end the session, and with it the locks.
        await using (var holder = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(fixture.ConnectionString) { Pooling = false }.ConnectionString))
        {
            await holder.OpenAsync();
            await holder.ExecuteAsync("SELECT pg_advisory_lock(sentinel_job_lock_key(@blocked)), pg_advisory_lock(sentinel_job_lock_key(@queued))", new { blocked, queued });

            // The claim passes over both and still reaches the job behind them.
            await using (var claimed = await fixture.SendAsync(new ClaimNextRun.Command("w-held")))
            {
                Assert.Equal(other, claimed?.JobId);
                await fixture.SendAsync(new CompleteRun.Command(claimed!.RunId, "w-held", "success", null, null, Actor.System));
            }
            Assert.Null(await fixture.SendAsync(new ClaimNextRun.Command("w-held")));

            Assert.Equal(t0.UtcDateTime, await fixture.ScalarAsync<DateTime>("SELECT next_run_at FROM job_schedules WHERE schedule_id = @blockedSchedule", new { blockedSchedule }));
            Assert.Equal("pending", await fixture.ScalarAsync<string>("SELECT status FROM job_run_requests WHERE request_id = @request", new { request }));
            Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM job_runs WHERE job_id IN (@blocked, @queued)", new { blocked, queued }));
            Assert.Equal(0, await fixture.ScalarAsync<long>("""
                SELECT count(*) FROM audit_events
                 WHERE action IN ('run.skipped', 'run.request_dropped') AND coalesce(details->>'job_id', entity_id) IN (@a, @b)
                """, new { a = blocked.ToString(), b = queued.ToString() }));
            // Closing a connection ends its server session asynchronously: release the keys first, so the next
            // tick cannot race the backend's exit.
            await holder.ExecuteAsync("SELECT pg_advisory_unlock_all()");
        }

        // The holder is gone: the next tick runs the kept occurrence (scheduled for t0) and the request.
        var scheduler = fixture.NewScheduler("w-after");
        await scheduler.TickAsync(CancellationToken.None);
        await fixture.WaitIdleAsync(scheduler);
        Assert.Equal([t0.UtcDateTime], await fixture.QueryAsync<DateTime>("SELECT scheduled_for FROM job_runs WHERE job_id = @blocked", new { blocked }));
        Assert.Equal("claimed", await fixture.ScalarAsync<string>("SELECT status FROM job_run_requests WHERE request_id = @request", new { request }));
        Assert.Equal(t0.AddMinutes(10).UtcDateTime, await fixture.ScalarAsync<DateTime>("SELECT next_run_at FROM job_schedules WHERE schedule_id = @blockedSchedule", new { blockedSchedule }));
    }

    [Fact]
    public async Task A_lock_held_by_a_running_run_of_the_same_job_skips_the_occurrence_and_drops_the_request()
    {
        var t0 = await NextHourAsync();
        var (jobId, scheduleId) = await fixture.NewScheduledJobAsync("test_gate", "*/10 * * * *", t0);
        var second = await fixture.AddScheduleAsync(jobId, "*/10 * * * *", t0);
        fixture.Clock.Set(t0.AddSeconds(1));

        await using var running = await fixture.SendAsync(new ClaimNextRun.Command("w-same"));
        Assert.Equal(jobId, running?.JobId);
        // Forced with SQL: RunNow itself answers "already running" without queueing.
        var request = Guid.NewGuid();
        await fixture.ExecuteAsync("INSERT INTO job_run_requests (request_id, job_id, requested_at) VALUES (@request, @jobId, @now)", new { request, jobId, now = Now });
        Assert.Null(await fixture.SendAsync(new ClaimNextRun.Command("w-same")));

        var ran = await fixture.ScalarAsync<Guid>("SELECT schedule_id FROM job_runs WHERE run_id = @RunId", new { running!.RunId });
        var skipped = await fixture.QueryAsync<string>("SELECT entity_id FROM audit_events WHERE action = 'run.skipped' AND details->>'job_id' = @Id", new { Id = jobId.ToString() });
        Assert.Equal([(ran == scheduleId ? second : scheduleId).ToString()], skipped);
        Assert.Equal(("dropped", "already_running"), (await fixture.QueryAsync<(string, string)>(
            "SELECT status, dropped_reason FROM job_run_requests WHERE request_id = @request", new { request })).Single());
        await fixture.SendAsync(new CompleteRun.Command(running!.RunId, "w-same", "success", null, null, Actor.System));
    }

    [Fact]
    public async Task A_stale_worker_cannot_overwrite_a_closed_run()
    {
        var t0 = await NextHourAsync();
        var (jobId, _) = await fixture.NewScheduledJobAsync("test_gate", "0 0 1 1 *", t0.AddYears(1));
        var runId = Guid.NewGuid();
        await fixture.ExecuteAsync("""
            INSERT INTO job_runs (run_id, job_id, started_at, finished_at, status, error, triggered_by, worker_id, heartbeat_at)
            VALUES (@runId, @jobId, @t0, @t0, 'failed', 'worker_lost', 'schedule', 'w-stale', @t0)
            """, new { runId, jobId, t0 });

        var result = await fixture.SendAsync(new CompleteRun.Command(runId, "w-stale", "success", null, null, Actor.System));

        Assert.False(result.Closed);
        Assert.Equal("failed", await fixture.ScalarAsync<string>("SELECT status FROM job_runs WHERE run_id = @runId", new { runId }));
    }

    [Fact]
    public async Task Run_now_wakes_a_sleeping_scheduler_and_a_second_run_now_returns_the_running_run()
    {
        await NextHourAsync();
        var jobId = (await fixture.SendAsync(new CreateJob.Command(JobTypes.RefreshMv, null, true, "no schedule", Operator))).JobId;
        await fixture.ExecuteAsync("UPDATE jobs SET job_type = 'test_gate' WHERE job_id = @jobId", new { jobId });
        var scheduler = fixture.NewScheduler("w-notify", poll: TimeSpan.FromMinutes(5));
        await scheduler.StartAsync(CancellationToken.None);
        try
        {
            await scheduler.Listening.WaitAsync(TimeSpan.FromSeconds(30));
            var queued = await fixture.SendAsync(new RunNow.Command(jobId, false, Operator));
            // Bounded far below the 5 minute poll interval: only the NOTIFY wake-up can start it in time.
            var runId = await fixture.Gates.NextStartedAsync(60_000);
            Assert.Equal(runId, await fixture.ScalarAsync<Guid>("SELECT run_id FROM job_run_requests WHERE request_id = @Id", new { Id = queued.RequestId }));

            var again = await fixture.SendAsync(new RunNow.Command(jobId, false, Operator));
            Assert.True(again.AlreadyRunning);
            Assert.Equal(runId, again.RunId);
            Assert.Equal(("run_now", "op@contoso.test"), (await fixture.QueryAsync<(string, string)>(
                "SELECT triggered_by, actor_upn FROM job_runs WHERE run_id = @runId", new { runId })).Single());
            fixture.Gates.Open(jobId);
            await fixture.WaitIdleAsync(scheduler);
            Assert.Equal(1, await fixture.ScalarAsync<long>("SELECT count(*) FROM job_runs WHERE job_id = @jobId", new { jobId }));
        }
        finally
        {
            await scheduler.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Run_now_requests_claimed_by_racing_schedulers_start_exactly_one_run_each()
    {
        await NextHourAsync();
        var jobs = new List<Guid>();
        for (var i = 0; i < 20; i++)
        {
            var (jobId, _) = await fixture.NewScheduledJobAsync("test_record", "0 0 1 1 *", Now.AddYears(1));
            jobs.Add(jobId);
            await fixture.SendAsync(new RunNow.Command(jobId, false, Operator));
            await fixture.SendAsync(new RunNow.Command(jobId, false, Operator)); // deduplicated into the same request
        }
        var schedulers = new[] { fixture.NewScheduler("w-rn1", 4), fixture.NewScheduler("w-rn2", 4), fixture.NewScheduler("w-rn3", 4) };

        await fixture.TickUntilDoneAsync(schedulers, async () =>
            await fixture.ScalarAsync<long>("SELECT count(*) FROM job_run_requests WHERE status = 'pending' AND job_id = ANY(@jobs)", new { jobs }) > 0);
        await fixture.WaitIdleAsync(schedulers);

        var runs = await fixture.QueryAsync<(Guid JobId, string Status, string TriggeredBy)>(
            "SELECT job_id, status, triggered_by FROM job_runs WHERE job_id = ANY(@jobs)", new { jobs });
        Assert.Equal(jobs.Order(), runs.Select(r => r.JobId).Order());
        Assert.All(runs, r => Assert.Equal(("success", "run_now"), (r.Status, r.TriggeredBy)));
        Assert.Equal(20, await fixture.ScalarAsync<long>(
            "SELECT count(*) FROM job_run_requests WHERE status = 'claimed' AND run_id IS NOT NULL AND job_id = ANY(@jobs)", new { jobs }));
    }

    [Fact]
    public async Task Paused_jobs_do_not_run_and_resume_recomputes_next_run_from_now()
    {
        var t0 = await NextHourAsync();
        var (jobId, scheduleId) = await fixture.NewScheduledJobAsync("test_record", "*/15 * * * *", t0);
        await fixture.SendAsync(new PauseJob.Command(jobId, Operator));
        var scheduler = fixture.NewScheduler("w-pause");
        fixture.Clock.Set(t0.AddMinutes(31));

        await scheduler.TickAsync(CancellationToken.None);
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM job_runs WHERE job_id = @jobId", new { jobId }));

        await fixture.SendAsync(new ResumeJob.Command(jobId, Operator));
        Assert.Equal(t0.AddMinutes(45).UtcDateTime, await fixture.ScalarAsync<DateTime>("SELECT next_run_at FROM job_schedules WHERE schedule_id = @scheduleId", new { scheduleId }));
        await scheduler.TickAsync(CancellationToken.None);
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM job_runs WHERE job_id = @jobId", new { jobId }));

        fixture.Clock.Set(t0.AddMinutes(45));
        await scheduler.TickAsync(CancellationToken.None);
        await fixture.WaitIdleAsync(scheduler);
        Assert.Equal(t0.AddMinutes(45).UtcDateTime, await fixture.ScalarAsync<DateTime>("SELECT scheduled_for FROM job_runs WHERE job_id = @jobId", new { jobId }));
    }

    [Fact]
    public async Task Cancel_stops_a_running_job_whose_gate_never_opens()
    {
        var t0 = await NextHourAsync();
        var (jobId, _) = await fixture.NewScheduledJobAsync("test_gate", "0 0 1 1 *", t0);
        var scheduler = fixture.NewScheduler("w-cancel");
        fixture.Clock.Set(t0.AddSeconds(1));
        await scheduler.TickAsync(CancellationToken.None);
        var runId = await fixture.Gates.NextStartedAsync();

        await fixture.SendAsync(new CancelRun.Command(runId, Operator));
        await fixture.WaitIdleAsync(scheduler); // the gate is never opened: only the cancel can end the run

        Assert.Equal(("cancelled", "cancelled"), (await fixture.QueryAsync<(string, string)>("SELECT status, error FROM job_runs WHERE run_id = @runId", new { runId })).Single());
        Assert.Equal(1, await fixture.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE action = 'run.cancelled' AND entity_id = @Id", new { Id = runId.ToString() }));
    }

    [Fact]
    public async Task Graceful_shutdown_stops_claiming_and_closes_running_runs_as_cancelled_shutdown()
    {
        var t0 = await NextHourAsync();
        var (jobId, _) = await fixture.NewScheduledJobAsync("test_gate", "0 0 1 1 *", t0);
        fixture.Clock.Set(t0.AddSeconds(1));
        var scheduler = fixture.NewScheduler("w-shutdown");
        await scheduler.StartAsync(CancellationToken.None);
        var runId = await fixture.Gates.NextStartedAsync();

        await scheduler.StopAsync(CancellationToken.None);

        Assert.Equal(("cancelled", "shutdown"), (await fixture.QueryAsync<(string, string)>("SELECT status, error FROM job_runs WHERE run_id = @runId", new { runId })).Single());
        Assert.False(await fixture.ScalarAsync<bool>("SELECT sentinel_job_lock_held(@jobId)", new { jobId }));
    }

    [Fact]
    public async Task Run_once_runs_refresh_mv_through_the_same_bookkeeping_as_the_scheduler()
    {
        await NextHourAsync();
        var run = await fixture.SendAsync(new StartCliRun.Command(JobTypes.RefreshMv, """{"force": true}""", "cli-test"));
        var runner = (JobRunner)fixture.Services.GetService(typeof(JobRunner))!;

        var outcome = await runner.RunAsync(run, CancellationToken.None);

        Assert.True(outcome.Status == "success", outcome.Error);
        Assert.True(outcome.Recorded);
        var row = (await fixture.QueryAsync<(string Status, string TriggeredBy, string ActorUpn, string Progress)>(
            "SELECT status, triggered_by, actor_upn, progress::text FROM job_runs WHERE run_id = @RunId", new { run.RunId })).Single();
        Assert.Equal(("success", "cli", "cli"), (row.Status, row.TriggeredBy, row.ActorUpn));
        Assert.Contains("\"phase\": \"done\"", row.Progress);
        Assert.Contains("mv_msgraph_inventory_summary", row.Progress);
        Assert.False(await fixture.ScalarAsync<bool>("SELECT sentinel_job_lock_held(@JobId)", new { run.JobId }));
    }
}
