-- 010: SharePoint's permission model (issue 10). Every drive item belongs to exactly one permission hierarchy,
-- whose ROOT is the nearest ancestor-or-self with unique permissions (a drive root, an item delta marks with a
-- `shared` facet under Prefer: hierarchicalsharing, or an item whose scanned permissions differ from its parent's).
-- Only roots are scanned and only roots own rows in msgraph_drive_item_permissions / _grants; every other item's
-- effective permissions are its root's (v_drive_item_effective_permissions), answered without a Graph call.
-- See docs/ingestion.md "Permission model".

ALTER TABLE msgraph_drive_items
    -- is_root OR raw ? 'shared' OR permissions_differ (maintained set-based by MaintainPermissionRoots)
    ADD COLUMN has_unique_permissions boolean NOT NULL DEFAULT false,
    -- a scan found this item's permission set different from its parent hierarchy's (no `shared` facet needed)
    ADD COLUMN permissions_differ     boolean NOT NULL DEFAULT false,
    -- nearest ancestor-or-self with has_unique_permissions (NULL until computed, or while the parent chain is unknown)
    ADD COLUMN permission_root_id     text,
    -- rolling verification: when an inheriting file was last checked against its root
    ADD COLUMN permission_verified_at timestamptz;

-- Watermark of MaintainPermissionRoots: items synced since it get their hierarchy recomputed (a crash between the
-- delta merge and the maintenance is caught up by the next run).
CREATE TABLE permission_roots_state (
    id            int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    maintained_at timestamptz
);
INSERT INTO permission_roots_state (id, maintained_at) VALUES (1, NULL);

-- Scan order of roots: dirty first, then never scanned, then stalest.
DROP INDEX IF EXISTS msgraph_drive_items_perm_scan_idx;
CREATE INDEX msgraph_drive_items_root_scan_idx ON msgraph_drive_items (permissions_dirty DESC, permissions_last_synced_at NULLS FIRST, id)
    WHERE deleted_at IS NULL AND has_unique_permissions;
-- Non-roots that need a look (sharedChanged on a file, a former root whose facet disappeared): normally empty.
CREATE INDEX msgraph_drive_items_dirty_inheriting_idx ON msgraph_drive_items (id)
    WHERE deleted_at IS NULL AND permissions_dirty AND NOT has_unique_permissions;
-- Rolling verification of inheriting files, least recently verified first.
CREATE INDEX msgraph_drive_items_verify_idx ON msgraph_drive_items (permission_verified_at NULLS FIRST, id)
    WHERE deleted_at IS NULL AND NOT has_unique_permissions AND NOT is_folder;
-- The members of a hierarchy (effective permissions of a root's subtree, exposure counts per root).
CREATE INDEX msgraph_drive_items_permission_root_idx ON msgraph_drive_items (permission_root_id, is_folder)
    WHERE deleted_at IS NULL;

-- Principals. siteUser / siteGroup ids are small integers scoped to one site collection: principal_key names the
-- principal across the tenant (site-scoped ids keyed with the site, or the drive for a OneDrive).
-- person_key identifies an external PERSON (email / UPN / login name), entra_user_id links a principal to
-- msgraph_users, is_org_wide marks "Everyone except external users" / "Everyone" claims.
ALTER TABLE msgraph_drive_item_permission_grants
    ADD COLUMN site_key      text,
    ADD COLUMN principal_key text,
    ADD COLUMN person_key    text,
    ADD COLUMN entra_user_id text,
    ADD COLUMN is_org_wide   boolean NOT NULL DEFAULT false;
-- siteUser login names (i:0#.f|membership|<upn>) are linked to Entra users by UPN.
CREATE INDEX msgraph_users_upn_lower_idx ON msgraph_users (lower(user_principal_name));
CREATE INDEX msgraph_drive_item_permission_grants_principal_key_idx ON msgraph_drive_item_permission_grants (principal_key)
    WHERE deleted_at IS NULL;
CREATE INDEX msgraph_drive_item_permission_grants_org_wide_idx ON msgraph_drive_item_permission_grants (item_id, permission_id)
    WHERE is_org_wide AND deleted_at IS NULL;

-- Effective permissions of every live item: the permissions its hierarchy root holds. source_item_id is the root,
-- inherited = the permission comes from an ancestor (the item itself is not a root).
CREATE VIEW v_drive_item_effective_permissions AS
SELECT i.id AS item_id, i.drive_id, p.permission_id, p.item_id AS source_item_id, (p.item_id <> i.id) AS inherited,
       p.roles, p.link_type, p.link_scope, p.link_expiration_dt, p.link_web_url
  FROM msgraph_drive_items i
  JOIN msgraph_drive_item_permissions p ON p.item_id = i.permission_root_id AND p.deleted_at IS NULL
 WHERE i.deleted_at IS NULL;

-- Live permissions of live hierarchy roots (what every posture metric counts).
CREATE VIEW v_root_permissions AS
SELECT p.permission_id, p.item_id, p.drive_id, p.link_scope, p.link_type, p.link_expiration_dt,
       EXISTS (SELECT 1 FROM msgraph_drive_item_permission_grants g
                WHERE g.permission_id = p.permission_id AND g.item_id = p.item_id AND g.deleted_at IS NULL AND g.is_external) AS external,
       EXISTS (SELECT 1 FROM msgraph_drive_item_permission_grants g
                WHERE g.permission_id = p.permission_id AND g.item_id = p.item_id AND g.deleted_at IS NULL AND g.is_org_wide) AS org_wide
  FROM msgraph_drive_item_permissions p
  JOIN msgraph_drive_items r ON r.id = p.item_id AND r.deleted_at IS NULL AND r.has_unique_permissions
 WHERE p.deleted_at IS NULL;

-- Posture headline numbers (issue 10 definitions). Links are counted once per link (permission id), wherever
-- they are inherited; *_items count FILES reachable through them, inherited included.
DROP MATERIALIZED VIEW mv_dashboard_posture;
CREATE MATERIALIZED VIEW mv_dashboard_posture AS
WITH rp AS (SELECT * FROM v_root_permissions),
anon_roots AS (SELECT DISTINCT item_id FROM rp WHERE link_scope = 'anonymous'),
org_roots AS (SELECT DISTINCT item_id FROM rp WHERE link_scope = 'organization' OR org_wide)
SELECT 'anonymous_links'::text AS metric, count(DISTINCT permission_id) FILTER (WHERE link_scope = 'anonymous') AS value FROM rp
UNION ALL
SELECT 'anonymous_links_never_expire', count(DISTINCT permission_id) FILTER (WHERE link_scope = 'anonymous' AND link_expiration_dt IS NULL) FROM rp
UNION ALL
SELECT 'anonymous_items', count(*) FROM msgraph_drive_items i
 WHERE i.deleted_at IS NULL AND NOT i.is_folder AND i.permission_root_id IN (SELECT item_id FROM anon_roots)
UNION ALL
SELECT 'organization_links', count(DISTINCT permission_id) FILTER (WHERE link_scope = 'organization') FROM rp
UNION ALL
SELECT 'organization_items', count(*) FROM msgraph_drive_items i
 WHERE i.deleted_at IS NULL AND NOT i.is_folder AND i.permission_root_id IN (SELECT item_id FROM org_roots)
UNION ALL
SELECT 'users_links', count(DISTINCT permission_id) FILTER (WHERE link_scope = 'users') FROM rp
UNION ALL
SELECT 'direct_permissions', count(*) FILTER (WHERE link_scope IS NULL) FROM rp
UNION ALL
SELECT 'external_permissions', count(*) FILTER (WHERE external) FROM rp
UNION ALL
SELECT 'unique_permission_items', count(*) FROM msgraph_drive_items WHERE deleted_at IS NULL AND has_unique_permissions
UNION ALL
SELECT 'live_permissions', count(*) FROM rp
UNION ALL
SELECT 'external_principals', count(DISTINCT g.person_key)
  FROM msgraph_drive_item_permission_grants g
  JOIN rp ON rp.permission_id = g.permission_id AND rp.item_id = g.item_id
 WHERE g.deleted_at IS NULL AND g.is_external
UNION ALL
SELECT 'guest_users', count(*) FROM msgraph_users WHERE deleted_at IS NULL AND user_type = 'Guest';
CREATE UNIQUE INDEX mv_dashboard_posture_uq ON mv_dashboard_posture (metric);

-- Exposure per drive, same definitions (links once per drive, files reachable through them).
DROP MATERIALIZED VIEW mv_dashboard_drive_exposure;
CREATE MATERIALIZED VIEW mv_dashboard_drive_exposure AS
WITH rp AS (SELECT * FROM v_root_permissions WHERE drive_id IS NOT NULL),
per_drive AS (
    SELECT drive_id,
           count(DISTINCT permission_id) FILTER (WHERE link_scope = 'anonymous')                  AS anonymous_links,
           count(DISTINCT permission_id) FILTER (WHERE link_scope = 'organization')               AS organization_links,
           count(*) FILTER (WHERE external)                                                      AS external_permissions,
           count(*) FILTER (WHERE link_scope IN ('anonymous', 'organization') OR external OR org_wide) AS exposed_permissions
      FROM rp GROUP BY drive_id
),
items AS (
    SELECT i.drive_id,
           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM rp WHERE rp.item_id = i.permission_root_id AND rp.link_scope = 'anonymous')) AS anonymous_items,
           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM rp WHERE rp.item_id = i.permission_root_id
                                                             AND (rp.link_scope = 'organization' OR rp.org_wide))) AS organization_items
      FROM msgraph_drive_items i
     WHERE i.deleted_at IS NULL AND NOT i.is_folder
       AND i.permission_root_id IN (SELECT item_id FROM rp WHERE link_scope IN ('anonymous', 'organization') OR org_wide)
     GROUP BY i.drive_id
)
SELECT pd.drive_id, d.site_id, coalesce(d.name, pd.drive_id) AS drive_name, s.name AS site_name,
       pd.anonymous_links, pd.organization_links, pd.external_permissions, pd.exposed_permissions,
       coalesce(it.anonymous_items, 0) AS anonymous_items, coalesce(it.organization_items, 0) AS organization_items
  FROM per_drive pd
  LEFT JOIN items it ON it.drive_id = pd.drive_id
  LEFT JOIN msgraph_drives d ON d.id = pd.drive_id
  LEFT JOIN msgraph_sites s ON s.id = d.site_id;
CREATE UNIQUE INDEX mv_dashboard_drive_exposure_uq ON mv_dashboard_drive_exposure (drive_id);

INSERT INTO mv_dependencies (mv_name, table_name) VALUES
    ('mv_dashboard_posture', 'msgraph_drive_item_permissions'),
    ('mv_dashboard_posture', 'msgraph_drive_item_permission_grants'),
    ('mv_dashboard_posture', 'msgraph_drive_items'),
    ('mv_dashboard_posture', 'msgraph_users'),
    ('mv_dashboard_drive_exposure', 'msgraph_drive_item_permissions'),
    ('mv_dashboard_drive_exposure', 'msgraph_drive_item_permission_grants'),
    ('mv_dashboard_drive_exposure', 'msgraph_drive_items'),
    ('mv_dashboard_drive_exposure', 'msgraph_drives'),
    ('mv_dashboard_drive_exposure', 'msgraph_sites')
ON CONFLICT DO NOTHING;
