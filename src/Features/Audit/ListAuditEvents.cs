using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Inventory;

namespace Sentinel.Features.Auditing;

/// <summary>Who did what, newest first: filter by actor, action prefix, entity and time range; keyset paging.</summary>
public static class ListAuditEvents
{
    public sealed record Query(string? Actor = null, string? Action = null, string? EntityType = null, string? EntityId = null,
        string? From = null, string? To = null, string? Cursor = null, int Limit = 50) : IRequest<Page<Row>>;

    public sealed record Row(Guid EventId, DateTimeOffset OccurredAt, string? ActorUpn, string? ActorName, string Action,
        string? EntityType, string? EntityId, string Details);

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.Actor).MaximumLength(200).WithMessage("actor must be at most 200 characters");
            RuleFor(q => q.Action).MaximumLength(100).WithMessage("action must be at most 100 characters");
            RuleFor(q => q.EntityType).MaximumLength(100).WithMessage("entity_type must be at most 100 characters");
            RuleFor(q => q.EntityId).MaximumLength(300).WithMessage("entity_id must be at most 300 characters");
            RuleFor(q => q.Limit).InclusiveBetween(1, InventoryQuery.MaxPageSize).WithMessage($"limit must be between 1 and {InventoryQuery.MaxPageSize}");
            RuleFor(q => q.Cursor).Must(c => InventoryQuery.IsValidCursor(c, 1) && (c is null || Guid.TryParse(InventoryQuery.DecodeCursor(c, 1)![1], out _)))
                .WithMessage("cursor is not a valid page cursor");
            RuleFor(q => q.From).Must(d => Date(d) is not null).When(q => !string.IsNullOrWhiteSpace(q.From)).WithMessage("from must be a date such as 2026-01-31");
            RuleFor(q => q.To).Must(d => Date(d) is not null).When(q => !string.IsNullOrWhiteSpace(q.To)).WithMessage("to must be a date such as 2026-01-31");
            RuleFor(q => q).Must(q => Date(q.From) is not { } from || Date(q.To) is not { } to || from <= to).WithName("from").WithMessage("from must not be after to");
        }
    }

    private const string Select = """
        SELECT event_id, occurred_at, actor_upn, actor_name, action, entity_type, entity_id, details::text AS details
          FROM audit_events
        """;

    internal sealed class Handler(Db db) : IRequestHandler<Query, Page<Row>>
    {
        public async Task<Page<Row>> Handle(Query request, CancellationToken ct)
        {
            var q = new InventoryQuery();
            if (!string.IsNullOrWhiteSpace(request.Actor))
            {
                q.Parameters.Add("Actor", "%" + request.Actor.Trim().Replace(@"\", @"\\").Replace("%", @"\%").Replace("_", @"\_") + "%");
                q.Where("(actor_upn ILIKE @Actor OR actor_name ILIKE @Actor)");
            }
            if (!string.IsNullOrWhiteSpace(request.Action)) q.Where("action LIKE @ActionPrefix", new { ActionPrefix = request.Action.Trim() + "%" });
            if (!string.IsNullOrWhiteSpace(request.EntityType)) q.Where("entity_type = @EntityType", new { request.EntityType });
            if (!string.IsNullOrWhiteSpace(request.EntityId)) q.Where("entity_id = @EntityId", new { request.EntityId });
            if (Date(request.From) is { } from) q.Where("occurred_at >= @From", new { From = from });
            if (Date(request.To) is { } to) q.Where("occurred_at <= @To", new { To = to });
            var sql = Select + q.Tail(new SortColumn("occurred_at", "timestamptz"), descending: true, ["event_id"], request.Cursor, request.Limit)
                .Replace("@CursorId0", "@CursorId0::uuid");
            await using var connection = await db.OpenAsync(ct);
            var rows = (await connection.QueryAsync<Row>(new CommandDefinition(sql, q.Parameters, cancellationToken: ct))).ToList();
            return InventoryQuery.ToPage(rows, request.Limit, r => [r.OccurredAt, r.EventId]);
        }
    }

    /// <summary>A from/to filter as typed (ISO date or date-time; no offset means UTC), or null.</summary>
    private static DateTimeOffset? Date(string? value) =>
        DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var d) ? d : null;
}
