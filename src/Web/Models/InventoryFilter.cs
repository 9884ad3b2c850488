using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Sentinel.Features.Inventory;

namespace Sentinel.Web.Models;

/// <summary>The inventory pages' query string (snake_case, as in the links the dashboard builds).</summary>
public sealed class InventoryFilter
{
    [FromQuery(Name = "q")] public string? Q { get; set; }
    [FromQuery(Name = "deleted")] public string? Deleted { get; set; }
    [FromQuery(Name = "drive_id")] public string? DriveId { get; set; }
    [FromQuery(Name = "site_id")] public string? SiteId { get; set; }
    [FromQuery(Name = "link_scope")] public string? LinkScope { get; set; }
    [FromQuery(Name = "link_type")] public string? LinkType { get; set; }
    [FromQuery(Name = "external")] public bool External { get; set; }
    [FromQuery(Name = "never_expires")] public bool NeverExpires { get; set; }
    [FromQuery(Name = "exposed")] public bool Exposed { get; set; }
    [FromQuery(Name = "unique")] public bool Unique { get; set; }
    [FromQuery(Name = "kind")] public string? Kind { get; set; }
    [FromQuery(Name = "risk")] public string? Risk { get; set; }
    [FromQuery(Name = "stale")] public bool Stale { get; set; }
    [FromQuery(Name = "claim")] public bool Claim { get; set; }
    [FromQuery(Name = "user_type")] public string? UserType { get; set; }
    [FromQuery(Name = "drive_type")] public string? DriveType { get; set; }
    [FromQuery(Name = "sort")] public string? Sort { get; set; }
    [FromQuery(Name = "dir")] public string? Dir { get; set; }
    [FromQuery(Name = "cursor")] public string? Cursor { get; set; }
    [FromQuery(Name = "limit")] public int? Limit { get; set; }

    public bool Descending => Dir == "desc";
    public int PageSize => Limit ?? 50;

    /// <summary>Live rows by default: soft-deleted rows only when asked for (the list's validator judges the value).</summary>
    public string DeletedFilter => string.IsNullOrEmpty(Deleted) ? Features.Inventory.DeletedFilter.Exclude : Deleted;

    private Dictionary<string, string?> Values() => new()
    {
        ["q"] = Q, ["deleted"] = Deleted, ["drive_id"] = DriveId, ["site_id"] = SiteId, ["link_scope"] = LinkScope, ["link_type"] = LinkType,
        ["external"] = External ? "true" : null, ["never_expires"] = NeverExpires ? "true" : null, ["exposed"] = Exposed ? "true" : null,
        ["unique"] = Unique ? "true" : null, ["kind"] = Kind, ["risk"] = Risk, ["stale"] = Stale ? "true" : null, ["claim"] = Claim ? "true" : null, ["user_type"] = UserType, ["drive_type"] = DriveType,
        ["sort"] = Sort, ["dir"] = Dir, ["limit"] = Limit?.ToString(), ["cursor"] = Cursor,
    };

    /// <summary>This filter's URL with some values replaced (null removes); paging resets unless the cursor is given.</summary>
    public string Url(string path, params (string Key, string? Value)[] changes)
    {
        var values = Values();
        values["cursor"] = null;
        foreach (var (k, v) in changes) values[k] = v;
        return QueryHelpers.AddQueryString(path, values.Where(kv => !string.IsNullOrEmpty(kv.Value)).Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)));
    }

    public string SortUrl(string path, string key) =>
        Url(path, ("sort", key), ("dir", (Sort ?? DefaultSort(path)) == key && !Descending ? "desc" : null));

    public Microsoft.AspNetCore.Html.IHtmlContent SortMark(string path, string key) =>
        (Sort ?? DefaultSort(path)) == key ? (Descending ? Icons.SortDescending() : Icons.SortAscending()) : Microsoft.AspNetCore.Html.HtmlString.Empty;

    private static string DefaultSort(string path) => path.EndsWith("permissions") ? "risk" : "name";

    /// <summary>Active filters as removable chips (label, URL without it).</summary>
    public IEnumerable<(string Label, string RemoveUrl)> Chips(string path)
    {
        var labels = new (string Key, string? Value, string Label)[]
        {
            ("q", Q, $"search: {Q}"), ("deleted", Deleted is "all" or "only" ? Deleted : null, Deleted == "only" ? "soft-deleted only" : "with soft-deleted"),
            ("drive_id", DriveId, "drive: " + DriveId), ("site_id", SiteId, "site: " + SiteId), ("link_scope", LinkScope, "link: " + LinkScope),
            ("link_type", LinkType, "link type: " + LinkType), ("external", External ? "true" : null, "external"),
            ("never_expires", NeverExpires ? "true" : null, "never expires"), ("exposed", Exposed ? "true" : null, "exposed (anyone, organisation or external)"),
            ("unique", Unique ? "true" : null, "unique permissions"), ("risk", Risk, "risk: " + Risk?.Replace(",", ", ")),
            ("stale", Stale ? "true" : null, "exposed files untouched for a year"), ("claim", Claim ? "true" : null, "granted to an org-wide claim"), ("kind", Kind, "kind: " + Kind), ("user_type", UserType, "type: " + UserType),
            ("drive_type", DriveType, "drive type: " + DriveType),
        };
        foreach (var (key, value, label) in labels)
            if (!string.IsNullOrEmpty(value)) yield return (label, Url(path, (key, null)));
    }
}
