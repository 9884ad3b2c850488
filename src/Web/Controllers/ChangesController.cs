using MediatR;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Sentinel.Features.Changes;
using Sentinel.Web.Auth;
using Sentinel.Web.Exports;
using Sentinel.Web.Models;

namespace Sentinel.Web.Controllers;

/// <summary>The posture change feed: filters, counts per day, reviews ("reviewed up to here"), CSV export.</summary>
[Authorize(Policy = Roles.CanRead)]
public sealed class ChangesController(IMediator mediator) : Controller
{
    public sealed record PageModel(ChangesFilter Filter, Sentinel.Features.Inventory.Page<ListChanges.Row> Page, IReadOnlyList<CountChangesPerDay.Day> Days,
        GetReviewStatus.Result Review);

    [HttpGet("/changes")]
    public async Task<IActionResult> Index(ChangesFilter f, string? format, CancellationToken ct)
    {
        var review = await mediator.Send(new GetReviewStatus.Query(User.FindFirst("oid")?.Value, User.FindFirst("preferred_username")?.Value, 0), ct);
        var query = f.ToQuery(review.LastReview?.UpToChangeId, html: format != "csv");
        if (format == "csv")
            return await CsvExport.StreamAsync(this, "changes",
                ["change_id", "recorded_at", "run_id", "kind", "scope", "risk", "site", "item_id", "item_name", "item_path", "principal_type", "principal_id", "principal_name", "external", "before", "after"],
                (cursor, limit, c) => mediator.Send(query with { Cursor = cursor, Limit = limit }, c),
                r => [r.ChangeId, r.RecordedAt, r.RunId, r.Kind, r.Scope, r.Risk, r.SiteName, r.ItemId, r.ItemName, r.ItemPath, r.PrincipalType, r.PrincipalId,
                      r.PrincipalName, r.IsExternal, r.Before?.GetRawText(), r.After?.GetRawText()], ct);
        var page = await mediator.Send(query, ct);
        var days = await mediator.Send(new CountChangesPerDay.Query(query.From, query.To, query.Kind, f.External), ct);
        return View(new PageModel(f, page, days, review));
    }

    /// <summary>"Reviewed up to here" (Operator): records the newest change the reviewer has seen, audited.</summary>
    [HttpPost("/changes/review"), Authorize(Policy = Roles.CanOperate)]
    public async Task<IActionResult> Review([FromForm(Name = "up_to")] long? upTo, [FromForm(Name = "note")] string? note, CancellationToken ct)
    {
        var result = await mediator.Send(new MarkReviewed.Command(upTo ?? 0, note, User.ToActor()), ct);
        TempData["Flash"] = $"Marked as reviewed: {result.ChangesReviewed} change(s) up to #{result.UpToChangeId}.";
        return Redirect("/changes");
    }
}
