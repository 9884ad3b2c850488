using System.Globalization;
using System.Text;
using MediatR;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Sentinel.Features.Inventory;
using Sentinel.Web.Auth;
using Sentinel.Web.Exports;
using Sentinel.Web.Models;

namespace Sentinel.Web.Controllers;

/// <summary>Inventory browsers over the stored tables: search, filters, keyset paging, sorting, CSV export of the current filter.</summary>
[Authorize(Policy = Roles.CanRead)]
[Route("/inventory")]
public sealed class InventoryController(IMediator mediator) : Controller
{
    public sealed record ListModel<T>(string Entity, string Path, InventoryFilter Filter, Page<T> Page);

    [HttpGet("")]
    public IActionResult Index() => Redirect("/inventory/items");

    [HttpGet("users")]
    public async Task<IActionResult> Users(InventoryFilter f, string? format, CancellationToken ct)
    {
        var query = new ListUsers.Query(f.Q, f.UserType, f.DeletedFilter, f.Sort ?? "name", f.Descending, f.Cursor, f.PageSize, Export: format == "csv");
        if (format == "csv")
            return await Csv("users", (c, l) => query with { Cursor = c, Limit = l }, ["id", "display_name", "user_principal_name", "mail", "account_enabled", "user_type", "department", "reach", "deleted_at"],
                r => [r.Id, r.DisplayName, r.UserPrincipalName, r.Mail, r.AccountEnabled, r.UserType, r.Department, r.Reach, r.DeletedAt], ct);
        var page = await mediator.Send(query, ct);
        return View(new ListModel<ListUsers.Row>("users", "/inventory/users", f, page));
    }

    [HttpGet("groups")]
    public async Task<IActionResult> Groups(InventoryFilter f, string? format, CancellationToken ct)
    {
        var query = new ListGroups.Query(f.Q, f.DeletedFilter, f.Sort ?? "name", f.Descending, f.Cursor, f.PageSize, Export: format == "csv");
        if (format == "csv")
            return await Csv("groups", (c, l) => query with { Cursor = c, Limit = l }, ["id", "display_name", "mail", "security_enabled", "mail_enabled", "group_types", "member_count", "deleted_at"],
                r => [r.Id, r.DisplayName, r.Mail, r.SecurityEnabled, r.MailEnabled, r.GroupTypes?.Replace(',', ';'), r.MemberCount, r.DeletedAt], ct);
        var page = await mediator.Send(query, ct);
        return View(new ListModel<ListGroups.Row>("groups", "/inventory/groups", f, page));
    }

    [HttpGet("groups/{id}")]
    public async Task<IActionResult> Group(string id, CancellationToken ct) => View(await mediator.Send(new GetGroup.Query(id), ct));

    [HttpGet("sites")]
    public async Task<IActionResult> Sites(InventoryFilter f, string? format, CancellationToken ct)
    {
        var query = new ListSites.Query(f.Q, f.DeletedFilter, f.Sort ?? "name", f.Descending, f.Cursor, f.PageSize, Export: format == "csv");
        if (format == "csv")
            return await Csv("sites", (c, l) => query with { Cursor = c, Limit = l }, ["id", "name", "web_url", "drive_count", "deleted_at"], r => [r.Id, r.Name, r.WebUrl, r.DriveCount, r.DeletedAt], ct);
        var page = await mediator.Send(query, ct);
        return View(new ListModel<ListSites.Row>("sites", "/inventory/sites", f, page));
    }

    [HttpGet("drives")]
    public async Task<IActionResult> Drives(InventoryFilter f, string? format, CancellationToken ct)
    {
        var query = new ListDrives.Query(f.Q, f.SiteId, f.DriveType, f.DeletedFilter, f.Sort ?? "name", f.Descending, f.Cursor, f.PageSize, Export: format == "csv");
        if (format == "csv")
            return await Csv("drives", (c, l) => query with { Cursor = c, Limit = l }, ["id", "name", "drive_type", "site_id", "site_name", "owner_id", "owner_name", "web_url", "deleted_at"],
                r => [r.Id, r.Name, r.DriveType, r.SiteId, r.SiteName, r.OwnerId, r.OwnerName, r.WebUrl, r.DeletedAt], ct);
        var page = await mediator.Send(query, ct);
        return View(new ListModel<ListDrives.Row>("drives", "/inventory/drives", f, page));
    }

    [HttpGet("items")]
    public async Task<IActionResult> Items(InventoryFilter f, string? format, CancellationToken ct)
    {
        var query = new ListItems.Query(f.Q, f.DriveId, f.SiteId, f.Kind, f.DeletedFilter, f.Unique, f.LinkScope,
            f.Sort ?? "name", f.Descending, f.Cursor, f.PageSize, StaleExposed: f.Stale, Export: format == "csv");
        if (format == "csv")
            return await Csv("items", (c, l) => query with { Cursor = c, Limit = l }, ["id", "drive_id", "name", "path", "is_folder", "size", "modified_dt", "site_name", "drive_name", "deleted_at"],
                r => [r.Id, r.DriveId, r.Name, r.Path, r.IsFolder, r.Size, r.ModifiedDt, r.SiteName, r.DriveName, r.DeletedAt], ct);
        var page = await mediator.Send(query, ct);
        return View(new ListModel<ListItems.Row>("items", "/inventory/items", f, page));
    }

    [HttpGet("permissions")]
    public async Task<IActionResult> Permissions(InventoryFilter f, string? format, CancellationToken ct)
    {
        var query = ToPermissionsQuery(f, export: format == "csv");
        if (format == "csv")
            return await Csv("permissions", (c, l) => query with { Cursor = c, Limit = l }, ["permission_id", "item_id", "drive_id", "item_name", "item_path", "risk", "roles", "link_type", "link_scope", "link_expiration_dt", "inherited", "external", "grantees", "site_name", "drive_name", "deleted_at"],
                r => [r.PermissionId, r.ItemId, r.DriveId, r.ItemName, r.ItemPath, r.Risk.Key, r.Roles?.Replace(',', ';'), r.LinkType, r.LinkScope ?? "direct",
                    r.LinkExpirationDt, r.InheritedFromId is not null, r.External, r.Grantees, r.SiteName, r.DriveName, r.DeletedAt], ct);
        var page = await mediator.Send(query, ct);
        return View(new ListModel<ListPermissions.Row>("permissions", "/inventory/permissions", f, page));
    }

    internal static ListPermissions.Query ToPermissionsQuery(InventoryFilter f, bool export = false) =>
        new(f.Q, f.LinkScope, f.LinkType, f.External, f.NeverExpires, f.Exposed, f.Unique, f.DriveId, f.SiteId, null, f.DeletedFilter,
            f.Sort ?? "risk", f.Descending, f.Cursor, f.PageSize, Risk: string.IsNullOrEmpty(f.Risk) ? null : f.Risk, ClaimOnly: f.Claim, Export: export);

    [HttpGet("items/{driveId}/{itemId}")]
    public async Task<IActionResult> Item(string driveId, string itemId, CancellationToken ct) =>
        View(await mediator.Send(new GetItemDetail.Query(driveId, itemId), ct));

    /// <summary>The whole filter (from the first row, whatever cursor the page had) as a streamed, audited CSV download.</summary>
    private Task<IActionResult> Csv<TRow>(string name, Func<string?, int, IRequest<Page<TRow>>> page, string[] header, Func<TRow, object?[]> cells, CancellationToken ct) =>
        CsvExport.StreamAsync(this, name, header, (cursor, limit, c) => mediator.Send(page(cursor, limit), c), cells, ct);
}
