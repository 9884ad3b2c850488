using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Sentinel.Features.Changes;

namespace Sentinel.Web.Models;

/// <summary>The Changes page's and /api/changes' query string (snake_case).</summary>
public sealed class ChangesFilter
{
    [FromQuery(Name = "kind")] public string? Kind { get; set; }
    [FromQuery(Name = "scope")] public string? Scope { get; set; }
    [FromQuery(Name = "site_id")] public string? SiteId { get; set; }
    [FromQuery(Name = "item_id")] public string? ItemId { get; set; }
    [FromQuery(Name = "principal")] public string? Principal { get; set; }
    [FromQuery(Name = "external")] public bool External { get; set; }
    [FromQuery(Name = "from")] public string? From { get; set; }
    [FromQuery(Name = "to")] public string? To { get; set; }
    [FromQuery(Name = "after")] public long? After { get; set; }
    [FromQuery(Name = "since_review")] public bool SinceReview { get; set; }
    [FromQuery(Name = "sort")] public string? Sort { get; set; }
    [FromQuery(Name = "cursor")] public string? Cursor { get; set; }
    [FromQuery(Name = "limit")] public int? Limit { get; set; }

    /// <summary>The list query; <paramref name="html"/>: for a rendered page (its validator caps the rows lower than an API's).</summary>
    public ListChanges.Query ToQuery(long? reviewedUpTo, int defaultLimit = 50, bool html = false) => new(
        Blank(Kind), Blank(Scope), Blank(SiteId), Blank(Principal), External, Blank(From), Blank(To),
        SinceReview ? Math.Max(reviewedUpTo ?? 0, After ?? 0) : After, Blank(ItemId), Blank(Sort) ?? "newest", Blank(Cursor), Limit ?? defaultLimit, html);

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private Dictionary<string, string?> Values() => new()
    {
        ["kind"] = Kind, ["scope"] = Scope, ["site_id"] = SiteId, ["item_id"] = ItemId, ["principal"] = Principal, ["external"] = External ? "true" : null,
        ["from"] = From, ["to"] = To, ["after"] = After?.ToString(CultureInfo.InvariantCulture), ["since_review"] = SinceReview ? "true" : null,
        ["sort"] = Sort, ["limit"] = Limit?.ToString(CultureInfo.InvariantCulture), ["cursor"] = Cursor,
    };

    public string Url(string path, params (string Key, string? Value)[] changes)
    {
        var values = Values();
        values["cursor"] = null;
        foreach (var (k, v) in changes) values[k] = v;
        return QueryHelpers.AddQueryString(path, values.Where(kv => !string.IsNullOrEmpty(kv.Value)).Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)));
    }
}
