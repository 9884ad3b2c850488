using System.Net;
using System.Text.Json;
using Dapper;
using Sentinel.Features.Graph;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// All sites via /sites/getAllSites (app-only; no delta exists), then their subsites, level by level, through
/// /sites/{id}/sites in $batch requests (getAllSites lists site collections only, msgraph-sdk-java#1807). Everything
/// is COPYed into one staging table and merged in one transaction. Personal (OneDrive) sites are marked
/// <c>is_personal</c>: their drives are ingested through their owner only. Sites no longer listed are soft-deleted —
/// only when the listing was complete: a failed getAllSites page deletes nothing, and a site whose subsites could not
/// be listed (403/423/5xx, recorded in <see cref="IngestRun.Failures"/>) keeps them. Scope filters apply to drives,
/// not here: the inventory shows every site.
/// </summary>
public static class IngestSites
{
    public sealed record Command(IngestRun? Run = null) : IExecutorRequest<Result>, INoInput;

    public sealed record Result(int Pages, long Listed, long Subsites, long PersonalSites, bool Complete, long LiveSites, long DeletedSites);


    public const string InitialUrl = "sites/getAllSites";

    /// <summary>$batch requests in flight while listing one level of subsites.</summary>
    private const int SubsiteConcurrency = 8;

    /// <summary>The target id under which a failed getAllSites listing is recorded.</summary>
    public const string AllSitesTarget = "getAllSites";

    /// <summary>A personal site: Graph's isPersonalSite, else the OneDrive URL shape (https://{tenant}-my.sharepoint.com/personal/…).</summary>
    private const string PersonalSql = """
        COALESCE(lower(s.raw->>'isPersonalSite') = 'true', false) OR COALESCE(s.raw->>'webUrl', '') ~* '^https://[^/]+-my\.sharepoint\.[^/]+/personal/'
        """;

    private const string MergeSql = $"""
        INSERT INTO msgraph_sites AS t (id, name, web_url, hostname, site_collection_id, created_dt, synced_at, deleted_at, raw, is_personal, parent_site_id)
        SELECT DISTINCT ON (s.id) s.id, COALESCE(s.raw->>'name', s.raw->>'displayName'), s.raw->>'webUrl', s.raw->'siteCollection'->>'hostname',
               NULLIF(split_part(s.id, ',', 2), ''), (s.raw->>'createdDateTime')::timestamptz, @Now, NULL, s.raw, {PersonalSql}, s.a
        FROM stage_sites s
        ORDER BY s.id, s.a NULLS FIRST
        ON CONFLICT (id) DO UPDATE SET
            name = EXCLUDED.name, web_url = EXCLUDED.web_url, hostname = EXCLUDED.hostname, site_collection_id = EXCLUDED.site_collection_id,
            created_dt = EXCLUDED.created_dt, synced_at = EXCLUDED.synced_at, deleted_at = NULL, raw = EXCLUDED.raw,
            is_personal = EXCLUDED.is_personal, parent_site_id = EXCLUDED.parent_site_id
        WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL OR t.is_personal <> EXCLUDED.is_personal
           OR t.parent_site_id IS DISTINCT FROM EXCLUDED.parent_site_id;
        """;

    private const string SweepSql = """
        WITH RECURSIVE kept AS (
            -- subsites below a site whose subsites could not be listed this time
            SELECT id FROM msgraph_sites WHERE parent_site_id = ANY(@FailedParents)
            UNION
            SELECT s.id FROM msgraph_sites s JOIN kept ON s.parent_site_id = kept.id
        )
        UPDATE msgraph_sites t SET deleted_at = @Now, synced_at = @Now
        WHERE t.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM stage_sites s WHERE s.id = t.id)
          AND NOT EXISTS (SELECT 1 FROM kept WHERE kept.id = t.id);
        """;

    internal sealed class Handler(Db db, GraphHttp graph, TimeProvider clock) : MediatR.IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var run = request.Run ?? new IngestRun(clock.GetUtcNow());
            var now = clock.GetUtcNow();
            await using var connection = await db.OpenAsync(ct);
            // The listing is staged outside a transaction (Staging.SessionTableAsync); the merge and sweep commit together.
            await using var staged = await Staging.SessionTableAsync(connection, "stage_sites", ct);
            var pages = 0;
            long listed = 0, subsites = 0;
            var complete = true;
            var topLevel = new List<(string Id, bool Personal)>();
            try
            {
                string? url = InitialUrl;
                while (url is not null)
                {
                    ct.ThrowIfCancellationRequested();
                    var response = await graph.GetAsync(url, run.Graph, ct);
                    if (!response.IsSuccess)
                    {
                        run.Failures.Failed(TargetFailures.Site, AllSitesTarget, TargetFailures.ReasonOf(response),
                            $"Graph answered HTTP {(int)response.Status} ({response.ErrorCode() ?? "no error code"}) to the site list");
                        complete = false;
                        break;
                    }
                    using var doc = response.Json();
                    var rows = Staging.Collect(doc.RootElement.GetProperty("value"), _ => false);
                    await Staging.CopyAsync(connection, "stage_sites", rows.Values, ct, create: false);
                    foreach (var row in rows.Values) topLevel.Add((row.Id, IsPersonal(row.Raw)));
                    listed += rows.Count;
                    pages++;
                    run.Add("sites", rows.Count);
                    run.Add("pages", 1);
                    await run.ReportAsync(ct);
                    url = doc.RootElement.TryGetProperty("@odata.nextLink", out var next) ? next.GetString() : null;
                }
            }
            catch (JobFailedException e) when (TargetFailures.IsTargetFailure(e))
            {
                run.Failures.Failed(TargetFailures.Site, AllSitesTarget, TargetFailures.ReasonOf(e), e.Message);
                complete = false;
            }
            if (complete) run.Failures.Succeeded(TargetFailures.Site, AllSitesTarget);

