using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Runs;

/// <summary>One run with its live progress, error, trigger and actor.</summary>
public static class GetRun
{
    public sealed record Query(Guid RunId) : IRequest<RunView>;

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => RuleFor(q => q.RunId).NotEmpty().WithMessage("run_id is required");
    }

    private const string Sql = $"SELECT {RunView.Columns} FROM job_runs r JOIN jobs j ON j.job_id = r.job_id WHERE r.run_id = @RunId";

    internal sealed class Handler(Db db) : IRequestHandler<Query, RunView>
    {
        public async Task<RunView> Handle(Query request, CancellationToken ct)
        {
            await using var connection = await db.OpenAsync(ct);
            var row = await connection.QuerySingleOrDefaultAsync<RunView.Row>(new CommandDefinition(Sql, new { request.RunId }, cancellationToken: ct))
                ?? throw new NotFoundException("run", request.RunId.ToString());
            return row.ToView();
        }
    }
}
