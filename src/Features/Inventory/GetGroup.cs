using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Inventory;

/// <summary>One group and its direct members (users and nested groups), deleted memberships included with their date.</summary>
public static class GetGroup
{
    public sealed record Query(string GroupId) : IRequest<Result>;

    public sealed record Member(string MemberId, string MemberType, string? DisplayName, string? Upn, DateTimeOffset? DeletedAt);

    public sealed record Result(string Id, string? DisplayName, string? Mail, bool? SecurityEnabled, string? GroupTypes,
        DateTimeOffset? DeletedAt, IReadOnlyList<Member> Members);

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => RuleFor(q => q.GroupId).NotEmpty().MaximumLength(300).WithMessage("group_id must be 1-300 characters");
    }

    private const string GroupSql = "SELECT id, display_name, mail, security_enabled, array_to_string(group_types, ',') AS group_types, deleted_at FROM msgraph_groups WHERE id = @GroupId";
    private const string MembersSql = """
        SELECT m.member_id, m.member_type, coalesce(u.display_name, g.display_name) AS display_name, u.user_principal_name AS upn, m.deleted_at
          FROM msgraph_group_members m
          LEFT JOIN msgraph_users u ON m.member_type = 'user' AND u.id = m.member_id
          LEFT JOIN msgraph_groups g ON m.member_type = 'group' AND g.id = m.member_id
         WHERE m.group_id = @GroupId
         ORDER BY m.deleted_at NULLS FIRST, coalesce(u.display_name, g.display_name), m.member_id
         LIMIT 2000
        """;

    private sealed record GroupRow(string Id, string? DisplayName, string? Mail, bool? SecurityEnabled, string? GroupTypes, DateTimeOffset? DeletedAt);

    internal sealed class Handler(Db db) : IRequestHandler<Query, Result>
    {
        public async Task<Result> Handle(Query request, CancellationToken ct)
        {
            await using var connection = await db.OpenAsync(ct);
            var g = await connection.QuerySingleOrDefaultAsync<GroupRow>(new CommandDefinition(GroupSql, request, cancellationToken: ct))
                    ?? throw new NotFoundException("group", request.GroupId);
            var members = (await connection.QueryAsync<Member>(new CommandDefinition(MembersSql, request, cancellationToken: ct))).ToList();
            return new Result(g.Id, g.DisplayName, g.Mail, g.SecurityEnabled, g.GroupTypes, g.DeletedAt, members);
        }
    }
}
