using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Inventory;

namespace Sentinel.Features.Access;

/// <summary>
/// Everything one principal can reach, and how: a user (by id, UPN or e-mail), a guest, a group (by id), or an external
/// e-mail address that only appears in grants. Ways in: a direct grant, a sharing link granted to them, a group they
/// are in (transitively, through nested groups), and — for members of the tenant, not guests — organisation links and
/// org-wide claims ("Everyone except external users"). Grants sit on roots of permission hierarchies and reach every
/// item of the hierarchy (010's permission_root_id). Counts per site, then the reachable items (keyset paged, optionally
/// one site's). Same reach rule as mv_principal_reach (db/init/014_posture.sql).
/// </summary>
public static class GetPrincipalAccess
{
    public sealed record Query(string Principal, string? SiteKey = null, string? Cursor = null, int Limit = 100) : IRequest<Result>;

    public sealed record Principal(string Kind, string Id, string? Name, string? Email, bool IsExternal, bool Internal, int GroupCount);

    public sealed record SiteCount(string SiteKey, string? SiteId, string SiteName, long Items, long Files, long Direct, long ViaGroup, long ViaLink, long OrgWide);

    public sealed record Item(string ItemId, string DriveId, string? Name, string? Path, bool IsFolder, string SiteKey, string SiteName,
        string Ways, string? Roles, short Risk, string? ViaGroups);

