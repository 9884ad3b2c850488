-- Issue 11 (incremental rounds and the full load at 1M items): every index of msgraph_drive_items is written by every
-- insert and by every update that is not HOT — and soft deletes, path walks and re-emitted items never are (deleted_at
-- is in partial-index predicates, path and the dirty flag are indexed). Measured at 1M items: soft-deleting the items of
-- 166 deleted OneDrives (≈ 17,000 rows with their permissions and grants) took 4.3 s, ≈ 15 µs per index entry. Three
-- indexes go:
--
-- 1. (drive_id, path text_pattern_ops): no query reads it (no path-prefix query exists; drive filters use
--    (drive_id, parent_id) or (drive_id, name)). 141 MB at 1M items.
-- 2. (parent_id) alone: every walk down the tree (path walk, round-end cascade, permission-root walk, the merge's
--    "has children" probe) now names the parent's drive too — a child is always in its parent's drive — and is served by
--    (drive_id, parent_id).
-- 3. The two trigram indexes (name, path) become one over item_search_text(path, name): a live item's path ends with
--    "/" + its name, so it is the path alone; otherwise (no known path, the drive root, or a name the path does not end
--    with) both, separated by a newline (search text never contains one: the inventory validators refuse control
--    characters). "name ILIKE s OR path ILIKE s" and "item_search_text(path, name) ILIKE s" select the same rows. One
--    GIN build instead of two after a first full load (each took 16–44 s at 1M items).
CREATE FUNCTION item_search_text(path text, name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN path IS NOT NULL AND name IS NOT NULL AND right(path, length(name) + 1) = '/' || name THEN path
                ELSE concat_ws(E'\n', path, name) END
$$;

DROP INDEX IF EXISTS msgraph_drive_items_drive_path_idx;
DROP INDEX IF EXISTS msgraph_drive_items_parent_idx;
DROP INDEX IF EXISTS msgraph_drive_items_name_trgm_idx;
DROP INDEX IF EXISTS msgraph_drive_items_path_trgm_idx;
-- A first load that died while these were deferred must not bring them back.
DELETE FROM ingest_deferred_indexes
 WHERE index_name IN ('msgraph_drive_items_drive_path_idx', 'msgraph_drive_items_parent_idx',
                      'msgraph_drive_items_name_trgm_idx', 'msgraph_drive_items_path_trgm_idx');

CREATE INDEX msgraph_drive_items_search_trgm_idx ON msgraph_drive_items USING gin (item_search_text(path, name) gin_trgm_ops);
