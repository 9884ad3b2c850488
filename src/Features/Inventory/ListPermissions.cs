using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Inventory;

/// <summary>
/// Stored item permissions with the filters the dashboard's numbers link to. Each filter mirrors a metric's
/// definition in mv_dashboard_posture / mv_dashboard_drive_exposure exactly (same predicate), so a card's
/// number equals the row count behind its link.
/// </summary>
public static class ListPermissions
{
    public static readonly IReadOnlyList<string> Scopes = ["anonymous", "organization", "users", "existingAccess", "direct"];

    public sealed record Query(
        string? Search = null, string? LinkScope = null, string? LinkType = null, bool ExternalOnly = false,
        bool NeverExpires = false, bool ExposedOnly = false, bool UniqueOnly = false, string? DriveId = null, string? SiteId = null,
        string? ItemId = null, string Deleted = DeletedFilter.All,
        string Sort = "risk", bool Descending = false, string? Cursor = null, int Limit = 50,
        string? Risk = null, bool ClaimOnly = false, bool Export = false) : IRequest<Page<Row>>, IInventoryListQuery;

    public sealed record Row(string PermissionId, string ItemId, string? DriveId, string? ItemName, string? ItemPath, string? Roles,
        string? LinkType, string? LinkScope, DateTimeOffset? LinkExpirationDt, string? InheritedFromId, DateTimeOffset? DeletedAt,
        bool External, string? Grantees, string? DriveName, string? SiteName, short RiskRank, string SortValue)
    {
        public PermissionRisk.Level Risk => PermissionRisk.Of(RiskRank);
    }

    internal static readonly IReadOnlyDictionary<string, SortColumn> Sorts = new Dictionary<string, SortColumn>
    {
        // Default: riskiest first, served by the (risk_rank, permission_id, item_id) index (db/init/014_posture.sql).
        ["risk"] = new("p.risk_rank", "smallint"),
        ["id"] = new("p.permission_id", "text"),
        ["item"] = new("coalesce(i.name, '')", "text"),
        ["scope"] = new("coalesce(p.link_scope, 'direct')", "text"),
        ["expires"] = new("coalesce(p.link_expiration_dt, 'infinity'::timestamptz)", "timestamptz"),
    };

    /// <summary>The link-scope predicate on alias p ('direct' = a grant without a sharing link).</summary>
    internal static string ScopeCondition(string scope) => scope == "direct" ? "p.link_scope IS NULL" : "p.link_scope = '" + scope + "'";

    internal const string ExternalCondition = """
        EXISTS (SELECT 1 FROM msgraph_drive_item_permission_grants g
                 WHERE g.permission_id = p.permission_id AND g.item_id = p.item_id AND g.deleted_at IS NULL AND g.is_external)
        """;

    internal const string OrgWideCondition = """
        EXISTS (SELECT 1 FROM msgraph_drive_item_permission_grants g
                 WHERE g.permission_id = p.permission_id AND g.item_id = p.item_id AND g.deleted_at IS NULL AND g.is_org_wide)
        """;

    /// <summary>The first live root (by item id) holding a link: one row per link.</summary>
    internal const string FirstHolderCondition = """
        NOT EXISTS (SELECT 1 FROM msgraph_drive_item_permissions p2 JOIN msgraph_drive_items r2 ON r2.id = p2.item_id
                     WHERE p2.permission_id = p.permission_id AND p2.item_id < p.item_id AND p2.deleted_at IS NULL
                       AND r2.deleted_at IS NULL AND r2.has_unique_permissions)
        """;

    internal sealed class Validator : InventoryListValidator<Query>
    {
        public Validator() : base(Sorts, 2)
        {
            RuleFor(q => q.LinkScope).Must(s => s is null || Scopes.Contains(s)).WithMessage($"link_scope must be one of: {string.Join(", ", Scopes)}");
            RuleFor(q => q.Risk).Must(r => r is null || r.Split(',').All(k => PermissionRisk.Levels.Any(l => l.Key == k)))
                .WithMessage($"risk must be a comma-separated list of: {string.Join(", ", PermissionRisk.Levels.Select(l => l.Key))}");
            RuleFor(q => q.LinkType).MaximumLength(50).Matches("^[A-Za-z]*$").WithMessage("link_type must be a Graph link type such as view or edit");
        }
    }

