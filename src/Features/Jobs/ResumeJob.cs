using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Cron;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Jobs;

/// <summary>
/// Re-enables a paused job. Its schedules' next_run_at are recomputed from now, so occurrences missed while
/// paused do not fire on resume.
/// </summary>
public static class ResumeJob
{
    public sealed record Command(Guid JobId, Actor Actor) : IRequest<Result>;

    public sealed record Result(Guid JobId, bool Enabled, bool Changed, IReadOnlyList<ScheduleNextRun> Schedules);

    public sealed record ScheduleNextRun(Guid ScheduleId, string CronExpr, string TimeZone, bool Enabled, DateTimeOffset? NextRunAt);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.JobId).NotEmpty().WithMessage("job_id is required");
            RuleFor(c => c.Actor).NotNull();
        }
    }

    // NO KEY UPDATE: compatible with the KEY SHARE a concurrent claim takes for its job_runs foreign key (no deadlock).
    private const string LockSql = "SELECT enabled FROM jobs WHERE job_id = @JobId FOR NO KEY UPDATE";

    private const string Sql = "UPDATE jobs SET enabled = true, updated_at = @Now WHERE job_id = @JobId";

    private const string SchedulesSql = """
        SELECT schedule_id, cron_expr, timezone AS time_zone, enabled, next_run_at
          FROM job_schedules WHERE job_id = @JobId ORDER BY created_at, schedule_id FOR UPDATE
        """;

    private const string AdvanceSql = "UPDATE job_schedules SET next_run_at = @NextRunAt, updated_at = @Now WHERE schedule_id = @ScheduleId";

    internal sealed class Handler(Db db, TimeProvider clock) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            var enabled = await connection.ExecuteScalarAsync<bool?>(new CommandDefinition(LockSql, new { request.JobId }, tx, cancellationToken: ct))
                ?? throw new NotFoundException("job", request.JobId.ToString());

            var schedules = (await connection.QueryAsync<ScheduleNextRun>(new CommandDefinition(SchedulesSql, new { request.JobId }, tx, cancellationToken: ct))).ToList();
            if (!enabled)
            {
                await connection.ExecuteAsync(new CommandDefinition(Sql, new { request.JobId, Now = now }, tx, cancellationToken: ct));
                for (var i = 0; i < schedules.Count; i++)
                {
                    var next = CronRules.NextRunAt(schedules[i].CronExpr, schedules[i].TimeZone, now);
                    await connection.ExecuteAsync(new CommandDefinition(AdvanceSql, new { schedules[i].ScheduleId, NextRunAt = next, Now = now }, tx, cancellationToken: ct));
                    schedules[i] = schedules[i] with { NextRunAt = next };
                }
            }
            await Audit.WriteAsync(connection, tx, now, request.Actor, "job.resumed", "job", request.JobId.ToString(),
                new { changed = !enabled, schedules = schedules.Select(s => new { schedule_id = s.ScheduleId, next_run_at = s.NextRunAt }) }, ct);
            await tx.CommitAsync(ct);
            return new Result(request.JobId, true, !enabled, schedules);
        }
    }
}
