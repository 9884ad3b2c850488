using MediatR;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Sentinel.Features.Auditing;
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
        var page = await mediator.Send(new ListAuditEvents.Query(actor, action, entityType, entityId, from, to, cursor), ct);
        ViewData["Filter"] = new Filter(actor, action, entityType, entityId, from, to);
        return View(page);
    }
}
