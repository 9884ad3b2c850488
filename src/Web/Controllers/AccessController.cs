using MediatR;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Sentinel.Features.Access;
using Sentinel.Features.Inventory;
using Sentinel.Web.Auth;
using Sentinel.Web.Exports;

namespace Sentinel.Web.Controllers;

/// <summary>Who can reach what: access by principal (counts per site, drill-down) and the departing-employee view.</summary>
[Authorize(Policy = Roles.CanRead)]
public sealed class AccessController(IMediator mediator) : Controller
{
    public sealed record PageModel(string? Principal, string? Site, GetPrincipalAccess.Result? Access, Page<ListUsers.Row> TopGuests, Page<ListUsers.Row> TopUsers);

    public sealed record DepartingModel(GetDepartingUser.Result User, Page<ListPermissions.Row>? Permissions);

    [HttpGet("/access")]
    public async Task<IActionResult> Index([FromQuery] string? principal, [FromQuery] string? site, [FromQuery] string? cursor, [FromQuery] string? format, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(principal))
        {
            var guests = await mediator.Send(new ListUsers.Query(UserType: "Guest", Deleted: DeletedFilter.Exclude, Sort: "reach", Descending: true, Limit: 8), ct);
            var users = await mediator.Send(new ListUsers.Query(UserType: "Member", Deleted: DeletedFilter.Exclude, Sort: "reach", Descending: true, Limit: 8), ct);
            return View(new PageModel(null, null, null, guests, users));
        }
        var query = new GetPrincipalAccess.Query(principal, string.IsNullOrWhiteSpace(site) ? null : site, string.IsNullOrWhiteSpace(cursor) ? null : cursor, 100);
        if (format == "csv")
            return await CsvExport.StreamAsync(this, "access",
                ["item_id", "drive_id", "site", "name", "path", "is_folder", "ways", "via_groups", "roles", "risk"],
                async (c, limit, t) => (await mediator.Send(query with { Cursor = c, Limit = limit }, t)).Items,
                i => [i.ItemId, i.DriveId, i.SiteName, i.Name, i.Path, i.IsFolder, i.Ways, i.ViaGroups, i.Roles, PermissionRisk.Of(i.Risk).Key], ct);
        var access = await mediator.Send(query, ct);
        return View(new PageModel(principal, site, access, new Page<ListUsers.Row>([], null), new Page<ListUsers.Row>([], null)));
    }

    [HttpGet("/access/departing")]
    public async Task<IActionResult> Departing([FromQuery] string? user, [FromQuery] string? cursor, CancellationToken ct)
    {
        var result = await mediator.Send(new GetDepartingUser.Query(user ?? ""), ct);
        var permissions = result.DriveId is null ? null
            : await mediator.Send(new ListPermissions.Query(DriveId: result.DriveId, Deleted: DeletedFilter.Exclude, Cursor: string.IsNullOrWhiteSpace(cursor) ? null : cursor, Limit: 50), ct);
        return View(new DepartingModel(result, permissions));
    }
}
