using Dapper;
using FluentValidation;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// Keeps SharePoint's permission hierarchies in the database, set-based and without Graph calls:
/// <c>has_unique_permissions</c> (a drive root, an item delta marked with a <c>shared</c> facet under
/// <c>Prefer: hierarchicalsharing</c>, or an item whose scanned permissions differ from its parent's) and
/// <c>permission_root_id</c> (nearest ancestor-or-self with unique permissions) for every live item of the drives whose
/// hierarchies may have changed (an item without a root — new below an unknown parent, moved, revived —, or roots that
/// appeared / disappeared); then the
/// scan bookkeeping: the parent root of a file whose sharing changed becomes dirty, and inheriting items that merely
/// changed are clean again (their effective permissions are their root's).
/// </summary>
public static class MaintainPermissionRoots
{
    /// <param name="ExtraDrives">drives whose hierarchies a permission scan changed</param>
    /// <param name="RunStartedAt">the run's start: the next maintenance recomputes what was synced since</param>
    /// <param name="ChangedOnly">only the drives whose roots changed (after a scan), not everything synced since the watermark</param>
    public sealed record Command(IReadOnlyCollection<string>? ExtraDrives = null, DateTimeOffset? RunStartedAt = null, bool ChangedOnly = false)
        : IExecutorRequest<Result>;

