using MediatR;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Sentinel.Features.Analytics;
using Sentinel.Features.Infrastructure;
using Sentinel.Web.Auth;

namespace Sentinel.Web.Controllers;

/// <summary>Posture at a glance, from the materialized views only.</summary>
[Authorize(Policy = Roles.CanRead)]
public sealed class DashboardController(IMediator mediator) : Controller
{
    [HttpGet("/")]
    public async Task<IActionResult> Index(CancellationToken ct) => View(await mediator.Send(new GetDashboard.Query(), ct));

    [HttpGet("/api/analytics")]
    public async Task<IActionResult> Api(CancellationToken ct) => Json(await mediator.Send(new GetDashboard.Query(), ct), Sentinel.Features.Infrastructure.Json.Options);
}
