using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Jobs;

namespace Sentinel.Features.Execution;

/// <summary>
/// `worker run-once &lt;job_type&gt;`: claims a run of the oldest job of that type (creating a disabled job named
/// "&lt;type&gt; (command line)" when there is none) with triggered_by = cli, under the same advisory lock as the
/// scheduler. --config replaces the job's config for this run only. A job already running → 409.
/// </summary>
public static class StartCliRun
{
    public sealed record Command(string JobType, string? Config, string WorkerId) : IExecutorRequest<ClaimedRun>;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.JobType).Must(JobTypes.IsKnown)
                .WithMessage(c => $"unknown job_type '{c.JobType}'; expected one of: {string.Join(", ", JobTypes.All)}");
            RuleFor(c => c.Config).ValidJobConfig(c => c.JobType).When(c => c.Config is not null);
        }
    }

    private const string FindSql = """
        SELECT job_id, config::text AS config FROM jobs WHERE job_type = @JobType ORDER BY created_at, job_id LIMIT 1
        """;

    private const string CreateSql = """
        INSERT INTO jobs (job_id, job_type, tenant_id, config, enabled, name, created_at, updated_at)
        VALUES (@JobId, @JobType, 'default', '{}'::jsonb, false, @Name, @Now, @Now)
        """;

    private const string InsertRunSql = """
        INSERT INTO job_runs (run_id, job_id, started_at, status, triggered_by, worker_id, heartbeat_at, actor_oid, actor_upn, actor_name)
        VALUES (@RunId, @JobId, @Now, 'running', 'cli', @WorkerId, @Now, @Oid, @Upn, @Name)
        """;

    private sealed record JobRow(Guid JobId, string Config);

    internal sealed class Handler(Db db, TimeProvider clock) : IRequestHandler<Command, ClaimedRun>
    {
        public async Task<ClaimedRun> Handle(Command request, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            var actor = Actor.Cli;
            var connection = await RunClaims.OpenLockConnectionAsync(db, ct);
            try
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                var job = await connection.QuerySingleOrDefaultAsync<JobRow>(new CommandDefinition(FindSql, new { request.JobType }, tx, cancellationToken: ct));
                if (job is null)
                {
                    job = new JobRow(Guid.NewGuid(), "{}");
                    await connection.ExecuteAsync(new CommandDefinition(CreateSql, new { job.JobId, request.JobType, Name = $"{request.JobType} (command line)", Now = now }, tx, cancellationToken: ct));
                    await Audit.WriteAsync(connection, tx, now, actor, "job.created", "job", job.JobId.ToString(), new { job_type = request.JobType, enabled = false, reason = "run-once" }, ct);
                }
                if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition(RunClaims.TryLockSql, new { job.JobId }, tx, cancellationToken: ct)))
                {
                    var running = await connection.ExecuteScalarAsync<Guid?>(new CommandDefinition(RunClaims.RunningRunSql, new { job.JobId }, tx, cancellationToken: ct));
                    throw new ConflictException($"job '{job.JobId}' ({request.JobType}) is already running{(running is { } r ? $" (run {r})" : "")}", "job_running");
                }
                try
                {
                    await RunClaims.CloseOrphansAsync(connection, tx, job.JobId, now, ct);
                    var runId = Guid.NewGuid();
                    await connection.ExecuteAsync(new CommandDefinition(InsertRunSql,
                        new { RunId = runId, job.JobId, Now = now, request.WorkerId, actor.Oid, actor.Upn, actor.Name }, tx, cancellationToken: ct));
                    await Audit.WriteAsync(connection, tx, now, actor, "run.started", "run", runId.ToString(), new
                    {
                        job_id = job.JobId, job_type = request.JobType, triggered_by = "cli", worker_id = request.WorkerId, config_override = request.Config is not null,
                    }, ct);
                    await tx.CommitAsync(ct);
                    var config = JobTypes.ParseConfig(request.Config ?? job.Config).Config!;
                    return new ClaimedRun(connection, runId, job.JobId, request.JobType, config, actor, "cli", request.WorkerId, now);
                }
                catch
                {
                    await RunClaims.RollbackAndReleaseAsync(connection, tx, job.JobId);
                    throw;
                }
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        }
    }
}