    public sealed record Result(int Drives, long UniqueChanged, long RootsChanged, long ParentRootsDirtied, long InheritingCleaned);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => RuleForEach(c => c.ExtraDrives).NotEmpty().WithMessage("extra_drives must not contain empty drive ids");
    }

    private const string UniqueSql = """
        CREATE TEMP TABLE perm_touched_drives (drive_id text PRIMARY KEY) ON COMMIT DROP;
        WITH changed AS (
            UPDATE msgraph_drive_items SET has_unique_permissions = (is_root OR coalesce(raw ? 'shared', false) OR permissions_differ)
            WHERE deleted_at IS NULL AND NOT @ChangedOnly AND (@Since::timestamptz IS NULL OR synced_at >= @Since)
              AND has_unique_permissions IS DISTINCT FROM (is_root OR coalesce(raw ? 'shared', false) OR permissions_differ)
            RETURNING drive_id
        ), n AS (
            INSERT INTO perm_touched_drives SELECT DISTINCT drive_id FROM changed WHERE drive_id IS NOT NULL ON CONFLICT DO NOTHING
        )
        SELECT count(*) FROM changed;
        """;

    /// <summary>
    /// Drives whose hierarchies may have changed: those with a live item without a root (new below an unknown parent,
    /// moved, revived — the merge clears a moved item's root — or never walked), those whose unique-permission flags just
    /// changed (UniqueSql), and the extra ones. An item that was only edited or renamed keeps its place: its drive is not
    /// walked again (at 1M items the walk of every drive with any change was 8–10 s of each incremental run).
    /// </summary>
    private const string TouchedSql = """
        INSERT INTO perm_touched_drives
        SELECT DISTINCT drive_id FROM msgraph_drive_items
         WHERE deleted_at IS NULL AND drive_id IS NOT NULL AND NOT @ChangedOnly AND permission_root_id IS NULL
        UNION
        SELECT unnest(@Extra::text[])
        ON CONFLICT DO NOTHING;
        SELECT count(*) FROM perm_touched_drives;
        """;

    private const string RootsSql = """
        -- Walk every touched drive from its root down the (drive_id, parent_id) index: an item takes its own id if it has
        -- unique permissions, else its parent's root.
        CREATE TEMP TABLE perm_walk ON COMMIT DROP AS
        WITH RECURSIVE walk AS (
            SELECT i.id, i.drive_id, i.id AS root, 0 AS depth
              FROM msgraph_drive_items i JOIN perm_touched_drives t ON t.drive_id = i.drive_id
             WHERE i.is_root AND i.deleted_at IS NULL
            UNION ALL
            SELECT c.id, w.drive_id, CASE WHEN c.has_unique_permissions THEN c.id ELSE w.root END, w.depth + 1
              FROM walk w CROSS JOIN LATERAL (
                   SELECT x.id, x.has_unique_permissions FROM msgraph_drive_items x
                    WHERE x.drive_id = w.drive_id AND x.parent_id = w.id AND x.deleted_at IS NULL AND NOT x.is_root OFFSET 0) c
             WHERE w.depth < 1000
        )
        SELECT DISTINCT ON (id) id, root FROM walk ORDER BY id, depth;
        CREATE UNIQUE INDEX ON perm_walk (id);
        ANALYZE perm_walk;

        WITH a AS (
            UPDATE msgraph_drive_items i SET permission_root_id = w.root
              FROM perm_walk w WHERE i.id = w.id AND i.permission_root_id IS DISTINCT FROM w.root
            RETURNING 1
        ), b AS (
            -- live items the walk did not reach (parent chain unknown or cut): no hierarchy until it is known
            UPDATE msgraph_drive_items i SET permission_root_id = NULL
              FROM perm_touched_drives t
             WHERE i.drive_id = t.drive_id AND i.deleted_at IS NULL AND i.permission_root_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM perm_walk w WHERE w.id = i.id)
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b);
        """;

    private const string DirtySql = """
        -- The parent root of a file whose sharing changed (@microsoft.graph.sharedChanged) is rescanned too.
        WITH parents AS (
            UPDATE msgraph_drive_items r SET permissions_dirty = true
              FROM msgraph_drive_items c JOIN msgraph_drive_items p ON p.id = c.parent_id
             WHERE c.deleted_at IS NULL AND c.permissions_dirty AND lower(c.raw->>'@microsoft.graph.sharedChanged') = 'true'
               AND r.id = p.permission_root_id AND r.deleted_at IS NULL AND NOT r.permissions_dirty
            RETURNING 1
        )
        SELECT count(*) FROM parents;

        -- Inheriting items that changed (renamed, edited, moved) need no call: their effective permissions are their
        -- root's. Kept dirty: a file with sharedChanged, and a former root still holding permissions (checked by a scan).
        WITH cleaned AS (
            UPDATE msgraph_drive_items i SET permissions_dirty = false
             WHERE i.deleted_at IS NULL AND i.permissions_dirty AND NOT i.has_unique_permissions
               AND lower(coalesce(i.raw->>'@microsoft.graph.sharedChanged', '')) <> 'true'
               AND NOT EXISTS (SELECT 1 FROM msgraph_drive_item_permissions p WHERE p.item_id = i.id AND p.deleted_at IS NULL)
            RETURNING 1
        )
        SELECT count(*) FROM cleaned;

        UPDATE permission_roots_state SET maintained_at = @Watermark WHERE id = 1;
        """;

    internal sealed class Handler(Db db, TimeProvider clock) : MediatR.IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            var since = await connection.ExecuteScalarAsync<DateTimeOffset?>(new CommandDefinition(
                "SELECT maintained_at FROM permission_roots_state WHERE id = 1 FOR UPDATE", transaction: tx, cancellationToken: ct));
            // Items merged by a run that started before now are covered by the next maintenance too (idempotent).
            var watermark = request.ChangedOnly ? since : request.RunStartedAt ?? clock.GetUtcNow();
            // Only rows the delta merged since the watermark can have a new facet (scans update the flag themselves).
            var unique = await connection.ExecuteScalarAsync<long>(new CommandDefinition(UniqueSql,
                new { Since = since, request.ChangedOnly }, tx, cancellationToken: ct, commandTimeout: 0));
            var drives = await connection.ExecuteScalarAsync<int>(new CommandDefinition(TouchedSql,
                new { request.ChangedOnly, Extra = (request.ExtraDrives ?? []).ToArray() }, tx, cancellationToken: ct, commandTimeout: 0));
            long roots = 0;
            if (drives > 0)
                roots = await connection.ExecuteScalarAsync<long>(new CommandDefinition(RootsSql, transaction: tx, cancellationToken: ct, commandTimeout: 0));
            await using var grid = await connection.QueryMultipleAsync(new CommandDefinition(DirtySql, new { Watermark = watermark }, tx,
                cancellationToken: ct, commandTimeout: 0));
            var parents = await grid.ReadSingleAsync<long>();
            var cleaned = await grid.ReadSingleAsync<long>();
            await grid.DisposeAsync();
            await tx.CommitAsync(ct);
            return new Result(drives, unique, roots, parents, cleaned);
        }
    }
}
