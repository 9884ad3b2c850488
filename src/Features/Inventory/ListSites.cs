using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Inventory;

/// <summary>SharePoint sites with their drive count: search over name and URL, deleted filter.</summary>
public static class ListSites
{
    public sealed record Query(string? Search = null, string Deleted = DeletedFilter.All,
        string Sort = "name", bool Descending = false, string? Cursor = null, int Limit = 50, bool Export = false) : IRequest<Page<Row>>, IInventoryListQuery;

    public sealed record Row(string Id, string? Name, string? WebUrl, long DriveCount, DateTimeOffset? DeletedAt, string SortValue);

    internal static readonly IReadOnlyDictionary<string, SortColumn> Sorts = new Dictionary<string, SortColumn>
    {
        ["name"] = new("coalesce(s.name, '')", "text"),
        ["url"] = new("coalesce(s.web_url, '')", "text"),
    };

    internal sealed class Validator : InventoryListValidator<Query>
    {
        public Validator() : base(Sorts, 1)
        {
        }
    }

    private const string Select = """
        SELECT s.id, s.name, s.web_url,
               (SELECT count(*) FROM msgraph_drives d WHERE d.site_id = s.id AND d.deleted_at IS NULL) AS drive_count,
               s.deleted_at, ({0})::text AS sort_value
          FROM msgraph_sites s
        """;

    internal sealed class Handler(Db db) : IRequestHandler<Query, Page<Row>>
    {
        public async Task<Page<Row>> Handle(Query request, CancellationToken ct)
        {
            var sort = Sorts[request.Sort];
            var q = new InventoryQuery().Deleted(request.Deleted, "s.deleted_at").Search(request.Search, "s.name", "s.web_url");
            var sql = string.Format(Select, sort.Expression) + q.Tail(sort, request.Descending, ["s.id"], request.Cursor, request.Limit);
            await using var connection = await db.OpenAsync(ct);
            var rows = (await connection.QueryAsync<Row>(new CommandDefinition(sql, q.Parameters, cancellationToken: ct))).ToList();
            return InventoryQuery.ToPage(rows, request.Limit, r => [r.SortValue, r.Id]);
        }
    }
}
