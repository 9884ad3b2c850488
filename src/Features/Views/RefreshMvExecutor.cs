using MediatR;
using Sentinel.Features.Execution;
using Sentinel.Features.Jobs;

namespace Sentinel.Features.Views;

/// <summary>The refresh_mv job: RefreshImpactedViews, with progress per view. Config: {"force": true} refreshes all views.</summary>
internal sealed class RefreshMvExecutor(IMediator mediator) : IJobExecutor
{
    public string JobType => JobTypes.RefreshMv;

    public async Task<JobOutcome> ExecuteAsync(JobRunContext run, CancellationToken ct)
    {
        var force = run.Config["force"] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<bool>(out var f) && f;
        await run.Progress.ReportAsync(new Dictionary<string, object?> { ["phase"] = "refresh_views" }, ct);
        var result = await mediator.Send(new RefreshImpactedViews.Command(force), ct);
        await run.Progress.ReportAsync(new Dictionary<string, object?>
        {
            ["phase"] = "done",
            ["views_refreshed"] = result.Refreshed.Count,
            ["views_up_to_date"] = result.UpToDate.Count,
        }, ct);
        return new JobOutcome(new Dictionary<string, object?>
        {
            ["refreshed"] = result.Refreshed.Select(r => r.MvName).ToList(),
            ["up_to_date"] = result.UpToDate,
            ["seconds"] = Math.Round(result.Refreshed.Sum(r => r.Seconds), 3),
        });
    }
}
