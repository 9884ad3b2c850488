using System.Globalization;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Html;

namespace Sentinel.Web.Models;

/// <summary>Small rendering helpers shared by the views.</summary>
public static class Format
{
    /// <summary>A UTC timestamp that wwwroot/js/site.js rewrites into the viewer's local time zone.</summary>
    public static IHtmlContent LocalTime(DateTimeOffset? value, string empty = "—")
    {
        if (value is null) return new HtmlString(HtmlEncoder.Default.Encode(empty));
        var utc = value.Value.ToUniversalTime();
        return new HtmlString($"<time datetime=\"{utc:yyyy-MM-ddTHH:mm:ssZ}\" data-local>{utc.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC</time>");
    }

    public static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Bytes(long? size)
    {
        if (size is null) return "—";
        string[] units = ["B", "KB", "MB", "GB", "TB"];
        double s = size.Value;
        var u = 0;
        while (s >= 1024 && u < units.Length - 1) { s /= 1024; u++; }
        return u == 0 ? $"{size} B" : s.ToString("0.#", CultureInfo.InvariantCulture) + " " + units[u];
    }

    public static string StatusBadge(string? status) => status switch
    {
        "success" => "badge-ok",
        "failed" => "badge-err",
        "partial" => "badge-warn",
        "cancelled" => "badge-warn",
        "running" => "badge-run",
        _ => "badge-info",
    };
}
