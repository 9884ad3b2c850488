using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Changes;

/// <summary>
/// For one reviewer: their last review, how many changes were recorded since, and the riskiest of those first
/// (the dashboard's "N changes since your last review"). Without a review, every recorded change counts.
/// </summary>
public static class GetReviewStatus
{
    public sealed record Query(string? ReviewerOid, string? ReviewerUpn, int Top = 5) : IRequest<Result>;

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.Top).InclusiveBetween(0, 50).WithMessage("top must be between 0 and 50");
            RuleFor(q => q.ReviewerOid).MaximumLength(200).WithMessage("reviewer_oid must be at most 200 characters");
            RuleFor(q => q.ReviewerUpn).MaximumLength(320).WithMessage("reviewer must be at most 320 characters");
        }
    }

    public sealed record Review(long UpToChangeId, DateTimeOffset ReviewedAt, string? ActorName);

    public sealed record Result(Review? LastReview, long ChangesSince, long WorseningSince, long NewestChangeId, DateTimeOffset? FeedStartedAt,
        IReadOnlyList<ListChanges.Row> Riskiest);

    private const string Sql = """
        SELECT up_to_change_id, reviewed_at, actor_name FROM posture_reviews
         WHERE (@Oid::text IS NOT NULL AND actor_oid = @Oid) OR (@Oid::text IS NULL AND actor_upn = @Upn)
         ORDER BY up_to_change_id DESC, reviewed_at DESC LIMIT 1;
        SELECT coalesce(max(change_id), 0) FROM posture_changes;
        SELECT baseline_at FROM posture_feed;
        SELECT coalesce(min(change_id), 0) FROM posture_changes;
        """;

    private const string CountSql = "SELECT count(*), count(*) FILTER (WHERE risk < 9) FROM posture_changes WHERE change_id > @After";

    private const int MaxCached = 1_000;

    /// <summary>Per (database, reviewed-up-to, top): the feed's newest and oldest change ids when computed, and the counts and rows then.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Database, long After, int Top),
        ((long Newest, long Oldest) Stamp, long Since, long Worsening, IReadOnlyList<ListChanges.Row> Riskiest)> Cache = new();

    internal sealed class Handler(Db db, IMediator mediator) : IRequestHandler<Query, Result>
    {
        public async Task<Result> Handle(Query request, CancellationToken ct)
        {
            Review? review;
            long newest;
            DateTimeOffset? started;
            long since, worsening;
            (string Database, long After, int Top) key;
            (long Newest, long Oldest) stamp;
            await using (var connection = await db.OpenAsync(ct))
            {
                await using var grid = await connection.QueryMultipleAsync(new CommandDefinition(Sql, new { Oid = request.ReviewerOid, Upn = request.ReviewerUpn }, cancellationToken: ct));
                review = await grid.ReadSingleOrDefaultAsync<Review>();
                newest = await grid.ReadSingleAsync<long>();
                started = await grid.ReadSingleOrDefaultAsync<DateTimeOffset?>();
                var oldest = await grid.ReadSingleAsync<long>();
                // Change ids ascend and retention only removes the oldest: the counts and the riskiest rows after a review
                // change only when the newest or the oldest change id moves, so they are reused until then.
                key = (connection.Host + ":" + connection.Port + "/" + connection.Database, review?.UpToChangeId ?? 0, request.Top);
                stamp = (newest, oldest);
                if (Cache.TryGetValue(key, out var hit) && hit.Stamp == stamp)
                    return new Result(review, hit.Since, hit.Worsening, newest, started, hit.Riskiest);
                (since, worsening) = await connection.QuerySingleAsync<(long, long)>(new CommandDefinition(CountSql, new { After = review?.UpToChangeId ?? 0 }, cancellationToken: ct));
            }
            var riskiest = since == 0 || request.Top == 0 ? [] : (await mediator.Send(new ListChanges.Query(AfterChangeId: review?.UpToChangeId ?? 0, Sort: "risk", Limit: Math.Clamp(request.Top, 1, 50)), ct)).Rows;
            if (Cache.Count > MaxCached) Cache.Clear();
            Cache[key] = (stamp, since, worsening, riskiest);
            return new Result(review, since, worsening, newest, started, riskiest);
        }
    }
}
