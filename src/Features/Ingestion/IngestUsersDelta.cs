using System.Text.Json;
using Dapper;
using Npgsql;
using Sentinel.Features.Graph;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Ingestion;

/// <summary>Users by /users/delta into msgraph_users (upsert by id, @removed → deleted_at, resync → mark-and-sweep).</summary>
public static class IngestUsersDelta
{
    public sealed record Command(IngestRun? Run = null) : IExecutorRequest<Result>, INoInput;

    public sealed record Result(int Pages, long Users, bool Resynced, long LiveUsers, long DeletedUsers);


    public const string InitialUrl =
        "users/delta?$select=id,displayName,userPrincipalName,mail,accountEnabled,userType,jobTitle,department,officeLocation,usageLocation,createdDateTime";

    private const string MergeSql = """
        INSERT INTO msgraph_users AS t (id, display_name, user_principal_name, mail, account_enabled, user_type, job_title, department,
                                        office_location, usage_location, created_dt, synced_at, deleted_at, raw)
        SELECT s.id, s.raw->>'displayName', s.raw->>'userPrincipalName', s.raw->>'mail', (s.raw->>'accountEnabled')::boolean,
               s.raw->>'userType', s.raw->>'jobTitle', s.raw->>'department', s.raw->>'officeLocation', s.raw->>'usageLocation',
               (s.raw->>'createdDateTime')::timestamptz, @Now, NULL, s.raw
        FROM unnest(@Ids::text[], @Raws::jsonb[]) AS s(id, raw)
        ON CONFLICT (id) DO UPDATE SET
            display_name = EXCLUDED.display_name, user_principal_name = EXCLUDED.user_principal_name, mail = EXCLUDED.mail,
            account_enabled = EXCLUDED.account_enabled, user_type = EXCLUDED.user_type, job_title = EXCLUDED.job_title,
            department = EXCLUDED.department, office_location = EXCLUDED.office_location, usage_location = EXCLUDED.usage_location,
            created_dt = EXCLUDED.created_dt, synced_at = EXCLUDED.synced_at, deleted_at = NULL, raw = EXCLUDED.raw
        WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL OR (@Sweep AND t.synced_at < @RoundStart);

        INSERT INTO msgraph_users AS t (id, synced_at, deleted_at)
        SELECT s.id, @Now, @Now FROM unnest(@RemovedIds::text[]) AS s(id)
        ON CONFLICT (id) DO UPDATE SET deleted_at = COALESCE(t.deleted_at, EXCLUDED.deleted_at), synced_at = EXCLUDED.synced_at
        WHERE t.deleted_at IS NULL OR (@Sweep AND t.synced_at < @RoundStart);
        """;

    private const string SweepSql = """
        UPDATE msgraph_users SET deleted_at = @Now
        WHERE deleted_at IS NULL AND (synced_at IS NULL OR synced_at < @RoundStart)
        """;

    internal sealed class Handler(Db db, GraphHttp graph, TimeProvider clock) : MediatR.IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var run = request.Run ?? new IngestRun(clock.GetUtcNow());
            var round = await DeltaRounds.RunAsync(db, graph, run, clock, new DeltaPartition("users", "tenant", InitialUrl),
                async (c, tx, value, ctx, token) =>
                {
                    var rows = Staging.Collect(value, Staging.HasRemoved);
                    var page = Staging.Split(rows.Values);
                    await c.ExecuteAsync(new CommandDefinition(MergeSql, new { ctx.Now, ctx.Sweep, ctx.RoundStart, page.Ids, page.Raws, page.RemovedIds },
                        tx, cancellationToken: token));
                    run.Add("users", rows.Count);
                    return rows.Count;
                },
                (c, tx, ctx, token) => ctx.Sweep
                    ? c.ExecuteAsync(new CommandDefinition(SweepSql, new { ctx.Now, ctx.RoundStart }, tx, cancellationToken: token))
                    : Task.CompletedTask,
                ct);
            await using var connection = await db.OpenAsync(ct);
            var counts = await connection.QuerySingleAsync<(long Live, long Deleted)>(
                "SELECT count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL) FROM msgraph_users");
            return new Result(round.Pages, round.Items, round.Resynced, counts.Live, counts.Deleted);
        }
    }
}
