using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Changes;

/// <summary>Changes per UTC day over a range (default: the last 30 days), split into worsening and improving, for the chart.</summary>
public static class CountChangesPerDay
{
    public sealed record Query(string? From = null, string? To = null, string? Kind = null, bool ExternalOnly = false) : IRequest<IReadOnlyList<Day>>
    {
        public DateTimeOffset? FromTime => ChangeTime.Parse(From, endOfDay: false);
        public DateTimeOffset? ToTime => ChangeTime.Parse(To, endOfDay: true);
    }

    public sealed record Day(DateOnly Date, long Worsening, long Improving);

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.From).Must(ChangeTime.IsValid).WithMessage(ChangeTime.Rule("from"));
            RuleFor(q => q.To).Must(ChangeTime.IsValid).WithMessage(ChangeTime.Rule("to"));
            RuleFor(q => q.To).Must((q, _) => q.FromTime is not { } from || q.ToTime is not { } to || (to > from && to - from <= TimeSpan.FromDays(800)))
                .WithMessage("to must be after from, at most 800 days later");
            RuleFor(q => q.Kind).Must(k => k is null || ChangeKinds.All.Any(x => x.Key == k)).WithMessage("kind is not a change kind");
        }
    }

    private const string Sql = """
        SELECT d::date AS date,
               count(c.change_id) FILTER (WHERE c.risk < 9) AS worsening,
               count(c.change_id) FILTER (WHERE c.risk >= 9) AS improving
          FROM generate_series((@From AT TIME ZONE 'UTC')::date, ((@To - interval '1 microsecond') AT TIME ZONE 'UTC')::date, interval '1 day') d
          LEFT JOIN posture_changes c ON c.recorded_at >= (d::date AT TIME ZONE 'UTC') AND c.recorded_at < ((d::date + 1) AT TIME ZONE 'UTC')
                AND c.recorded_at >= @From AND c.recorded_at < @To
                AND (@Kind::text IS NULL OR c.kind = @Kind) AND (NOT @ExternalOnly OR c.is_external)
         GROUP BY d ORDER BY d
        """;

    internal sealed class Handler(Db db, TimeProvider clock) : IRequestHandler<Query, IReadOnlyList<Day>>
    {
        public async Task<IReadOnlyList<Day>> Handle(Query request, CancellationToken ct)
        {
            var to = request.ToTime ?? clock.GetUtcNow();
            var from = request.FromTime ?? to.AddDays(-30);
            await using var connection = await db.OpenAsync(ct);
            var rows = await connection.QueryAsync<(DateTime Date, long Worsening, long Improving)>(new CommandDefinition(Sql,
                new { From = from, To = to, request.Kind, request.ExternalOnly }, cancellationToken: ct));
            return rows.Select(r => new Day(DateOnly.FromDateTime(r.Date), r.Worsening, r.Improving)).ToList();
        }
    }
}
