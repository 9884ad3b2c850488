using System.Net;
using System.Text.Json;
using Dapper;
using FluentValidation;
using Sentinel.Features.Graph;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// All sites via /sites/getAllSites (app-only; no delta exists): every page is COPYed into one staging table
/// and merged in one transaction; sites no longer listed are soft-deleted. Scope filters apply to drives, not here:
/// the inventory shows every site.
/// </summary>
public static class IngestSites
{
    public sealed record Command(IngestRun? Run = null) : IExecutorRequest<Result>;

    public sealed record Result(int Pages, long Listed, long LiveSites, long DeletedSites);

    internal sealed class Validator : AbstractValidator<Command>;

    public const string InitialUrl = "sites/getAllSites";

    private const string MergeSql = """
        INSERT INTO msgraph_sites AS t (id, name, web_url, hostname, site_collection_id, created_dt, synced_at, deleted_at, raw)
        SELECT DISTINCT ON (s.id) s.id, COALESCE(s.raw->>'name', s.raw->>'displayName'), s.raw->>'webUrl', s.raw->'siteCollection'->>'hostname',
               NULLIF(split_part(s.id, ',', 2), ''), (s.raw->>'createdDateTime')::timestamptz, @Now, NULL, s.raw
        FROM stage_sites s
        ON CONFLICT (id) DO UPDATE SET
            name = EXCLUDED.name, web_url = EXCLUDED.web_url, hostname = EXCLUDED.hostname, site_collection_id = EXCLUDED.site_collection_id,
            created_dt = EXCLUDED.created_dt, synced_at = EXCLUDED.synced_at, deleted_at = NULL, raw = EXCLUDED.raw
        WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL;

        UPDATE msgraph_sites t SET deleted_at = @Now, synced_at = @Now
        WHERE t.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM stage_sites s WHERE s.id = t.id);
        """;

    internal sealed class Handler(Db db, GraphHttp graph, TimeProvider clock) : MediatR.IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var run = request.Run ?? new IngestRun(clock.GetUtcNow());
            var now = clock.GetUtcNow();
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            var url = InitialUrl;
            var pages = 0;
            long listed = 0;
            var create = true;
            while (url is not null)
            {
                ct.ThrowIfCancellationRequested();
                var response = await graph.GetAsync(url, run.Graph, ct);
                if (!response.IsSuccess)
                    throw new JobFailedException("graph_request_failed",
                        $"Graph answered HTTP {(int)response.Status} ({response.ErrorCode() ?? "no error code"}) to the site list");
                using var doc = response.Json();
                var rows = Staging.Collect(doc.RootElement.GetProperty("value"), _ => false);
                await Staging.CopyAsync(connection, "stage_sites", rows.Values, ct, create);
                create = false;
                listed += rows.Count;
                pages++;
                run.Add("sites", rows.Count);
                run.Add("pages", 1);
                await run.ReportAsync(ct);
                url = doc.RootElement.TryGetProperty("@odata.nextLink", out var next) ? next.GetString() : null;
            }
            if (create) await Staging.CopyAsync(connection, "stage_sites", [], ct);
            await connection.ExecuteAsync(new CommandDefinition(MergeSql, new { Now = now }, tx, cancellationToken: ct));
            var counts = await connection.QuerySingleAsync<(long Live, long Deleted)>(new CommandDefinition(
                "SELECT count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL) FROM msgraph_sites", transaction: tx, cancellationToken: ct));
            await tx.CommitAsync(ct);
            return new Result(pages, listed, counts.Live, counts.Deleted);
        }
    }
}
