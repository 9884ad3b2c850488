using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Inventory;

/// <summary>Directory users: search over name, UPN and e-mail; member/guest and deleted filters.</summary>
public static class ListUsers
{
    public sealed record Query(string? Search = null, string? UserType = null, DeletedFilter Deleted = DeletedFilter.All,
        string Sort = "name", bool Descending = false, string? Cursor = null, int Limit = 50) : IRequest<Page<Row>>;

    public sealed record Row(string Id, string? DisplayName, string? UserPrincipalName, string? Mail, bool? AccountEnabled,
        string? UserType, string? Department, DateTimeOffset? DeletedAt, string SortValue);

    internal static readonly IReadOnlyDictionary<string, SortColumn> Sorts = new Dictionary<string, SortColumn>
    {
        ["name"] = new("coalesce(u.display_name, '')", "text"),
        ["upn"] = new("coalesce(u.user_principal_name, '')", "text"),
    };

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.Search).MaximumLength(200).WithMessage("search must be at most 200 characters");
            RuleFor(q => q.Sort).Must(Sorts.ContainsKey).WithMessage($"sort must be one of: {string.Join(", ", Sorts.Keys)}");
            RuleFor(q => q.UserType).Must(t => t is null or "Member" or "Guest").WithMessage("user_type must be Member or Guest");
            RuleFor(q => q.Limit).InclusiveBetween(1, InventoryQuery.MaxExportRows).WithMessage($"limit must be between 1 and {InventoryQuery.MaxExportRows}");
            RuleFor(q => q.Cursor).Must(c => InventoryQuery.IsValidCursor(c, 1)).WithMessage("cursor is not a valid page cursor");
        }
    }

    private const string Select = """
        SELECT u.id, u.display_name, u.user_principal_name, u.mail, u.account_enabled, u.user_type, u.department, u.deleted_at,
               ({0})::text AS sort_value
          FROM msgraph_users u
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
