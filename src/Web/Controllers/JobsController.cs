using MediatR;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Sentinel.Features.Cron;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Jobs;
using Sentinel.Features.Schedules;
using Sentinel.Web.Auth;

namespace Sentinel.Web.Controllers;

/// <summary>Jobs and schedules: everyone with a role reads; admins create, edit, enable/disable and delete (intent rows only).</summary>
[Authorize(Policy = Roles.CanRead)]
public sealed class JobsController(IMediator mediator) : Controller, IFormPage
{
    public sealed class JobForm
    {
        public Guid? JobId { get; set; }
        public string JobType { get; set; } = JobTypes.GraphIngest;
        public string? Name { get; set; }
        public string? Config { get; set; } = "{}";
        public bool Enabled { get; set; } = true;
    }

    public sealed class ScheduleForm
    {
        public Guid JobId { get; set; }
        public Guid? ScheduleId { get; set; }
        public string? CronExpr { get; set; }
        public string? TimeZone { get; set; }
        public bool Enabled { get; set; } = true;
    }

    public sealed record ScheduleModel(JobView Job, ScheduleForm Form);

    [HttpGet("/jobs")]
    public async Task<IActionResult> Index(CancellationToken ct) => View(await mediator.Send(new ListJobs.Query(), ct));

    [HttpGet("/jobs/new"), Authorize(Policy = Roles.CanAdminister)]
    public IActionResult New() => View("Edit", new JobForm());

    [HttpPost("/jobs/new"), Authorize(Policy = Roles.CanAdminister), RenderFormOnInvalid("Edit")]
    public async Task<IActionResult> Create(JobForm form, CancellationToken ct)
    {
        var job = await mediator.Send(new CreateJob.Command(form.JobType, form.Config, form.Enabled, Blank(form.Name), User.ToActor()), ct);
        TempData["Flash"] = $"Job “{job.Name ?? job.JobType}” created. Add a schedule, or run it now from Admin.";
        return Redirect($"/jobs/{job.JobId}");
    }

    [HttpGet("/jobs/{jobId:guid}")]
    public async Task<IActionResult> Show(Guid jobId, CancellationToken ct) =>
        View(new ScheduleModel(await Job(jobId, ct), new ScheduleForm { JobId = jobId, CronExpr = "0 * * * *", TimeZone = "UTC" }));

    [HttpGet("/jobs/{jobId:guid}/edit"), Authorize(Policy = Roles.CanAdminister)]
    public async Task<IActionResult> Edit(Guid jobId, CancellationToken ct)
    {
        var job = await Job(jobId, ct);
        return View(new JobForm { JobId = job.JobId, JobType = job.JobType, Name = job.Name, Config = job.Config, Enabled = job.Enabled });
    }

    [HttpPost("/jobs/{jobId:guid}/edit"), Authorize(Policy = Roles.CanAdminister), RenderFormOnInvalid("Edit")]
    public async Task<IActionResult> Update(Guid jobId, JobForm form, CancellationToken ct)
    {
        form.JobId = jobId;
        await mediator.Send(new UpdateJob.Command(jobId, Blank(form.Name), form.Config ?? "{}", User.ToActor(), form.Enabled), ct);
        TempData["Flash"] = "Job saved.";
        return Redirect($"/jobs/{jobId}");
    }

    [HttpPost("/jobs/{jobId:guid}/delete"), Authorize(Policy = Roles.CanAdminister)]
    public async Task<IActionResult> Delete(Guid jobId, CancellationToken ct)
    {
        try
        {
            var deleted = await mediator.Send(new DeleteJob.Command(jobId, User.ToActor()), ct);
            TempData["Flash"] = $"Job “{deleted.Name ?? deleted.JobType}” deleted.";
            return Redirect("/jobs");
        }
        catch (ConflictException e)
        {
            TempData["Error"] = e.Message;
            return Redirect($"/jobs/{jobId}");
        }
    }

    [HttpPost("/jobs/{jobId:guid}/schedules"), Authorize(Policy = Roles.CanAdminister), RenderFormOnInvalid("Show")]
    public async Task<IActionResult> CreateScheduleForm(Guid jobId, ScheduleForm form, CancellationToken ct)
    {
        form.JobId = jobId;
        var s = await mediator.Send(new CreateSchedule.Command(jobId, form.CronExpr ?? "", Blank(form.TimeZone), form.Enabled, User.ToActor()), ct);
        TempData["Flash"] = $"Schedule “{s.CronExpr}” ({s.TimeZone}) added.";
        return Redirect($"/jobs/{jobId}");
    }

    [HttpPost("/schedules/{scheduleId:guid}"), Authorize(Policy = Roles.CanAdminister), RenderFormOnInvalid("Show")]
    public async Task<IActionResult> UpdateScheduleForm(Guid scheduleId, ScheduleForm form, CancellationToken ct)
    {
        form.ScheduleId = scheduleId;
        var s = await mediator.Send(new UpdateSchedule.Command(scheduleId, form.CronExpr, Blank(form.TimeZone), form.Enabled, User.ToActor()), ct);
        TempData["Flash"] = $"Schedule “{s.CronExpr}” saved{(s.Enabled ? "" : " (disabled)")}.";
        return Redirect($"/jobs/{s.JobId}");
    }

    [HttpPost("/schedules/{scheduleId:guid}/delete"), Authorize(Policy = Roles.CanAdminister)]
    public async Task<IActionResult> DeleteScheduleForm(Guid scheduleId, CancellationToken ct)
    {
        var s = await mediator.Send(new DeleteSchedule.Command(scheduleId, User.ToActor()), ct);
        TempData["Flash"] = $"Schedule “{s.CronExpr}” deleted.";
        return Redirect($"/jobs/{s.JobId}");
    }

    /// <summary>htmx fragment: the next 5 occurrences of a cron expression in a time zone (or the field errors).</summary>
    [HttpGet("/jobs/preview")]
    public async Task<IActionResult> Preview([FromQuery(Name = "CronExpr")] string? cronExpr, [FromQuery(Name = "TimeZone")] string? timeZone, CancellationToken ct)
    {
        try
        {
            return PartialView("_Preview", await mediator.Send(new PreviewSchedule.Query(cronExpr ?? "", Blank(timeZone)), ct));
        }
        catch (RequestValidationException e)
        {
            return PartialView("_Preview", e);
        }
    }

    private async Task<JobView> Job(Guid jobId, CancellationToken ct) => (await mediator.Send(new GetJobStatus.Query(jobId), ct)).Job;

    /// <summary>The model a form's view is rendered again with after bad input (<see cref="RenderFormOnInvalidAttribute"/>).</summary>
    public async Task<object> FormModelAsync(string view, object form, CancellationToken ct) => form switch
    {
        // The edit form does not post the job type: show the job's.
        JobForm { JobId: { } jobId } edit => WithType(edit, (await Job(jobId, ct)).JobType),
        ScheduleForm schedule => new ScheduleModel(await Job(schedule.JobId, ct), schedule),
        _ => form,
    };

    private static JobForm WithType(JobForm form, string jobType)
    {
        form.JobType = jobType;
        return form;
    }

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
