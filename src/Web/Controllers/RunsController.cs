using MediatR;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Jobs;
using Sentinel.Features.Runs;
using Sentinel.Web.Auth;

namespace Sentinel.Web.Controllers;

/// <summary>Run history with filters, and one run's detail (progress refreshes while it runs).</summary>
[Authorize(Policy = Roles.CanRead)]
public sealed class RunsController(IMediator mediator) : Controller
{
    public sealed record IndexModel(ListRuns.Result Runs, IReadOnlyList<JobView> Jobs, Guid? JobId, string? Status, string? TriggeredBy);

    [HttpGet("/runs")]
    public async Task<IActionResult> Index([FromQuery(Name = "job_id")] string? jobId, [FromQuery] string? status,
        [FromQuery(Name = "triggered_by")] string? triggeredBy, [FromQuery] string? cursor, CancellationToken ct)
    {
        var runs = await mediator.Send(new ListRuns.Query(Blank(jobId), Blank(status), Blank(triggeredBy), 50, Blank(cursor)), ct);
        Guid? job = Guid.TryParse(jobId, out var g) ? g : null;
        var jobs = (await mediator.Send(new ListJobs.Query(), ct)).Jobs;
        return View(new IndexModel(runs, jobs, job, Blank(status), Blank(triggeredBy)));
    }

    [HttpGet("/runs/{runId:guid}")]
    public async Task<IActionResult> Show(Guid runId, CancellationToken ct) => View(await mediator.Send(new GetRun.Query(runId), ct));

    /// <summary>htmx fragment polled every 2 s while the run is running; it stops polling once the run has finished.</summary>
    [HttpGet("/runs/{runId:guid}/progress")]
    public async Task<IActionResult> Progress(Guid runId, CancellationToken ct) => PartialView("_Progress", await mediator.Send(new GetRun.Query(runId), ct));

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
