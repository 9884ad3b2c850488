using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Cron;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Schedules;

/// <summary>Adds a 5-field cron schedule (evaluated in an IANA time zone, default UTC) to a job.</summary>
public static class CreateSchedule
{
    public sealed record Command(Guid JobId, string CronExpr, string? TimeZone, bool Enabled, Actor Actor) : IRequest<Result>;

    public sealed record Result(Guid ScheduleId, Guid JobId, string CronExpr, string TimeZone, bool Enabled, DateTimeOffset? NextRunAt);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.JobId).NotEmpty().WithMessage("job_id is required");
            RuleFor(c => c.CronExpr).ValidCron();
            RuleFor(c => c.TimeZone).ValidTimeZone();
            RuleFor(c => c.Actor).NotNull();
        }
    }

    private const string JobSql = "SELECT 1 FROM jobs WHERE job_id = @JobId FOR SHARE";

    private const string Sql = """
        INSERT INTO job_schedules (schedule_id, job_id, cron_expr, next_run_at, enabled, timezone, created_at, updated_at)
        VALUES (@ScheduleId, @JobId, @CronExpr, @NextRunAt, @Enabled, @TimeZone, @Now, @Now)
        RETURNING schedule_id, job_id, cron_expr, timezone AS time_zone, enabled, next_run_at
        """;

    internal sealed class Handler(Db db, TimeProvider clock) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            var cron = request.CronExpr.Trim();
            var zone = request.TimeZone ?? ScheduleTimeZones.Default;
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            if (await connection.ExecuteScalarAsync<int?>(new CommandDefinition(JobSql, new { request.JobId }, tx, cancellationToken: ct)) is null)
                throw new NotFoundException("job", request.JobId.ToString());

            var schedule = await connection.QuerySingleAsync<Result>(new CommandDefinition(Sql, new
            {
                ScheduleId = Guid.NewGuid(), request.JobId, CronExpr = cron, TimeZone = zone, request.Enabled,
                NextRunAt = CronRules.NextRunAt(cron, zone, now), Now = now,
            }, tx, cancellationToken: ct));
            await Audit.WriteAsync(connection, tx, now, request.Actor, "schedule.created", "schedule", schedule.ScheduleId.ToString(),
                new { job_id = schedule.JobId, cron_expr = schedule.CronExpr, time_zone = schedule.TimeZone, enabled = schedule.Enabled, next_run_at = schedule.NextRunAt }, ct);
            await tx.CommitAsync(ct);
            return schedule;
        }
    }
}
