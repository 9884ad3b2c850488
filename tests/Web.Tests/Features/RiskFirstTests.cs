using Sentinel.Features.Inventory;
using Sentinel.Features.Posture;
using Sentinel.TestSupport;

namespace Sentinel.Web.Tests.Features;

/// <summary>Issue 14 §3: permissions riskiest first (index-served), live rows by default, no never-seen deleted rows.</summary>
public sealed class RiskFirstTests : IClassFixture<SliceFixture>, IAsyncLifetime
{
    private readonly SliceFixture _fx;

    public RiskFirstTests(SliceFixture fx) => _fx = fx;

    public async Task InitializeAsync()
    {
        if (await _fx.ScalarAsync<long>("SELECT count(*) FROM msgraph_drive_items") > 0) return;
        // Permission ids are deliberately NOT in risk order, so the primary-key order would differ.
        await _fx.ExecuteAsync("""
            INSERT INTO msgraph_drives (id, name, drive_type) VALUES ('d1', 'Docs', 'documentLibrary');
            INSERT INTO msgraph_drive_items (id, drive_id, name, path, is_folder, raw, deleted_at, has_unique_permissions, permission_root_id) VALUES
              ('i1', 'd1', 'a.docx', '/a.docx', false, '{"name":"a.docx","file":{}}', NULL, true, 'i1'),
              ('i2', 'd1', 'gone.docx', '/gone.docx', false, '{"name":"gone.docx","file":{}}', now(), false, NULL),
              ('i3', 'd1', NULL, NULL, false, '{"id":"i3","deleted":{"state":"deleted"}}', now(), false, NULL);
            INSERT INTO msgraph_drive_item_permissions (permission_id, drive_id, item_id, roles, link_type, link_scope) VALUES
              ('p-a', 'd1', 'i1', '{read}', NULL, NULL),                   -- internal                  5
              ('p-b', 'd1', 'i1', '{read}', NULL, NULL),                   -- external guest            4
              ('p-c', 'd1', 'i1', '{read}', 'view', 'organization'),       -- organisation              3
              ('p-d', 'd1', 'i1', '{read}', NULL, NULL),                   -- org-wide claim            3
              ('p-e', 'd1', 'i1', '{write}', 'edit', 'organization'),      -- organisation + edit       2
              ('p-f', 'd1', 'i1', '{read}', 'view', 'anonymous'),          -- anyone                    1
              ('p-g', 'd1', 'i1', '{write}', 'edit', 'anonymous'),         -- anyone + edit             0
              ('p-h', 'd1', 'i1', '{read}', 'view', 'users');              -- specific people: external 4
            INSERT INTO msgraph_drive_item_permission_grants (permission_id, item_id, principal_type, principal_id, principal_display_name, login_name, is_external) VALUES
              ('p-a', 'i1', 'user', 'u1', 'Alice', 'i:0#.f|membership|alice@contoso.com', false),
              ('p-b', 'i1', 'user', 'u9', 'Gina Guest', 'i:0#.f|membership|gina_fabrikam.com#ext#@contoso.onmicrosoft.com', true),
              ('p-d', 'i1', 'siteUser', '7', 'Everyone except external users', 'c:0-.f|rolemanager|spo-grid-all-users/8f2a4c1e', false),
              ('p-h', 'i1', 'user', 'u1', 'Alice', NULL, false),
              ('p-h', 'i1', 'invitation', 'x@partner.example', NULL, NULL, true);
            """);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Permissions_list_riskiest_first_by_default_with_an_explained_level()
    {
        var page = await _fx.SendAsync(new ListPermissions.Query(Deleted: DeletedFilter.Exclude, Limit: 50));
        Assert.Equal(["p-g", "p-f", "p-e", "p-c", "p-d", "p-b", "p-h", "p-a"], page.Rows.Select(r => r.PermissionId).ToArray());
        Assert.Equal(["anyone_edit", "anyone", "organization_edit", "organization", "organization", "external", "external", "internal"],
            page.Rows.Select(r => r.Risk.Key).ToArray());
        Assert.All(page.Rows, r => Assert.False(string.IsNullOrWhiteSpace(r.Risk.Explanation)));
    }

    [Fact]
    public async Task Risk_keyset_pages_cover_every_permission_once_in_risk_order()
    {
        var seen = new List<(short Rank, string Id)>();
        string? cursor = null;
        do
        {
            var page = await _fx.SendAsync(new ListPermissions.Query(Cursor: cursor, Limit: 3));
            seen.AddRange(page.Rows.Select(r => (r.RiskRank, r.PermissionId)));
            cursor = page.NextCursor;
        } while (cursor is not null && seen.Count < 100);
        Assert.Equal(8, seen.Select(s => s.Id).Distinct().Count());
        Assert.Equal(seen.OrderBy(s => s.Rank).ThenBy(s => s.Id, StringComparer.Ordinal), seen);
    }

    [Fact]
    public async Task Grant_changes_move_a_permissions_risk()
    {
        await _fx.ExecuteAsync("""
            INSERT INTO msgraph_drive_items (id, drive_id, name, path, is_folder) VALUES ('i9', 'd1', 'z.docx', '/z.docx', false);
            INSERT INTO msgraph_drive_item_permissions (permission_id, drive_id, item_id, roles) VALUES ('p-z', 'd1', 'i9', '{write}');
            INSERT INTO msgraph_drive_item_permission_grants (permission_id, item_id, principal_type, principal_id, is_external)
            VALUES ('p-z', 'i9', 'user', 'guest1', true);
            """);
        Assert.Equal(4, await Rank("p-z"));
        // An edit grant to "Everyone" is organisation + edit.
        await _fx.ExecuteAsync("""
            INSERT INTO msgraph_drive_item_permission_grants (permission_id, item_id, principal_type, principal_id, principal_display_name, login_name)
            VALUES ('p-z', 'i9', 'siteUser', '3', 'Everyone', 'c:0(.s|true')
            """);
        Assert.Equal(2, await Rank("p-z"));
        await _fx.ExecuteAsync("UPDATE msgraph_drive_item_permission_grants SET deleted_at = now() WHERE permission_id = 'p-z'");
        Assert.Equal(5, await Rank("p-z"));
        await _fx.ExecuteAsync("DELETE FROM msgraph_drive_item_permission_grants WHERE permission_id = 'p-z'; DELETE FROM msgraph_drive_item_permissions WHERE permission_id = 'p-z'; DELETE FROM msgraph_drive_items WHERE id = 'i9'");
    }

    private Task<short> Rank(string id) => _fx.ScalarAsync<short>("SELECT risk_rank FROM msgraph_drive_item_permissions WHERE permission_id = @id", new { id });

    [Fact]
    public async Task The_default_risk_order_is_served_by_an_index_without_a_sort()
    {
        await using var connection = await _fx.OpenAsync();
        await using var tx = await connection.BeginTransactionAsync();
        await Dapper.SqlMapper.ExecuteAsync(connection, "SET LOCAL enable_sort = off; SET LOCAL enable_seqscan = off", transaction: tx);
        var plan = string.Join("\n", await Dapper.SqlMapper.QueryAsync<string>(connection, """
            EXPLAIN SELECT p.permission_id FROM msgraph_drive_item_permissions p WHERE p.deleted_at IS NULL
             ORDER BY p.risk_rank, p.permission_id, p.item_id LIMIT 51
            """, transaction: tx));
        Assert.Contains("msgraph_drive_item_permissions_risk_idx", plan);
        Assert.DoesNotContain("Sort", plan);
    }

    [Fact]
    public async Task Items_never_seen_alive_are_not_listed_even_with_deleted_rows_shown()
    {
        var all = await _fx.SendAsync(new ListItems.Query(Deleted: DeletedFilter.All, Limit: 50));
        Assert.Contains(all.Rows, r => r.Id == "i2");
        Assert.DoesNotContain(all.Rows, r => r.Id == "i3");
        var deleted = await _fx.SendAsync(new ListItems.Query(Deleted: DeletedFilter.Only, Limit: 50));
        Assert.Equal("i2", Assert.Single(deleted.Rows).Id);
        await _fx.ExecuteAsync("REFRESH MATERIALIZED VIEW mv_msgraph_inventory_summary");
        Assert.Equal(1, await _fx.ScalarAsync<long>("SELECT deleted FROM mv_msgraph_inventory_summary WHERE entity = 'drive_items'"));
    }

    [Fact]
    public async Task Ingest_state_reports_a_pending_first_ingest_with_its_running_run()
    {
        var before = await _fx.SendAsync(new GetIngestState.Query());
        // d1 exists (data written outside an ingest), so the tenant counts as ingested.
        Assert.False(before.FirstIngestPending);
        await using var connection = await _fx.OpenAsync();
        await using var tx = await connection.BeginTransactionAsync();
        await Dapper.SqlMapper.ExecuteAsync(connection, """
            DELETE FROM msgraph_drive_item_permission_grants; DELETE FROM msgraph_drive_item_permissions; DELETE FROM msgraph_drive_items; DELETE FROM msgraph_drives;
            INSERT INTO jobs (job_id, job_type, name, config, enabled) VALUES ('aaaaaaaa-0000-0000-0000-000000000001', 'graph_ingest', 'Ingest', '{}', true);
            INSERT INTO job_runs (run_id, job_id, started_at, status, triggered_by, progress)
            VALUES ('bbbbbbbb-0000-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000001', now(), 'running', 'run_now', '{"phase":"drive_items","items":1234}');
            """, transaction: tx);
        await tx.CommitAsync();
        try
        {
            var state = await _fx.SendAsync(new GetIngestState.Query());
            Assert.True(state.FirstIngestPending);
            Assert.Equal(Guid.Parse("bbbbbbbb-0000-0000-0000-000000000001"), state.Running!.RunId);
            Assert.Equal(1234, state.Running.Progress.GetProperty("items").GetInt64());
            await _fx.ExecuteAsync("UPDATE job_runs SET status = 'success', finished_at = now() WHERE run_id = 'bbbbbbbb-0000-0000-0000-000000000001'");
            var after = await _fx.SendAsync(new GetIngestState.Query());
            Assert.False(after.FirstIngestPending);
            Assert.Null(after.Running);
        }
        finally
        {
            await _fx.ExecuteAsync("DELETE FROM job_runs; DELETE FROM jobs;");
            await InitializeAsync();
        }
    }
}
