using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Inventory;

/// <summary>Drives (document libraries and OneDrives): search over name, site/type/deleted filters.</summary>
public static class ListDrives
{
    public sealed record Query(string? Search = null, string? SiteId = null, string? DriveType = null, string Deleted = DeletedFilter.All,
        string Sort = "name", bool Descending = false, string? Cursor = null, int Limit = 50, bool Export = false) : IRequest<Page<Row>>, IInventoryListQuery;

    public sealed record Row(string Id, string? Name, string? DriveType, string? SiteId, string? SiteName, string? OwnerId, string? OwnerName,
        string? WebUrl, DateTimeOffset? DeletedAt, string SortValue);

    internal static readonly IReadOnlyDictionary<string, SortColumn> Sorts = new Dictionary<string, SortColumn>
    {
        ["name"] = new("coalesce(d.name, '')", "text"),
        ["type"] = new("coalesce(d.drive_type, '')", "text"),
    };

    internal sealed class Validator : InventoryListValidator<Query>
    {
        public Validator() : base(Sorts, 1)
        {
            RuleFor(q => q.DriveType).MaximumLength(50);
        }
    }

    private const string Select = """
        SELECT d.id, d.name, d.drive_type, d.site_id, s.name AS site_name, d.owner_id, u.display_name AS owner_name, d.web_url, d.deleted_at,
               ({0})::text AS sort_value
          FROM msgraph_drives d
          LEFT JOIN msgraph_sites s ON s.id = d.site_id
          LEFT JOIN msgraph_users u ON u.id = d.owner_id
        """;

    internal sealed class Handler(Db db) : IRequestHandler<Query, Page<Row>>
    {
        public async Task<Page<Row>> Handle(Query request, CancellationToken ct)
        {
            var sort = Sorts[request.Sort];
            var q = new InventoryQuery().Deleted(request.Deleted, "d.deleted_at").Search(request.Search, "d.name", "s.name", "u.display_name");
            if (request.SiteId is not null) q.Where("d.site_id = @SiteId", new { request.SiteId });
            if (request.DriveType is not null) q.Where("d.drive_type = @DriveType", new { request.DriveType });
            var sql = string.Format(Select, sort.Expression) + q.Tail(sort, request.Descending, ["d.id"], request.Cursor, request.Limit);
            await using var connection = await db.OpenAsync(ct);
            var rows = (await connection.QueryAsync<Row>(new CommandDefinition(sql, q.Parameters, cancellationToken: ct))).ToList();
            return InventoryQuery.ToPage(rows, request.Limit, r => [r.SortValue, r.Id]);
        }
    }
}
