using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Jobs;

/// <summary>Declares a job (what to run and with which config). Schedules are added with CreateSchedule.</summary>
public static class CreateJob
{
    public sealed record Command(string JobType, string? Config, bool Enabled, string? Name, Actor Actor) : IRequest<Result>;

    public sealed record Result(Guid JobId, string JobType, string TenantId, string Config, bool Enabled, string? Name);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.JobType)
                .Must(JobTypes.IsKnown)
                .WithMessage(c => $"unknown job_type '{c.JobType}'; expected one of: {string.Join(", ", JobTypes.All)}");
            RuleFor(c => c.Config).ValidJobConfig(c => c.JobType);
            RuleFor(c => c.Name).MaximumLength(200).WithMessage("name must be at most 200 characters");
            RuleFor(c => c.Actor).NotNull();
        }
    }

    private const string Sql = """
        INSERT INTO jobs (job_id, job_type, tenant_id, config, enabled, name, created_at, updated_at)
        VALUES (@JobId, @JobType, 'default', @Config::jsonb, @Enabled, @Name, @Now, @Now)
        RETURNING job_id, job_type, tenant_id, config::text AS config, enabled, name
        """;

    internal sealed class Handler(Db db, TimeProvider clock) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            var config = JobTypes.ParseConfig(request.Config).Config!.ToJsonString();
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            var job = await connection.QuerySingleAsync<Result>(new CommandDefinition(Sql,
                new { JobId = Guid.NewGuid(), request.JobType, Config = config, request.Enabled, request.Name, Now = now }, tx, cancellationToken: ct));
            await Audit.WriteAsync(connection, tx, now, request.Actor, "job.created", "job", job.JobId.ToString(),
                new { job_type = job.JobType, enabled = job.Enabled, name = job.Name }, ct);
            await tx.CommitAsync(ct);
            return job;
        }
    }
}