            // Subsites, level by level (a subsite may have subsites); personal sites have none worth listing.
            var failedParents = new List<string>();
            var seen = new HashSet<string>(topLevel.Select(s => s.Id), StringComparer.OrdinalIgnoreCase);
            var frontier = topLevel.Where(s => !s.Personal).Select(s => s.Id).ToList();
            for (var depth = 0; frontier.Count > 0 && depth < 20; depth++)
            {
                // Each level's batches go out together (SubsiteConcurrency in flight); the rows are staged after.
                var results = new System.Collections.Concurrent.ConcurrentBag<(string Parent, bool Ok, string? Reason, string? Message, List<StageRow> Children)>();
                await Parallel.ForEachAsync(frontier.Chunk(GraphBatch.MaxPerBatch),
                    new ParallelOptions { MaxDegreeOfParallelism = SubsiteConcurrency, CancellationToken = ct }, async (chunk, token) =>
                    {
                        GraphResponse[] responses;
                        try
                        {
                            responses = await GraphBatch.GetManyAsync(graph, chunk.Select(id => $"sites/{id}/sites").ToList(), run.Graph, token);
                        }
                        catch (JobFailedException e) when (TargetFailures.IsTargetFailure(e))
                        {
                            foreach (var id in chunk) results.Add((id, false, TargetFailures.ReasonOf(e), e.Message, []));
                            return;
                        }
                        for (var i = 0; i < chunk.Length; i++)
                        {
                            var children = new List<StageRow>();
                            var (ok, reason, message) = await ListSubsitesAsync(chunk[i], responses[i], children, run, token);
                            results.Add((chunk[i], ok, reason, message, children));
                        }
                    });
                var found = new List<string>();
                var rows = new List<StageRow>();
                foreach (var (parent, ok, reason, message, children) in results.OrderBy(r => r.Parent, StringComparer.Ordinal))
                {
                    if (!ok)
                    {
                        run.Failures.Failed(TargetFailures.Site, parent, reason!, message);
                        failedParents.Add(parent);
                        continue;
                    }
                    run.Failures.Succeeded(TargetFailures.Site, parent);
                    foreach (var child in children.Where(c => seen.Add(c.Id)))
                    {
                        rows.Add(child);
                        found.Add(child.Id);
                    }
                }
                await Staging.CopyAsync(connection, "stage_sites", rows, ct, create: false);
                subsites += rows.Count;
                run.Add("subsites", rows.Count);
                frontier = found;
            }

            await using var tx = await connection.BeginTransactionAsync(ct);
            await connection.ExecuteAsync(new CommandDefinition(MergeSql, new { Now = now }, tx, cancellationToken: ct));
            if (complete)
                await connection.ExecuteAsync(new CommandDefinition(SweepSql, new { Now = now, FailedParents = failedParents.ToArray() }, tx, cancellationToken: ct));
            var counts = await connection.QuerySingleAsync<(long Live, long Deleted)>(new CommandDefinition(
                "SELECT count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL) FROM msgraph_sites", transaction: tx, cancellationToken: ct));
            await tx.CommitAsync(ct);
            return new Result(pages, listed, subsites, topLevel.Count(s => s.Personal), complete, counts.Live, counts.Deleted);
        }

        /// <summary>The subsites of one site (following nextLinks); false with a reason when Graph refused.</summary>
        private async Task<(bool Ok, string? Reason, string? Message)> ListSubsitesAsync(string parent, GraphResponse response, List<StageRow> into,
            IngestRun run, CancellationToken ct)
        {
            try
            {
                while (true)
                {
                    if (!response.IsSuccess)
                        return (false, TargetFailures.ReasonOf(response),
                            $"Graph answered HTTP {(int)response.Status} ({response.ErrorCode() ?? "no error code"}) when listing the subsites of a site");
                    using var doc = response.Json();
                    if (doc.RootElement.TryGetProperty("value", out var value) && value.ValueKind == JsonValueKind.Array)
                        foreach (var row in Staging.Collect(value, _ => false).Values)
                            into.Add(row with { A = parent });
                    if (!doc.RootElement.TryGetProperty("@odata.nextLink", out var next) || next.GetString() is not { } nextUrl) return (true, null, null);
                    response = await graph.GetAsync(nextUrl, run.Graph, ct);
                }
            }
            catch (JobFailedException e) when (TargetFailures.IsTargetFailure(e))
            {
                return (false, TargetFailures.ReasonOf(e), e.Message);
            }
        }

        private static bool IsPersonal(string raw)
        {
            using var doc = JsonDocument.Parse(raw);
            var root = doc.RootElement;
            if (root.TryGetProperty("isPersonalSite", out var p) && p.ValueKind is JsonValueKind.True) return true;
            return root.TryGetProperty("webUrl", out var w) && w.GetString() is { } url &&
                   System.Text.RegularExpressions.Regex.IsMatch(url, @"^https://[^/]+-my\.sharepoint\.[^/]+/personal/", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        }
    }
}
