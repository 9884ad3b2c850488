using Dapper;
using MediatR;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Jobs;
using Sentinel.Features.Runs;

namespace Sentinel.Features.Posture;

/// <summary>
/// Whether the tenant has ever been ingested, and the graph_ingest run in progress (read live from job_runs, never
/// from a view, so it is not stale). The dashboard shows the first ingest's progress instead of zeros until one succeeds.
/// </summary>
public static class GetIngestState
{
    public sealed record Query : IRequest<Result>;

    public sealed record Result(bool EverSucceeded, RunView? Running)
    {
        /// <summary>True while nothing has been ingested successfully yet: the posture numbers would all be zero.</summary>
        public bool FirstIngestPending => !EverSucceeded;
    }

    private const string Sql = $"""
        SELECT EXISTS (SELECT 1 FROM job_runs r JOIN jobs j ON j.job_id = r.job_id
                        WHERE j.job_type = '{JobTypes.GraphIngest}' AND r.status IN ('success', 'partial'))
            OR EXISTS (SELECT 1 FROM msgraph_drives);
        SELECT {RunView.Columns} FROM job_runs r JOIN jobs j ON j.job_id = r.job_id
         WHERE j.job_type = '{JobTypes.GraphIngest}' AND r.status = 'running'
         ORDER BY r.started_at DESC LIMIT 1;
        """;

    internal sealed class Handler(Db db) : IRequestHandler<Query, Result>
    {
        public async Task<Result> Handle(Query request, CancellationToken ct)
        {
            await using var connection = await db.OpenAsync(ct);
            await using var grid = await connection.QueryMultipleAsync(new CommandDefinition(Sql, cancellationToken: ct));
            var succeeded = await grid.ReadSingleAsync<bool>();
            var running = await grid.ReadSingleOrDefaultAsync<RunView.Row>();
            return new Result(succeeded, running?.ToView());
        }
    }
}
