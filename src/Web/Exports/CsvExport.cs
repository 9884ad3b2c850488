using System.Globalization;
using System.Text;
using MediatR;
using Microsoft.AspNetCore.Mvc;
using Sentinel.Features.Exports;
using Sentinel.Features.Inventory;
using Sentinel.Web.Auth;

namespace Sentinel.Web.Exports;

/// <summary>
/// A CSV download streamed page by page (keyset paging through the list's own slice), so memory stays at one page
/// whatever the size of the export. The first page is read before anything is sent: bad filters still answer 400.
/// RFC 4180; cells a spreadsheet would run as a formula (=, +, -, @, tab, CR) are prefixed with an apostrophe.
/// Limited by <see cref="ExportGate"/> and audited (export.csv) when the download ends, completed or not.
/// </summary>
public static class CsvExport
{
    public const int PageSize = 1000;

    public static async Task<IActionResult> StreamAsync<T>(ControllerBase controller, string name, string[] header,
        Func<string?, int, CancellationToken, Task<Page<T>>> fetch, Func<T, object?[]> cells, CancellationToken ct)
    {
        var http = controller.HttpContext;
        var gate = http.RequestServices.GetRequiredService<ExportGate>();
        var slot = gate.TryEnter();
        if (slot is null)
        {
            http.Response.Headers.RetryAfter = "5";
            return new ObjectResult(new { error = $"Too many exports are running (at most {gate.Limit} at once); try again in a few seconds.", code = "too_many_exports" })
                { StatusCode = StatusCodes.Status429TooManyRequests };
        }
        Page<T> first;
        try
        {
            first = await fetch(null, PageSize, ct);
        }
        catch
        {
            slot.Dispose();
            throw;
        }
        var filter = http.Request.Query.Where(q => q.Key is not "format" and not "cursor" and not "limit")
            .ToDictionary(q => q.Key, q => q.Value.ToString());
        return new StreamResult<T>(name, header, first, fetch, cells, slot, filter, http.User.ToActor());
    }

    private sealed class StreamResult<T>(string name, string[] header, Page<T> first, Func<string?, int, CancellationToken, Task<Page<T>>> fetch,
        Func<T, object?[]> cells, IDisposable slot, Dictionary<string, string> filter, Sentinel.Features.Infrastructure.Actor actor) : IActionResult
    {
        public async Task ExecuteResultAsync(ActionContext context)
        {
            var response = context.HttpContext.Response;
            var ct = context.HttpContext.RequestAborted;
            long rows = 0;
            var completed = false;
            try
            {
                response.ContentType = "text/csv; charset=utf-8";
                response.Headers.ContentDisposition = $"attachment; filename=\"sentinel-{name}.csv\"";
                var sb = new StringBuilder();
                sb.AppendJoin(',', header).Append("\r\n");
                var page = first;
                while (true)
                {
                    foreach (var row in page.Rows)
                    {
                        sb.AppendJoin(',', cells(row).Select(Cell)).Append("\r\n");
                        rows++;
                    }
                    await response.WriteAsync(sb.ToString(), Encoding.UTF8, ct);
                    await response.Body.FlushAsync(ct);
                    sb.Clear();
                    if (page.NextCursor is null) break;
                    page = await fetch(page.NextCursor, PageSize, ct);
                }
                completed = true;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // The client went away: nothing more to send; the audit row says so.
            }
            finally
            {
                slot.Dispose();
                var mediator = context.HttpContext.RequestServices.GetRequiredService<IMediator>();
                await mediator.Send(new RecordExport.Command(actor, name, filter, rows, completed), CancellationToken.None);
            }
        }
    }

    public static string Cell(object? value)
    {
        var s = value switch
        {
            null => "",
            DateTimeOffset d => d.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            bool b => b ? "true" : "false",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };
        // A leading formula character, even after spaces, makes Excel/LibreOffice/Sheets evaluate the cell.
        var t = s.TrimStart(' ');
        if (t.Length > 0 && "=+-@\t\r\n".Contains(t[0]) && !IsPlainNumber(s)) s = "'" + s;
        return s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
    }

    /// <summary>Negative numbers are data, not formulas (-5, -1.25e3 stay as they are).</summary>
    private static bool IsPlainNumber(string s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _) && !s.Contains('\t') && !s.Contains('\r');
}
