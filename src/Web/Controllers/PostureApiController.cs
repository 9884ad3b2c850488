using MediatR;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Sentinel.Features.Access;
using Sentinel.Features.Analytics;
using Sentinel.Features.Changes;
using Sentinel.Features.Posture;
using Sentinel.Web.Auth;
using Sentinel.Web.Models;

namespace Sentinel.Web.Controllers;

/// <summary>
/// The posture questions for automation (a SIEM, a script): headline metrics, the change feed, access by principal.
/// Same slices, same roles (Reader and up) and snake_case JSON as the rest of /api; paged with opaque cursors.
/// </summary>
[ApiController, Authorize(Policy = Roles.CanRead)]
public sealed class PostureApiController(IMediator mediator) : ControllerBase
{
    public sealed record PostureBody(IReadOnlyDictionary<string, long> Metrics, GetOversharing.Result Oversharing, bool FirstIngestPending,
        Guid? RunningIngestRunId, long ChangesRecorded, DateTimeOffset? FeedStartedAt, DateTimeOffset? LastSuccessfulIngestAt, DateTimeOffset? LastRefreshedAt);

    public sealed record ChangesBody(IReadOnlyList<ListChanges.Row> Changes, string? NextCursor);

    [HttpGet("/api/posture")]
    public async Task<PostureBody> Posture(CancellationToken ct)
    {
        var dashboard = await mediator.Send(new GetDashboard.Query(), ct);
        var oversharing = await mediator.Send(new GetOversharing.Query(), ct);
        var ingest = await mediator.Send(new GetIngestState.Query(), ct);
        var review = await mediator.Send(new GetReviewStatus.Query(null, null, 0), ct);
        return new PostureBody(dashboard.Metrics, oversharing, ingest.FirstIngestPending, ingest.Running?.RunId, review.NewestChangeId,
            review.FeedStartedAt, dashboard.LastSuccessfulIngestAt, dashboard.LastRefreshedAt);
    }

    /// <summary>Same filters as the Changes page: kind, scope, site_id, item_id, principal, external, from, to, after, sort, cursor, limit (≤ 1000).</summary>
    [HttpGet("/api/changes")]
    public async Task<ChangesBody> Changes([FromQuery] ChangesFilter f, CancellationToken ct)
    {
        var page = await mediator.Send(f.ToQuery(null, 100), ct);
        return new ChangesBody(page.Rows, page.NextCursor);
    }

    [HttpGet("/api/access")]
    public async Task<GetPrincipalAccess.Result> Access([FromQuery] string? principal, [FromQuery] string? site, [FromQuery] string? cursor, [FromQuery] int? limit,
        CancellationToken ct) =>
        await mediator.Send(new GetPrincipalAccess.Query(principal ?? "", string.IsNullOrWhiteSpace(site) ? null : site, string.IsNullOrWhiteSpace(cursor) ? null : cursor, limit ?? 100), ct);
}
