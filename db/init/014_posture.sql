-- Posture: risk order of permissions, the posture change feed with its reviews, access by principal helpers.

-- 1. Risk rank of a permission, stored so the permissions list's default order ("riskiest first") is index-served.
--    0 anyone + edit, 1 anyone, 2 organisation + edit (link or org-wide claim), 3 organisation link or org-wide claim,
--    4 external people, 5 internal only. The link part depends on the row alone (a generated column); the grant part
--    (claims, externals) is kept in grant_risk by statement-level triggers on the grants table, so the ingestion's
--    write path does not change.
CREATE FUNCTION posture_is_org_claim(login_name text, display_name text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- "Everyone except external users" (c:0-.f|rolemanager|spo-grid-all-users/<tenant>) and "Everyone" (c:0(.s|true), GRAPH_FACTS §3.
    SELECT coalesce(login_name ILIKE 'c:0-.f|rolemanager|spo-grid-all-users%' OR login_name ILIKE 'c:0(.s|true%'
                    OR display_name IN ('Everyone except external users', 'Everyone'), false)
$$;

CREATE FUNCTION posture_grant_risk(is_external boolean, login_name text, display_name text) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE WHEN posture_is_org_claim(login_name, display_name) THEN 3 WHEN is_external THEN 4 ELSE 5 END)::smallint
$$;

ALTER TABLE msgraph_drive_item_permissions ADD COLUMN grant_risk smallint NOT NULL DEFAULT 5;
ALTER TABLE msgraph_drive_item_permissions ADD COLUMN risk_rank smallint GENERATED ALWAYS AS (
    CASE
        WHEN link_scope = 'anonymous' AND (roles && ARRAY['write', 'owner']::text[] OR link_type = 'edit') THEN 0
        WHEN link_scope = 'anonymous' THEN 1
        WHEN (link_scope = 'organization' OR grant_risk = 3) AND (roles && ARRAY['write', 'owner']::text[] OR link_type = 'edit') THEN 2
        WHEN link_scope = 'organization' THEN 3
        ELSE grant_risk
    END) STORED;
CREATE INDEX msgraph_drive_item_permissions_risk_idx ON msgraph_drive_item_permissions (risk_rank, permission_id, item_id);

-- Recomputes grant_risk for the permissions whose grants a statement touched (transition table "touched").
CREATE FUNCTION posture_refresh_grant_risk() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE msgraph_drive_item_permissions p
       SET grant_risk = r.risk
      FROM (SELECT k.permission_id, k.item_id,
                   coalesce((SELECT min(posture_grant_risk(g.is_external, g.login_name, g.principal_display_name))
                               FROM msgraph_drive_item_permission_grants g
                              WHERE g.permission_id = k.permission_id AND g.item_id = k.item_id AND g.deleted_at IS NULL), 5)::smallint AS risk
              FROM (SELECT DISTINCT permission_id, item_id FROM touched) k) r
     WHERE p.permission_id = r.permission_id AND p.item_id = r.item_id AND p.grant_risk <> r.risk;
    RETURN NULL;
END $$;

CREATE TRIGGER msgraph_drive_item_permission_grants_risk_ins AFTER INSERT ON msgraph_drive_item_permission_grants
    REFERENCING NEW TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION posture_refresh_grant_risk();
CREATE TRIGGER msgraph_drive_item_permission_grants_risk_upd AFTER UPDATE ON msgraph_drive_item_permission_grants
    REFERENCING NEW TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION posture_refresh_grant_risk();
CREATE TRIGGER msgraph_drive_item_permission_grants_risk_del AFTER DELETE ON msgraph_drive_item_permission_grants
    REFERENCING OLD TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION posture_refresh_grant_risk();
-- A permission row written after its grants (or re-inserted) picks its grant risk up too.
CREATE TRIGGER msgraph_drive_item_permissions_risk_ins AFTER INSERT ON msgraph_drive_item_permissions
    REFERENCING NEW TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION posture_refresh_grant_risk();

UPDATE msgraph_drive_item_permissions p
   SET grant_risk = r.risk
  FROM (SELECT permission_id, item_id, min(posture_grant_risk(is_external, login_name, principal_display_name))::smallint AS risk
          FROM msgraph_drive_item_permission_grants WHERE deleted_at IS NULL GROUP BY permission_id, item_id) r
 WHERE p.permission_id = r.permission_id AND p.item_id = r.item_id AND p.grant_risk <> r.risk;

-- 2. Drive items deleted before they were ever seen alive (a first sync reports recent deletions, nameless) are not
--    inventory: the lists hide them (Features/Inventory/ListItems.SeenAliveCondition), so the dashboard's count of
--    soft-deleted items (which links to that list) leaves them out too. Same view otherwise (003), same dependencies.
DROP MATERIALIZED VIEW mv_msgraph_inventory_summary;
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
SELECT 'drive_items', count(*) FILTER (WHERE deleted_at IS NULL OR NOT coalesce(raw ? 'deleted', false)), count(*) FILTER (WHERE deleted_at IS NULL),
       count(*) FILTER (WHERE deleted_at IS NOT NULL AND NOT coalesce(raw ? 'deleted', false) AND NOT is_root), max(synced_at)
  FROM msgraph_drive_items
UNION ALL
SELECT 'permissions', count(*), count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL), max(synced_at)
  FROM msgraph_drive_item_permissions;
CREATE UNIQUE INDEX mv_msgraph_inventory_summary_uq ON mv_msgraph_inventory_summary (entity);
