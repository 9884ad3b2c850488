using Sentinel.Features.Infrastructure;
using Sentinel.Features.Jobs;
using Sentinel.TestSupport;

namespace Sentinel.Tests.Infrastructure;

/// <summary>Jobs and runs the job and run slice tests start from.</summary>
public static class JobSeeds
{
    public static async Task<Guid> NewJobAsync(this SliceFixture fixture, Actor actor, string? name = "views") =>
        (await fixture.SendAsync(new CreateJob.Command(JobTypes.RefreshMv, null, true, name, actor))).JobId;

    /// <summary>A run as a scheduler would have left it, forced with SQL.</summary>
    public static Task<int> InsertRunAsync(this SliceFixture fixture, Guid jobId, Guid runId, string status, DateTimeOffset startedAt, string triggeredBy = "schedule") =>
        fixture.ExecuteAsync("""
            INSERT INTO job_runs (run_id, job_id, started_at, finished_at, status, triggered_by, worker_id, heartbeat_at)
            VALUES (@RunId, @JobId, @StartedAt, CASE WHEN @Status = 'running' THEN NULL ELSE @StartedAt + interval '1 minute' END, @Status, @TriggeredBy, 'w1', @StartedAt)
            """, new { RunId = runId, JobId = jobId, Status = status, StartedAt = startedAt, TriggeredBy = triggeredBy });
}
