using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Jobs;

/// <summary>
/// Disables a job: its schedules stop firing and queued run-now requests that were not forced are dropped.
/// A run already in progress continues (use CancelRun to stop it).
/// </summary>
public static class PauseJob
{
    public sealed record Command(Guid JobId, Actor Actor) : IRequest<Result>;

    public sealed record Result(Guid JobId, bool Enabled, bool Changed, int DroppedRequests);

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
            await JobEnablement.LockAsync(connection, tx, request.JobId, ct);
            var (changed, dropped) = await JobEnablement.DisableAsync(connection, tx, request.JobId, now, ct);
            await Audit.WriteAsync(connection, tx, now, request.Actor, "job.paused", "job", request.JobId.ToString(),
                new { changed, dropped_requests = dropped }, ct);
            await tx.CommitAsync(ct);
            return new Result(request.JobId, false, changed, dropped);
        }
    }
}