    private const string Select = """
        SELECT p.permission_id, p.item_id, p.drive_id, i.name AS item_name, i.path AS item_path, array_to_string(p.roles, ',') AS roles, p.link_type, p.link_scope,
               p.link_expiration_dt, p.inherited_from_id, p.deleted_at,
               EXISTS (SELECT 1 FROM msgraph_drive_item_permission_grants g
                        WHERE g.permission_id = p.permission_id AND g.item_id = p.item_id AND g.deleted_at IS NULL AND g.is_external) AS external,
               (SELECT string_agg(coalesce(g.principal_display_name, g.principal_email, g.principal_id)
                                  || CASE WHEN g.principal_type = 'siteGroup' THEN ' (site group)' ELSE '' END, ', ' ORDER BY g.principal_display_name)
                  FROM msgraph_drive_item_permission_grants g
                 WHERE g.permission_id = p.permission_id AND g.item_id = p.item_id AND g.deleted_at IS NULL) AS grantees,
               d.name AS drive_name, s.name AS site_name, p.risk_rank, ({0})::text AS sort_value
          FROM msgraph_drive_item_permissions p
          LEFT JOIN msgraph_drive_items i ON i.id = p.item_id
          LEFT JOIN msgraph_drives d ON d.id = p.drive_id
          LEFT JOIN msgraph_sites s ON s.id = d.site_id
        """;

    internal sealed class Handler(Db db) : IRequestHandler<Query, Page<Row>>
    {
        public async Task<Page<Row>> Handle(Query request, CancellationToken ct)
        {
            var sort = Sorts[request.Sort];
            var q = new InventoryQuery()
                .Deleted(request.Deleted, "p.deleted_at")
                .Search(request.Search, InventoryQuery.ItemSearchText);
            if (request.LinkScope is not null) q.Where(ScopeCondition(request.LinkScope));
            if (request.LinkType is { Length: > 0 }) q.Where("p.link_type = @LinkType", new { request.LinkType });
            if (request.ExternalOnly) q.Where(ExternalCondition);
            if (request.NeverExpires) q.Where("p.link_expiration_dt IS NULL");
            if (request.ExposedOnly) q.Where("(p.link_scope IN ('anonymous', 'organization') OR " + ExternalCondition + " OR " + OrgWideCondition + ")");
            if (request.UniqueOnly) q.Where("i.has_unique_permissions");
            if (request.Deleted == DeletedFilter.Exclude)
            {
                // Live = held by a live root of a permission hierarchy (v_root_permissions), as the posture metrics count.
                q.Where("i.deleted_at IS NULL AND i.has_unique_permissions");
                // Links count once per link wherever they are held (a root that broke inheritance holds a copy, same id).
                if (request.LinkScope is "anonymous" or "organization" or "users") q.Where(FirstHolderCondition);
            }
            if (request.Risk is not null)
                q.Where("p.risk_rank = ANY(@Ranks)", new { Ranks = request.Risk.Split(',').Select(k => PermissionRisk.Levels.First(l => l.Key == k).Rank).ToArray() });
            // Granted to an org-wide claim ("Everyone except external users", "Everyone"), maintained by 014's grant trigger.
            if (request.ClaimOnly) q.Where("p.grant_risk = 3");
            if (request.DriveId is not null) q.Where("p.drive_id = @DriveId", new { request.DriveId });
            if (request.SiteId is not null) q.Where("d.site_id = @SiteId", new { request.SiteId });
            if (request.ItemId is not null) q.Where("p.item_id = @ItemId", new { request.ItemId });
            var sql = string.Format(Select, sort.Expression) + q.Tail(sort, request.Descending, ["p.permission_id", "p.item_id"], request.Cursor, request.Limit);
            await using var connection = await db.OpenAsync(ct);
            var rows = (await connection.QueryAsync<Row>(new CommandDefinition(sql, q.Parameters, cancellationToken: ct))).ToList();
            return InventoryQuery.ToPage(rows, request.Limit, r => [r.SortValue, r.PermissionId, r.ItemId]);
        }
    }
}
