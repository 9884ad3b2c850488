using Dapper;
using Npgsql;
using Sentinel.Features.Runs;

namespace Sentinel.Features.Jobs;

/// <summary>One job as ListJobs and GetJobStatus show it: schedules, next run, last run, the run in progress and any queued run-now request.</summary>
public sealed record JobView(
    Guid JobId, string JobType, string? Name, bool Enabled, string Config, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    IReadOnlyList<JobView.Schedule> Schedules, DateTimeOffset? NextRunAt, JobView.RunBrief? LastRun, JobView.RunBrief? RunningRun, Guid? PendingRequestId)
{
    public sealed record Schedule(Guid ScheduleId, string CronExpr, string TimeZone, bool Enabled, DateTimeOffset? NextRunAt);

    public sealed record RunBrief(Guid RunId, string Status, string TriggeredBy, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? Error);

    private const string Sql = """
        SELECT j.job_id, j.job_type, j.name, j.enabled, j.config::text AS config, j.created_at, j.updated_at
          FROM jobs j WHERE (@JobId::uuid IS NULL OR j.job_id = @JobId) ORDER BY j.created_at, j.job_id;

        SELECT s.job_id, s.schedule_id, s.cron_expr, s.timezone AS time_zone, s.enabled, s.next_run_at
          FROM job_schedules s WHERE (@JobId::uuid IS NULL OR s.job_id = @JobId) ORDER BY s.created_at, s.schedule_id;

        SELECT j.job_id, last.run_id, last.status, last.triggered_by, last.started_at, last.finished_at, last.error
          FROM jobs j
          CROSS JOIN LATERAL (SELECT r.run_id, r.status, r.triggered_by, r.started_at, r.finished_at, r.error
                                FROM job_runs r WHERE r.job_id = j.job_id
                               ORDER BY r.started_at DESC, r.run_id DESC LIMIT 1) last
         WHERE (@JobId::uuid IS NULL OR j.job_id = @JobId);

        SELECT r.job_id, r.run_id, r.status, r.triggered_by, r.started_at, r.finished_at, r.error
          FROM job_runs r WHERE r.status = 'running' AND (@JobId::uuid IS NULL OR r.job_id = @JobId);

        SELECT q.job_id, q.request_id FROM job_run_requests q
         WHERE q.status = 'pending' AND (@JobId::uuid IS NULL OR q.job_id = @JobId);
        """;

    private sealed record JobRow(Guid JobId, string JobType, string? Name, bool Enabled, string Config, DateTime CreatedAt, DateTime UpdatedAt);

    private sealed record ScheduleRow(Guid JobId, Guid ScheduleId, string CronExpr, string TimeZone, bool Enabled, DateTime? NextRunAt);

    private sealed record RunRow(Guid JobId, Guid RunId, string Status, string TriggeredBy, DateTime? StartedAt, DateTime? FinishedAt, string? Error)
    {
        public RunBrief ToBrief() => new(RunId, Status, TriggeredBy, RunView.Utc(StartedAt), RunView.Utc(FinishedAt), Error);
    }

    private sealed record RequestRow(Guid JobId, Guid RequestId);

    /// <summary>Loads all jobs (ListJobs), or one (GetJobStatus).</summary>
    internal static async Task<IReadOnlyList<JobView>> LoadAsync(NpgsqlConnection connection, Guid? jobId, CancellationToken ct)
    {
        await using var grid = await connection.QueryMultipleAsync(new CommandDefinition(Sql, new { JobId = jobId }, cancellationToken: ct));
        var jobs = (await grid.ReadAsync<JobRow>()).ToList();
        var schedules = (await grid.ReadAsync<ScheduleRow>()).ToLookup(s => s.JobId);
        var last = (await grid.ReadAsync<RunRow>()).ToDictionary(r => r.JobId);
        var running = (await grid.ReadAsync<RunRow>()).GroupBy(r => r.JobId).ToDictionary(g => g.Key, g => g.OrderByDescending(r => r.StartedAt).First());
        var pending = (await grid.ReadAsync<RequestRow>()).ToDictionary(r => r.JobId, r => r.RequestId);

        return jobs.Select(j =>
        {
            var own = schedules[j.JobId].Select(s => new Schedule(s.ScheduleId, s.CronExpr, s.TimeZone, s.Enabled, RunView.Utc(s.NextRunAt))).ToList();
            var next = j.Enabled ? own.Where(s => s.Enabled && s.NextRunAt is not null).Min(s => s.NextRunAt) : null;
            return new JobView(j.JobId, j.JobType, j.Name, j.Enabled, j.Config, RunView.Utc(j.CreatedAt)!.Value, RunView.Utc(j.UpdatedAt)!.Value, own, next,
                last.GetValueOrDefault(j.JobId)?.ToBrief(), running.GetValueOrDefault(j.JobId)?.ToBrief(),
                pending.TryGetValue(j.JobId, out var requestId) ? requestId : null);
        }).ToList();
    }
}
