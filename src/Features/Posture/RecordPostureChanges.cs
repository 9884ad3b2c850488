using Dapper;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Posture;

/// <summary>
/// Records what changed in the sharing picture since the previous recording: one posture_changes row per link
/// created/removed/changed, grant added/removed/changed, item that became or stopped being reachable by anyone /
/// the organisation / external people, guest added/removed, member added/removed in a group that holds grants
/// (directly or nested), and permission hierarchy root created/removed (inheritance broken/restored).
/// Sent at the end of every graph_ingest run. It compares states (posture_current_facts, db/init/014_posture.sql,
/// against posture_facts), never events, so a resync or a re-ingestion that ends in the same state records nothing.
/// The first recording is the baseline: it stores the picture and records no changes. Changes older than
/// posture_feed.retention_days are deleted here too.
/// </summary>
public static class RecordPostureChanges
{
    public sealed record Command(Guid? RunId) : IExecutorRequest<Result>;

    public sealed record Result(bool Baseline, long Facts, IReadOnlyDictionary<string, long> Changes, long Expired);

    // One recording at a time (two ingest jobs may finish together); the planner's JIT only slows these short statements.
    private const string LockSql = "SELECT pg_advisory_xact_lock(hashtext('posture_changes')); SET LOCAL jit = off;";

    private const string FeedStateSql = """
        SELECT baseline_run_id IS NOT NULL OR baseline_at IS NOT NULL AS has_baseline, retention_days FROM posture_feed FOR UPDATE;
        """;

    private const string DiffSql = """
        CREATE TEMP TABLE posture_cur ON COMMIT DROP AS SELECT * FROM posture_current_facts;
        ALTER TABLE posture_cur ADD PRIMARY KEY (kind, fact_key);
        CREATE INDEX ON posture_cur ((state->>'permission_id')) WHERE kind IN ('link', 'grant');
        ANALYZE posture_cur;
        CREATE TEMP TABLE posture_diff ON COMMIT DROP AS
        SELECT coalesce(c.kind, f.kind) AS fact_kind, coalesce(c.fact_key, f.fact_key) AS fact_key,
               CASE WHEN f.fact_key IS NULL THEN 'added' WHEN c.fact_key IS NULL THEN 'removed' ELSE 'changed' END AS op,
               coalesce(c.item_id, f.item_id) AS item_id, coalesce(c.drive_id, f.drive_id) AS drive_id,
               coalesce(c.principal_type, f.principal_type) AS principal_type, coalesce(c.principal_id, f.principal_id) AS principal_id,
               coalesce(c.principal_name, f.principal_name) AS principal_name, coalesce(c.is_external, f.is_external) AS is_external,
               f.state AS before, c.state AS after,
               c.item_id AS c_item_id, c.drive_id AS c_drive_id, c.principal_type AS c_principal_type, c.principal_id AS c_principal_id,
               c.principal_name AS c_principal_name, c.is_external AS c_is_external, c.state AS c_state
          FROM posture_cur c
          FULL JOIN posture_facts f ON f.kind = c.kind AND f.fact_key = c.fact_key
         WHERE f.fact_key IS NULL OR c.fact_key IS NULL OR f.state IS DISTINCT FROM c.state;
        SELECT count(*) FROM posture_cur;
        """;

