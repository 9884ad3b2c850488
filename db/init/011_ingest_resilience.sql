-- Ingestion that survives real tenants (issue 11).

-- A run whose targets partly failed ends 'partial' (the others were ingested; the failed ones keep their
-- checkpoints and are retried next run). 'failed' stays for runs where nothing could be done.
ALTER TABLE job_runs DROP CONSTRAINT job_runs_status_valid;
ALTER TABLE job_runs ADD CONSTRAINT job_runs_status_valid CHECK (status IN ('running', 'success', 'partial', 'failed', 'cancelled'));

-- Targets (a site's drive list, a user's OneDrive, a drive's delta, a batch of permission calls, ...) that the
-- latest run which tried them could not ingest. A row lives while the target keeps failing: the run that
-- succeeds on it deletes the row, so consecutive_failures counts failures in a row across runs.
CREATE TABLE ingest_target_failures (
    target_type          text NOT NULL,
    target_id            text NOT NULL,
    target_name          text,
    reason               text NOT NULL,
    message              text,
    consecutive_failures integer NOT NULL,
    first_failed_at      timestamptz NOT NULL,
    last_failed_at       timestamptz NOT NULL,
    last_run_id          uuid,
    PRIMARY KEY (target_type, target_id)
);
SELECT track_table_updates('ingest_target_failures');

-- How many drive listings in a row missed a drive whose site/user was listed: it is soft-deleted only after
-- drive_missing_runs of them (or when its site/owner is confirmed deleted).
ALTER TABLE msgraph_drives ADD COLUMN missing_runs integer NOT NULL DEFAULT 0;

-- Personal (OneDrive) sites that getAllSites lists: their drives are ingested as OneDrives, through their owner,
-- never as a site's libraries. Subsites (listed by /sites/{id}/sites, not by getAllSites) name their parent site.
ALTER TABLE msgraph_sites ADD COLUMN is_personal boolean NOT NULL DEFAULT false;
ALTER TABLE msgraph_sites ADD COLUMN parent_site_id text;
CREATE INDEX msgraph_sites_parent_idx ON msgraph_sites (parent_site_id) WHERE parent_site_id IS NOT NULL;
