using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Inventory;

/// <summary>
/// An item as stored: its breadcrumbs (ancestors by parent_id), drive and site, its permissions and their grants,
/// with group grantees expanded to their live direct members.
/// </summary>
public static class GetItemDetail
{
    public sealed record Query(string DriveId, string ItemId) : IRequest<Result>;

    public sealed record Crumb(string Id, string? Name, bool IsRoot);

    public sealed record Grant(string PrincipalType, string PrincipalId, string? DisplayName, string? Email, bool IsExternal,
        DateTimeOffset? DeletedAt, IReadOnlyList<GroupMember> Members);

    public sealed record GroupMember(string MemberId, string MemberType, string? DisplayName, string? Upn);

    public sealed record Permission(string PermissionId, string[]? Roles, string? LinkType, string? LinkScope, DateTimeOffset? LinkExpirationDt,
        string? InheritedFromId, bool? HasPassword, DateTimeOffset? DeletedAt, IReadOnlyList<Grant> Grants);

    public sealed record Result(string Id, string DriveId, string? Name, string? Path, bool? IsFolder, long? Size, DateTimeOffset? ModifiedDt,
        string? WebUrl, DateTimeOffset? DeletedAt, DateTimeOffset? PermissionsLastSyncedAt, string? DriveName, string? SiteId, string? SiteName,
        IReadOnlyList<Crumb> Breadcrumbs, IReadOnlyList<Permission> Permissions);

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.DriveId).NotEmpty().MaximumLength(300).WithMessage("drive_id must be 1-300 characters");
            RuleFor(q => q.ItemId).NotEmpty().MaximumLength(300).WithMessage("item_id must be 1-300 characters");
        }
    }

    private const string ItemSql = """
        SELECT i.id, i.drive_id, i.name, i.path, i.is_folder, i.size, i.modified_dt, i.web_url, i.deleted_at, i.permissions_last_synced_at,
               d.name AS drive_name, d.site_id, s.name AS site_name
          FROM msgraph_drive_items i
          LEFT JOIN msgraph_drives d ON d.id = i.drive_id
          LEFT JOIN msgraph_sites s ON s.id = d.site_id
         WHERE i.id = @ItemId AND i.drive_id = @DriveId
        """;

    private const string CrumbsSql = """
        WITH RECURSIVE up AS (
            SELECT id, parent_id, name, is_root, 0 AS depth FROM msgraph_drive_items WHERE id = @ItemId AND drive_id = @DriveId
            UNION ALL
            SELECT p.id, p.parent_id, p.name, p.is_root, up.depth + 1
              FROM msgraph_drive_items p JOIN up ON p.id = up.parent_id
             WHERE up.depth < 64
        )
        SELECT id, name, is_root FROM up ORDER BY depth DESC
        """;

    /// <summary>The item's effective permissions: those of its permission hierarchy's root (itself when it has unique
    /// permissions); inherited ones name the root they come from.</summary>
    private const string SourceSql = """
        SELECT coalesce((SELECT permission_root_id FROM msgraph_drive_items WHERE id = @ItemId AND deleted_at IS NULL), @ItemId)
        """;

    private const string PermissionsSql = """
        SELECT permission_id, array_to_string(roles, ',') AS roles, link_type, link_scope, link_expiration_dt,
               CASE WHEN item_id <> @ItemId THEN item_id ELSE inherited_from_id END AS inherited_from_id, has_password, deleted_at
          FROM msgraph_drive_item_permissions WHERE item_id = @Source AND (item_id = @ItemId OR deleted_at IS NULL)
         ORDER BY deleted_at NULLS FIRST, coalesce(link_scope, 'direct'), permission_id
        """;

    private const string GrantsSql = """
        SELECT permission_id, principal_type, principal_id,
               CASE WHEN principal_type = 'siteGroup' THEN coalesce(principal_display_name, principal_id) || ' (site group)'
                    ELSE principal_display_name END AS display_name,
               coalesce(principal_email, principal_user_principal_name) AS email, is_external, deleted_at
          FROM msgraph_drive_item_permission_grants WHERE item_id = @Source AND (item_id = @ItemId OR deleted_at IS NULL)
         ORDER BY principal_display_name, principal_id
        """;

    private const string MembersSql = """
        SELECT m.group_id, m.member_id, m.member_type, coalesce(u.display_name, g.display_name) AS display_name, u.user_principal_name AS upn
          FROM msgraph_group_members m
          LEFT JOIN msgraph_users u ON m.member_type = 'user' AND u.id = m.member_id
          LEFT JOIN msgraph_groups g ON m.member_type = 'group' AND g.id = m.member_id
         WHERE m.group_id = ANY(@GroupIds) AND m.deleted_at IS NULL
         ORDER BY coalesce(u.display_name, g.display_name), m.member_id
        """;

    private sealed record ItemRow(string Id, string DriveId, string? Name, string? Path, bool? IsFolder, long? Size, DateTimeOffset? ModifiedDt,
        string? WebUrl, DateTimeOffset? DeletedAt, DateTimeOffset? PermissionsLastSyncedAt, string? DriveName, string? SiteId, string? SiteName);
    private sealed record PermissionRow(string PermissionId, string? Roles, string? LinkType, string? LinkScope, DateTimeOffset? LinkExpirationDt,
        string? InheritedFromId, bool? HasPassword, DateTimeOffset? DeletedAt);
    private sealed record GrantRow(string PermissionId, string PrincipalType, string PrincipalId, string? DisplayName, string? Email, bool IsExternal, DateTimeOffset? DeletedAt);
    private sealed record MemberRow(string GroupId, string MemberId, string MemberType, string? DisplayName, string? Upn);

    internal sealed class Handler(Db db) : IRequestHandler<Query, Result>
    {
        public async Task<Result> Handle(Query request, CancellationToken ct)
        {
            await using var connection = await db.OpenAsync(ct);
            var item = await connection.QuerySingleOrDefaultAsync<ItemRow>(new CommandDefinition(ItemSql, request, cancellationToken: ct))
                       ?? throw new NotFoundException("drive item", request.ItemId);
            var crumbs = (await connection.QueryAsync<Crumb>(new CommandDefinition(CrumbsSql, request, cancellationToken: ct))).ToList();
            var source = await connection.ExecuteScalarAsync<string>(new CommandDefinition(SourceSql, request, cancellationToken: ct)) ?? request.ItemId;
            var args = new { request.ItemId, Source = source };
            var permissions = (await connection.QueryAsync<PermissionRow>(new CommandDefinition(PermissionsSql, args, cancellationToken: ct))).ToList();
            var grants = (await connection.QueryAsync<GrantRow>(new CommandDefinition(GrantsSql, args, cancellationToken: ct))).ToList();
            var groupIds = grants.Where(g => g.PrincipalType == "group").Select(g => g.PrincipalId).Distinct().ToArray();
            var members = groupIds.Length == 0
                ? []
                : (await connection.QueryAsync<MemberRow>(new CommandDefinition(MembersSql, new { GroupIds = groupIds }, cancellationToken: ct))).ToList();
            var membersByGroup = members.GroupBy(m => m.GroupId)
                .ToDictionary(g => g.Key, g => (IReadOnlyList<GroupMember>)g.Select(m => new GroupMember(m.MemberId, m.MemberType, m.DisplayName, m.Upn)).ToList());
            var grantsByPermission = grants.ToLookup(g => g.PermissionId);
            return new Result(item.Id, item.DriveId, item.Name, item.Path, item.IsFolder, item.Size, item.ModifiedDt, item.WebUrl, item.DeletedAt,
                item.PermissionsLastSyncedAt, item.DriveName, item.SiteId, item.SiteName, crumbs,
                permissions.Select(p => new Permission(p.PermissionId, p.Roles is { Length: > 0 } roles ? roles.Split(',') : [], p.LinkType, p.LinkScope, p.LinkExpirationDt, p.InheritedFromId,
                    p.HasPassword, p.DeletedAt,
                    grantsByPermission[p.PermissionId].Select(g => new Grant(g.PrincipalType, g.PrincipalId, g.DisplayName, g.Email, g.IsExternal,
                        g.DeletedAt, g.PrincipalType == "group" && membersByGroup.TryGetValue(g.PrincipalId, out var m) ? m : [])).ToList())).ToList());
        }
    }
}