    // Risk of a change, riskiest first like permissions (0 anyone + edit … 5 internal); reductions of exposure are 9.
    private const string InsertSql = """
        WITH granted AS (
            SELECT group_id FROM posture_granted_groups
            UNION SELECT principal_id FROM posture_facts WHERE kind = 'grant' AND principal_type = 'group'
        ), d AS (
            SELECT x.*, coalesce(x.after, x.before) AS s,
                   CASE x.fact_kind
                       WHEN 'link' THEN CASE x.op WHEN 'added' THEN 'link_created' WHEN 'removed' THEN 'link_removed' ELSE 'link_changed' END
                       WHEN 'grant' THEN CASE x.op WHEN 'added' THEN 'grant_added' WHEN 'removed' THEN 'grant_removed' ELSE 'grant_changed' END
                       WHEN 'reach' THEN CASE x.op WHEN 'added' THEN 'reach_gained' WHEN 'removed' THEN 'reach_lost' ELSE 'reach_changed' END
                       WHEN 'guest' THEN CASE x.op WHEN 'added' THEN 'guest_added' WHEN 'removed' THEN 'guest_removed' END
                       WHEN 'member' THEN CASE x.op WHEN 'added' THEN 'member_added' WHEN 'removed' THEN 'member_removed' END
                       WHEN 'root' THEN CASE x.op WHEN 'added' THEN 'inheritance_broken' WHEN 'removed' THEN 'inheritance_restored' END
                   END AS change_kind
              FROM posture_diff x
             WHERE NOT (x.fact_kind = 'member' AND (x.op = 'changed' OR (split_part(x.fact_key, '|', 1) NOT IN (SELECT group_id FROM granted))))
               AND NOT (x.fact_kind IN ('guest', 'root') AND x.op = 'changed')
               -- Breaking inheritance copies the parent hierarchy's links and grants onto the new root (same permission ids),
               -- and restoring it drops the copies: the inheritance row says so, the copies are not new or lost sharing.
               AND NOT (x.fact_kind IN ('link', 'grant') AND x.op = 'added'
                        AND EXISTS (SELECT 1 FROM posture_diff r WHERE r.fact_kind = 'root' AND r.op = 'added' AND r.fact_key = x.item_id)
                        AND EXISTS (SELECT 1 FROM posture_facts f WHERE f.kind = x.fact_kind AND f.item_id <> x.item_id
                                       AND f.state->>'permission_id' = x.after->>'permission_id'
                                       AND f.principal_id IS NOT DISTINCT FROM x.principal_id AND f.principal_type IS NOT DISTINCT FROM x.principal_type))
               AND NOT (x.fact_kind IN ('link', 'grant') AND x.op = 'removed'
                        AND EXISTS (SELECT 1 FROM posture_diff r WHERE r.fact_kind = 'root' AND r.op = 'removed' AND r.fact_key = x.item_id)
                        AND EXISTS (SELECT 1 FROM posture_cur c WHERE c.kind = x.fact_kind AND c.item_id <> x.item_id
                                       AND c.state->>'permission_id' = x.before->>'permission_id'
                                       AND c.principal_id IS NOT DISTINCT FROM x.principal_id AND c.principal_type IS NOT DISTINCT FROM x.principal_type))
               -- A deleted item stops being a root without anyone restoring inheritance: its links and reach say what was lost.
               AND NOT (x.fact_kind = 'root' AND x.op = 'removed'
                        AND NOT EXISTS (SELECT 1 FROM msgraph_drive_items i WHERE i.id = x.item_id AND i.deleted_at IS NULL))
        )
        INSERT INTO posture_changes (run_id, recorded_at, kind, scope, risk, item_id, drive_id, site_id, item_name, item_path,
                                     principal_type, principal_id, principal_name, is_external, before, after)
        SELECT @RunId, @Now, d.change_kind,
               CASE d.fact_kind
                   WHEN 'link' THEN d.s->>'scope'
                   WHEN 'grant' THEN CASE WHEN (d.s->>'org_claim')::boolean THEN 'organization' WHEN d.is_external THEN 'external' ELSE d.s->>'via' END
                   WHEN 'reach' THEN d.s->>'audience'
                   WHEN 'guest' THEN 'external'
                   WHEN 'member' THEN CASE WHEN d.is_external THEN 'external' ELSE 'internal' END
               END,
               CASE WHEN d.op = 'removed' THEN 9 ELSE
               CASE d.fact_kind
                   WHEN 'link' THEN CASE
                       WHEN d.s->>'scope' = 'anonymous' AND (d.s->'roles' ?| ARRAY['write', 'owner'] OR d.s->>'type' = 'edit') THEN 0
                       WHEN d.s->>'scope' = 'anonymous' THEN 1
                       WHEN d.s->>'scope' = 'organization' AND (d.s->'roles' ?| ARRAY['write', 'owner'] OR d.s->>'type' = 'edit') THEN 2
                       WHEN d.s->>'scope' = 'organization' THEN 3
                       ELSE 5 END
                   WHEN 'grant' THEN CASE
                       WHEN (d.s->>'org_claim')::boolean AND d.s->'roles' ?| ARRAY['write', 'owner'] THEN 2
                       WHEN (d.s->>'org_claim')::boolean THEN 3
                       WHEN d.is_external THEN 4 ELSE 5 END
                   WHEN 'reach' THEN CASE d.s->>'audience'
                       WHEN 'anyone' THEN CASE WHEN (d.s->>'edit')::boolean THEN 0 ELSE 1 END
                       WHEN 'organization' THEN CASE WHEN (d.s->>'edit')::boolean THEN 2 ELSE 3 END
                       ELSE 4 END
                   WHEN 'guest' THEN 4
                   WHEN 'member' THEN CASE WHEN d.is_external THEN 4 ELSE 5 END
                   ELSE 5
               END END,
               d.item_id, coalesce(d.drive_id, i.drive_id), dr.site_id, i.name, i.path,
               d.principal_type, d.principal_id,
               d.principal_name, d.is_external, d.before, d.after
          FROM d
          LEFT JOIN msgraph_drive_items i ON i.id = d.item_id
          LEFT JOIN msgraph_drives dr ON dr.id = coalesce(d.drive_id, i.drive_id)
         WHERE d.change_kind IS NOT NULL
         ORDER BY d.fact_kind, d.fact_key;
        """;

