using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Execution;
using Sentinel.TestSupport;

namespace Sentinel.Tests.Execution;

/// <summary>
/// A migrated database, the worker's slices, the scheduler services and two test job types:
/// <c>test_gate</c> (blocks until the test opens the job's gate, honours cancellation) and
/// <c>test_record</c> (records its real-time interval, for overlap checks). Scheduler instances are created
/// per test with their own worker ids; tests drive them with TickAsync and a manual clock.
/// </summary>
public sealed class SchedulerFixture() : SliceFixture(new ManualTimeProvider(new DateTimeOffset(2026, 5, 4, 10, 0, 0, TimeSpan.Zero)))
{
    public TestGates Gates => Services.GetRequiredService<TestGates>();
    public RunRecorder Recorder => Services.GetRequiredService<RunRecorder>();

    public static readonly SchedulerOptions Options = new()
    {
        PollInterval = TimeSpan.FromSeconds(30),
        HeartbeatInterval = TimeSpan.FromMilliseconds(200),
        LostRunHorizon = TimeSpan.FromMinutes(5),
        ShutdownGrace = TimeSpan.FromSeconds(5),
    };

    protected override void ConfigureServices(IServiceCollection services)
    {
        services.AddScheduler(Options);
        services.AddSingleton<TestGates>();
        services.AddSingleton<RunRecorder>();
        services.AddScoped<IJobExecutor, GateExecutor>();
        services.AddScoped<IJobExecutor, RecordingExecutor>();
    }

    public Scheduler NewScheduler(string workerId, int maxConcurrentRuns = 4, TimeSpan? poll = null)
    {
        var options = Options with { WorkerId = workerId, MaxConcurrentRuns = maxConcurrentRuns, PollInterval = poll ?? Options.PollInterval };
        return new Scheduler(Services.GetRequiredService<IServiceScopeFactory>(), Services.GetRequiredService<Db>(),
            new JobRunner(Services.GetRequiredService<IServiceScopeFactory>(), Clock, options, Services.GetRequiredService<ILogger<JobRunner>>()),
            Clock, options, new SchedulerState(), Services.GetRequiredService<ILogger<Scheduler>>());
    }

    /// <summary>Isolates a test from the jobs of earlier tests in the class: their schedules and requests stop firing.</summary>
    public async Task ResetAsync()
    {
        await ExecuteAsync("UPDATE job_schedules SET enabled = false; UPDATE job_run_requests SET status = 'dropped' WHERE status = 'pending'");
        while (Gates.Started.Reader.TryRead(out _)) { }
    }

    /// <summary>A job with one schedule whose next_run_at is <paramref name="due"/> (forced with SQL).</summary>
    public async Task<(Guid JobId, Guid ScheduleId)> NewScheduledJobAsync(string jobType, string cron, DateTimeOffset due, bool enabled = true, Guid? id = null)
    {
        var jobId = id ?? Guid.NewGuid();
        var scheduleId = Guid.NewGuid();
        await ExecuteAsync("""
            INSERT INTO jobs (job_id, job_type, config, enabled, name) VALUES (@jobId, @jobType, '{}', @enabled, 'test');
            INSERT INTO job_schedules (schedule_id, job_id, cron_expr, next_run_at, enabled, timezone) VALUES (@scheduleId, @jobId, @cron, @due, true, 'UTC');
            """, new { jobId, scheduleId, jobType, cron, due, enabled });
        return (jobId, scheduleId);
    }

    public async Task<Guid> AddScheduleAsync(Guid jobId, string cron, DateTimeOffset due)
    {
        var scheduleId = Guid.NewGuid();
        await ExecuteAsync("INSERT INTO job_schedules (schedule_id, job_id, cron_expr, next_run_at, enabled, timezone) VALUES (@scheduleId, @jobId, @cron, @due, true, 'UTC')",
            new { scheduleId, jobId, cron, due });
        return scheduleId;
    }

    /// <summary>
    /// Waits (bounded) for the runs the schedulers execute to end — the run tasks themselves, which complete after the
    /// run's completion is recorded — then checks that no run is left running in the database.
    /// </summary>
    public async Task WaitIdleAsync(params Scheduler[] schedulers)
    {
        await Task.WhenAll(schedulers.Select(s => s.WhenIdle())).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.All(schedulers, s => Assert.Empty(s.RunningRunIds));
        Assert.Equal(0, await ScalarAsync<long>("SELECT count(*) FROM job_runs WHERE status = 'running'"));
    }

    /// <summary>Ticks every scheduler until <paramref name="workLeft"/> is false, waiting for a run to end (a slot or a job lock to free) between ticks.</summary>
    public async Task TickUntilDoneAsync(Scheduler[] schedulers, Func<Task<bool>> workLeft)
    {
        while (true)
        {
            await Task.WhenAll(schedulers.Select(s => s.TickAsync(CancellationToken.None)));
            if (!await workLeft()) return;
            await Task.WhenAny(schedulers.Select(s => s.WhenAnyRunEnds())).WaitAsync(TimeSpan.FromSeconds(30));
        }
    }
}
