using Dapper;
using FluentValidation;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// Persists the target outcomes a run reported since the last call (<see cref="TargetFailures"/>): a failed target's
/// row in ingest_target_failures is created or its consecutive_failures bumped (once per run), a target that
/// succeeded again loses its row. The first call of a run also loads which targets were failing before, so later
/// successes know which rows to clear. Returns every target that failed in this run, with its counts.
/// </summary>
public static class RecordTargetFailures
{
    public sealed record Command(IngestRun Run) : IExecutorRequest<Result>;

    public sealed record FailedTarget(string TargetType, string TargetId, string? TargetName, string Reason, string? Message,
        int ConsecutiveFailures, DateTimeOffset FirstFailedAt);

    public sealed record Result(IReadOnlyList<FailedTarget> Failed);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => RuleFor(c => c.Run).NotNull();
    }

    private const string ClearSql = """
        DELETE FROM ingest_target_failures t USING unnest(@Types::text[], @Ids::text[]) AS s(target_type, target_id)
         WHERE t.target_type = s.target_type AND t.target_id = s.target_id
        """;

    private const string UpsertSql = """
        INSERT INTO ingest_target_failures AS t (target_type, target_id, target_name, reason, message, consecutive_failures,
            first_failed_at, last_failed_at, last_run_id)
        SELECT s.target_type, s.target_id, s.target_name, s.reason, s.message, 1, @Now, @Now, @RunId
          FROM unnest(@Types::text[], @Ids::text[], @Names::text[], @Reasons::text[], @Messages::text[])
               AS s(target_type, target_id, target_name, reason, message)
        ON CONFLICT (target_type, target_id) DO UPDATE SET
            target_name = COALESCE(EXCLUDED.target_name, t.target_name), reason = EXCLUDED.reason, message = EXCLUDED.message,
            last_failed_at = EXCLUDED.last_failed_at, last_run_id = EXCLUDED.last_run_id,
            -- once per run, however many phases report the same target
            consecutive_failures = CASE WHEN EXCLUDED.last_run_id IS NOT NULL AND t.last_run_id = EXCLUDED.last_run_id
                                        THEN t.consecutive_failures ELSE t.consecutive_failures + 1 END
        """;

    private const string ListSql = """
        SELECT t.target_type, t.target_id, t.target_name, t.reason, t.message, t.consecutive_failures, t.first_failed_at
          FROM ingest_target_failures t JOIN unnest(@Types::text[], @Ids::text[]) AS s(target_type, target_id)
            ON t.target_type = s.target_type AND t.target_id = s.target_id
         ORDER BY t.target_type, t.target_id
        """;

    internal sealed class Handler(Db db, TimeProvider clock) : MediatR.IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var failures = request.Run.Failures;
            await using var connection = await db.OpenAsync(ct);
            if (!failures.Loaded)
            {
                var keys = await connection.QueryAsync<(string, string)>(new CommandDefinition(
                    "SELECT target_type, target_id FROM ingest_target_failures", cancellationToken: ct));
                failures.SetPreviouslyFailed(keys);
            }
            var (failed, succeeded) = failures.Drain();
            await using (var tx = await connection.BeginTransactionAsync(ct))
            {
                if (succeeded.Count > 0)
                    await connection.ExecuteAsync(new CommandDefinition(ClearSql, new
                    {
                        Types = succeeded.Select(s => s.Type).ToArray(), Ids = succeeded.Select(s => s.Id).ToArray(),
                    }, tx, cancellationToken: ct));
                if (failed.Count > 0)
                    await connection.ExecuteAsync(new CommandDefinition(UpsertSql, new
                    {
                        Types = failed.Select(f => f.TargetType).ToArray(),
                        Ids = failed.Select(f => f.TargetId).ToArray(),
                        Names = failed.Select(f => f.TargetName).ToArray(),
                        Reasons = failed.Select(f => f.Reason).ToArray(),
                        Messages = failed.Select(f => f.Message).ToArray(),
                        Now = clock.GetUtcNow(),
                        request.Run.RunId,
                    }, tx, cancellationToken: ct));
                await tx.CommitAsync(ct);
            }
            var all = failures.All;
            if (all.Count == 0) return new Result([]);
            var rows = await connection.QueryAsync<FailedTarget>(new CommandDefinition(ListSql, new
            {
                Types = all.Select(f => f.TargetType).ToArray(), Ids = all.Select(f => f.TargetId).ToArray(),
            }, cancellationToken: ct));
            return new Result(rows.ToList());
        }
    }
}
