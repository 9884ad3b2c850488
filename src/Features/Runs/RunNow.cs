using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Runs;

/// <summary>
/// Asks the scheduler to run a job now. A job that is running returns its run (AlreadyRunning); otherwise a
/// run request is queued (one pending request per job: a second call returns the first) and the schedulers are
/// woken by NOTIFY. A paused job runs only with Force; without it the request is refused with 409.
/// </summary>
public static class RunNow
{
    public const string NotifyChannel = "sentinel_run_requests";

    public sealed record Command(Guid JobId, bool Force, Actor Actor) : IRequest<Result>;

    /// <summary>Either RunId (the running run, AlreadyRunning) or RequestId (queued; the run starts shortly).</summary>
    public sealed record Result(Guid JobId, Guid? RunId, Guid? RequestId, bool AlreadyRunning, bool AlreadyQueued);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.JobId).NotEmpty().WithMessage("job_id is required");
            RuleFor(c => c.Actor).NotNull();
        }
    }

    private const string JobSql = """
        SELECT j.enabled,
               (SELECT r.run_id FROM job_runs r WHERE r.job_id = j.job_id AND r.status = 'running' ORDER BY r.started_at DESC LIMIT 1) AS running_run_id
          FROM jobs j WHERE j.job_id = @JobId FOR SHARE
        """;

    private const string InsertSql = """
        INSERT INTO job_run_requests (request_id, job_id, requested_at, actor_oid, actor_upn, actor_name, force, status)
        VALUES (@RequestId, @JobId, @Now, @Oid, @Upn, @Name, @Force, 'pending')
        ON CONFLICT (job_id) WHERE status = 'pending' DO NOTHING
        RETURNING request_id
        """;

    private const string PendingSql = "SELECT request_id FROM job_run_requests WHERE job_id = @JobId AND status = 'pending'";

    private const string ForceSql = "UPDATE job_run_requests SET force = true WHERE request_id = @RequestId";

    private const string NotifySql = $"SELECT pg_notify('{NotifyChannel}', @JobId::text)";

    private sealed record JobRow(bool Enabled, Guid? RunningRunId);

    internal sealed class Handler(Db db, TimeProvider clock) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            var job = await connection.QuerySingleOrDefaultAsync<JobRow>(new CommandDefinition(JobSql, new { request.JobId }, tx, cancellationToken: ct))
                ?? throw new NotFoundException("job", request.JobId.ToString());

            if (job.RunningRunId is { } running)
            {
                await Audit.WriteAsync(connection, tx, now, request.Actor, "job.run_now", "job", request.JobId.ToString(),
                    new { outcome = "already_running", run_id = running, force = request.Force }, ct);
                await tx.CommitAsync(ct);
                return new Result(request.JobId, running, null, true, false);
            }
            if (!job.Enabled && !request.Force)
                throw new ConflictException($"job '{request.JobId}' is paused; resume it, or run it anyway with force: true", "job_paused");

            var requestId = await connection.ExecuteScalarAsync<Guid?>(new CommandDefinition(InsertSql, new
            {
                RequestId = Guid.NewGuid(), request.JobId, Now = now, request.Actor.Oid, request.Actor.Upn, request.Actor.Name, request.Force,
            }, tx, cancellationToken: ct));
            var alreadyQueued = requestId is null;
            if (alreadyQueued)
            {
                requestId = await connection.ExecuteScalarAsync<Guid>(new CommandDefinition(PendingSql, new { request.JobId }, tx, cancellationToken: ct));
                // A forced request on a paused job must not be dropped because an earlier one was not forced.
                if (request.Force)
                    await connection.ExecuteAsync(new CommandDefinition(ForceSql, new { RequestId = requestId }, tx, cancellationToken: ct));
            }
            await connection.ExecuteAsync(new CommandDefinition(NotifySql, new { request.JobId }, tx, cancellationToken: ct));
            await Audit.WriteAsync(connection, tx, now, request.Actor, "job.run_now", "job", request.JobId.ToString(),
                new { outcome = alreadyQueued ? "already_queued" : "queued", request_id = requestId, force = request.Force }, ct);
            await tx.CommitAsync(ct);
            return new Result(request.JobId, null, requestId, false, alreadyQueued);
        }
    }
}
