using Dapper;
using Npgsql;
using Sentinel.Features.Cron;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Jobs;

/// <summary>
/// What enabling and disabling a job means, shared by PauseJob, ResumeJob and UpdateJob (inside their transaction):
/// disabling drops queued run-now requests that were not forced (a running run continues); enabling recomputes every
/// schedule's next_run_at from now, so occurrences missed while disabled never fire.
/// </summary>
internal static class JobEnablement
{
    public sealed record LockedJob(string JobType, bool Enabled);

    public sealed record ScheduleNextRun(Guid ScheduleId, string CronExpr, string TimeZone, bool Enabled, DateTimeOffset? NextRunAt);

    // NO KEY UPDATE: compatible with the KEY SHARE a concurrent claim takes for its job_runs foreign key (no deadlock).
    private const string LockSql = "SELECT job_type, enabled FROM jobs WHERE job_id = @JobId FOR NO KEY UPDATE";

    private const string DisableSql = "UPDATE jobs SET enabled = false, updated_at = @Now WHERE job_id = @JobId AND enabled";

    private const string DropSql = """
        UPDATE job_run_requests SET status = 'dropped', handled_at = @Now, dropped_reason = 'job_paused'
         WHERE job_id = @JobId AND status = 'pending' AND NOT force
        """;

    private const string EnableSql = "UPDATE jobs SET enabled = true, updated_at = @Now WHERE job_id = @JobId";

    private const string SchedulesSql = """
        SELECT schedule_id, cron_expr, timezone AS time_zone, enabled, next_run_at
          FROM job_schedules WHERE job_id = @JobId ORDER BY created_at, schedule_id FOR UPDATE
        """;

    private const string AdvanceSql = "UPDATE job_schedules SET next_run_at = @NextRunAt, updated_at = @Now WHERE schedule_id = @ScheduleId";

    /// <summary>Locks the job row for this transaction; its type and whether it is enabled. Unknown job → 404.</summary>
    public static async Task<LockedJob> LockAsync(NpgsqlConnection connection, NpgsqlTransaction tx, Guid jobId, CancellationToken ct) =>
        await connection.QuerySingleOrDefaultAsync<LockedJob>(new CommandDefinition(LockSql, new { JobId = jobId }, tx, cancellationToken: ct))
        ?? throw new NotFoundException("job", jobId.ToString());

    /// <summary>Disables the job (no-op when already disabled) and drops its unforced pending requests; returns (changed, dropped).</summary>
    public static async Task<(bool Changed, int DroppedRequests)> DisableAsync(NpgsqlConnection connection, NpgsqlTransaction tx, Guid jobId, DateTimeOffset now, CancellationToken ct)
    {
        var changed = await connection.ExecuteAsync(new CommandDefinition(DisableSql, new { JobId = jobId, Now = now }, tx, cancellationToken: ct)) == 1;
        var dropped = await connection.ExecuteAsync(new CommandDefinition(DropSql, new { JobId = jobId, Now = now }, tx, cancellationToken: ct));
        return (changed, dropped);
    }

    /// <summary>The job's schedules; when <paramref name="enable"/>, enables the job first and recomputes each next_run_at from now.</summary>
    public static async Task<IReadOnlyList<ScheduleNextRun>> SchedulesAsync(NpgsqlConnection connection, NpgsqlTransaction tx, Guid jobId, bool enable,
        DateTimeOffset now, CancellationToken ct)
    {
        var schedules = (await connection.QueryAsync<ScheduleNextRun>(new CommandDefinition(SchedulesSql, new { JobId = jobId }, tx, cancellationToken: ct))).ToList();
        if (!enable) return schedules;
        await connection.ExecuteAsync(new CommandDefinition(EnableSql, new { JobId = jobId, Now = now }, tx, cancellationToken: ct));
        for (var i = 0; i < schedules.Count; i++)
        {
            var next = CronRules.NextRunAt(schedules[i].CronExpr, schedules[i].TimeZone, now);
            await connection.ExecuteAsync(new CommandDefinition(AdvanceSql, new { schedules[i].ScheduleId, NextRunAt = next, Now = now }, tx, cancellationToken: ct));
            schedules[i] = schedules[i] with { NextRunAt = next };
        }
        return schedules;
    }
}
