using FluentValidation;
using MediatR;

namespace Sentinel.Features.Cron;

/// <summary>
/// The next occurrences of a cron expression in a time zone, strictly after <c>From</c> (default: now).
/// Used by `worker cron next` and by the web's schedule editor; needs no database.
/// </summary>
public static class PreviewSchedule
{
    public const int MaxCount = 100;

    public sealed record Query(string CronExpr, string? TimeZone = null, DateTimeOffset? From = null, int Count = 5) : IRequest<Result>;

    public sealed record Result(string CronExpr, string TimeZone, DateTimeOffset From, IReadOnlyList<DateTimeOffset> Occurrences);

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.CronExpr).ValidCron();
            RuleFor(q => q.TimeZone).ValidTimeZone();
            RuleFor(q => q.Count).InclusiveBetween(1, MaxCount).WithMessage($"count must be between 1 and {MaxCount}");
        }
    }

    internal sealed class Handler(TimeProvider clock) : IRequestHandler<Query, Result>
    {
        public Task<Result> Handle(Query request, CancellationToken ct)
        {
            var zoneId = request.TimeZone ?? ScheduleTimeZones.Default;
            var from = (request.From ?? clock.GetUtcNow()).ToUniversalTime();
            var occurrences = CronSchedule.Parse(request.CronExpr).Next(from, ScheduleTimeZones.Find(zoneId), request.Count);
            return Task.FromResult(new Result(request.CronExpr.Trim(), zoneId, from, occurrences));
        }
    }
}
