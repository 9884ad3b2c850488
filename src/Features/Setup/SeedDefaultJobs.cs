using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Jobs;

namespace Sentinel.Features.Setup;

/// <summary>
/// First run: seeds a graph_ingest job every 5 minutes (first run shortly after startup) and an hourly
/// refresh_mv job, so a new installation shows its tenant's posture without anyone clicking anything.
/// Happens once per database (app_state marker), even with several workers starting together; a user who
/// deletes the seeded jobs does not get them back.
/// </summary>
public static class SeedDefaultJobs
{
    /// <param name="IngestConfig">The seeded graph_ingest job's config (JSON object, same rules as a job update; from
    /// <c>SENTINEL_SEED_INGEST_CONFIG</c>), e.g. the demo's RU budget.</param>
    public sealed record Command(TimeSpan FirstRunDelay, string IngestConfig = "{}") : IExecutorRequest<Result>;

    public sealed record Result(bool Seeded, IReadOnlyList<Guid> JobIds);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.FirstRunDelay).GreaterThanOrEqualTo(TimeSpan.Zero).WithMessage("first_run_delay must not be negative");
            RuleFor(c => c.IngestConfig).Custom((config, ctx) =>
            {
                foreach (var (field, message) in JobConfigRules.Problems(JobTypes.GraphIngest, config))
                    ctx.AddFailure($"SENTINEL_SEED_INGEST_CONFIG.{field}", message);
            });
        }
    }

    public const string IngestCron = "*/5 * * * *";
    public const string RefreshCron = "17 * * * *";

    private const string ClaimSql = """
        INSERT INTO app_state (key, value, updated_at) VALUES ('default_jobs_seeded', '{}'::jsonb, @Now)
        ON CONFLICT (key) DO NOTHING
        """;

    private const string JobSql = """
        INSERT INTO jobs (job_id, job_type, tenant_id, config, enabled, name, created_at, updated_at)
        VALUES (@JobId, @JobType, 'default', @Config::jsonb, true, @Name, @Now, @Now)
        """;

    private const string ScheduleSql = """
        INSERT INTO job_schedules (schedule_id, job_id, cron_expr, next_run_at, enabled, timezone, created_at, updated_at)
        VALUES (@ScheduleId, @JobId, @Cron, @NextRunAt, true, 'UTC', @Now, @Now)
        """;

    internal sealed class Handler(Db db, TimeProvider clock) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            if (await connection.ExecuteAsync(new CommandDefinition(ClaimSql, new { Now = now }, tx, cancellationToken: ct)) == 0)
                return new Result(false, []);

            var jobs = new[]
            {
                (Type: JobTypes.GraphIngest, Name: "Microsoft Graph ingest", Cron: IngestCron, First: now + request.FirstRunDelay, Config: request.IngestConfig),
                (Type: JobTypes.RefreshMv, Name: "Refresh dashboard views", Cron: RefreshCron, First: now + request.FirstRunDelay + TimeSpan.FromMinutes(1), Config: "{}"),
            };
            var ids = new List<Guid>();
            foreach (var job in jobs)
            {
                var jobId = Guid.NewGuid();
                ids.Add(jobId);
                await connection.ExecuteAsync(new CommandDefinition(JobSql, new { JobId = jobId, JobType = job.Type, job.Name, job.Config, Now = now }, tx, cancellationToken: ct));
                await connection.ExecuteAsync(new CommandDefinition(ScheduleSql,
                    new { ScheduleId = Guid.NewGuid(), JobId = jobId, job.Cron, NextRunAt = job.First, Now = now }, tx, cancellationToken: ct));
                await Audit.WriteAsync(connection, tx, now, Actor.System, "job.seeded", "job", jobId.ToString(),
                    new { job_type = job.Type, cron_expr = job.Cron, first_run_at = job.First }, ct);
            }
            await tx.CommitAsync(ct);
            return new Result(true, ids);
        }
    }
}
