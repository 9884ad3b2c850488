using Dapper;
using FluentValidation;
using MediatR;
using Microsoft.Extensions.Logging;
using Npgsql;
using Sentinel.Features.Cron;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Jobs;

namespace Sentinel.Features.Execution;

/// <summary>
/// One claim step of the scheduler: takes the oldest pending run-now request, else the most overdue schedule
/// (<c>FOR UPDATE SKIP LOCKED</c>, so concurrent schedulers never wait for or double-claim a row), takes the job's
/// advisory lock on a dedicated connection, records the run as running and advances the schedule — all in one
/// transaction. Returns null when nothing is due.
/// <list type="bullet">
/// <item>Lock not acquired and the job has a running run: it runs elsewhere. A request is dropped
/// (already_running), a schedule's occurrence skipped; nothing is queued behind the running job.</item>
/// <item>Lock not acquired and no running run of the job (another job's key collides, or a claim of the same job
/// has not committed yet): nothing is lost — the request stays pending, the occurrence stays due, and the next
/// tick retries; this call goes on with other candidates.</item>
/// <item>Missed occurrences (worker down) give one run: next_run_at moves to the first occurrence after now.</item>
/// <item>The unique index on (schedule_id, scheduled_for) makes a second run of one occurrence impossible.</item>
/// </list>
/// </summary>
public static class ClaimNextRun
{
    public sealed record Command(string WorkerId) : IExecutorRequest<ClaimedRun?>;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => RuleFor(c => c.WorkerId).NotEmpty().WithMessage("worker_id is required");
    }

    private const string RequestSql = """
        SELECT q.request_id, q.job_id, q.force, q.actor_oid, q.actor_upn, q.actor_name, j.job_type, j.config::text AS config, j.enabled
          FROM job_run_requests q JOIN jobs j ON j.job_id = q.job_id
         WHERE q.status = 'pending' AND q.request_id <> ALL (@Deferred)
         ORDER BY q.requested_at
         FOR UPDATE OF q SKIP LOCKED
         LIMIT 1
        """;

    private const string DropRequestSql = """
        UPDATE job_run_requests SET status = 'dropped', handled_at = @Now, dropped_reason = @Reason, run_id = @RunId
         WHERE request_id = @RequestId
        """;

    private const string ClaimRequestSql = """
        UPDATE job_run_requests SET status = 'claimed', handled_at = @Now, run_id = @RunId WHERE request_id = @RequestId
        """;

    private const string DueScheduleSql = """
        SELECT s.schedule_id, s.job_id, s.cron_expr, s.timezone AS time_zone, s.next_run_at, j.job_type, j.config::text AS config
          FROM job_schedules s JOIN jobs j ON j.job_id = s.job_id
         WHERE s.enabled AND j.enabled AND s.next_run_at <= @Now AND s.schedule_id <> ALL (@Deferred)
         ORDER BY s.next_run_at
         FOR UPDATE OF s SKIP LOCKED
         LIMIT 1
        """;

    private const string AdvanceSql = "UPDATE job_schedules SET next_run_at = @NextRunAt WHERE schedule_id = @ScheduleId";

    private const string InsertRunSql = """
        INSERT INTO job_runs (run_id, job_id, started_at, status, triggered_by, schedule_id, scheduled_for, worker_id, heartbeat_at,
                              actor_oid, actor_upn, actor_name)
        VALUES (@RunId, @JobId, @Now, 'running', @TriggeredBy, @ScheduleId, @ScheduledFor, @WorkerId, @Now, @Oid, @Upn, @Name)
        ON CONFLICT (schedule_id, scheduled_for) WHERE schedule_id IS NOT NULL DO NOTHING
        """;

    private sealed record RequestRow(Guid RequestId, Guid JobId, bool Force, string? ActorOid, string? ActorUpn, string? ActorName, string JobType, string Config, bool Enabled);

    private sealed record ScheduleRow(Guid ScheduleId, Guid JobId, string CronExpr, string TimeZone, DateTime NextRunAt, string JobType, string Config);

    private enum Step { Claimed, Handled, Deferred, Nothing }

    internal sealed class Handler(Db db, TimeProvider clock, ILogger<Handler> logger) : IRequestHandler<Command, ClaimedRun?>
    {
        public async Task<ClaimedRun?> Handle(Command request, CancellationToken ct)
        {
            var connection = await RunClaims.OpenLockConnectionAsync(db, ct);
            // Candidates whose lock is held without a running run of their job: left due for the next tick.
            var deferredRequests = new List<Guid>();
            var deferredSchedules = new List<Guid>();
            try
            {
                // Each step commits on its own; drops, skips and deferrals continue with the next candidate.
                for (var guard = 0; guard < 1000; guard++)
                {
                    var (step, run) = await TryRequestAsync(connection, request.WorkerId, deferredRequests, ct);
                    if (step == Step.Nothing) (step, run) = await TryScheduleAsync(connection, request.WorkerId, deferredSchedules, ct);
                    if (step == Step.Claimed) return run;
                    if (step == Step.Nothing) break;
                }
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
            await connection.DisposeAsync();
            return null;
        }

        private async Task<(Step, ClaimedRun?)> TryRequestAsync(NpgsqlConnection connection, string workerId, List<Guid> deferred, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            await using var tx = await connection.BeginTransactionAsync(ct);
            var row = await connection.QuerySingleOrDefaultAsync<RequestRow>(new CommandDefinition(RequestSql, new { Deferred = deferred.ToArray() }, tx, cancellationToken: ct));
            if (row is null) return (Step.Nothing, null);

            var actor = new Actor(row.ActorOid, row.ActorUpn, row.ActorName);
            if (!row.Enabled && !row.Force)
            {
                await DropAsync(connection, tx, row, "job_paused", null, actor, now, ct);
                return (Step.Handled, null);
            }
            if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition(RunClaims.TryLockSql, new { row.JobId }, tx, cancellationToken: ct)))
            {
                var running = await connection.ExecuteScalarAsync<Guid?>(new CommandDefinition(RunClaims.RunningRunSql, new { row.JobId }, tx, cancellationToken: ct));
                if (running is null)
                {
                    await DeferAsync(tx, deferred, row.RequestId, row.JobId, "request");
                    return (Step.Deferred, null);
                }
                await DropAsync(connection, tx, row, "already_running", running, actor, now, ct);
                return (Step.Handled, null);
            }
            try
            {
                await RunClaims.CloseOrphansAsync(connection, tx, row.JobId, now, ct);
                var runId = Guid.NewGuid();
                await connection.ExecuteAsync(new CommandDefinition(InsertRunSql, new
                {
                    RunId = runId, row.JobId, Now = now, TriggeredBy = "run_now", ScheduleId = (Guid?)null, ScheduledFor = (DateTimeOffset?)null,
                    WorkerId = workerId, Oid = actor.Oid, Upn = actor.Upn, actor.Name,
                }, tx, cancellationToken: ct));
                await connection.ExecuteAsync(new CommandDefinition(ClaimRequestSql, new { row.RequestId, RunId = runId, Now = now }, tx, cancellationToken: ct));
                await Audit.WriteAsync(connection, tx, now, actor, "run.started", "run", runId.ToString(),
                    new { job_id = row.JobId, job_type = row.JobType, triggered_by = "run_now", request_id = row.RequestId, worker_id = workerId }, ct);
                await tx.CommitAsync(ct);
                return (Step.Claimed, new ClaimedRun(connection, runId, row.JobId, row.JobType, ParseConfig(row.Config), actor, "run_now", workerId, now));
            }
            catch
            {
                await RunClaims.RollbackAndReleaseAsync(connection, tx, row.JobId);
                throw;
            }
        }

        private static async Task DropAsync(NpgsqlConnection connection, NpgsqlTransaction tx, RequestRow row, string reason, Guid? runId, Actor actor,
            DateTimeOffset now, CancellationToken ct)
        {
            await connection.ExecuteAsync(new CommandDefinition(DropRequestSql, new { row.RequestId, Reason = reason, RunId = runId, Now = now }, tx, cancellationToken: ct));
            await Audit.WriteAsync(connection, tx, now, actor, "run.request_dropped", "job", row.JobId.ToString(),
                new { request_id = row.RequestId, reason, running_run_id = runId }, ct);
            await tx.CommitAsync(ct);
        }

        private async Task DeferAsync(NpgsqlTransaction tx, List<Guid> deferred, Guid candidate, Guid jobId, string kind)
        {
            await tx.RollbackAsync(CancellationToken.None);
            deferred.Add(candidate);
            logger.LogInformation("{Kind} {Candidate}: the lock of job {JobId} is held but the job has no running run; left due for the next tick",
                kind, candidate, jobId);
        }

        private async Task<(Step, ClaimedRun?)> TryScheduleAsync(NpgsqlConnection connection, string workerId, List<Guid> deferred, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            await using var tx = await connection.BeginTransactionAsync(ct);
            var row = await connection.QuerySingleOrDefaultAsync<ScheduleRow>(new CommandDefinition(DueScheduleSql, new { Now = now, Deferred = deferred.ToArray() }, tx, cancellationToken: ct));
            if (row is null) return (Step.Nothing, null);

            DateTimeOffset? next;
            try
            {
                // From now, not from the missed occurrence: however many were missed, this claim is the one run.
                next = CronRules.NextRunAt(row.CronExpr, row.TimeZone, now);
            }
            catch (Exception e) when (e is CronFormatException or InvalidTimeZoneException)
            {
                // Only reachable through SQL edits that bypassed validation: park the schedule, say why.
                logger.LogWarning("schedule {ScheduleId} has an invalid cron or time zone; disabling it", row.ScheduleId);
                await connection.ExecuteAsync(new CommandDefinition("UPDATE job_schedules SET enabled = false, next_run_at = NULL WHERE schedule_id = @ScheduleId",
                    new { row.ScheduleId }, tx, cancellationToken: ct));
                await Audit.WriteAsync(connection, tx, now, Actor.System, "schedule.disabled", "schedule", row.ScheduleId.ToString(),
                    new { reason = "invalid_cron", error = e.Message }, ct);
                await tx.CommitAsync(ct);
                return (Step.Handled, null);
            }

            var scheduledFor = new DateTimeOffset(DateTime.SpecifyKind(row.NextRunAt, DateTimeKind.Utc));
            if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition(RunClaims.TryLockSql, new { row.JobId }, tx, cancellationToken: ct)))
            {
                var running = await connection.ExecuteScalarAsync<Guid?>(new CommandDefinition(RunClaims.RunningRunSql, new { row.JobId }, tx, cancellationToken: ct));
                if (running is null)
                {
                    await DeferAsync(tx, deferred, row.ScheduleId, row.JobId, "schedule");
                    return (Step.Deferred, null);
                }
                await connection.ExecuteAsync(new CommandDefinition(AdvanceSql, new { row.ScheduleId, NextRunAt = next }, tx, cancellationToken: ct));
                await Audit.WriteAsync(connection, tx, now, Actor.System, "run.skipped", "schedule", row.ScheduleId.ToString(),
                    new { job_id = row.JobId, scheduled_for = scheduledFor, reason = "already_running", running_run_id = running, next_run_at = next }, ct);
                await tx.CommitAsync(ct);
                return (Step.Handled, null);
            }
            try
            {
                await connection.ExecuteAsync(new CommandDefinition(AdvanceSql, new { row.ScheduleId, NextRunAt = next }, tx, cancellationToken: ct));
                await RunClaims.CloseOrphansAsync(connection, tx, row.JobId, now, ct);
                var runId = Guid.NewGuid();
                var inserted = await connection.ExecuteAsync(new CommandDefinition(InsertRunSql, new
                {
                    RunId = runId, row.JobId, Now = now, TriggeredBy = "schedule", ScheduleId = (Guid?)row.ScheduleId, ScheduledFor = (DateTimeOffset?)scheduledFor,
                    WorkerId = workerId, Actor.System.Oid, Actor.System.Upn, Actor.System.Name,
                }, tx, cancellationToken: ct));
                if (inserted == 0)
                {
                    // This occurrence already has its run (next_run_at was moved back by hand): never twice.
                    await tx.CommitAsync(ct);
                    await RunClaims.ReleaseAsync(connection, row.JobId);
                    return (Step.Handled, null);
                }
                await Audit.WriteAsync(connection, tx, now, Actor.System, "run.started", "run", runId.ToString(),
                    new { job_id = row.JobId, job_type = row.JobType, triggered_by = "schedule", schedule_id = row.ScheduleId, scheduled_for = scheduledFor, worker_id = workerId }, ct);
                await tx.CommitAsync(ct);
                SentinelMetrics.RunStarted(row.JobType, now - scheduledFor);
                return (Step.Claimed, new ClaimedRun(connection, runId, row.JobId, row.JobType, ParseConfig(row.Config), Actor.System, "schedule", workerId, now));
            }
            catch
            {
                await RunClaims.RollbackAndReleaseAsync(connection, tx, row.JobId);
                throw;
            }
        }

        private static System.Text.Json.Nodes.JsonObject ParseConfig(string config) =>
            JobTypes.ParseConfig(config).Config ?? new System.Text.Json.Nodes.JsonObject();
    }
}
