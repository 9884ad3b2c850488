-- 010a: mv_dashboard_drive_exposure from 010 counted reachable files with a correlated EXISTS over a CTE (a nested
-- scan per file: minutes at 200k items). Same definitions, computed with hash joins against the distinct root sets.
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
anon_roots AS (SELECT DISTINCT item_id FROM rp WHERE link_scope = 'anonymous'),
org_roots AS (SELECT DISTINCT item_id FROM rp WHERE link_scope = 'organization' OR org_wide),
items AS (
    SELECT i.drive_id,
           count(a.item_id) AS anonymous_items,
           count(o.item_id) AS organization_items
      FROM msgraph_drive_items i
      LEFT JOIN anon_roots a ON a.item_id = i.permission_root_id
      LEFT JOIN org_roots o ON o.item_id = i.permission_root_id
     WHERE i.deleted_at IS NULL AND NOT i.is_folder AND (a.item_id IS NOT NULL OR o.item_id IS NOT NULL)
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
