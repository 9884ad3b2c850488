using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Inventory;

/// <summary>Directory users: search over name, UPN and e-mail; member/guest and deleted filters; reach (files they can open), sortable.</summary>
public static class ListUsers
{
    public sealed record Query(string? Search = null, string? UserType = null, string Deleted = DeletedFilter.All,
        string Sort = "name", bool Descending = false, string? Cursor = null, int Limit = 50, bool Export = false) : IRequest<Page<Row>>, IInventoryListQuery;

    public sealed record Row(string Id, string? DisplayName, string? UserPrincipalName, string? Mail, bool? AccountEnabled,
        string? UserType, string? Department, DateTimeOffset? DeletedAt, long Reach, string SortValue);

    internal static readonly IReadOnlyDictionary<string, SortColumn> Sorts = new Dictionary<string, SortColumn>
    {
        ["name"] = new("coalesce(u.display_name, '')", "text"),
        ["upn"] = new("coalesce(u.user_principal_name, '')", "text"),
        // Files the user can reach (mv_principal_reach, refreshed with the other views): "which guests reach the most" is one click.
        ["reach"] = new("coalesce(r.reach, 0)", "bigint"),
    };

    internal sealed class Validator : InventoryListValidator<Query>
    {
        public Validator() : base(Sorts, 1)
        {
            RuleFor(q => q.UserType).Must(t => t is null or "Member" or "Guest").WithMessage("user_type must be Member or Guest");
        }
    }

    private const string Select = """
        SELECT u.id, u.display_name, u.user_principal_name, u.mail, u.account_enabled, u.user_type, u.department, u.deleted_at,
               coalesce(r.reach, 0) AS reach, ({0})::text AS sort_value
          FROM msgraph_users u
          LEFT JOIN mv_principal_reach r ON r.user_id = u.id
        """;

    internal sealed class Handler(Db db) : IRequestHandler<Query, Page<Row>>
    {
        public async Task<Page<Row>> Handle(Query request, CancellationToken ct)
        {
            var sort = Sorts[request.Sort];
            var q = new InventoryQuery().Deleted(request.Deleted, "u.deleted_at")
                .Search(request.Search, "u.display_name", "u.user_principal_name", "u.mail");
            if (request.UserType is not null) q.Where("u.user_type = @UserType", new { request.UserType });
            var sql = string.Format(Select, sort.Expression) + q.Tail(sort, request.Descending, ["u.id"], request.Cursor, request.Limit);
            await using var connection = await db.OpenAsync(ct);
            var rows = (await connection.QueryAsync<Row>(new CommandDefinition(sql, q.Parameters, cancellationToken: ct))).ToList();
            return InventoryQuery.ToPage(rows, request.Limit, r => [r.SortValue, r.Id]);
        }
    }
}
