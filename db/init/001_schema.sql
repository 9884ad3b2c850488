-- Microsoft Graph ingestion tables: latest state only, soft deletes (deleted_at), flattened columns + raw.
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- table_update_log is touched by STATEMENT-level triggers: one row write per statement that
-- actually changed rows, not one per row (a row-level trigger on a million-row merge is a bottleneck).
CREATE TABLE table_update_log (
    table_name      text PRIMARY KEY,
    last_updated_at timestamptz NOT NULL
);

-- One table_update_log row per table is upserted, and its row lock is held until commit: concurrent page
-- transactions of the drive-item phase (several drives at once) would queue behind each other. Such a transaction
-- sets `SET LOCAL sentinel.defer_table_log = 'on'`; the trigger then leaves the log alone and the ingestion touches
-- it itself right after the commit, in a one-statement transaction (lock held for an instant).
CREATE FUNCTION touch_table_update_log() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('sentinel.defer_table_log', true) = 'on' THEN
        RETURN NULL;
    END IF;
    -- Transition tables let a no-op merge (nothing changed) leave the log alone.
    IF TG_OP = 'TRUNCATE' OR EXISTS (SELECT 1 FROM changed_rows) THEN
        INSERT INTO table_update_log (table_name, last_updated_at)
        VALUES (TG_TABLE_NAME, clock_timestamp())
        ON CONFLICT (table_name) DO UPDATE
            SET last_updated_at = GREATEST(table_update_log.last_updated_at, EXCLUDED.last_updated_at);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION touch_table_update_log_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO table_update_log (table_name, last_updated_at)
    VALUES (TG_TABLE_NAME, clock_timestamp())
    ON CONFLICT (table_name) DO UPDATE
        SET last_updated_at = GREATEST(table_update_log.last_updated_at, EXCLUDED.last_updated_at);
    RETURN NULL;
END $$;

