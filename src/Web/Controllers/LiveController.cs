using MediatR;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Live;
using Sentinel.Web.Auth;

namespace Sentinel.Web.Controllers;

/// <summary>
/// The only routes that call Microsoft Graph (app-only token, server-side, never persisted): the JSON live
/// endpoints and the item page's "Verify live" fragment. Operators and admins only (SPEC §7).
/// </summary>
[Authorize(Policy = Roles.CanOperate)]
public sealed class LiveController(IMediator mediator) : Controller
{
    [HttpGet("/api/graph/drive-item-permissions")]
    public Task<IActionResult> DriveItemPermissions([FromQuery] string? driveId, [FromQuery] string? itemId, CancellationToken ct) =>
        Live(() => mediator.Send(new GetLiveDriveItemPermissions.Query(driveId ?? "", itemId ?? ""), ct));

    [HttpGet("/api/graph/drive-item-sharing")]
    public Task<IActionResult> DriveItemSharing([FromQuery] string? driveId, [FromQuery] string? itemId, CancellationToken ct) =>
        Live(() => mediator.Send(new GetLiveDriveItemSharing.Query(driveId ?? "", itemId ?? ""), ct));

    [HttpGet("/api/graph/site-access")]
    public Task<IActionResult> SiteAccess([FromQuery] string? siteId, CancellationToken ct) =>
        Live(() => mediator.Send(new GetLiveSiteAccess.Query(siteId ?? ""), ct));

    /// <summary>"Verify live" on the item page: the live permissions beside the stored ones, differences highlighted.</summary>
    [HttpGet("/inventory/items/{driveId}/{itemId}/live")]
    public async Task<IActionResult> VerifyItem(string driveId, string itemId, CancellationToken ct) =>
        // 200 even when Graph failed: htmx swaps the inline error in and the stored view stays as it was.
        PartialView("_LiveVerify", await mediator.Send(new VerifyItemPermissions.Query(driveId, itemId), ct));

    private async Task<IActionResult> Live<T>(Func<Task<T>> call)
    {
        try
        {
            return Json(new { source = "live", label = "Live (Graph)", data = await call() }, Sentinel.Features.Infrastructure.Json.Options);
        }
        catch (LiveGraphException e)
        {
            return StatusCode(e.Status, new { error = e.Message, code = e.Code });
        }
    }
}
