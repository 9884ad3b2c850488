#!/bin/sh
# docker-entrypoint-initdb.d runs this after the *.sql files: record them exactly as
# `worker migrate` would (name + sha256 of the file bytes), so migrate sees the database as up to date.
set -eu
dir=$(dirname "$0")
for f in "$dir"/*.sql; do
  name=$(basename "$f")
  sum=$(sha256sum "$f" | cut -d' ' -f1)
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -q \
    -c "INSERT INTO schema_migrations (name, checksum) VALUES ('$name', '$sum') ON CONFLICT (name) DO NOTHING"
done
