using MediatR;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Sentinel.Features.Cron;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Jobs;
using Sentinel.Features.Schedules;
using Sentinel.Features.Runs;
using Sentinel.Web.Auth;

namespace Sentinel.Web.Controllers;

/// <summary>
/// JSON API over the same slices as the pages, same cookie session and roles, snake_case bodies.
/// With the session cookie, state changes need the antiforgery header (X-CSRF-TOKEN) like every form; a request with a bearer
/// token (a user's delegated token, or an app's app-only token with a Sentinel app role) needs none. Errors: {error, code, details}.
/// </summary>
[ApiController, Authorize(Policy = Roles.CanRead)]
public sealed class ApiController(IMediator mediator) : ControllerBase
{
    public sealed record JobBody(string? JobType, string? Name, string? Config, bool? Enabled);
    public sealed record ScheduleBody(Guid? JobId, string? CronExpr, string? TimeZone, bool? Enabled);

    [HttpGet("/api/jobs")]
    public async Task<ListJobs.Result> Jobs(CancellationToken ct) => await mediator.Send(new ListJobs.Query(), ct);

    [HttpGet("/api/jobs/{jobId:guid}")]
    public async Task<GetJobStatus.Result> Job(Guid jobId, CancellationToken ct) => await mediator.Send(new GetJobStatus.Query(jobId), ct);

    [HttpPost("/api/jobs"), Authorize(Policy = Roles.CanAdminister)]
    public async Task<IActionResult> CreateJob(JobBody body, CancellationToken ct)
    {
        var job = await mediator.Send(new CreateJob.Command(body.JobType ?? "", body.Config, body.Enabled ?? true, body.Name, User.ToActor()), ct);
        return Created($"/api/jobs/{job.JobId}", job);
    }

    [HttpPut("/api/jobs/{jobId:guid}"), Authorize(Policy = Roles.CanAdminister)]
    public async Task<UpdateJob.Result> UpdateJob(Guid jobId, JobBody body, CancellationToken ct) =>
        await mediator.Send(new UpdateJob.Command(jobId, body.Name, body.Config, User.ToActor(), body.Enabled), ct);

    [HttpDelete("/api/jobs/{jobId:guid}"), Authorize(Policy = Roles.CanAdminister)]
    public async Task<DeleteJob.Result> DeleteJob(Guid jobId, CancellationToken ct) => await mediator.Send(new DeleteJob.Command(jobId, User.ToActor()), ct);

    [HttpGet("/api/schedules")]
    public async Task<IEnumerable<object>> Schedules(CancellationToken ct) =>
        (await mediator.Send(new ListJobs.Query(), ct)).Jobs.SelectMany(j => j.Schedules.Select(s => (object)new
        {
            s.ScheduleId, j.JobId, s.CronExpr, s.TimeZone, s.Enabled, s.NextRunAt,
        }));

    [HttpGet("/api/schedules/preview")]
    public async Task<PreviewSchedule.Result> Preview([FromQuery(Name = "cron_expr")] string? cronExpr, [FromQuery(Name = "time_zone")] string? timeZone,
        [FromQuery] int? count, CancellationToken ct) =>
        await mediator.Send(new PreviewSchedule.Query(cronExpr ?? "", timeZone, null, count ?? 5), ct);

    [HttpPost("/api/schedules"), Authorize(Policy = Roles.CanAdminister)]
    public async Task<IActionResult> CreateSchedule(ScheduleBody body, CancellationToken ct)
    {
        var s = await mediator.Send(new CreateSchedule.Command(body.JobId ?? Guid.Empty, body.CronExpr ?? "", body.TimeZone, body.Enabled ?? true, User.ToActor()), ct);
        return Created($"/api/schedules/{s.ScheduleId}", s);
    }

    [HttpPut("/api/schedules/{scheduleId:guid}"), Authorize(Policy = Roles.CanAdminister)]
    public async Task<UpdateSchedule.Result> UpdateSchedule(Guid scheduleId, ScheduleBody body, CancellationToken ct) =>
        await mediator.Send(new UpdateSchedule.Command(scheduleId, body.CronExpr, body.TimeZone, body.Enabled, User.ToActor()), ct);

    [HttpDelete("/api/schedules/{scheduleId:guid}"), Authorize(Policy = Roles.CanAdminister)]
    public async Task<DeleteSchedule.Result> DeleteSchedule(Guid scheduleId, CancellationToken ct) =>
        await mediator.Send(new DeleteSchedule.Command(scheduleId, User.ToActor()), ct);

    [HttpGet("/api/runs")]
    public async Task<ListRuns.Result> Runs([FromQuery(Name = "job_id")] string? jobId, [FromQuery] string? status,
        [FromQuery(Name = "triggered_by")] string? triggeredBy, [FromQuery] int? limit, [FromQuery] string? cursor, CancellationToken ct) =>
        await mediator.Send(new ListRuns.Query(jobId, status, triggeredBy, limit ?? 50, cursor), ct);

    [HttpGet("/api/runs/{runId:guid}")]
    public async Task<RunView> Run(Guid runId, CancellationToken ct) => await mediator.Send(new GetRun.Query(runId), ct);
}
