using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Execution;

/// <summary>
/// The rescuer: closes as failed (<c>worker_lost</c>) every running run whose worker is gone — its job's advisory
/// lock is held by no session (process killed, connection dropped), or its heartbeat is older than the horizon
/// (worker hung). The scheduler calls it every tick; tests call it directly after forcing states with SQL.
/// A run is only ever inserted while its lock is held and unlocked after it is closed, so "running without a
/// lock" is never a run in progress.
/// </summary>
public static class RecoverLostRuns
{
    public sealed record Command(TimeSpan HeartbeatHorizon) : IExecutorRequest<Result>;

    public sealed record Result(IReadOnlyList<LostRun> Closed);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => RuleFor(c => c.HeartbeatHorizon).GreaterThan(TimeSpan.Zero).WithMessage("heartbeat_horizon must be positive");
    }

    public sealed record LostRun(Guid RunId, Guid JobId, string? WorkerId, string Reason);

    // One snapshot of pg_locks per call (pg_lock_status is not cheap), matched against each running run's key.
    private const string Sql = """
        WITH held AS (
            SELECT (l.classid::bigint << 32) | l.objid::bigint AS lock_key
              FROM pg_locks l
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())),
        lost AS (
            SELECT r.run_id, CASE WHEN h.lock_key IS NULL THEN 'lock_released' ELSE 'heartbeat_expired' END AS reason
              FROM job_runs r
              LEFT JOIN held h ON h.lock_key = sentinel_job_lock_key(r.job_id)
             WHERE r.status = 'running'
               AND (h.lock_key IS NULL OR r.heartbeat_at < @Now - @Horizon)
               FOR UPDATE OF r SKIP LOCKED)
        UPDATE job_runs r SET status = 'failed', finished_at = @Now, error = 'worker_lost'
          FROM lost
         WHERE r.run_id = lost.run_id AND r.status = 'running'
        RETURNING r.run_id, r.job_id, r.worker_id, lost.reason
        """;

    internal sealed class Handler(Db db, TimeProvider clock) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            var closed = (await connection.QueryAsync<LostRun>(new CommandDefinition(Sql, new { Now = now, Horizon = request.HeartbeatHorizon }, tx, cancellationToken: ct))).ToList();
            foreach (var run in closed)
                await Audit.WriteAsync(connection, tx, now, Actor.System, "run.worker_lost", "run", run.RunId.ToString(),
                    new { job_id = run.JobId, worker_id = run.WorkerId, reason = run.Reason }, ct);
            await tx.CommitAsync(ct);
            return new Result(closed);
        }
    }
}
