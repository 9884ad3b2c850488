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

-- is_org_wide (010) is the ingestion's verdict; the login-name rule also catches rows written before it.
CREATE FUNCTION posture_grant_risk(is_external boolean, is_org_wide boolean, login_name text, display_name text) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE WHEN is_org_wide OR posture_is_org_claim(login_name, display_name) THEN 3 WHEN is_external THEN 4 ELSE 5 END)::smallint
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
                   coalesce((SELECT min(posture_grant_risk(g.is_external, g.is_org_wide, g.login_name, g.principal_display_name))
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
  FROM (SELECT permission_id, item_id, min(posture_grant_risk(is_external, is_org_wide, login_name, principal_display_name))::smallint AS risk
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

-- 3. Posture change feed. After every ingest run Features/Posture/RecordPostureChanges compares the sharing picture
--    (the posture_current_* views below) with the one recorded after the previous run (posture_facts) and writes one
--    posture_changes row per difference. Comparing states, not events, is what makes a resync or a re-ingestion
--    produce nothing: an object deleted and re-added within a run, or rewritten unchanged, leaves its fact as it was.
--    The views are the only place that knows the permission tables. They follow 010's model: only roots of permission
--    hierarchies hold permission rows; every item's effective permissions are its root's (permission_root_id).

-- Sharing links held by live hierarchy roots (a link counts on the root that holds it, not on every item inheriting it).
CREATE VIEW posture_current_links AS
SELECT 'link'::text AS kind, p.item_id || '|' || p.permission_id AS fact_key, p.item_id, p.drive_id,
       NULL::text AS principal_type, NULL::text AS principal_id, NULL::text AS principal_name, false AS is_external,
       jsonb_build_object('scope', p.link_scope, 'type', p.link_type, 'roles', to_jsonb(coalesce(p.roles, '{}'::text[])),
                          'expires', p.link_expiration_dt, 'password', coalesce(p.has_password, false),
                          'prevents_download', coalesce(p.link_prevents_download, false), 'permission_id', p.permission_id) AS state
  FROM msgraph_drive_item_permissions p
 JOIN msgraph_drive_items r ON r.id = p.item_id AND r.deleted_at IS NULL AND r.has_unique_permissions
 WHERE p.deleted_at IS NULL AND p.link_scope IS NOT NULL;

-- Grants held by live roots: direct grants and the people a link was granted to.
CREATE VIEW posture_current_grants AS
SELECT 'grant'::text AS kind, g.item_id || '|' || g.permission_id || '|' || g.principal_type || '|' || g.principal_id AS fact_key,
       g.item_id, p.drive_id, g.principal_type, g.principal_id,
       coalesce(g.principal_display_name, g.principal_email, g.principal_user_principal_name, g.principal_id) AS principal_name, g.is_external,
       jsonb_build_object('roles', to_jsonb(coalesce(p.roles, '{}'::text[])), 'via', coalesce(p.link_scope, 'direct'),
                          'org_claim', g.is_org_wide OR posture_is_org_claim(g.login_name, g.principal_display_name), 'permission_id', g.permission_id,
                          'email', coalesce(g.principal_email, g.principal_user_principal_name)) AS state
  FROM msgraph_drive_item_permission_grants g
  JOIN msgraph_drive_item_permissions p ON p.permission_id = g.permission_id AND p.item_id = g.item_id
  JOIN msgraph_drive_items r ON r.id = g.item_id AND r.deleted_at IS NULL AND r.has_unique_permissions
 WHERE g.deleted_at IS NULL AND p.deleted_at IS NULL;

-- Who can reach each file, by audience, through its hierarchy root's permissions (effective, inherited included):
-- anyone (an anyone link), organisation (an organisation link or an org-wide claim), external (a grant to an external
-- principal). A folder shared with anyone makes every file below it reachable: one fact per file.
CREATE VIEW posture_current_reach AS
SELECT 'reach'::text AS kind, r.item_id || '|' || r.audience AS fact_key, r.item_id, r.drive_id,
       NULL::text AS principal_type, NULL::text AS principal_id, NULL::text AS principal_name, r.audience = 'external' AS is_external,
       jsonb_build_object('audience', r.audience, 'edit', r.edit) AS state
  FROM (SELECT i.id AS item_id, i.drive_id,
               CASE WHEN p.risk_rank <= 1 THEN 'anyone' WHEN p.risk_rank <= 3 THEN 'organization' ELSE 'external' END AS audience,
               bool_or(p.risk_rank IN (0, 2) OR (p.risk_rank = 4 AND p.roles && ARRAY['write', 'owner']::text[])) AS edit
          FROM msgraph_drive_items i
          JOIN msgraph_drive_item_permissions p ON p.item_id = i.permission_root_id AND p.deleted_at IS NULL AND p.risk_rank <= 4
         WHERE i.deleted_at IS NULL AND NOT i.is_folder
         GROUP BY i.id, i.drive_id, 3) r;

-- Guests of the directory.
CREATE VIEW posture_current_guests AS
SELECT 'guest'::text AS kind, u.id AS fact_key, NULL::text AS item_id, NULL::text AS drive_id,
       'user'::text AS principal_type, u.id AS principal_id, coalesce(u.display_name, u.mail, u.user_principal_name) AS principal_name, true AS is_external,
       jsonb_build_object('upn', u.user_principal_name, 'mail', u.mail) AS state
  FROM msgraph_users u
 WHERE u.deleted_at IS NULL AND u.user_type = 'Guest';

-- Every live direct membership (the feed reports only those of groups that hold grants, directly or through a
-- group nested in them; recording all of them keeps a group that receives its first grant from looking like
-- all its members just joined).
CREATE VIEW posture_current_members AS
SELECT 'member'::text AS kind, m.group_id || '|' || m.member_id AS fact_key, NULL::text AS item_id, NULL::text AS drive_id,
       m.member_type AS principal_type, m.member_id AS principal_id,
       coalesce(u.display_name, u.user_principal_name, g.display_name, m.member_id) AS principal_name, coalesce(u.user_type = 'Guest', false) AS is_external,
       jsonb_build_object('group_id', m.group_id, 'group_name', grp.display_name) AS state
  FROM msgraph_group_members m
  LEFT JOIN msgraph_users u ON u.id = m.member_id AND m.member_type <> 'group'
  LEFT JOIN msgraph_groups g ON g.id = m.member_id AND m.member_type = 'group'
  LEFT JOIN msgraph_groups grp ON grp.id = m.group_id
 WHERE m.deleted_at IS NULL;

-- Roots of permission hierarchies: items with unique permissions (010's has_unique_permissions); drive roots always
-- are and are left out.
CREATE VIEW posture_current_roots AS
SELECT 'root'::text AS kind, i.id AS fact_key, i.id AS item_id, i.drive_id,
       NULL::text AS principal_type, NULL::text AS principal_id, NULL::text AS principal_name, false AS is_external,
       '{}'::jsonb AS state
  FROM msgraph_drive_items i
 WHERE i.deleted_at IS NULL AND NOT i.is_root AND i.has_unique_permissions;

CREATE VIEW posture_current_facts AS
SELECT * FROM posture_current_links
UNION ALL SELECT * FROM posture_current_grants
UNION ALL SELECT * FROM posture_current_reach
UNION ALL SELECT * FROM posture_current_guests
UNION ALL SELECT * FROM posture_current_members
UNION ALL SELECT * FROM posture_current_roots;

-- Groups holding a live grant, and every group nested in them (their members reach what the outer group reaches).
CREATE VIEW posture_granted_groups AS
WITH RECURSIVE granted AS (
    SELECT DISTINCT g.principal_id AS group_id
      FROM msgraph_drive_item_permission_grants g
     WHERE g.deleted_at IS NULL AND g.principal_type = 'group'
    UNION
    SELECT m.member_id FROM granted JOIN msgraph_group_members m ON m.group_id = granted.group_id
     WHERE m.deleted_at IS NULL AND m.member_type = 'group'
)
SELECT group_id FROM granted;

-- The recorded picture after the last recording (same columns as the views).
CREATE TABLE posture_facts (
    kind           text NOT NULL,
    fact_key       text NOT NULL,
    item_id        text,
    drive_id       text,
    principal_type text,
    principal_id   text,
    principal_name text,
    is_external    boolean NOT NULL DEFAULT false,
    state          jsonb NOT NULL,
    PRIMARY KEY (kind, fact_key)
);

-- Breaking inheritance copies permissions (same ids): the recorder looks copies up by permission id.
CREATE INDEX posture_facts_permission_idx ON posture_facts ((state->>'permission_id')) WHERE kind IN ('link', 'grant');

CREATE TABLE posture_changes (
    change_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id         uuid,
    recorded_at    timestamptz NOT NULL,
    kind           text NOT NULL,
    scope          text,
    risk           smallint NOT NULL,
    item_id        text,
    drive_id       text,
    site_id        text,
    item_name      text,
    item_path      text,
    principal_type text,
    principal_id   text,
    principal_name text,
    is_external    boolean NOT NULL DEFAULT false,
    before         jsonb,
    after          jsonb,
    CONSTRAINT posture_changes_kind_valid CHECK (kind IN ('link_created', 'link_removed', 'link_changed', 'grant_added', 'grant_removed',
        'grant_changed', 'reach_gained', 'reach_lost', 'reach_changed', 'guest_added', 'guest_removed', 'member_added', 'member_removed',
        'inheritance_broken', 'inheritance_restored'))
);
CREATE INDEX posture_changes_recorded_idx ON posture_changes (recorded_at, change_id);
CREATE INDEX posture_changes_kind_idx ON posture_changes (kind, change_id);
CREATE INDEX posture_changes_site_idx ON posture_changes (site_id, change_id) WHERE site_id IS NOT NULL;
CREATE INDEX posture_changes_principal_idx ON posture_changes (principal_id, change_id) WHERE principal_id IS NOT NULL;
CREATE INDEX posture_changes_item_idx ON posture_changes (item_id, change_id) WHERE item_id IS NOT NULL;
CREATE INDEX posture_changes_external_idx ON posture_changes (change_id) WHERE is_external;
CREATE INDEX posture_changes_risk_idx ON posture_changes (risk, change_id);
CREATE INDEX posture_changes_run_idx ON posture_changes (run_id);

-- One row: the feed's bookkeeping and its setting. retention_days: changes older than this are deleted when a run is
-- recorded (default 400 days: more than a year of history, for year-on-year reviews).
CREATE TABLE posture_feed (
    id               boolean PRIMARY KEY DEFAULT true CHECK (id),
    retention_days   integer NOT NULL DEFAULT 400 CHECK (retention_days BETWEEN 1 AND 36500),
    baseline_run_id  uuid,
    baseline_at      timestamptz,
    last_run_id      uuid,
    last_recorded_at timestamptz
);
INSERT INTO posture_feed (id) VALUES (true);

-- "Reviewed up to here": per reviewer, the newest change they have looked at.
CREATE TABLE posture_reviews (
    review_id       uuid PRIMARY KEY,
    reviewed_at     timestamptz NOT NULL,
    up_to_change_id bigint NOT NULL,
    actor_oid       text,
    actor_upn       text,
    actor_name      text,
    note            text
);
CREATE INDEX posture_reviews_actor_idx ON posture_reviews (actor_oid, up_to_change_id DESC);
CREATE INDEX posture_reviews_upn_idx ON posture_reviews (actor_upn, up_to_change_id DESC);
SELECT track_table_updates('posture_changes');
SELECT track_table_updates('posture_reviews');

-- 4. Access by principal. Groups a principal belongs to, transitively (direct members and members of nested groups).
CREATE VIEW posture_member_groups AS
WITH RECURSIVE closure(member_id, group_id) AS (
    SELECT m.member_id, m.group_id FROM msgraph_group_members m WHERE m.deleted_at IS NULL
    UNION
    SELECT c.member_id, m.group_id FROM closure c
      JOIN msgraph_group_members m ON m.member_id = c.group_id AND m.member_type = 'group' AND m.deleted_at IS NULL
)
SELECT member_id, group_id FROM closure;

-- Files each user can reach: through a grant to them (direct, or as a link's recipient; matched by id, by the Entra
-- user a site user is linked to, or by e-mail / UPN), through a group they are in (transitively), and, for members of
-- the tenant (not guests), through organisation links and org-wide claims. A grant sits on a hierarchy root and
-- reaches every file whose permission_root_id is that root; hierarchies are disjoint, so a user's reach is the sum of
-- the file counts of the distinct roots they reach. Refreshed with the other views (refresh_mv).
CREATE MATERIALIZED VIEW mv_principal_reach AS
WITH root_files AS (
    SELECT permission_root_id AS root_id, count(*) AS files
      FROM msgraph_drive_items WHERE deleted_at IS NULL AND NOT is_folder AND permission_root_id IS NOT NULL
     GROUP BY permission_root_id
), live AS (
    SELECT g.item_id AS root_id, g.principal_type, g.principal_id, g.entra_user_id, lower(g.principal_email) AS email,
           lower(g.principal_user_principal_name) AS upn
      FROM msgraph_drive_item_permission_grants g
      JOIN msgraph_drive_item_permissions p ON p.permission_id = g.permission_id AND p.item_id = g.item_id AND p.deleted_at IS NULL
     WHERE g.deleted_at IS NULL
), org AS (
    SELECT DISTINCT p.item_id AS root_id FROM msgraph_drive_item_permissions p WHERE p.deleted_at IS NULL AND p.risk_rank IN (2, 3)
), users AS (
    SELECT id, user_type = 'Guest' AS guest, lower(mail) AS mail, lower(user_principal_name) AS upn FROM msgraph_users WHERE deleted_at IS NULL
), specific AS (
    SELECT u.id AS user_id, l.root_id FROM users u JOIN live l ON l.principal_type <> 'group' AND l.principal_id = u.id
    UNION SELECT u.id, l.root_id FROM users u JOIN live l ON l.principal_type <> 'group' AND l.entra_user_id = u.id
    UNION SELECT u.id, l.root_id FROM users u JOIN live l ON l.principal_type <> 'group' AND l.email = u.mail
    UNION SELECT u.id, l.root_id FROM users u JOIN live l ON l.principal_type <> 'group' AND l.email = u.upn
    UNION SELECT u.id, l.root_id FROM users u JOIN live l ON l.principal_type <> 'group' AND l.upn = u.mail
    UNION SELECT u.id, l.root_id FROM users u JOIN live l ON l.principal_type <> 'group' AND l.upn = u.upn
    UNION SELECT c.member_id, l.root_id FROM posture_member_groups c JOIN live l ON l.principal_type = 'group' AND l.principal_id = c.group_id
), org_files AS (
    SELECT coalesce(sum(f.files), 0) AS files FROM org o JOIN root_files f ON f.root_id = o.root_id
)
SELECT u.id AS user_id,
       (coalesce(sum(f.files) FILTER (WHERE u.guest OR o.root_id IS NULL), 0)
        + CASE WHEN u.guest THEN 0 ELSE (SELECT files FROM org_files) END)::bigint AS reach
  FROM users u
  LEFT JOIN specific s ON s.user_id = u.id
  LEFT JOIN root_files f ON f.root_id = s.root_id
  LEFT JOIN org o ON o.root_id = s.root_id
 GROUP BY u.id, u.guest;
CREATE UNIQUE INDEX mv_principal_reach_uq ON mv_principal_reach (user_id);
CREATE INDEX mv_principal_reach_sort_idx ON mv_principal_reach (reach, user_id);

-- 5. Oversharing cards on the dashboard, one row per (card, key): counts and top lists, computed at refresh time
--    ("untouched for a year" is relative to the refresh).
CREATE MATERIALIZED VIEW mv_posture_oversharing AS
WITH live AS (
    -- permissions held by live hierarchy roots (v_root_permissions' rows, with the risk rank)
    SELECT p.permission_id, p.item_id, p.drive_id, p.link_scope, p.link_expiration_dt, p.risk_rank
      FROM msgraph_drive_item_permissions p
      JOIN msgraph_drive_items r ON r.id = p.item_id AND r.deleted_at IS NULL AND r.has_unique_permissions
     WHERE p.deleted_at IS NULL
), exposed_roots AS (
    SELECT item_id AS root_id FROM live WHERE risk_rank <= 4 GROUP BY item_id
), exposed_files AS (
    SELECT i.id, i.drive_id, i.modified_dt, i.permission_root_id
      FROM msgraph_drive_items i JOIN exposed_roots e ON e.root_id = i.permission_root_id
     WHERE i.deleted_at IS NULL AND NOT i.is_folder
), sites AS (
    SELECT d.id AS drive_id, coalesce(d.site_id, 'onedrive:' || coalesce(d.owner_id, d.id)) AS site_key,
           coalesce(s.name, 'OneDrive of ' || coalesce(u.display_name, d.owner_id, d.name)) AS site_name, d.site_id
      FROM msgraph_drives d
      LEFT JOIN msgraph_sites s ON s.id = d.site_id
      LEFT JOIN msgraph_users u ON u.id = d.owner_id
)
SELECT 'anyone_never_expire'::text AS card, ''::text AS key, NULL::text AS label, NULL::text AS site_id, count(DISTINCT permission_id)::bigint AS value
  FROM live WHERE link_scope = 'anonymous' AND link_expiration_dt IS NULL
UNION ALL
SELECT 'edit_links', '', NULL, NULL, count(DISTINCT permission_id) FROM live WHERE risk_rank IN (0, 2)
UNION ALL
SELECT 'stale_exposed', '', NULL, NULL, count(*) FROM exposed_files WHERE modified_dt < now() - interval '365 days'
UNION ALL
SELECT * FROM (
    SELECT 'everyone_claim_site', s.site_key, max(s.site_name), max(s.site_id), count(DISTINCT (l.permission_id, l.item_id))
      FROM msgraph_drive_item_permission_grants g
      JOIN live l ON l.permission_id = g.permission_id AND l.item_id = g.item_id
      JOIN sites s ON s.drive_id = l.drive_id
     WHERE g.deleted_at IS NULL AND (g.is_org_wide OR posture_is_org_claim(g.login_name, g.principal_display_name))
     GROUP BY s.site_key ORDER BY count(DISTINCT (l.permission_id, l.item_id)) DESC, s.site_key LIMIT 10) claims
UNION ALL
SELECT * FROM (
    SELECT 'top_site', s.site_key, max(s.site_name), max(s.site_id), count(*)
      FROM exposed_files f JOIN sites s ON s.drive_id = f.drive_id
     GROUP BY s.site_key ORDER BY count(*) DESC, s.site_key LIMIT 10) top_sites
UNION ALL
SELECT * FROM (
    SELECT 'top_external', x.person, max(x.name), NULL, sum(rf.files)::bigint
      FROM (SELECT lower(coalesce(g.person_key, g.principal_email, g.principal_user_principal_name, g.principal_id)) AS person,
                   max(coalesce(g.principal_display_name, g.principal_email, g.principal_id)) AS name, g.item_id AS root_id
              FROM msgraph_drive_item_permission_grants g
              JOIN live l ON l.permission_id = g.permission_id AND l.item_id = g.item_id
             WHERE g.deleted_at IS NULL AND g.is_external
             GROUP BY 1, g.item_id) x
      JOIN (SELECT permission_root_id AS root_id, count(*) AS files FROM msgraph_drive_items
             WHERE deleted_at IS NULL AND NOT is_folder GROUP BY permission_root_id) rf ON rf.root_id = x.root_id
     GROUP BY x.person ORDER BY sum(rf.files) DESC, x.person LIMIT 10) top_external;
CREATE UNIQUE INDEX mv_posture_oversharing_uq ON mv_posture_oversharing (card, key);

INSERT INTO mv_dependencies (mv_name, table_name) VALUES
    ('mv_principal_reach', 'msgraph_users'),
    ('mv_principal_reach', 'msgraph_group_members'),
    ('mv_principal_reach', 'msgraph_drive_items'),
    ('mv_principal_reach', 'msgraph_drive_item_permissions'),
    ('mv_principal_reach', 'msgraph_drive_item_permission_grants'),
    ('mv_posture_oversharing', 'msgraph_sites'),
    ('mv_posture_oversharing', 'msgraph_drives'),
    ('mv_posture_oversharing', 'msgraph_users'),
    ('mv_posture_oversharing', 'msgraph_drive_items'),
    ('mv_posture_oversharing', 'msgraph_drive_item_permissions'),
    ('mv_posture_oversharing', 'msgraph_drive_item_permission_grants');
