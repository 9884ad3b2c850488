using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Jobs;

/// <summary>
/// Renames a job, replaces its config and enables or disables it (null leaves a field as it is), in one transaction.
/// Enabling and disabling mean what they mean for ResumeJob and PauseJob (<see cref="JobEnablement"/>).
/// </summary>
public static class UpdateJob
{
    public sealed record Command(Guid JobId, string? Name, string? Config, Actor Actor, bool? Enabled = null) : IRequest<Result>;

    public sealed record Result(Guid JobId, string JobType, string Config, bool Enabled, string? Name);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.JobId).NotEmpty().WithMessage("job_id is required");
            // Type-specific rules need the job's type: the handler checks them once it has read the job.
            RuleFor(c => c.Config).ValidJobConfig(_ => null).When(c => c.Config is not null);
            RuleFor(c => c.Name).MaximumLength(200).WithMessage("name must be at most 200 characters");
            RuleFor(c => c.Actor).NotNull();
        }
    }

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
            var (jobType, wasEnabled) = await JobEnablement.LockAsync(connection, tx, request.JobId, ct);

            string? config = null;
            if (request.Config is not null)
            {
                var problems = JobConfigRules.Problems(jobType, request.Config).ToList();
                if (problems.Count > 0)
                    throw new RequestValidationException(problems.GroupBy(p => p.Field).ToDictionary(g => g.Key, g => g.Select(p => p.Message).ToArray()));
                config = JobTypes.ParseConfig(request.Config).Config!.ToJsonString();
            }

            var changed = new List<string>();
            if (request.Name is not null) changed.Add("name");
            if (config is not null) changed.Add("config");
            int? dropped = null;
            IReadOnlyList<JobEnablement.ScheduleNextRun>? schedules = null;
            if (request.Enabled is { } enabled && enabled != wasEnabled)
            {
                changed.Add("enabled");
                if (enabled) schedules = await JobEnablement.SchedulesAsync(connection, tx, request.JobId, enable: true, now, ct);
                else dropped = (await JobEnablement.DisableAsync(connection, tx, request.JobId, now, ct)).DroppedRequests;
            }
            var job = await connection.QuerySingleAsync<Result>(new CommandDefinition(Sql,
                new { request.JobId, SetName = request.Name is not null, Name = request.Name is { Length: 0 } ? null : request.Name, Config = config, Now = now },
                tx, cancellationToken: ct));
            await Audit.WriteAsync(connection, tx, now, request.Actor, "job.updated", "job", job.JobId.ToString(),
                new
                {
                    job_type = job.JobType, changed, name = job.Name, enabled = job.Enabled, dropped_requests = dropped,
                    schedules = schedules?.Select(s => new { schedule_id = s.ScheduleId, next_run_at = s.NextRunAt }),
                }, ct);
            await tx.CommitAsync(ct);
            return job;
        }
    }
}
