using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Access;

/// <summary>
/// Departing employee: the user's OneDrive and what in it is shared, with whom — counts by risk level, the people
/// outside the tenant who have access, and the drive id the permission list is filtered to.
/// </summary>
public static class GetDepartingUser
{
    public sealed record Query(string User) : IRequest<Result>;

    public sealed record Person(string Name, string? Email, bool IsExternal, long Items);

    public sealed record Result(string UserId, string? DisplayName, string? Upn, bool Deleted, string? DriveId, string? DriveUrl,
        long Files, long SharedItems, IReadOnlyDictionary<string, long> PermissionsByRisk, IReadOnlyList<Person> People);

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => RuleFor(q => q.User).NotEmpty().WithMessage("user is required (id, UPN or e-mail)").MaximumLength(320).WithMessage("user must be at most 320 characters");
    }

    private const string Sql = """
        SELECT u.id AS user_id, u.display_name, u.user_principal_name AS upn, u.deleted_at IS NOT NULL AS deleted,
               d.id AS drive_id, d.web_url AS drive_url
          FROM msgraph_users u
          LEFT JOIN LATERAL (SELECT id, web_url FROM msgraph_drives WHERE owner_id = u.id AND site_id IS NULL ORDER BY deleted_at NULLS FIRST, id LIMIT 1) d ON true
         WHERE u.id = @U OR lower(u.user_principal_name) = lower(@U) OR lower(u.mail) = lower(@U)
         ORDER BY u.deleted_at NULLS FIRST LIMIT 1
        """;

    // "Shared" = reachable by someone other than the owner: a link, or a grant to another principal, on the item's
    // hierarchy root (010's permission_root_id: a folder's sharing covers the files below it).
    private const string SummarySql = """
        CREATE TEMP TABLE shared_roots ON COMMIT DROP AS
        SELECT DISTINCT p.item_id AS root_id FROM msgraph_drive_item_permissions p
          JOIN msgraph_drive_items r ON r.id = p.item_id AND r.deleted_at IS NULL AND r.has_unique_permissions
         WHERE p.drive_id = @DriveId AND p.deleted_at IS NULL
           AND (p.link_scope IS NOT NULL OR EXISTS (SELECT 1 FROM msgraph_drive_item_permission_grants g
                 WHERE g.permission_id = p.permission_id AND g.item_id = p.item_id AND g.deleted_at IS NULL
                   AND coalesce(g.entra_user_id, g.principal_id) IS DISTINCT FROM @UserId));
        SELECT count(*) FROM msgraph_drive_items WHERE drive_id = @DriveId AND deleted_at IS NULL AND NOT is_folder;
        SELECT count(*) FROM msgraph_drive_items i JOIN shared_roots s ON s.root_id = i.permission_root_id
         WHERE i.drive_id = @DriveId AND i.deleted_at IS NULL AND NOT i.is_folder;
        SELECT p.risk_rank, count(*) FROM msgraph_drive_item_permissions p JOIN shared_roots s ON s.root_id = p.item_id
         WHERE p.deleted_at IS NULL GROUP BY p.risk_rank ORDER BY p.risk_rank;
        SELECT max(coalesce(g.principal_display_name, g.principal_email, g.principal_id)) AS name, max(g.principal_email) AS email, bool_or(g.is_external) AS is_external,
               count(DISTINCT i.id) AS items
          FROM msgraph_drive_item_permission_grants g
          JOIN msgraph_drive_item_permissions p ON p.permission_id = g.permission_id AND p.item_id = g.item_id AND p.deleted_at IS NULL
          JOIN shared_roots s ON s.root_id = g.item_id
          JOIN msgraph_drive_items i ON i.permission_root_id = g.item_id AND i.deleted_at IS NULL AND NOT i.is_folder
         WHERE g.deleted_at IS NULL AND coalesce(g.entra_user_id, g.principal_id) IS DISTINCT FROM @UserId
         GROUP BY coalesce(g.person_key, g.principal_type || ':' || g.principal_id)
         ORDER BY bool_or(g.is_external) DESC, count(DISTINCT i.id) DESC, 1 LIMIT 50;
        """;

    internal sealed class Handler(Db db) : IRequestHandler<Query, Result>
    {
        public async Task<Result> Handle(Query request, CancellationToken ct)
        {
            await using var connection = await db.OpenAsync(ct);
            var user = await connection.QuerySingleOrDefaultAsync<(string UserId, string? DisplayName, string? Upn, bool Deleted, string? DriveId, string? DriveUrl)>(
                new CommandDefinition(Sql, new { U = request.User.Trim() }, cancellationToken: ct)) ;
            if (user.UserId is null) throw new NotFoundException("user", request.User);
            if (user.DriveId is null)
                return new Result(user.UserId, user.DisplayName, user.Upn, user.Deleted, null, null, 0, 0, new Dictionary<string, long>(), []);
            await using var tx = await connection.BeginTransactionAsync(ct);
            await using var grid = await connection.QueryMultipleAsync(new CommandDefinition(SummarySql, new { user.DriveId, user.UserId }, tx, cancellationToken: ct));
            var files = await grid.ReadSingleAsync<long>();
            var shared = await grid.ReadSingleAsync<long>();
            var byRisk = (await grid.ReadAsync<(short Rank, long Count)>()).ToDictionary(r => Inventory.PermissionRisk.Of(r.Rank).Key, r => r.Count);
            var people = (await grid.ReadAsync<Person>()).ToList();
            return new Result(user.UserId, user.DisplayName, user.Upn, user.Deleted, user.DriveId, user.DriveUrl, files, shared, byRisk, people);
        }
    }
}
