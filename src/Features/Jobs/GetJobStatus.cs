using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Runs;

namespace Sentinel.Features.Jobs;

/// <summary>One job's state: schedules, next run, last run, and the run in progress with its live progress.</summary>
public static class GetJobStatus
{
    public sealed record Query(Guid JobId) : IRequest<Result>;

    public sealed record Result(JobView Job, RunView? Running);

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => RuleFor(q => q.JobId).NotEmpty().WithMessage("job_id is required");
    }

    private const string RunningSql = $"""
        SELECT {RunView.Columns} FROM job_runs r JOIN jobs j ON j.job_id = r.job_id
         WHERE r.run_id = @RunId
        """;

    internal sealed class Handler(Db db) : IRequestHandler<Query, Result>
    {
        public async Task<Result> Handle(Query request, CancellationToken ct)
        {
            await using var connection = await db.OpenAsync(ct);
            var job = (await JobView.LoadAsync(connection, request.JobId, ct)).SingleOrDefault()
                ?? throw new NotFoundException("job", request.JobId.ToString());
            RunView? running = null;
            if (job.RunningRun is { } brief)
                running = (await connection.QuerySingleOrDefaultAsync<RunView.Row>(new CommandDefinition(RunningSql, new { brief.RunId }, cancellationToken: ct)))?.ToView();
            return new Result(job, running);
        }
    }
}
