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

    private const string SummarySql = """
        SELECT count(*) FILTER (WHERE NOT coalesce(is_folder, false)) FROM msgraph_drive_items WHERE drive_id = @DriveId AND deleted_at IS NULL AND NOT is_root;
        SELECT count(DISTINCT p.item_id) FROM msgraph_drive_item_permissions p JOIN msgraph_drive_items i ON i.id = p.item_id AND i.deleted_at IS NULL
         WHERE p.drive_id = @DriveId AND p.deleted_at IS NULL;
        SELECT p.risk_rank, count(*) FROM msgraph_drive_item_permissions p JOIN msgraph_drive_items i ON i.id = p.item_id AND i.deleted_at IS NULL
         WHERE p.drive_id = @DriveId AND p.deleted_at IS NULL GROUP BY p.risk_rank ORDER BY p.risk_rank;
        SELECT max(coalesce(g.principal_display_name, g.principal_email, g.principal_id)) AS name, max(g.principal_email) AS email, bool_or(g.is_external) AS is_external,
               count(DISTINCT g.item_id) AS items
          FROM msgraph_drive_item_permission_grants g
          JOIN msgraph_drive_item_permissions p ON p.permission_id = g.permission_id AND p.item_id = g.item_id AND p.deleted_at IS NULL
          JOIN msgraph_drive_items i ON i.id = g.item_id AND i.deleted_at IS NULL
         WHERE p.drive_id = @DriveId AND g.deleted_at IS NULL AND g.principal_id IS DISTINCT FROM @UserId
         GROUP BY g.principal_type, g.principal_id ORDER BY bool_or(g.is_external) DESC, count(DISTINCT g.item_id) DESC, 1 LIMIT 50;
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
            await using var grid = await connection.QueryMultipleAsync(new CommandDefinition(SummarySql, new { user.DriveId, user.UserId }, cancellationToken: ct));
            var files = await grid.ReadSingleAsync<long>();
            var shared = await grid.ReadSingleAsync<long>();
            var byRisk = (await grid.ReadAsync<(short Rank, long Count)>()).ToDictionary(r => Inventory.PermissionRisk.Of(r.Rank).Key, r => r.Count);
            var people = (await grid.ReadAsync<Person>()).ToList();
            return new Result(user.UserId, user.DisplayName, user.Upn, user.Deleted, user.DriveId, user.DriveUrl, files, shared, byRisk, people);
        }
    }
}
