using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Cron;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Schedules;

/// <summary>
/// Changes a schedule's cron, time zone or enabled flag (null leaves a field as it is). next_run_at is recomputed
/// from now when the cron or zone changes or the schedule is re-enabled, so no missed occurrence fires on re-enable.
/// </summary>
public static class UpdateSchedule
{
    public sealed record Command(Guid ScheduleId, string? CronExpr, string? TimeZone, bool? Enabled, Actor Actor) : IRequest<Result>;

    public sealed record Result(Guid ScheduleId, Guid JobId, string CronExpr, string TimeZone, bool Enabled, DateTimeOffset? NextRunAt);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.ScheduleId).NotEmpty().WithMessage("schedule_id is required");
            RuleFor(c => c.CronExpr).ValidCron().When(c => c.CronExpr is not null);
            RuleFor(c => c.TimeZone).ValidTimeZone();
            RuleFor(c => c.Actor).NotNull();
        }
    }

    private const string LockSql = """
        SELECT schedule_id, job_id, cron_expr, timezone AS time_zone, enabled, next_run_at
          FROM job_schedules WHERE schedule_id = @ScheduleId FOR UPDATE
        """;

    private const string Sql = """
        UPDATE job_schedules
           SET cron_expr = @CronExpr, timezone = @TimeZone, enabled = @Enabled, next_run_at = @NextRunAt, updated_at = @Now
         WHERE schedule_id = @ScheduleId
        RETURNING schedule_id, job_id, cron_expr, timezone AS time_zone, enabled, next_run_at
        """;

    internal sealed class Handler(Db db, TimeProvider clock) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            var current = await connection.QuerySingleOrDefaultAsync<Result>(new CommandDefinition(LockSql, new { request.ScheduleId }, tx, cancellationToken: ct))
                ?? throw new NotFoundException("schedule", request.ScheduleId.ToString());

            var cron = request.CronExpr?.Trim() ?? current.CronExpr;
            var zone = request.TimeZone ?? current.TimeZone;
            var enabled = request.Enabled ?? current.Enabled;
            var recompute = cron != current.CronExpr || zone != current.TimeZone || (enabled && !current.Enabled) || current.NextRunAt is null;
            var nextRunAt = recompute ? CronRules.NextRunAt(cron, zone, now) : current.NextRunAt;

            var schedule = await connection.QuerySingleAsync<Result>(new CommandDefinition(Sql,
                new { request.ScheduleId, CronExpr = cron, TimeZone = zone, Enabled = enabled, NextRunAt = nextRunAt, Now = now }, tx, cancellationToken: ct));
            await Audit.WriteAsync(connection, tx, now, request.Actor, "schedule.updated", "schedule", schedule.ScheduleId.ToString(), new
            {
                job_id = schedule.JobId,
                cron_expr = schedule.CronExpr,
                time_zone = schedule.TimeZone,
                enabled = schedule.Enabled,
                next_run_at = schedule.NextRunAt,
                previous = new { cron_expr = current.CronExpr, time_zone = current.TimeZone, enabled = current.Enabled },
            }, ct);
            await tx.CommitAsync(ct);
            return schedule;
        }
    }
}
