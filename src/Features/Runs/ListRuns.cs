using System.Globalization;
using System.Text;
using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Runs;

/// <summary>
/// Run history, newest first, filtered by job, status and trigger, paged by keyset: pass the previous page's
/// NextCursor as Cursor. Stable while new runs arrive (they sort before the cursor). Filters arrive as typed in a
/// query string (job_id as text): the validator, not the host, rejects what does not parse.
/// </summary>
public static class ListRuns
{
    public const int MaxLimit = 500;

    public sealed record Query(string? JobId = null, string? Status = null, string? TriggeredBy = null, int Limit = 50, string? Cursor = null) : IRequest<Result>;

    public sealed record Result(IReadOnlyList<RunView> Items, string? NextCursor);

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.JobId).Must(j => string.IsNullOrWhiteSpace(j) || Guid.TryParse(j, out _)).WithMessage("job_id must be a job id (GUID)");
            RuleFor(q => q.Status).Must(s => s is null || RunView.Statuses.Contains(s))
                .WithMessage($"status must be one of: {string.Join(", ", RunView.Statuses)}");
            RuleFor(q => q.TriggeredBy).Must(s => s is null || RunView.Triggers.Contains(s))
                .WithMessage($"triggered_by must be one of: {string.Join(", ", RunView.Triggers)}");
            RuleFor(q => q.Limit).InclusiveBetween(1, MaxLimit).WithMessage($"limit must be between 1 and {MaxLimit}");
            RuleFor(q => q.Cursor).Must(c => c is null || TryDecode(c, out _, out _))
                .WithMessage("cursor is not a cursor returned by this list");
        }
    }

    private const string Sql = $"""
        SELECT {RunView.Columns}
          FROM job_runs r JOIN jobs j ON j.job_id = r.job_id
         WHERE (@JobId::uuid IS NULL OR r.job_id = @JobId)
           AND (@Status::text IS NULL OR r.status = @Status)
           AND (@TriggeredBy::text IS NULL OR r.triggered_by = @TriggeredBy)
           AND (@AfterStartedAt::timestamptz IS NULL OR (r.started_at, r.run_id) < (@AfterStartedAt, @AfterRunId))
         ORDER BY r.started_at DESC, r.run_id DESC
         LIMIT @Take
        """;

    internal sealed class Handler(Db db) : IRequestHandler<Query, Result>
    {
        public async Task<Result> Handle(Query request, CancellationToken ct)
        {
            DateTimeOffset? afterStartedAt = null;
            Guid? afterRunId = null;
            if (request.Cursor is not null && TryDecode(request.Cursor, out var t, out var id))
                (afterStartedAt, afterRunId) = (t, id);

            await using var connection = await db.OpenAsync(ct);
            var rows = (await connection.QueryAsync<RunView.Row>(new CommandDefinition(Sql, new
            {
                JobId = string.IsNullOrWhiteSpace(request.JobId) ? (Guid?)null : Guid.Parse(request.JobId), request.Status, request.TriggeredBy, AfterStartedAt = afterStartedAt, AfterRunId = afterRunId, Take = request.Limit + 1,
            }, cancellationToken: ct))).ToList();

            var items = rows.Take(request.Limit).Select(r => r.ToView()).ToList();
            var next = rows.Count > request.Limit ? Encode(items[^1].StartedAt!.Value, items[^1].RunId) : null;
            return new Result(items, next);
        }
    }

    internal static string Encode(DateTimeOffset startedAt, Guid runId) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes($"{startedAt.UtcTicks.ToString(CultureInfo.InvariantCulture)}:{runId:N}"))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    internal static bool TryDecode(string cursor, out DateTimeOffset startedAt, out Guid runId)
    {
        startedAt = default;
        runId = default;
        try
        {
            var b64 = cursor.Replace('-', '+').Replace('_', '/');
            b64 = b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '=');
            var parts = Encoding.ASCII.GetString(Convert.FromBase64String(b64)).Split(':');
            if (parts.Length != 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) ||
                ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks || !Guid.TryParseExact(parts[1], "N", out runId))
                return false;
            startedAt = new DateTimeOffset(ticks, TimeSpan.Zero);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
