using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Schedules;

/// <summary>Removes a schedule; its job and past runs stay.</summary>
public static class DeleteSchedule
{
    public sealed record Command(Guid ScheduleId, Actor Actor) : IRequest<Result>;

    public sealed record Result(Guid ScheduleId, Guid JobId, string CronExpr, string TimeZone);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.ScheduleId).NotEmpty().WithMessage("schedule_id is required");
            RuleFor(c => c.Actor).NotNull();
        }
    }

    private const string Sql = """
        DELETE FROM job_schedules WHERE schedule_id = @ScheduleId
        RETURNING schedule_id, job_id, cron_expr, timezone AS time_zone
        """;

    internal sealed class Handler(Db db, TimeProvider clock) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            var schedule = await connection.QuerySingleOrDefaultAsync<Result>(new CommandDefinition(Sql, new { request.ScheduleId }, tx, cancellationToken: ct))
                ?? throw new NotFoundException("schedule", request.ScheduleId.ToString());
            await Audit.WriteAsync(connection, tx, now, request.Actor, "schedule.deleted", "schedule", schedule.ScheduleId.ToString(),
                new { job_id = schedule.JobId, cron_expr = schedule.CronExpr, time_zone = schedule.TimeZone }, ct);
            await tx.CommitAsync(ct);
            return schedule;
        }
    }
}
