using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Jobs;

/// <summary>Deletes a job with its schedules, runs and requests. Refused (409) while a run of it is running.</summary>
public static class DeleteJob
{
    public sealed record Command(Guid JobId, Actor Actor) : IRequest<Result>;

    public sealed record Result(Guid JobId, string JobType, string? Name);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.JobId).NotEmpty().WithMessage("job_id is required");
            RuleFor(c => c.Actor).NotNull();
        }
    }

    private const string LockSql = """
        SELECT j.job_id, j.job_type, j.name,
               (SELECT r.run_id FROM job_runs r WHERE r.job_id = j.job_id AND r.status = 'running' LIMIT 1) AS running_run_id
          FROM jobs j WHERE j.job_id = @JobId FOR UPDATE
        """;

    private const string Sql = "DELETE FROM jobs WHERE job_id = @JobId";

    private sealed record Row(Guid JobId, string JobType, string? Name, Guid? RunningRunId);

    internal sealed class Handler(Db db, TimeProvider clock) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            var job = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(LockSql, new { request.JobId }, tx, cancellationToken: ct))
                ?? throw new NotFoundException("job", request.JobId.ToString());
            if (job.RunningRunId is { } running)
                throw new ConflictException($"job '{job.JobId}' is running (run {running}); cancel the run or wait for it to finish before deleting the job", "job_running");

            await connection.ExecuteAsync(new CommandDefinition(Sql, new { request.JobId }, tx, cancellationToken: ct));
            await Audit.WriteAsync(connection, tx, now, request.Actor, "job.deleted", "job", job.JobId.ToString(),
                new { job_type = job.JobType, name = job.Name }, ct);
            await tx.CommitAsync(ct);
            return new Result(job.JobId, job.JobType, job.Name);
        }
    }
}
