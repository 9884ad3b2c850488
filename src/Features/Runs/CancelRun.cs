using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Runs;

/// <summary>
/// Asks a running run to stop: sets cancel_requested_at, which the worker running it observes on its next
/// heartbeat (about a second) and turns into a cancellation of the job; the run then closes as cancelled.
/// </summary>
public static class CancelRun
{
    public sealed record Command(Guid RunId, Actor Actor) : IRequest<Result>;

    public sealed record Result(Guid RunId, Guid JobId, string Status, DateTimeOffset CancelRequestedAt);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.RunId).NotEmpty().WithMessage("run_id is required");
            RuleFor(c => c.Actor).NotNull();
        }
    }

    private const string LockSql = "SELECT run_id, job_id, status, cancel_requested_at FROM job_runs WHERE run_id = @RunId FOR UPDATE";

    private const string Sql = "UPDATE job_runs SET cancel_requested_at = @Now WHERE run_id = @RunId AND status = 'running'";

    private sealed record Row(Guid RunId, Guid JobId, string Status, DateTimeOffset? CancelRequestedAt);

    internal sealed class Handler(Db db, TimeProvider clock) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            var run = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(LockSql, new { request.RunId }, tx, cancellationToken: ct))
                ?? throw new NotFoundException("run", request.RunId.ToString());
            if (run.Status != "running")
                throw new ConflictException($"run '{run.RunId}' is already {run.Status}; only a running run can be cancelled", "run_not_running");
            if (run.CancelRequestedAt is { } earlier)
                return new Result(run.RunId, run.JobId, run.Status, earlier);

            await connection.ExecuteAsync(new CommandDefinition(Sql, new { request.RunId, Now = now }, tx, cancellationToken: ct));
            await Audit.WriteAsync(connection, tx, now, request.Actor, "run.cancel_requested", "run", run.RunId.ToString(), new { job_id = run.JobId }, ct);
            await tx.CommitAsync(ct);
            return new Result(run.RunId, run.JobId, run.Status, now);
        }
    }
}
