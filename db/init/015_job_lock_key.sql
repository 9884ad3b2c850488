-- The job's advisory-lock key from the whole id (issue 13, bug 1). 002 took the first 64 bits of the uuid, so
-- ids sharing them (ids inserted by SQL, sequential generators, UUIDv7s of one millisecond) shared one lock and
-- one job's due occurrence was skipped as "running elsewhere".
-- Now: the first 64 bits of md5 over all 128 bits. Two distinct ids collide with probability 2^-64 (n jobs:
-- about n^2 / 2^65, 3e-12 for 10,000 jobs), and ids that share any prefix or differ in one bit are no more
-- likely to collide than random ones. A collision can no longer lose an occurrence either: ClaimNextRun skips
-- only when the same job has a running run, and otherwise keeps the occurrence due and retries.
-- Stop workers before applying: a run started under the old key would look lock-less to the rescuer.
-- sentinel_job_lock_held (002) calls this function, so it follows without being redefined.
CREATE OR REPLACE FUNCTION sentinel_job_lock_key(job_id uuid) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ('x' || left(md5(job_id::text), 16))::bit(64)::bigint
$$;
