using System.Text.Json;
using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Inventory;

namespace Sentinel.Features.Changes;

/// <summary>
/// The posture change feed, newest first (or riskiest first), with filters: kind, scope, site, principal (id, name or
/// e-mail), external only, time range, and "after change N" (what a reviewer has not seen). Keyset paging on change_id.
/// </summary>
public static class ListChanges
{
    public sealed record Query(
        string? Kind = null, string? Scope = null, string? SiteId = null, string? Principal = null, bool ExternalOnly = false,
        string? From = null, string? To = null, long? AfterChangeId = null, string? ItemId = null,
        string Sort = "newest", string? Cursor = null, int Limit = 50, bool Html = false) : IRequest<Page<Row>>
    {
        public DateTimeOffset? FromTime => ChangeTime.Parse(From, endOfDay: false);
        public DateTimeOffset? ToTime => ChangeTime.Parse(To, endOfDay: true);
    }

    /// <summary>Rows per call: an HTML page renders at most 200; API readers and CSV exports take up to 1000.</summary>
    public const int MaxHtmlLimit = 200, MaxLimit = 1000;

    public sealed record Row(long ChangeId, Guid? RunId, DateTimeOffset RecordedAt, string Kind, string? Scope, short Risk,
        string? ItemId, string? DriveId, string? SiteId, string? SiteName, string? ItemName, string? ItemPath,
        string? PrincipalType, string? PrincipalId, string? PrincipalName, bool IsExternal, JsonElement? Before, JsonElement? After)
    {
        public string KindLabel => ChangeKinds.Of(Kind).Label;
        public bool Worsens => ChangeKinds.Of(Kind).Worsens;
    }

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.Kind).Must(k => k is null || ChangeKinds.All.Any(x => x.Key == k))
                .WithMessage($"kind must be one of: {string.Join(", ", ChangeKinds.All.Select(k => k.Key))}");
            RuleFor(q => q.Scope).Must(s => s is null || ChangeKinds.Scopes.Contains(s)).WithMessage($"scope must be one of: {string.Join(", ", ChangeKinds.Scopes)}");
            RuleFor(q => q.SiteId).MaximumLength(300).WithMessage("site_id must be at most 300 characters");
            RuleFor(q => q.ItemId).MaximumLength(300).WithMessage("item_id must be at most 300 characters");
            RuleFor(q => q.Principal).MaximumLength(320).WithMessage("principal must be at most 320 characters");
            RuleFor(q => q.From).Must(ChangeTime.IsValid).WithMessage(ChangeTime.Rule("from"));
            RuleFor(q => q.To).Must(ChangeTime.IsValid).WithMessage(ChangeTime.Rule("to"));
            RuleFor(q => q.To).Must((q, _) => q.FromTime is not { } from || q.ToTime is not { } to || to > from).WithMessage("to must be after from");
            RuleFor(q => q.Sort).Must(s => s is "newest" or "risk").WithMessage("sort must be newest or risk");
            RuleFor(q => q.Limit).InclusiveBetween(1, MaxHtmlLimit).When(q => q.Html).WithMessage($"limit must be between 1 and {MaxHtmlLimit}");
            RuleFor(q => q.Limit).InclusiveBetween(1, MaxLimit).Unless(q => q.Html).WithMessage($"limit must be between 1 and {MaxLimit}");
            RuleFor(q => q.AfterChangeId).GreaterThanOrEqualTo(0).WithMessage("after must be a change id (0 or more)");
            RuleFor(q => q.Cursor).Must((q, c) => InventoryQuery.IsValidCursor(c, 1)).WithMessage("cursor is not a valid page cursor");
        }
    }

    private const string Select = """
        SELECT c.change_id, c.run_id, c.recorded_at, c.kind, c.scope, c.risk, c.item_id, c.drive_id, c.site_id,
               coalesce(s.name, CASE WHEN c.drive_id IS NOT NULL AND c.site_id IS NULL THEN 'OneDrive' END) AS site_name,
               c.item_name, c.item_path, c.principal_type, c.principal_id, c.principal_name, c.is_external,
               c.before::text AS before, c.after::text AS after
          FROM posture_changes c
          LEFT JOIN msgraph_sites s ON s.id = c.site_id
        """;

    internal sealed class Handler(Db db) : IRequestHandler<Query, Page<Row>>
    {
        public async Task<Page<Row>> Handle(Query request, CancellationToken ct)
        {
            var where = new List<string>();
            var args = new DynamicParameters();
            args.Add("Limit", request.Limit + 1);
            if (request.Kind is not null) { where.Add("c.kind = @Kind"); args.Add("Kind", request.Kind); }
            if (request.Scope is not null) { where.Add("c.scope = @Scope"); args.Add("Scope", request.Scope); }
            if (request.SiteId is not null) { where.Add("c.site_id = @SiteId"); args.Add("SiteId", request.SiteId); }
            if (request.ItemId is not null) { where.Add("c.item_id = @ItemId"); args.Add("ItemId", request.ItemId); }
            if (!string.IsNullOrWhiteSpace(request.Principal))
            {
                where.Add("(c.principal_id = @Principal OR c.principal_name ILIKE @PrincipalLike OR lower(coalesce(c.after, c.before)->>'email') = lower(@Principal))");
                args.Add("Principal", request.Principal.Trim());
                args.Add("PrincipalLike", "%" + request.Principal.Trim().Replace(@"\", @"\\").Replace("%", @"\%").Replace("_", @"\_") + "%");
            }
            if (request.ExternalOnly) where.Add("c.is_external");
            if (request.FromTime is { } from) { where.Add("c.recorded_at >= @From"); args.Add("From", from); }
            if (request.ToTime is { } to) { where.Add("c.recorded_at < @To"); args.Add("To", to); }
            if (request.AfterChangeId is not null) { where.Add("c.change_id > @After"); args.Add("After", request.AfterChangeId); }
            var risk = request.Sort == "risk";
            if (InventoryQuery.DecodeCursor(request.Cursor, 1) is { } cursor)
            {
                args.Add("CursorRisk", short.Parse(cursor[0]!, System.Globalization.CultureInfo.InvariantCulture));
                args.Add("CursorId", long.Parse(cursor[1]!, System.Globalization.CultureInfo.InvariantCulture));
                where.Add(risk ? "(c.risk > @CursorRisk OR (c.risk = @CursorRisk AND c.change_id < @CursorId))" : "c.change_id < @CursorId");
            }
            var sql = Select + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "")
                      + (risk ? " ORDER BY c.risk, c.change_id DESC" : " ORDER BY c.change_id DESC") + " LIMIT @Limit";
            await using var connection = await db.OpenAsync(ct);
            var rows = (await connection.QueryAsync<RawRow>(new CommandDefinition(sql, args, cancellationToken: ct))).Select(r => r.ToRow()).ToList();
            return InventoryQuery.ToPage(rows, request.Limit, r => [r.Risk, r.ChangeId]);
        }
    }

    private sealed record RawRow(long ChangeId, Guid? RunId, DateTimeOffset RecordedAt, string Kind, string? Scope, short Risk,
        string? ItemId, string? DriveId, string? SiteId, string? SiteName, string? ItemName, string? ItemPath,
        string? PrincipalType, string? PrincipalId, string? PrincipalName, bool IsExternal, string? Before, string? After)
    {
        public Row ToRow() => new(ChangeId, RunId, RecordedAt, Kind, Scope, Risk, ItemId, DriveId, SiteId, SiteName, ItemName, ItemPath,
            PrincipalType, PrincipalId, PrincipalName, IsExternal, Parse(Before), Parse(After));

        private static JsonElement? Parse(string? json) => json is null ? null : JsonDocument.Parse(json).RootElement.Clone();
    }
}
