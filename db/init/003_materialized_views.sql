-- Dashboard aggregates. Each MV has a unique index so REFRESH ... CONCURRENTLY works, and its
-- base tables are declared in mv_dependencies so RefreshImpactedViews refreshes only what changed.
CREATE TABLE mv_dependencies (
    mv_name    text NOT NULL,
    table_name text NOT NULL,
    PRIMARY KEY (mv_name, table_name)
);

CREATE TABLE mv_refresh_log (
    mv_name           text PRIMARY KEY,
    last_refreshed_at timestamptz
);

CREATE MATERIALIZED VIEW mv_msgraph_inventory_summary AS
SELECT 'users'::text AS entity, count(*) AS total, count(*) FILTER (WHERE deleted_at IS NULL) AS active,
       count(*) FILTER (WHERE deleted_at IS NOT NULL) AS deleted, max(synced_at) AS last_synced_at
  FROM msgraph_users
UNION ALL
SELECT 'groups', count(*), count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL), max(synced_at)
  FROM msgraph_groups
UNION ALL
SELECT 'group_members', count(*), count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL), max(synced_at)
  FROM msgraph_group_members
UNION ALL
SELECT 'sites', count(*), count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL), max(synced_at)
  FROM msgraph_sites
UNION ALL
SELECT 'drives', count(*), count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL), max(synced_at)
  FROM msgraph_drives
UNION ALL
SELECT 'drive_items', count(*), count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL), max(synced_at)
  FROM msgraph_drive_items
UNION ALL
SELECT 'permissions', count(*), count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL), max(synced_at)
  FROM msgraph_drive_item_permissions;
CREATE UNIQUE INDEX mv_msgraph_inventory_summary_uq ON mv_msgraph_inventory_summary (entity);

-- Sharing posture per drive and link kind ('direct' = a grant without a sharing link).
CREATE MATERIALIZED VIEW mv_msgraph_sharing_posture_summary AS
SELECT p.drive_id,
       coalesce(p.link_scope, 'direct') AS link_scope,
       coalesce(p.link_type, 'none')    AS link_type,
       count(*)                                                        AS permission_count,
       count(DISTINCT p.item_id)                                       AS item_count,
       count(*) FILTER (WHERE p.link_expiration_dt IS NULL
                          OR p.link_expiration_dt <= '0001-01-02'::timestamptz) AS never_expires_count,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM msgraph_drive_item_permission_grants g
                                       WHERE g.permission_id = p.permission_id AND g.item_id = p.item_id
                                         AND g.deleted_at IS NULL AND g.is_external)) AS external_permission_count,
       max(p.synced_at)                                                AS last_synced_at
  FROM msgraph_drive_item_permissions p
 WHERE p.deleted_at IS NULL
 GROUP BY p.drive_id, coalesce(p.link_scope, 'direct'), coalesce(p.link_type, 'none');
CREATE UNIQUE INDEX mv_msgraph_sharing_posture_summary_uq
    ON mv_msgraph_sharing_posture_summary (drive_id, link_scope, link_type);

CREATE MATERIALIZED VIEW mv_latest_job_runs AS
SELECT DISTINCT ON (r.job_id)
       r.job_id, j.job_type, r.run_id, r.status, r.started_at, r.finished_at, r.error, r.triggered_by
  FROM job_runs r
  JOIN jobs j ON j.job_id = r.job_id
 ORDER BY r.job_id, r.started_at DESC NULLS LAST, r.run_id;
CREATE UNIQUE INDEX mv_latest_job_runs_uq ON mv_latest_job_runs (job_id);

INSERT INTO mv_dependencies (mv_name, table_name) VALUES
    ('mv_msgraph_inventory_summary', 'msgraph_users'),
    ('mv_msgraph_inventory_summary', 'msgraph_groups'),
    ('mv_msgraph_inventory_summary', 'msgraph_group_members'),
    ('mv_msgraph_inventory_summary', 'msgraph_sites'),
    ('mv_msgraph_inventory_summary', 'msgraph_drives'),
    ('mv_msgraph_inventory_summary', 'msgraph_drive_items'),
    ('mv_msgraph_inventory_summary', 'msgraph_drive_item_permissions'),
    ('mv_msgraph_sharing_posture_summary', 'msgraph_drive_item_permissions'),
    ('mv_msgraph_sharing_posture_summary', 'msgraph_drive_item_permission_grants'),
    ('mv_latest_job_runs', 'job_runs'),
    ('mv_latest_job_runs', 'jobs');
