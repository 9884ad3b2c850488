using System.Globalization;
using System.Text;
using MediatR;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Sentinel.Features.Inventory;
using Sentinel.Web.Auth;
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
        var export = format == "csv";
        var page = await mediator.Send(new ListUsers.Query(f.Q, f.UserType, f.DeletedFilter, f.Sort ?? "name", f.Descending, export ? null : f.Cursor, f.PageLimit(export)), ct);
        if (export)
            return Csv("users", ["id", "display_name", "user_principal_name", "mail", "account_enabled", "user_type", "department", "deleted_at"],
                page.Rows.Select(r => new object?[] { r.Id, r.DisplayName, r.UserPrincipalName, r.Mail, r.AccountEnabled, r.UserType, r.Department, r.DeletedAt }));
        return View(new ListModel<ListUsers.Row>("users", "/inventory/users", f, page));
    }

    [HttpGet("groups")]
    public async Task<IActionResult> Groups(InventoryFilter f, string? format, CancellationToken ct)
    {
        var export = format == "csv";
        var page = await mediator.Send(new ListGroups.Query(f.Q, f.DeletedFilter, f.Sort ?? "name", f.Descending, export ? null : f.Cursor, f.PageLimit(export)), ct);
        if (export)
            return Csv("groups", ["id", "display_name", "mail", "security_enabled", "mail_enabled", "group_types", "member_count", "deleted_at"],
                page.Rows.Select(r => new object?[] { r.Id, r.DisplayName, r.Mail, r.SecurityEnabled, r.MailEnabled, r.GroupTypes?.Replace(',', ';'), r.MemberCount, r.DeletedAt }));
        return View(new ListModel<ListGroups.Row>("groups", "/inventory/groups", f, page));
    }

    [HttpGet("groups/{id}")]
    public async Task<IActionResult> Group(string id, CancellationToken ct) => View(await mediator.Send(new GetGroup.Query(id), ct));

    [HttpGet("sites")]
    public async Task<IActionResult> Sites(InventoryFilter f, string? format, CancellationToken ct)
    {
        var export = format == "csv";
        var page = await mediator.Send(new ListSites.Query(f.Q, f.DeletedFilter, f.Sort ?? "name", f.Descending, export ? null : f.Cursor, f.PageLimit(export)), ct);
        if (export)
            return Csv("sites", ["id", "name", "web_url", "drive_count", "deleted_at"],
                page.Rows.Select(r => new object?[] { r.Id, r.Name, r.WebUrl, r.DriveCount, r.DeletedAt }));
        return View(new ListModel<ListSites.Row>("sites", "/inventory/sites", f, page));
    }

    [HttpGet("drives")]
    public async Task<IActionResult> Drives(InventoryFilter f, string? format, CancellationToken ct)
    {
        var export = format == "csv";
        var page = await mediator.Send(new ListDrives.Query(f.Q, f.SiteId, f.DriveType, f.DeletedFilter, f.Sort ?? "name", f.Descending, export ? null : f.Cursor, f.PageLimit(export)), ct);
        if (export)
            return Csv("drives", ["id", "name", "drive_type", "site_id", "site_name", "owner_id", "owner_name", "web_url", "deleted_at"],
                page.Rows.Select(r => new object?[] { r.Id, r.Name, r.DriveType, r.SiteId, r.SiteName, r.OwnerId, r.OwnerName, r.WebUrl, r.DeletedAt }));
        return View(new ListModel<ListDrives.Row>("drives", "/inventory/drives", f, page));
    }

    [HttpGet("items")]
    public async Task<IActionResult> Items(InventoryFilter f, string? format, CancellationToken ct)
    {
        var export = format == "csv";
        var page = await mediator.Send(new ListItems.Query(f.Q, f.DriveId, f.SiteId, f.Kind, f.DeletedFilter, f.Unique, f.LinkScope,
            f.Sort ?? "name", f.Descending, export ? null : f.Cursor, f.PageLimit(export)), ct);
        if (export)
            return Csv("items", ["id", "drive_id", "name", "path", "is_folder", "size", "modified_dt", "site_name", "drive_name", "deleted_at"],
                page.Rows.Select(r => new object?[] { r.Id, r.DriveId, r.Name, r.Path, r.IsFolder, r.Size, r.ModifiedDt, r.SiteName, r.DriveName, r.DeletedAt }));
        return View(new ListModel<ListItems.Row>("items", "/inventory/items", f, page));
    }

    [HttpGet("permissions")]
    public async Task<IActionResult> Permissions(InventoryFilter f, string? format, CancellationToken ct)
    {
        var export = format == "csv";
        var page = await mediator.Send(ToPermissionsQuery(f, export), ct);
        if (export)
            return Csv("permissions", ["permission_id", "item_id", "drive_id", "item_name", "item_path", "roles", "link_type", "link_scope", "link_expiration_dt", "inherited", "external", "grantees", "site_name", "drive_name", "deleted_at"],
                page.Rows.Select(r => new object?[] { r.PermissionId, r.ItemId, r.DriveId, r.ItemName, r.ItemPath, r.Roles?.Replace(',', ';'), r.LinkType, r.LinkScope ?? "direct",
                    r.LinkExpirationDt, r.InheritedFromId is not null, r.External, r.Grantees, r.SiteName, r.DriveName, r.DeletedAt }));
        return View(new ListModel<ListPermissions.Row>("permissions", "/inventory/permissions", f, page));
    }

    internal static ListPermissions.Query ToPermissionsQuery(InventoryFilter f, bool export) =>
        new(f.Q, f.LinkScope, f.LinkType, f.External, f.NeverExpires, f.Exposed, f.Unique, f.DriveId, f.SiteId, null, f.DeletedFilter,
            f.Sort ?? "risk", f.Descending, export ? null : f.Cursor, f.PageLimit(export));

    [HttpGet("items/{driveId}/{itemId}")]
    public async Task<IActionResult> Item(string driveId, string itemId, CancellationToken ct) =>
        View(await mediator.Send(new GetItemDetail.Query(driveId, itemId), ct));

    /// <summary>RFC 4180 CSV; cells that a spreadsheet would run as a formula are prefixed with an apostrophe.</summary>
    private FileContentResult Csv(string name, string[] header, IEnumerable<object?[]> rows)
    {
        var sb = new StringBuilder();
        sb.AppendJoin(',', header).Append("\r\n");
        foreach (var row in rows)
            sb.AppendJoin(',', row.Select(Cell)).Append("\r\n");
        return File(Encoding.UTF8.GetBytes(sb.ToString()), "text/csv; charset=utf-8", $"sentinel-{name}.csv");
    }

    private static string Cell(object? value)
    {
        var s = value switch
        {
            null => "",
            DateTimeOffset d => d.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            bool b => b ? "true" : "false",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };
        if (s.Length > 0 && "=+-@\t\r".Contains(s[0])) s = "'" + s;
        return s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
    }
}
