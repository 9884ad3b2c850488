using Microsoft.AspNetCore.Html;

namespace Sentinel.Web.Models;

/// <summary>
/// Inline SVG icons (stroke paths in the style of Heroicons, drawn here): they render the same on every machine,
/// unlike emoji or symbol glyphs whose fonts a server or kiosk browser may lack. Colour follows the text (currentColor).
/// </summary>
public static class Icons
{
    private static HtmlString Svg(string paths, string css = "h-4 w-4", string? label = null) => new(
        $"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 24 24\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.8\" " +
        $"stroke-linecap=\"round\" stroke-linejoin=\"round\" class=\"icon inline-block shrink-0 align-[-0.15em] {css}\" " +
        (label is null ? "aria-hidden=\"true\"" : $"role=\"img\" aria-label=\"{label}\"") + $">{paths}</svg>");

    public static HtmlString Folder(string css = "h-4 w-4 text-amber-500") =>
        Svg("<path d=\"M3 7.5A1.5 1.5 0 0 1 4.5 6h4.3l2 2.2h8.7A1.5 1.5 0 0 1 21 9.7v8.8a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 18.5z\"/>", css, "folder");

    public static HtmlString File(string css = "h-4 w-4 text-slate-400") =>
        Svg("<path d=\"M14 3H7.5A1.5 1.5 0 0 0 6 4.5v15A1.5 1.5 0 0 0 7.5 21h9a1.5 1.5 0 0 0 1.5-1.5V7z\"/><path d=\"M14 3v4h4\"/>", css, "file");

    public static HtmlString SortAscending(string css = "h-3 w-3") => Svg("<path d=\"M6 15l6-6 6 6\"/>", css, "ascending");
    public static HtmlString SortDescending(string css = "h-3 w-3") => Svg("<path d=\"M6 9l6 6 6-6\"/>", css, "descending");
    public static HtmlString Close(string css = "h-3 w-3") => Svg("<path d=\"M6 6l12 12M18 6L6 18\"/>", css);
    public static HtmlString ArrowRight(string css = "h-4 w-4") => Svg("<path d=\"M5 12h14M13 6l6 6-6 6\"/>", css);
    public static HtmlString Warning(string css = "h-4 w-4") =>
        Svg("<path d=\"M12 3.5 2.5 20h19z\"/><path d=\"M12 10v4.5M12 17.3v.2\"/>", css);
    public static HtmlString Info(string css = "h-4 w-4") => Svg("<circle cx=\"12\" cy=\"12\" r=\"9\"/><path d=\"M12 11v5M12 7.8v.2\"/>", css);
    public static HtmlString Check(string css = "h-4 w-4") => Svg("<path d=\"M5 12.5l4.5 4.5L19 7.5\"/>", css);
    public static HtmlString Link(string css = "h-4 w-4") =>
        Svg("<path d=\"M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1\"/><path d=\"M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1\"/>", css);
    public static HtmlString User(string css = "h-4 w-4") => Svg("<circle cx=\"12\" cy=\"8\" r=\"3.5\"/><path d=\"M5 20a7 7 0 0 1 14 0\"/>", css);
    public static HtmlString Globe(string css = "h-4 w-4") =>
        Svg("<circle cx=\"12\" cy=\"12\" r=\"9\"/><path d=\"M3 12h18M12 3c2.5 2.7 3.8 5.7 3.8 9s-1.3 6.3-3.8 9c-2.5-2.7-3.8-5.7-3.8-9S9.5 5.7 12 3z\"/>", css);
}
