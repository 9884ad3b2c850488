-- Dashboard: web session state (Data Protection keys, MSAL token cache) and the aggregates the
-- analytics page reads. Every MV has a unique index (REFRESH CONCURRENTLY) and is registered in
-- mv_dependencies so RefreshImpactedViews refreshes it when its base tables change.

-- ASP.NET Core Data Protection key ring, shared by every web instance (cookies survive restarts).
CREATE TABLE web_data_protection_keys (
    friendly_name text PRIMARY KEY,
    xml           text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- MSAL.NET user token cache, one blob per signed-in account, encrypted with Data Protection.
CREATE TABLE web_token_cache (
    cache_key  text PRIMARY KEY,
    data       bytea NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Inventory paging/sorting: keyset order (sort key, id) for the big tables.
CREATE INDEX msgraph_drive_items_name_sort_idx ON msgraph_drive_items ((coalesce(name, '')), id);
CREATE INDEX msgraph_drive_items_drive_name_sort_idx ON msgraph_drive_items (drive_id, (coalesce(name, '')), id);
CREATE INDEX msgraph_drive_items_modified_sort_idx ON msgraph_drive_items ((coalesce(modified_dt, '-infinity'::timestamptz)), id);
CREATE INDEX msgraph_drive_items_size_sort_idx ON msgraph_drive_items ((coalesce(size, -1)), id);
CREATE INDEX msgraph_drive_item_permissions_scope_idx ON msgraph_drive_item_permissions (link_scope, permission_id, item_id)
    WHERE deleted_at IS NULL;
CREATE INDEX msgraph_drive_item_permission_grants_external_idx ON msgraph_drive_item_permission_grants (item_id, permission_id)
    WHERE is_external AND deleted_at IS NULL;
CREATE INDEX msgraph_users_name_sort_idx ON msgraph_users ((coalesce(display_name, '')), id);
CREATE INDEX msgraph_groups_name_sort_idx ON msgraph_groups ((coalesce(display_name, '')), id);

-- Posture headline numbers, one row per metric. Each metric's definition is mirrored exactly by an
-- inventory filter (see Features/Inventory/ListPermissions.cs), so a card links to the rows behind it.
CREATE MATERIALIZED VIEW mv_dashboard_posture AS
WITH live_perm AS (
    SELECT p.permission_id, p.item_id, p.link_scope, p.link_expiration_dt, p.inherited_from_id,
           EXISTS (SELECT 1 FROM msgraph_drive_item_permission_grants g
                    WHERE g.permission_id = p.permission_id AND g.item_id = p.item_id
                      AND g.deleted_at IS NULL AND g.is_external) AS external
      FROM msgraph_drive_item_permissions p
     WHERE p.deleted_at IS NULL
)
SELECT 'anonymous_links'::text AS metric, count(*) FILTER (WHERE link_scope = 'anonymous') AS value FROM live_perm
UNION ALL
SELECT 'anonymous_links_never_expire', count(*) FILTER (WHERE link_scope = 'anonymous' AND link_expiration_dt IS NULL) FROM live_perm
UNION ALL
SELECT 'anonymous_items', count(DISTINCT item_id) FILTER (WHERE link_scope = 'anonymous') FROM live_perm
UNION ALL
SELECT 'organization_links', count(*) FILTER (WHERE link_scope = 'organization') FROM live_perm
UNION ALL
SELECT 'users_links', count(*) FILTER (WHERE link_scope = 'users') FROM live_perm
UNION ALL
SELECT 'direct_permissions', count(*) FILTER (WHERE link_scope IS NULL) FROM live_perm
UNION ALL
SELECT 'external_permissions', count(*) FILTER (WHERE external) FROM live_perm
UNION ALL
SELECT 'unique_permission_items', count(DISTINCT item_id) FILTER (WHERE inherited_from_id IS NULL) FROM live_perm
UNION ALL
SELECT 'live_permissions', count(*) FROM live_perm
UNION ALL
SELECT 'external_principals', count(DISTINCT (principal_type, principal_id))
  FROM msgraph_drive_item_permission_grants WHERE deleted_at IS NULL AND is_external
UNION ALL
SELECT 'guest_users', count(*) FROM msgraph_users WHERE deleted_at IS NULL AND user_type = 'Guest';
CREATE UNIQUE INDEX mv_dashboard_posture_uq ON mv_dashboard_posture (metric);

-- Exposure per drive (with its site): links anyone / the organisation can use, and external grants.
CREATE MATERIALIZED VIEW mv_dashboard_drive_exposure AS
SELECT p.drive_id,
       d.site_id,
       coalesce(d.name, p.drive_id)                                        AS drive_name,
       s.name                                                              AS site_name,
       count(*) FILTER (WHERE p.link_scope = 'anonymous')                  AS anonymous_links,
       count(*) FILTER (WHERE p.link_scope = 'organization')               AS organization_links,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM msgraph_drive_item_permission_grants g
                                       WHERE g.permission_id = p.permission_id AND g.item_id = p.item_id
                                         AND g.deleted_at IS NULL AND g.is_external)) AS external_permissions,
       count(*) FILTER (WHERE p.link_scope IN ('anonymous', 'organization')
                           OR EXISTS (SELECT 1 FROM msgraph_drive_item_permission_grants g
                                       WHERE g.permission_id = p.permission_id AND g.item_id = p.item_id
                                         AND g.deleted_at IS NULL AND g.is_external)) AS exposed_permissions
  FROM msgraph_drive_item_permissions p
  LEFT JOIN msgraph_drives d ON d.id = p.drive_id
  LEFT JOIN msgraph_sites s ON s.id = d.site_id
 WHERE p.deleted_at IS NULL AND p.drive_id IS NOT NULL
 GROUP BY p.drive_id, d.site_id, coalesce(d.name, p.drive_id), s.name;
CREATE UNIQUE INDEX mv_dashboard_drive_exposure_uq ON mv_dashboard_drive_exposure (drive_id);

INSERT INTO mv_dependencies (mv_name, table_name) VALUES
    ('mv_dashboard_posture', 'msgraph_drive_item_permissions'),
    ('mv_dashboard_posture', 'msgraph_drive_item_permission_grants'),
    ('mv_dashboard_posture', 'msgraph_users'),
    ('mv_dashboard_drive_exposure', 'msgraph_drive_item_permissions'),
    ('mv_dashboard_drive_exposure', 'msgraph_drive_item_permission_grants'),
    ('mv_dashboard_drive_exposure', 'msgraph_drives'),
    ('mv_dashboard_drive_exposure', 'msgraph_sites');
