#!/usr/bin/env bash
# The project's own PostgreSQL 15 cluster, in .data/postgres of this checkout.
#
#   scripts/postgres.sh start   initialise on first use, start, print the DATABASE_URL
#   scripts/postgres.sh stop    stop it (fast shutdown)
#   scripts/postgres.sh url     print the DATABASE_URL of the running cluster
#   scripts/postgres.sh kill    stop it immediately, as a crash would (for outage tests)
#
# PostgreSQL refuses to run as root, so when started by root the cluster belongs to the
# `postgres` system user that Debian's package creates. The port is the first free one
# from 54329 up, remembered in .data/postgres/port.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
# HEADCOUNT_PG_DIR selects another cluster folder (tests that stop and restart their own
# server use one); default .data/postgres of this checkout.
data="${HEADCOUNT_PG_DIR:-$root/.data/postgres}"
bin=/usr/lib/postgresql/15/bin
cluster="$data/cluster"
sockets="$data/run"

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_is_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

url() {
    echo "postgres://headcount@127.0.0.1:$(cat "$data/port")/headcount"
}

running() {
    [ -f "$cluster/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$cluster" status >/dev/null 2>&1
}

start() {
    mkdir -p "$data"
    if [ "$(id -u)" -eq 0 ]; then
        # The postgres user must be able to reach the folder through every parent.
        chown postgres:postgres "$data"
        # Grant only the traverse bit on each parent that lacks it (a clone under a
        # private temporary folder, say), never read or write.
        dir="$data"
        while [ "$dir" != "/" ]; do
            dir="$(dirname "$dir")"
            runuser -u postgres -- test -x "$dir" 2>/dev/null || chmod o+x "$dir"
        done
    fi
    if [ ! -f "$cluster/PG_VERSION" ]; then
        as_owner "$bin/initdb" -D "$cluster" --auth=trust --username=postgres --encoding=UTF8 --locale=C.UTF-8 >"$data/initdb.log" 2>&1 \
            || { cat "$data/initdb.log" >&2; exit 1; }
    fi
    as_owner mkdir -p "$sockets"
    if running; then url; return; fi
    # The remembered port first, so a restarted server keeps its URL.
    port="$(cat "$data/port" 2>/dev/null || echo 54329)"
    while ! port_is_free "$port"; do port=$((port + 1)); done
    echo "$port" >"$data/port"
    # Durability stays on (fsync, full_page_writes): exactly-once is only as good as the
    # commit it rests on. Enough connections for several worker processes and the tests.
    as_owner "$bin/pg_ctl" -D "$cluster" -l "$data/server.log" -w -t 60 start -o \
        "-p $port -k $sockets -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=256MB -c max_wal_size=2GB -c synchronous_commit=on" >/dev/null \
        || { tail -20 "$data/server.log" >&2; exit 1; }
    as_owner "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 <<SQL >/dev/null
SELECT 'CREATE ROLE headcount LOGIN SUPERUSER' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'headcount')\gexec
SELECT 'CREATE DATABASE headcount OWNER headcount' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'headcount')\gexec
SQL
    url
}

stop() {
    if running; then as_owner "$bin/pg_ctl" -D "$cluster" -m fast -w stop >/dev/null; fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    kill) if running; then as_owner "$bin/pg_ctl" -D "$cluster" -m immediate -w stop >/dev/null; fi ;;
    url) running && url || { echo "postgres.sh: the cluster in $cluster is not running" >&2; exit 1; } ;;
    *) echo "usage: $0 start|stop|kill|url" >&2; exit 2 ;;
esac
