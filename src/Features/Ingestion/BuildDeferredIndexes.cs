using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// Builds the drive-item indexes a first full load left for later (the dashboard's sort orders and trigram search,
/// <see cref="ItemIndexes"/>) with CREATE INDEX CONCURRENTLY: the run starts it when the drive-item phase ends and
/// waits for it before it ends, so the permission scan (Graph-bound, writing the table) is not held up by ≈ 30 s of
/// index builds at 1M items. It ends with a VACUUM (ANALYZE) of the freshly loaded table, which autovacuum would otherwise
/// start within minutes, in the middle of the next run. Nothing pending: one query.
/// </summary>
public static class BuildDeferredIndexes
{
    public sealed record Command : IExecutorRequest<Result>, INoInput;

    public sealed record Result(int Built);

    internal sealed class Handler(Db db) : MediatR.IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            return new Result(await ItemIndexes.BuildConcurrentlyAsync(db, ct));
        }
    }
}
