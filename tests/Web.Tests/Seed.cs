namespace Sentinel.Web.Tests;

/// <summary>A small, hand-checkable tenant written with SQL (the HTTP tests don't need ingestion).</summary>
public static class Seed
{
    public const string JobId = "11111111-0000-0000-0000-000000000001";
    public const string RunId = "22222222-0000-0000-0000-000000000001";

    public const string Sql = """
        INSERT INTO msgraph_users (id, display_name, user_principal_name, mail, account_enabled, user_type, synced_at, deleted_at) VALUES
          ('u1', 'Alice Admin', 'alice@contoso.onmicrosoft.com', 'alice@contoso.com', true, 'Member', now(), NULL),
          ('u2', 'Bob Builder', 'bob@contoso.onmicrosoft.com', 'bob@contoso.com', true, 'Member', now(), NULL),
          ('u3', 'Gina Guest', 'gina_ext#EXT#@contoso.onmicrosoft.com', 'gina@fabrikam.com', true, 'Guest', now(), NULL),
          ('u4', 'Old Timer', 'old@contoso.onmicrosoft.com', NULL, false, 'Member', now(), now());
        INSERT INTO msgraph_groups (id, display_name, mail, security_enabled, mail_enabled, group_types, synced_at) VALUES
          ('g1', 'Finance Team', 'finance@contoso.com', true, false, '{}', now());
        INSERT INTO msgraph_group_members (group_id, member_id, member_type, synced_at) VALUES
          ('g1', 'u1', 'user', now()), ('g1', 'u2', 'user', now());
        INSERT INTO msgraph_sites (id, name, web_url, synced_at) VALUES ('s1', 'Finance', 'https://contoso.sharepoint.com/sites/finance', now());
        INSERT INTO msgraph_drives (id, site_id, name, drive_type, synced_at) VALUES ('d1', 's1', 'Documents', 'documentLibrary', now());
        -- permission hierarchies (010): the drive root and the two shared files are roots; the folder inherits
        INSERT INTO msgraph_drive_items (id, drive_id, name, parent_id, path, is_folder, size, modified_dt, is_root, synced_at, deleted_at,
                                         has_unique_permissions, permission_root_id) VALUES
          ('root1', 'd1', 'root', NULL, '/', true, 0, now(), true, now(), NULL, true, 'root1'),
          ('f1', 'd1', 'Reports', 'root1', '/Reports', true, 0, now(), false, now(), NULL, false, 'root1'),
          ('i1', 'd1', 'budget.xlsx', 'f1', '/Reports/budget.xlsx', false, 2048, now(), false, now(), NULL, true, 'i1'),
          ('i2', 'd1', 'plan.docx', 'f1', '/Reports/plan.docx', false, 4096, now(), false, now(), NULL, true, 'i2'),
          ('i3', 'd1', 'old.txt', 'f1', '/Reports/old.txt', false, 10, now(), false, now(), now(), false, NULL);
        INSERT INTO msgraph_drive_item_permissions (permission_id, drive_id, item_id, roles, link_type, link_scope, link_expiration_dt, inherited_from_id, synced_at, deleted_at) VALUES
          ('p1', 'd1', 'i1', '{read}', 'view', 'anonymous', NULL, NULL, now(), NULL),
          ('p2', 'd1', 'i1', '{write}', 'edit', 'organization', NULL, NULL, now(), NULL),
          ('p3', 'd1', 'i1', '{read}', NULL, NULL, NULL, NULL, now(), NULL),
          ('p4', 'd1', 'i2', '{read}', 'view', 'anonymous', '2030-01-01T00:00:00Z', NULL, now(), NULL),
          ('p5', 'd1', 'i2', '{write}', NULL, NULL, NULL, NULL, now(), NULL),
          ('p6', 'd1', 'i2', '{read}', 'view', 'anonymous', NULL, NULL, now(), now());
        INSERT INTO msgraph_drive_item_permission_grants (permission_id, item_id, principal_type, principal_id, principal_display_name, principal_email, is_external, synced_at) VALUES
          ('p3', 'i1', 'group', 'g1', 'Finance Team', 'finance@contoso.com', false, now()),
          ('p5', 'i2', 'user', 'u3', 'Gina Guest', 'gina@fabrikam.com', true, now());
        INSERT INTO jobs (job_id, job_type, name, config, enabled) VALUES ('11111111-0000-0000-0000-000000000001', 'refresh_mv', 'Nightly refresh', '{}', true);
        INSERT INTO job_runs (run_id, job_id, started_at, finished_at, status, triggered_by, progress)
          VALUES ('22222222-0000-0000-0000-000000000001', '11111111-0000-0000-0000-000000000001', now() - interval '5 minutes', now() - interval '4 minutes', 'success', 'cli', '{"refreshed": 3}');
        INSERT INTO audit_events (event_id, occurred_at, actor_upn, actor_name, action, entity_type, entity_id, details)
          VALUES (gen_random_uuid(), now(), 'admin@contoso.onmicrosoft.com', 'Ada Admin', 'job.created', 'job', '11111111-0000-0000-0000-000000000001', '{}');
        """;

    /// <summary>What the refresh job does, for the views the dashboard reads.</summary>
    public const string RefreshSql = """
        REFRESH MATERIALIZED VIEW mv_dashboard_posture;
        REFRESH MATERIALIZED VIEW mv_dashboard_drive_exposure;
        REFRESH MATERIALIZED VIEW mv_msgraph_inventory_summary;
        REFRESH MATERIALIZED VIEW mv_msgraph_sharing_posture_summary;
        REFRESH MATERIALIZED VIEW mv_latest_job_runs;
        INSERT INTO mv_refresh_log (mv_name, last_refreshed_at)
        SELECT v, now() FROM unnest(ARRAY['mv_dashboard_posture','mv_dashboard_drive_exposure','mv_msgraph_inventory_summary','mv_msgraph_sharing_posture_summary','mv_latest_job_runs']) v
        ON CONFLICT (mv_name) DO UPDATE SET last_refreshed_at = EXCLUDED.last_refreshed_at;
        """;
}

/// <summary>The web fixture with the seeded tenant and refreshed views.</summary>
public sealed class SeededWebFixture : WebFixture
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await ExecuteAsync(Seed.Sql);
        await ExecuteAsync(Seed.RefreshSql);
    }
}

[CollectionDefinition(Name)]
public sealed class SeededWebCollection : ICollectionFixture<SeededWebFixture>
{
    public const string Name = "seeded-web";
}