    private const string ApplySql = """
        DELETE FROM posture_facts f USING posture_diff d
         WHERE d.op = 'removed' AND f.kind = d.fact_kind AND f.fact_key = d.fact_key;
        INSERT INTO posture_facts (kind, fact_key, item_id, drive_id, principal_type, principal_id, principal_name, is_external, state)
        SELECT d.fact_kind, d.fact_key, d.c_item_id, d.c_drive_id, d.c_principal_type, d.c_principal_id, d.c_principal_name, d.c_is_external, d.c_state
          FROM posture_diff d WHERE d.op IN ('added', 'changed')
        ON CONFLICT (kind, fact_key) DO UPDATE SET item_id = EXCLUDED.item_id, drive_id = EXCLUDED.drive_id, principal_type = EXCLUDED.principal_type,
            principal_id = EXCLUDED.principal_id, principal_name = EXCLUDED.principal_name, is_external = EXCLUDED.is_external, state = EXCLUDED.state;
        """;

    private const string FinishSql = """
        DELETE FROM posture_changes WHERE recorded_at < @Now - make_interval(days => @RetentionDays);
        """;

    private const string FeedSql = """
        UPDATE posture_feed SET baseline_run_id = CASE WHEN @Baseline THEN @RunId ELSE baseline_run_id END,
                                baseline_at = CASE WHEN @Baseline THEN @Now ELSE baseline_at END,
                                last_run_id = @RunId, last_recorded_at = @Now;
        """;

    private const string CountSql = "SELECT kind, count(*) FROM posture_changes WHERE change_id > @After GROUP BY kind ORDER BY kind";

    internal sealed class Handler(Db db, TimeProvider clock) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            await connection.ExecuteAsync(new CommandDefinition(LockSql, transaction: tx, cancellationToken: ct));
            var feed = await connection.QuerySingleAsync<(bool HasBaseline, int RetentionDays)>(new CommandDefinition(FeedStateSql, transaction: tx, cancellationToken: ct));
            var facts = await connection.ExecuteScalarAsync<long>(new CommandDefinition(DiffSql, transaction: tx, cancellationToken: ct));
            var after = await connection.ExecuteScalarAsync<long?>(new CommandDefinition("SELECT max(change_id) FROM posture_changes", transaction: tx, cancellationToken: ct)) ?? 0;
            var args = new { request.RunId, Now = now, feed.RetentionDays, Baseline = !feed.HasBaseline, After = after };
            if (feed.HasBaseline)
                await connection.ExecuteAsync(new CommandDefinition(InsertSql, args, tx, commandTimeout: 0, cancellationToken: ct));
            await connection.ExecuteAsync(new CommandDefinition(ApplySql, args, tx, commandTimeout: 0, cancellationToken: ct));
            var expired = await connection.ExecuteAsync(new CommandDefinition(FinishSql, args, tx, cancellationToken: ct));
            await connection.ExecuteAsync(new CommandDefinition(FeedSql, args, tx, cancellationToken: ct));
            var counts = (await connection.QueryAsync<(string Kind, long Count)>(new CommandDefinition(CountSql, args, tx, cancellationToken: ct)))
                .ToDictionary(c => c.Kind, c => c.Count);
            await tx.CommitAsync(ct);
            return new Result(!feed.HasBaseline, facts, counts, expired);
        }
    }
}
