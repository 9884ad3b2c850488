#!/usr/bin/env bash
# Private PostgreSQL cluster helper used by run.sh and test.sh.
#   scripts/pg.sh start <datadir> <port>   initdb on first use, then start (idempotent)
#   scripts/pg.sh stop  <datadir>
# Listens on 127.0.0.1 and a unix socket inside <datadir>; user "postgres", trust auth on loopback only.
# On first use: PG_FAST=1 turns durability off (tests, benches); PG_SHARED_BUFFERS sets the cache (default 256MB).
set -euo pipefail
cmd=${1:?usage: pg.sh start|stop <datadir> [port]}
dir=$(mkdir -p "$2" && cd "$2" && pwd)
port=${3:-5432}

find_bin() {
  if command -v "$1" >/dev/null 2>&1; then command -v "$1"; return; fi
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/$1" ] && { echo "$d/$1"; return; }; done
  return 1
}
INITDB=$(find_bin initdb) || { echo "error: PostgreSQL server binaries (initdb, pg_ctl) not found. Install them (Debian: apt-get install -y postgresql) or use 'docker compose up'." >&2; exit 1; }
PG_CTL=$(find_bin pg_ctl)

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    if [ "$(id -u)" = 0 ]; then
      id postgres >/dev/null 2>&1 || useradd --system --home-dir "$dir" postgres
      chown postgres "$dir"
      # postgres must be able to traverse to the data directory.
      p="$dir"; while [ "$p" != "/" ]; do p=$(dirname "$p"); chmod o+x "$p" 2>/dev/null || true; done
    fi
    if [ ! -f "$dir/pgdata/PG_VERSION" ]; then
      as_pg mkdir -p "$dir/pgdata"
      as_pg "$INITDB" -D "$dir/pgdata" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || as_pg "$INITDB" -D "$dir/pgdata" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
        || { echo "error: initdb failed, see $dir/initdb.log" >&2; exit 1; }
      cat >>"$dir/pgdata/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 300
shared_buffers = ${PG_SHARED_BUFFERS:-256MB}
CONF
      if [ "${PG_FAST:-0}" = 1 ]; then
        printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n' >>"$dir/pgdata/postgresql.conf"
      fi
    fi
    if as_pg "$PG_CTL" -D "$dir/pgdata" status >/dev/null 2>&1; then exit 0; fi
    as_pg "$PG_CTL" -D "$dir/pgdata" -o "-p $port" -l "$dir/postgres.log" -w -t 60 start >/dev/null \
      || { echo "error: PostgreSQL did not start, see $dir/postgres.log" >&2; tail -5 "$dir/postgres.log" >&2; exit 1; }
    ;;
  stop)
    [ -f "$dir/pgdata/PG_VERSION" ] || exit 0
    as_pg "$PG_CTL" -D "$dir/pgdata" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: pg.sh start|stop <datadir> [port]" >&2; exit 2 ;;
esac
