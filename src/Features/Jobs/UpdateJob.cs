using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Jobs;

/// <summary>Renames a job or replaces its config (null leaves a field as it is). Enable/disable is PauseJob/ResumeJob.</summary>
public static class UpdateJob
{
    public sealed record Command(Guid JobId, string? Name, string? Config, Actor Actor) : IRequest<Result>;

    public sealed record Result(Guid JobId, string JobType, string Config, bool Enabled, string? Name);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.JobId).NotEmpty().WithMessage("job_id is required");
            RuleFor(c => c.Config).Custom((config, ctx) =>
            {
                if (config is null) return;
                // Type-specific rules need the job's type: the handler checks them once it has read the job.
                foreach (var (field, message) in JobConfigRules.Problems(null, config)) ctx.AddFailure(field, message);
            });
            RuleFor(c => c.Name).MaximumLength(200).WithMessage("name must be at most 200 characters");
            RuleFor(c => c.Actor).NotNull();
        }
    }

    private const string LockSql = "SELECT job_type FROM jobs WHERE job_id = @JobId FOR NO KEY UPDATE";

    private const string Sql = """
        UPDATE jobs
           SET name = CASE WHEN @SetName THEN @Name ELSE name END,
               config = COALESCE(@Config::jsonb, config),
               updated_at = @Now
         WHERE job_id = @JobId
        RETURNING job_id, job_type, config::text AS config, enabled, name
        """;

    internal sealed class Handler(Db db, TimeProvider clock) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            var jobType = await connection.QuerySingleOrDefaultAsync<string>(new CommandDefinition(LockSql, new { request.JobId }, tx, cancellationToken: ct))
                ?? throw new NotFoundException("job", request.JobId.ToString());

            string? config = null;
            if (request.Config is not null)
            {
                var problems = JobConfigRules.Problems(jobType, request.Config).ToList();
                if (problems.Count > 0)
                    throw new RequestValidationException(problems.GroupBy(p => p.Field).ToDictionary(g => g.Key, g => g.Select(p => p.Message).ToArray()));
                config = JobTypes.ParseConfig(request.Config).Config!.ToJsonString();
            }

            var job = await connection.QuerySingleAsync<Result>(new CommandDefinition(Sql,
                new { request.JobId, SetName = request.Name is not null, Name = request.Name is { Length: 0 } ? null : request.Name, Config = config, Now = now },
                tx, cancellationToken: ct));
            var changed = new List<string>();
            if (request.Name is not null) changed.Add("name");
            if (config is not null) changed.Add("config");
            await Audit.WriteAsync(connection, tx, now, request.Actor, "job.updated", "job", job.JobId.ToString(),
                new { job_type = job.JobType, changed, name = job.Name }, ct);
            await tx.CommitAsync(ct);
            return job;
        }
    }
}
