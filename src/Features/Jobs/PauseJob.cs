using Dapper;
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

    // NO KEY UPDATE: compatible with the KEY SHARE a concurrent claim takes for its job_runs foreign key (no deadlock).
    private const string LockSql = "SELECT enabled FROM jobs WHERE job_id = @JobId FOR NO KEY UPDATE";

    private const string Sql = "UPDATE jobs SET enabled = false, updated_at = @Now WHERE job_id = @JobId AND enabled";

    private const string DropSql = """
        UPDATE job_run_requests SET status = 'dropped', handled_at = @Now, dropped_reason = 'job_paused'
         WHERE job_id = @JobId AND status = 'pending' AND NOT force
        """;

    internal sealed class Handler(Db db, TimeProvider clock) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            if (await connection.ExecuteScalarAsync<bool?>(new CommandDefinition(LockSql, new { request.JobId }, tx, cancellationToken: ct)) is null)
                throw new NotFoundException("job", request.JobId.ToString());

            var changed = await connection.ExecuteAsync(new CommandDefinition(Sql, new { request.JobId, Now = now }, tx, cancellationToken: ct)) == 1;
            var dropped = await connection.ExecuteAsync(new CommandDefinition(DropSql, new { request.JobId, Now = now }, tx, cancellationToken: ct));
            await Audit.WriteAsync(connection, tx, now, request.Actor, "job.paused", "job", request.JobId.ToString(),
                new { changed, dropped_requests = dropped }, ct);
            await tx.CommitAsync(ct);
            return new Result(request.JobId, false, changed, dropped);
        }
    }
}
