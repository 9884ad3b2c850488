using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Inventory;

/// <summary>Drive items (files and folders) with search over name and path, filters, sorting and keyset paging.</summary>
public static class ListItems
{
    public sealed record Query(
        string? Search = null, string? DriveId = null, string? SiteId = null, string? Kind = null,
        string Deleted = DeletedFilter.All, bool UniqueOnly = false, string? LinkScope = null,
        string Sort = "name", bool Descending = false, string? Cursor = null, int Limit = 50,
        bool StaleExposed = false, bool Export = false) : IRequest<Page<Row>>, IInventoryListQuery;

    public sealed record Row(string Id, string DriveId, string? Name, string? Path, bool? IsFolder, long? Size,
        DateTimeOffset? ModifiedDt, DateTimeOffset? DeletedAt, string? DriveName, string? SiteId, string? SiteName, string? WebUrl,
        string SortValue);

    internal static readonly IReadOnlyDictionary<string, SortColumn> Sorts = new Dictionary<string, SortColumn>
    {
        ["name"] = new("coalesce(i.name, '')", "text"),
        ["modified"] = new("coalesce(i.modified_dt, '-infinity'::timestamptz)", "timestamptz"),
        ["size"] = new("coalesce(i.size, -1)", "bigint"),
    };

    /// <summary>
    /// Items Graph reported as deleted before this product ever saw them alive (a first sync lists recent deletions,
    /// nameless) are noise, not inventory: they are stored (so a later delta can revive them) but never listed.
    /// Such a row's raw JSON is the deleted facet itself; a row seen alive keeps its last live JSON when deleted.
    /// </summary>
    internal const string SeenAliveCondition = "(i.deleted_at IS NULL OR NOT coalesce(i.raw ? 'deleted', false))";

    internal sealed class Validator : InventoryListValidator<Query>
    {
        public Validator() : base(Sorts, 1)
        {
            RuleFor(q => q.Kind).Must(k => k is null or "file" or "folder").WithMessage("kind must be file or folder");
            RuleFor(q => q.LinkScope).Must(s => s is null || ListPermissions.Scopes.Contains(s)).WithMessage($"link_scope must be one of: {string.Join(", ", ListPermissions.Scopes)}");
            RuleFor(q => q.DriveId).MaximumLength(300);
            RuleFor(q => q.SiteId).MaximumLength(300);
        }
    }

    private const string Select = """
        SELECT i.id, i.drive_id, i.name, i.path, i.is_folder, i.size, i.modified_dt, i.deleted_at, d.name AS drive_name,
               d.site_id, s.name AS site_name, i.web_url, ({0})::text AS sort_value
          FROM msgraph_drive_items i
          LEFT JOIN msgraph_drives d ON d.id = i.drive_id
          LEFT JOIN msgraph_sites s ON s.id = d.site_id
        """;

    internal sealed class Handler(Db db) : IRequestHandler<Query, Page<Row>>
    {
        public async Task<Page<Row>> Handle(Query request, CancellationToken ct)
        {
            var sort = Sorts[request.Sort];
            var q = new InventoryQuery()
                .Deleted(request.Deleted, "i.deleted_at")
                .Search(request.Search, InventoryQuery.ItemSearchText)
                .Where(SeenAliveCondition);
            // Drive roots are listed only among the items with unique permissions (every drive root is a hierarchy root).
            if (!request.UniqueOnly) q.Where("NOT i.is_root");
            if (request.DriveId is not null) q.Where("i.drive_id = @DriveId", new { request.DriveId });
            // Files exposed (anyone, organisation, external people, through their hierarchy root) that nobody modified for a year:
            // mv_posture_oversharing's stale_exposed, same predicate.
            if (request.StaleExposed)
                q.Where("""
                    i.deleted_at IS NULL AND NOT coalesce(i.is_folder, false) AND i.modified_dt < now() - interval '365 days'
                    AND EXISTS (SELECT 1 FROM msgraph_drive_item_permissions p WHERE p.item_id = i.permission_root_id AND p.deleted_at IS NULL AND p.risk_rank <= 4)
                    """);
            if (request.SiteId is not null) q.Where("d.site_id = @SiteId", new { request.SiteId });
            if (request.Kind is "file") q.Where("NOT coalesce(i.is_folder, false)");
            if (request.Kind is "folder") q.Where("coalesce(i.is_folder, false)");
            // unique_permission_items: the roots of permission hierarchies.
            if (request.UniqueOnly) q.Where("i.has_unique_permissions");
            // anonymous_items / organization_items: FILES reachable through such a permission of their hierarchy root,
            // inherited included (organisation = organisation links or organisation-wide claims).
            if (request.LinkScope is not null)
                q.Where("NOT coalesce(i.is_folder, false) AND EXISTS (SELECT 1 FROM v_root_permissions p WHERE p.item_id = i.permission_root_id AND ("
                        + ListPermissions.ScopeCondition(request.LinkScope) + (request.LinkScope == "organization" ? " OR p.org_wide" : "") + "))");
            var sql = string.Format(Select, sort.Expression) + q.Tail(sort, request.Descending, ["i.id"], request.Cursor, request.Limit);
            await using var connection = await db.OpenAsync(ct);
            var rows = (await connection.QueryAsync<Row>(new CommandDefinition(sql, q.Parameters, cancellationToken: ct))).ToList();
            return InventoryQuery.ToPage(rows, request.Limit, r => [r.SortValue, r.Id]);
        }
    }
}
