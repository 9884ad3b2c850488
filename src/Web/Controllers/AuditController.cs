using MediatR;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Sentinel.Features.Auditing;
using Sentinel.Features.Infrastructure;
using Sentinel.Web.Auth;

namespace Sentinel.Web.Controllers;

/// <summary>Who did what (Admin only).</summary>
[Authorize(Policy = Roles.CanAdminister)]
public sealed class AuditController(IMediator mediator) : Controller
{
    public sealed record Filter(string? Actor, string? Action, string? EntityType, string? EntityId, string? From, string? To);

    [HttpGet("/audit")]
    public async Task<IActionResult> Index([FromQuery] string? actor, [FromQuery] string? action, [FromQuery(Name = "entity_type")] string? entityType,
        [FromQuery(Name = "entity_id")] string? entityId, [FromQuery] string? from, [FromQuery] string? to, [FromQuery] string? cursor, CancellationToken ct)
    {
        var page = await mediator.Send(new ListAuditEvents.Query(actor, action, entityType, entityId, Date("from", from), Date("to", to), cursor), ct);
        ViewData["Filter"] = new Filter(actor, action, entityType, entityId, from, to);
        return View(page);
    }

    private static DateTimeOffset? Date(string field, string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        return DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var d)
            ? d : throw RequestValidationException.For(field, $"{field} must be a date such as 2026-01-31");
    }
}