    public sealed record Result(Principal Principal, long TotalItems, long TotalFiles, IReadOnlyList<SiteCount> Sites, Page<Item> Items);

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.Principal).NotEmpty().WithMessage("principal is required (a user id, UPN, e-mail, group id or external e-mail)")
                .MaximumLength(320).WithMessage("principal must be at most 320 characters");
            RuleFor(q => q.SiteKey).MaximumLength(400).WithMessage("site must be at most 400 characters");
            RuleFor(q => q.Limit).InclusiveBetween(1, 1000).WithMessage("limit must be between 1 and 1000");
            RuleFor(q => q.Cursor).Must(c => InventoryQuery.IsValidCursor(c, 1)).WithMessage("cursor is not a valid page cursor");
        }
    }

    private const string ResolveSql = """
        SELECT 'user' AS kind, id, display_name AS name, coalesce(mail, user_principal_name) AS email, user_type = 'Guest' AS is_external,
               user_type IS DISTINCT FROM 'Guest' AS internal, lower(mail) AS mail, lower(user_principal_name) AS upn
          FROM msgraph_users WHERE deleted_at IS NULL AND (id = @P OR lower(user_principal_name) = lower(@P) OR lower(mail) = lower(@P))
        UNION ALL
        SELECT 'group', id, display_name, mail, false, false, NULL, NULL FROM msgraph_groups WHERE deleted_at IS NULL AND id = @P
        UNION ALL
        SELECT * FROM (SELECT 'email', lower(@P), max(coalesce(principal_display_name, principal_email)), lower(@P), bool_or(is_external), false, lower(@P), lower(@P)
                         FROM msgraph_drive_item_permission_grants
                        WHERE deleted_at IS NULL AND (lower(principal_email) = lower(@P) OR lower(principal_user_principal_name) = lower(@P))
                       HAVING count(*) > 0) e
        LIMIT 1
        """;

    // One row per (item, permission, way). "specific" = grants to the principal itself; "grp" = grants to its groups.
    private const string AccessCte = """
        WITH RECURSIVE my_groups(group_id) AS (
            SELECT m.group_id FROM msgraph_group_members m WHERE m.member_id = @Id AND m.deleted_at IS NULL
            UNION
            SELECT m.group_id FROM my_groups g JOIN msgraph_group_members m ON m.member_id = g.group_id AND m.member_type = 'group' AND m.deleted_at IS NULL
        ), ways AS (
            SELECT g.item_id, g.permission_id, CASE WHEN p.link_scope IS NULL THEN 'direct' ELSE 'link' END AS way, NULL::text AS via, array_to_string(p.roles, ',') AS roles
              FROM msgraph_drive_item_permission_grants g
              JOIN msgraph_drive_item_permissions p ON p.permission_id = g.permission_id AND p.item_id = g.item_id AND p.deleted_at IS NULL
             WHERE g.deleted_at IS NULL AND g.principal_type <> 'group' AND @Kind <> 'group' AND g.principal_id = @Id
            UNION
            SELECT g.item_id, g.permission_id, CASE WHEN p.link_scope IS NULL THEN 'direct' ELSE 'link' END, NULL, array_to_string(p.roles, ',')
              FROM msgraph_drive_item_permission_grants g
              JOIN msgraph_drive_item_permissions p ON p.permission_id = g.permission_id AND p.item_id = g.item_id AND p.deleted_at IS NULL
             WHERE g.deleted_at IS NULL AND g.principal_type <> 'group' AND @Kind = 'user' AND g.entra_user_id = @Id
            UNION
            SELECT g.item_id, g.permission_id, CASE WHEN p.link_scope IS NULL THEN 'direct' ELSE 'link' END, NULL, array_to_string(p.roles, ',')
              FROM msgraph_drive_item_permission_grants g
              JOIN msgraph_drive_item_permissions p ON p.permission_id = g.permission_id AND p.item_id = g.item_id AND p.deleted_at IS NULL
             WHERE g.deleted_at IS NULL AND g.principal_type <> 'group' AND @Mail::text IS NOT NULL AND lower(g.principal_email) IN (@Mail, @Upn)
            UNION
            SELECT g.item_id, g.permission_id, CASE WHEN p.link_scope IS NULL THEN 'direct' ELSE 'link' END, NULL, array_to_string(p.roles, ',')
              FROM msgraph_drive_item_permission_grants g
              JOIN msgraph_drive_item_permissions p ON p.permission_id = g.permission_id AND p.item_id = g.item_id AND p.deleted_at IS NULL
             WHERE g.deleted_at IS NULL AND g.principal_type <> 'group' AND @Upn::text IS NOT NULL AND lower(g.principal_user_principal_name) IN (@Mail, @Upn)
            UNION
            SELECT g.item_id, g.permission_id, 'group', coalesce(gr.display_name, g.principal_display_name, g.principal_id), array_to_string(p.roles, ',')
              FROM msgraph_drive_item_permission_grants g
              JOIN msgraph_drive_item_permissions p ON p.permission_id = g.permission_id AND p.item_id = g.item_id AND p.deleted_at IS NULL
              LEFT JOIN msgraph_groups gr ON gr.id = g.principal_id
             WHERE g.deleted_at IS NULL AND g.principal_type = 'group'
               AND (g.principal_id IN (SELECT group_id FROM my_groups) OR (@Kind = 'group' AND g.principal_id = @Id))
            UNION
            SELECT p.item_id, p.permission_id, 'organization', NULL, array_to_string(p.roles, ',')
              FROM msgraph_drive_item_permissions p
             WHERE @Internal AND p.deleted_at IS NULL AND p.risk_rank IN (2, 3)
        ), items AS (
            SELECT i.id AS item_id, i.drive_id, i.name, i.path, coalesce(i.is_folder, false) AS is_folder,
                   coalesce(d.site_id, 'onedrive:' || coalesce(d.owner_id, d.id)) AS site_key,
                   coalesce(s.name, 'OneDrive of ' || coalesce(u.display_name, d.owner_id, d.name)) AS site_name, d.site_id,
                   string_agg(DISTINCT w.way, ',') AS ways, string_agg(DISTINCT w.via, ', ') AS via_groups,
                   string_agg(DISTINCT w.roles, ';') AS roles,
                   min(p.risk_rank) AS risk
              FROM ways w
              -- a permission sits on a hierarchy root and reaches every item of that hierarchy (010's permission_root_id)
              JOIN msgraph_drive_items i ON i.permission_root_id = w.item_id AND i.deleted_at IS NULL
              JOIN msgraph_drive_item_permissions p ON p.permission_id = w.permission_id AND p.item_id = w.item_id
              LEFT JOIN msgraph_drives d ON d.id = i.drive_id
              LEFT JOIN msgraph_sites s ON s.id = d.site_id
              LEFT JOIN msgraph_users u ON u.id = d.owner_id
             GROUP BY i.id, i.drive_id, i.name, i.path, i.is_folder, d.site_id, d.owner_id, d.id, s.name, u.display_name, d.name
        )
        """;

    private const string SitesSql = AccessCte + """
        SELECT site_key, max(site_id) AS site_id, max(site_name) AS site_name, count(*) AS items, count(*) FILTER (WHERE NOT is_folder) AS files,
               count(*) FILTER (WHERE ways LIKE '%direct%') AS direct, count(*) FILTER (WHERE ways LIKE '%group%') AS via_group,
               count(*) FILTER (WHERE ways LIKE '%link%') AS via_link, count(*) FILTER (WHERE ways LIKE '%organization%') AS org_wide
          FROM items GROUP BY site_key ORDER BY count(*) DESC, site_key
        """;

    private const string ItemsSql = AccessCte + """
        SELECT item_id, drive_id, name, path, is_folder, site_key, site_name, ways, roles, risk, via_groups
          FROM items
         WHERE (@SiteKey::text IS NULL OR site_key = @SiteKey) AND (@CursorId::text IS NULL OR item_id > @CursorId)
         ORDER BY item_id LIMIT @Limit
        """;

    internal sealed class Handler(Db db) : IRequestHandler<Query, Result>
    {
        public async Task<Result> Handle(Query request, CancellationToken ct)
        {
            await using var connection = await db.OpenAsync(ct);
            var who = await connection.QuerySingleOrDefaultAsync<Resolved>(new CommandDefinition(ResolveSql, new { P = request.Principal.Trim() }, cancellationToken: ct))
                ?? throw new NotFoundException("principal", request.Principal);
            var cursor = InventoryQuery.DecodeCursor(request.Cursor, 1);
            var args = new
            {
                Kind = who.Kind, who.Id, who.Mail, who.Upn, who.Internal, request.SiteKey,
                CursorId = cursor?[1], Limit = request.Limit + 1,
            };
            // The same statement twice (counts, then one page) keeps each small; the planner runs them index-first.
            var sites = (await connection.QueryAsync<SiteCount>(new CommandDefinition(SitesSql, args, cancellationToken: ct))).ToList();
            var items = (await connection.QueryAsync<Item>(new CommandDefinition(ItemsSql, args, cancellationToken: ct))).ToList();
            var groups = who.Kind == "email" ? 0 : await connection.ExecuteScalarAsync<int>(new CommandDefinition("""
                WITH RECURSIVE my_groups(group_id) AS (
                    SELECT m.group_id FROM msgraph_group_members m WHERE m.member_id = @Id AND m.deleted_at IS NULL
                    UNION SELECT m.group_id FROM my_groups g JOIN msgraph_group_members m ON m.member_id = g.group_id AND m.member_type = 'group' AND m.deleted_at IS NULL)
                SELECT count(*) FROM my_groups
                """, new { who.Id }, cancellationToken: ct));
            var page = InventoryQuery.ToPage(items, request.Limit, i => ["", i.ItemId]);
            return new Result(new Principal(who.Kind, who.Id, who.Name, who.Email, who.IsExternal, who.Internal, groups),
                sites.Sum(s => s.Items), sites.Sum(s => s.Files), sites, page);
        }
    }

    private sealed record Resolved(string Kind, string Id, string? Name, string? Email, bool IsExternal, bool Internal, string? Mail, string? Upn);
}
