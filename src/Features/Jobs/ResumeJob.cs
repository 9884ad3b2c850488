using FluentValidation;
using MediatR;
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

    internal sealed class Handler(Db db, TimeProvider clock) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            var (_, enabled) = await JobEnablement.LockAsync(connection, tx, request.JobId, ct);
            var schedules = (await JobEnablement.SchedulesAsync(connection, tx, request.JobId, enable: !enabled, now, ct))
                .Select(s => new ScheduleNextRun(s.ScheduleId, s.CronExpr, s.TimeZone, s.Enabled, s.NextRunAt)).ToList();
            await Audit.WriteAsync(connection, tx, now, request.Actor, "job.resumed", "job", request.JobId.ToString(),
                new { changed = !enabled, schedules = schedules.Select(s => new { schedule_id = s.ScheduleId, next_run_at = s.NextRunAt }) }, ct);
            await tx.CommitAsync(ct);
            return new Result(request.JobId, true, !enabled, schedules);
        }
    }
}
