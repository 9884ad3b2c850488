-- Records which db/init files have been applied (name + sha256 of the file bytes).
-- Applied by `worker migrate` and, on a fresh compose volume, by docker-entrypoint-initdb.d;
-- 999_record_migrations.sh then records the files initdb.d applied, so both paths agree.
CREATE TABLE IF NOT EXISTS schema_migrations (
    name        text PRIMARY KEY,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
