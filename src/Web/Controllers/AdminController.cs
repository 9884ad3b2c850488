using System.Text.Json;
using MediatR;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Sentinel.Features.Jobs;
using Sentinel.Features.Runs;
using Sentinel.Web.Auth;

namespace Sentinel.Web.Controllers;

/// <summary>
/// Operations: the page renders from the database; worker health is a separate fragment (it calls the worker API),
/// and run-now / pause / resume / cancel go to the worker's control plane as the signed-in user.
/// </summary>
[Authorize(Policy = Roles.CanOperate)]
public sealed class AdminController(IMediator mediator, WorkerApiClient worker, ILogger<AdminController> logger) : Controller
{
    [HttpGet("/admin")]
    public async Task<IActionResult> Index(CancellationToken ct) => View(await mediator.Send(new ListJobs.Query(), ct));

    /// <summary>htmx fragment: GET {WORKER_API_URL}/health.</summary>
    [HttpGet("/admin/worker-health")]
    public async Task<IActionResult> WorkerHealth(CancellationToken ct)
    {
        try
        {
            return PartialView("_WorkerHealth", await worker.GetAsync(User, "/health", ct));
        }
        catch (SessionExpiredException)
        {
            return PartialView("_WorkerHealth", new WorkerApiClient.Reply(401, null, "your session has expired; sign in again"));
        }
    }

    [HttpPost("/admin/jobs/{jobId:guid}/run-now")]
    public Task<IActionResult> RunNow(Guid jobId, bool force, CancellationToken ct) =>
        Call("/jobs/run-now", new { job_id = jobId, force }, reply =>
        {
            if (reply.Body is { ValueKind: JsonValueKind.Object } b && b.TryGetProperty("run_id", out var r) && r.ValueKind == JsonValueKind.String)
                return (b.TryGetProperty("already_running", out var ar) && ar.ValueKind == JsonValueKind.True ? "Already running: " : "Run started: ") + r.GetString();
            return "Run requested: the worker starts it within a few seconds.";
        }, ct);

    /// <summary>Also the job page's Disable button: it passes <paramref name="back"/> to return there.</summary>
    [HttpPost("/admin/jobs/{jobId:guid}/pause")]
    public Task<IActionResult> Pause(Guid jobId, [FromForm] string? back, CancellationToken ct) =>
        Call("/jobs/pause", new { job_id = jobId }, _ => "Job paused: no scheduled runs until it is resumed.", ct, Back(back));

    /// <summary>Also the job page's Enable button.</summary>
    [HttpPost("/admin/jobs/{jobId:guid}/resume")]
    public Task<IActionResult> Resume(Guid jobId, [FromForm] string? back, CancellationToken ct) =>
        Call("/jobs/resume", new { job_id = jobId }, _ => "Job resumed: its schedules run again.", ct, Back(back));

    /// <summary>Only a page of this site; anything else (absent, absolute, protocol-relative) returns to /admin.</summary>
    private string Back(string? back) => back is not null && Url.IsLocalUrl(back) ? back : "/admin";

    [HttpPost("/admin/runs/{runId:guid}/cancel")]
    public Task<IActionResult> Cancel(Guid runId, CancellationToken ct) =>
        Call("/jobs/cancel", new { run_id = runId }, _ => "Cancellation requested: the run stops at its next checkpoint.", ct, $"/runs/{runId}");

    private async Task<IActionResult> Call(string path, object body, Func<WorkerApiClient.Reply, string> success, CancellationToken ct, string back = "/admin")
    {
        try
        {
            var reply = await worker.PostAsync(User, path, body, ct);
            if (reply.Ok) TempData["Flash"] = success(reply);
            else
            {
                logger.LogWarning("worker API {Path} answered {Status}", path, reply.Status);
                TempData["Error"] = "The worker refused: " + reply.Error;
            }
        }
        catch (SessionExpiredException)
        {
            return Redirect("/account/signin?returnUrl=" + Uri.EscapeDataString(back));
        }
        return Redirect(back);
    }
}
