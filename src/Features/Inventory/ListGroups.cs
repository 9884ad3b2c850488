using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Inventory;

/// <summary>Groups with their live direct-member count: search over name and e-mail, deleted filter.</summary>
public static class ListGroups
{
    public sealed record Query(string? Search = null, string Deleted = DeletedFilter.All,
        string Sort = "name", bool Descending = false, string? Cursor = null, int Limit = 50, bool Export = false) : IRequest<Page<Row>>, IInventoryListQuery;

    public sealed record Row(string Id, string? DisplayName, string? Mail, bool? SecurityEnabled, bool? MailEnabled, string? GroupTypes,
        long MemberCount, DateTimeOffset? DeletedAt, string SortValue);

    internal static readonly IReadOnlyDictionary<string, SortColumn> Sorts = new Dictionary<string, SortColumn>
    {
        ["name"] = new("coalesce(g.display_name, '')", "text"),
    };

    internal sealed class Validator : InventoryListValidator<Query>
    {
        public Validator() : base(Sorts, 1)
        {
        }
    }

    private const string Select = """
        SELECT g.id, g.display_name, g.mail, g.security_enabled, g.mail_enabled, array_to_string(g.group_types, ',') AS group_types,
               (SELECT count(*) FROM msgraph_group_members m WHERE m.group_id = g.id AND m.deleted_at IS NULL) AS member_count,
               g.deleted_at, ({0})::text AS sort_value
          FROM msgraph_groups g
        """;

    internal sealed class Handler(Db db) : IRequestHandler<Query, Page<Row>>
    {
        public async Task<Page<Row>> Handle(Query request, CancellationToken ct)
        {
            var sort = Sorts[request.Sort];
            var q = new InventoryQuery().Deleted(request.Deleted, "g.deleted_at").Search(request.Search, "g.display_name", "g.mail");
            var sql = string.Format(Select, sort.Expression) + q.Tail(sort, request.Descending, ["g.id"], request.Cursor, request.Limit);
            await using var connection = await db.OpenAsync(ct);
            var rows = (await connection.QueryAsync<Row>(new CommandDefinition(sql, q.Parameters, cancellationToken: ct))).ToList();
            return InventoryQuery.ToPage(rows, request.Limit, r => [r.SortValue, r.Id]);
        }
    }
}
