-- Issue 11 (full load vs the COPY ceiling): during the first full load of drive items the secondary indexes that
-- ingestion itself does not read (trigram search, list sort orders, permission-scan orders, path prefix) are dropped
-- and built once at the end of the phase — one sorted build instead of a million incremental insertions each (the
-- two trigram GIN indexes alone doubled the cost of every inserted row). Their definitions are kept here until they
-- exist again, so a run that dies mid-load rebuilds them at the start of the next drive-item phase
-- (Ingestion/ItemIndexes.cs). Normally empty.
CREATE TABLE ingest_deferred_indexes (
    index_name  text PRIMARY KEY,
    table_name  text NOT NULL,
    definition  text NOT NULL,
    deferred_at timestamptz NOT NULL DEFAULT now()
);

-- The round-end cascade looks up the folders a round deleted, per drive (several drives at once when their rounds
-- are merged together): (drive_id, deleted_at) over deleted folders only, instead of every recent deletion of the
-- tenant through msgraph_drive_items_deleted_idx. Small, and kept during the first full load.
CREATE INDEX msgraph_drive_items_deleted_folders_idx ON msgraph_drive_items (drive_id, deleted_at)
    WHERE deleted_at IS NOT NULL AND is_folder;
