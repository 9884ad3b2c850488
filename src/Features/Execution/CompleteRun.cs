using System.Text.Json;
using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Execution;

/// <summary>
/// Closes a run as success / partial / failed / cancelled — a compare-and-set on the claim: only a run that is still
/// running and still owned by this worker changes. A stale worker (its run already closed as worker_lost, or
/// cancelled on shutdown) gets Closed = false and changes nothing.
/// </summary>
public static class CompleteRun
{
    public sealed record Command(Guid RunId, string WorkerId, string Status, string? Error, IReadOnlyDictionary<string, object?>? Summary, Actor Actor)
        : IExecutorRequest<Result>;

    public sealed record Result(Guid RunId, bool Closed, string Status);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.RunId).NotEmpty().WithMessage("run_id is required");
            RuleFor(c => c.WorkerId).NotEmpty().WithMessage("worker_id is required");
            RuleFor(c => c.Status).Must(s => s is "success" or "failed" or "cancelled").WithMessage("status must be success, failed or cancelled");
            RuleFor(c => c.Error).NotEmpty().When(c => c.Status != "success").WithMessage("error is required unless the run succeeded");
            RuleFor(c => c.Actor).NotNull();
        }
    }

    private const string Sql = """
        UPDATE job_runs
           SET status = @Status, finished_at = @Now, error = @Error, heartbeat_at = @Now,
               progress = progress || @Summary::jsonb
         WHERE run_id = @RunId AND status = 'running' AND worker_id = @WorkerId
        RETURNING job_id, EXTRACT(EPOCH FROM (finished_at - started_at))::float8 AS duration_seconds
        """;

    private sealed record Row(Guid JobId, double? DurationSeconds);

    internal sealed class Handler(Db db, TimeProvider clock) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            var summary = JsonSerializer.Serialize(request.Summary ?? new Dictionary<string, object?>(), Json.Options);
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(Sql,
                new { request.RunId, request.WorkerId, request.Status, request.Error, Summary = summary, Now = now }, tx, cancellationToken: ct));
            if (row is null) return new Result(request.RunId, false, request.Status);

            var action = request.Status switch { "success" => "run.succeeded", "partial" => "run.partial", "cancelled" => "run.cancelled", _ => "run.failed" };
            await Audit.WriteAsync(connection, tx, now, request.Actor, action, "run", request.RunId.ToString(), new
            {
                job_id = row.JobId,
                error = request.Error,
                duration_seconds = row.DurationSeconds,
                summary = request.Summary,
            }, ct);
            await tx.CommitAsync(ct);
            return new Result(request.RunId, true, request.Status);
        }
    }
}
