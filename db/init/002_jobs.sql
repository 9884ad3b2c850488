-- Scheduling metadata: the web declares intent here, the worker enforces it.
CREATE TABLE jobs (
    job_id     uuid PRIMARY KEY,
    job_type   text NOT NULL,
    tenant_id  text NOT NULL DEFAULT 'default',
    config     jsonb NOT NULL DEFAULT '{}'::jsonb,
    enabled    boolean NOT NULL DEFAULT true,
    -- additions
    name       text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT jobs_config_is_object CHECK (jsonb_typeof(config) = 'object')
);

CREATE TABLE job_schedules (
    schedule_id uuid PRIMARY KEY,
    job_id      uuid NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
    cron_expr   text NOT NULL,
    next_run_at timestamptz,
    enabled     boolean NOT NULL DEFAULT true,
    -- additions: IANA time zone the cron is evaluated in
    timezone    text NOT NULL DEFAULT 'UTC',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX job_schedules_due_idx ON job_schedules (next_run_at) WHERE enabled;
CREATE INDEX job_schedules_job_idx ON job_schedules (job_id);

CREATE TABLE job_runs (
    run_id       uuid PRIMARY KEY,
    job_id       uuid NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
    started_at   timestamptz,
    finished_at  timestamptz,
    status       text NOT NULL,
    error        text,
    -- additions
    triggered_by text NOT NULL DEFAULT 'schedule',
    schedule_id  uuid,
    scheduled_for timestamptz,
    worker_id    text,
    heartbeat_at timestamptz,
    progress     jsonb NOT NULL DEFAULT '{}'::jsonb,
    actor_oid    text,
    actor_upn    text,
    actor_name   text,
    cancel_requested_at timestamptz,
    CONSTRAINT job_runs_status_valid CHECK (status IN ('running', 'success', 'failed', 'cancelled')),
    CONSTRAINT job_runs_triggered_by_valid CHECK (triggered_by IN ('schedule', 'run_now', 'cli'))
);
-- Keyset paging of ListRuns: (started_at, run_id) descending, overall and per job.
CREATE INDEX job_runs_job_started_idx ON job_runs (job_id, started_at DESC, run_id DESC);
CREATE INDEX job_runs_started_idx ON job_runs (started_at DESC, run_id DESC);
CREATE INDEX job_runs_running_idx ON job_runs (job_id) WHERE status = 'running';
-- One occurrence of a schedule can never run twice, whatever the number of workers.
CREATE UNIQUE INDEX job_runs_occurrence_uq ON job_runs (schedule_id, scheduled_for) WHERE schedule_id IS NOT NULL;

-- Run-now requests: queued by the control plane, claimed by a scheduler.
CREATE TABLE job_run_requests (
    request_id   uuid PRIMARY KEY,
    job_id       uuid NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
    requested_at timestamptz NOT NULL,
    actor_oid    text,
    actor_upn    text,
    actor_name   text,
    force        boolean NOT NULL DEFAULT false,
    status       text NOT NULL DEFAULT 'pending',
    run_id       uuid,
    -- additions: when and why a request was claimed or dropped (paused job, already running)
    handled_at   timestamptz,
    dropped_reason text,
    CONSTRAINT job_run_requests_status_valid CHECK (status IN ('pending', 'claimed', 'dropped'))
);
CREATE INDEX job_run_requests_pending_idx ON job_run_requests (requested_at) WHERE status = 'pending';
-- At most one pending request per job: a second run-now returns the first.
CREATE UNIQUE INDEX job_run_requests_one_pending_uq ON job_run_requests (job_id) WHERE status = 'pending';

-- The advisory lock key of a job: one bigint per job_id, used by pg_try_advisory_lock while a run is live
-- and by the lost-run rescuer (pg_locks shows it as classid = high 32 bits, objid = low 32 bits, objsubid = 1).
CREATE FUNCTION sentinel_job_lock_key(job_id uuid) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ('x' || substr(replace(job_id::text, '-', ''), 1, 16))::bit(64)::bigint
$$;

-- Is some session of this database holding the job's run lock?
CREATE FUNCTION sentinel_job_lock_held(job_id uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM pg_locks l
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND l.classid = ((sentinel_job_lock_key(job_id) >> 32) & 4294967295)::oid
           AND l.objid = (sentinel_job_lock_key(job_id) & 4294967295)::oid)
$$;

SELECT track_table_updates('jobs');
SELECT track_table_updates('job_schedules');
SELECT track_table_updates('job_runs');