-- Attaches the four statement-level triggers to a table.
CREATE FUNCTION track_table_updates(t regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE n text := (SELECT relname FROM pg_class WHERE oid = t);
BEGIN
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION touch_table_update_log()', n || '_log_ins', t);
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION touch_table_update_log()', n || '_log_upd', t);
    EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION touch_table_update_log()', n || '_log_del', t);
    EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION touch_table_update_log_truncate()', n || '_log_trunc', t);
END $$;

CREATE TABLE msgraph_users (
    id                  text PRIMARY KEY,
    display_name        text,
    user_principal_name text,
    mail                text,
    account_enabled     boolean,
    user_type           text,
    job_title           text,
    department          text,
    office_location     text,
    usage_location      text,
    created_dt          timestamptz,
    synced_at           timestamptz,
    deleted_at          timestamptz,
    raw                 jsonb
);
CREATE INDEX msgraph_users_upn_idx ON msgraph_users (lower(user_principal_name));
CREATE INDEX msgraph_users_mail_idx ON msgraph_users (lower(mail));
CREATE INDEX msgraph_users_name_trgm_idx ON msgraph_users USING gin (display_name gin_trgm_ops);

CREATE TABLE msgraph_groups (
    id                    text PRIMARY KEY,
    display_name          text,
    mail                  text,
    mail_enabled          boolean,
    security_enabled      boolean,
    group_types           text[],
    visibility            text,
    is_assignable_to_role boolean,
    created_dt            timestamptz,
    synced_at             timestamptz,
    deleted_at            timestamptz,
    raw                   jsonb
);
CREATE INDEX msgraph_groups_name_trgm_idx ON msgraph_groups USING gin (display_name gin_trgm_ops);

-- Group membership from members@delta (direct members; nested groups appear as member_type 'group').
CREATE TABLE msgraph_group_members (
    group_id    text NOT NULL,
    member_id   text NOT NULL,
    member_type text NOT NULL,
    synced_at   timestamptz,
    deleted_at  timestamptz,
    raw         jsonb,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX msgraph_group_members_member_idx ON msgraph_group_members (member_id);

CREATE TABLE msgraph_sites (
    id                 text PRIMARY KEY,
    name               text,
    web_url            text,
    hostname           text,
    site_collection_id text,
    created_dt         timestamptz,
    synced_at          timestamptz,
    deleted_at         timestamptz,
    raw                jsonb
);

-- site_id is NULL for OneDrive (personal) drives; owner_id names the owning user there.
CREATE TABLE msgraph_drives (
    id          text PRIMARY KEY,
    site_id     text,
    name        text,
    drive_type  text,
    web_url     text,
    owner_id    text,
    quota_total bigint,
    quota_used  bigint,
    created_dt  timestamptz,
    synced_at   timestamptz,
    deleted_at  timestamptz,
    raw         jsonb
);
CREATE INDEX msgraph_drives_site_idx ON msgraph_drives (site_id);
CREATE INDEX msgraph_drives_owner_idx ON msgraph_drives (owner_id);

CREATE TABLE msgraph_drive_items (
    id                         text PRIMARY KEY,
    drive_id                   text NOT NULL,
    name                       text,
    web_url                    text,
    parent_id                  text,
    path                       text,
    is_folder                  boolean,
    size                       bigint,
    mime_type                  text,
    file_hash_sha1             text,
    created_dt                 timestamptz,
    modified_dt                timestamptz,
    created_by_user_id         text,
    last_modified_by_user_id   text,
    permissions_last_synced_at timestamptz,
    synced_at                  timestamptz,
    deleted_at                 timestamptz,
    raw                        jsonb,
    -- additions: the drive root marker, change tag, and the "permissions need a rescan" flag
    -- (set when the item changed or Graph said @microsoft.graph.sharedChanged).
    is_root                    boolean NOT NULL DEFAULT false,
    c_tag                      text,
    permissions_dirty          boolean NOT NULL DEFAULT true
);
CREATE INDEX msgraph_drive_items_drive_parent_idx ON msgraph_drive_items (drive_id, parent_id);
CREATE INDEX msgraph_drive_items_parent_idx ON msgraph_drive_items (parent_id);
CREATE INDEX msgraph_drive_items_drive_path_idx ON msgraph_drive_items (drive_id, path text_pattern_ops);
-- Permission scan order: dirty first, then stalest, files only, live rows only.
CREATE INDEX msgraph_drive_items_perm_scan_idx ON msgraph_drive_items (permissions_dirty DESC, permissions_last_synced_at NULLS FIRST, id)
    WHERE deleted_at IS NULL AND NOT is_folder;
CREATE INDEX msgraph_drive_items_name_trgm_idx ON msgraph_drive_items USING gin (name gin_trgm_ops);
CREATE INDEX msgraph_drive_items_path_trgm_idx ON msgraph_drive_items USING gin (path gin_trgm_ops);
CREATE INDEX msgraph_drive_items_deleted_idx ON msgraph_drive_items (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE msgraph_drive_item_permissions (
    permission_id          text NOT NULL,
    drive_id               text,
    item_id                text NOT NULL,
    roles                  text[],
    link_type              text,
    link_scope             text,
    link_web_url           text,
    link_prevents_download boolean,
    link_expiration_dt     timestamptz,
    inherited_from_id      text,
    synced_at              timestamptz,
    deleted_at             timestamptz,
    raw                    jsonb,
    -- additions
    has_password           boolean,
    share_id               text,
    PRIMARY KEY (permission_id, item_id)
);
CREATE INDEX msgraph_drive_item_permissions_item_idx ON msgraph_drive_item_permissions (item_id);
CREATE INDEX msgraph_drive_item_permissions_drive_scope_idx ON msgraph_drive_item_permissions (drive_id, link_scope) WHERE deleted_at IS NULL;

CREATE TABLE msgraph_drive_item_permission_grants (
    permission_id                 text NOT NULL,
    item_id                       text NOT NULL,
    principal_type                text NOT NULL,
    principal_id                  text NOT NULL,
    principal_display_name        text,
    principal_email               text,
    principal_user_principal_name text,
    synced_at                     timestamptz,
    deleted_at                    timestamptz,
    raw                           jsonb,
    -- additions: guest / outside-the-tenant principals and unredeemed invitations
    is_external                   boolean NOT NULL DEFAULT false,
    login_name                    text,
    PRIMARY KEY (permission_id, item_id, principal_type, principal_id)
);
CREATE INDEX msgraph_drive_item_permission_grants_item_idx ON msgraph_drive_item_permission_grants (item_id);
CREATE INDEX msgraph_drive_item_permission_grants_principal_idx ON msgraph_drive_item_permission_grants (principal_id);

-- Delta checkpoints. delta_link is the completed round's link; next_link is the mid-round
-- checkpoint (committed with each page) so a crash resumes where it stopped.
CREATE TABLE msgraph_delta_state (
    resource_type    text NOT NULL,
    partition_key    text NOT NULL,
    delta_link       text,
    last_synced_at   timestamptz,
    next_link        text,
    round_started_at timestamptz,
    resync           boolean NOT NULL DEFAULT false,
    PRIMARY KEY (resource_type, partition_key)
);

SELECT track_table_updates('msgraph_users');
SELECT track_table_updates('msgraph_groups');
SELECT track_table_updates('msgraph_group_members');
SELECT track_table_updates('msgraph_sites');
SELECT track_table_updates('msgraph_drives');
SELECT track_table_updates('msgraph_drive_items');
SELECT track_table_updates('msgraph_drive_item_permissions');
SELECT track_table_updates('msgraph_drive_item_permission_grants');
