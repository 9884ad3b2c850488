using MediatR;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Sentinel.Features.Analytics;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Posture;
using Sentinel.Web.Auth;

namespace Sentinel.Web.Controllers;

/// <summary>Posture at a glance, from the materialized views only.</summary>
[Authorize(Policy = Roles.CanRead)]
public sealed class DashboardController(IMediator mediator) : Controller
{
    [HttpGet("/")]
    public async Task<IActionResult> Index(CancellationToken ct)
    {
        ViewData["IngestState"] = await mediator.Send(new GetIngestState.Query(), ct);
        ViewData["ReviewStatus"] = await mediator.Send(new Sentinel.Features.Changes.GetReviewStatus.Query(User.FindFirst("oid")?.Value, User.FindFirst("preferred_username")?.Value), ct);
        ViewData["Oversharing"] = await mediator.Send(new GetOversharing.Query(), ct);
        return View(await mediator.Send(new GetDashboard.Query(), ct));
    }

    /// <summary>htmx fragment polled while the first ingest runs; once it has finished the whole page reloads with the numbers.</summary>
    [HttpGet("/dashboard/first-ingest")]
    public async Task<IActionResult> FirstIngest(CancellationToken ct)
    {
        var state = await mediator.Send(new GetIngestState.Query(), ct);
        if (!state.FirstIngestPending || state.Running is null) Response.Headers["HX-Refresh"] = "true";
        return PartialView("_IngestState", state);
    }

    [HttpGet("/api/analytics")]
    public async Task<IActionResult> Api(CancellationToken ct) => Json(await mediator.Send(new GetDashboard.Query(), ct), Sentinel.Features.Infrastructure.Json.Options);
}
