-- Ingestion: concurrent page transactions and table_update_log.
--
-- The statement triggers of 001 upsert ONE table_update_log row per table; the row lock is held until commit, so
-- every concurrent page transaction of the drive-item phase (several drives at once) would queue behind the others.
-- A transaction may set `SET LOCAL sentinel.defer_table_log = 'on'`: the trigger then leaves the log alone and
-- the ingestion touches it itself right after the commit, in a one-statement transaction (lock held for an instant).
CREATE OR REPLACE FUNCTION touch_table_update_log() RETURNS trigger
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
