using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Jobs;

/// <summary>Every job with its schedules, next run, last run, the run in progress and any queued run-now request.</summary>
public static class ListJobs
{
    public sealed record Query : IRequest<Result>, INoInput;

    public sealed record Result(IReadOnlyList<JobView> Jobs);

    internal sealed class Handler(Db db) : IRequestHandler<Query, Result>
    {
        public async Task<Result> Handle(Query request, CancellationToken ct)
        {
            await using var connection = await db.OpenAsync(ct);
            return new Result(await JobView.LoadAsync(connection, null, ct));
        }
    }
}
