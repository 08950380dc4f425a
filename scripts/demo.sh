#!/usr/bin/env bash
# The main job: the seed event end to end. Installs what is missing, starts the project's
# PostgreSQL, builds Headcount (release), runs `headcount demo` (embedded development Kafka
# cluster, 25,000 simulated teachers, the canonical adapter, workers, PostgreSQL, the batch
# recount, 120 sealed snapshots, the certificate verified offline, the live dashboard) and
# stops PostgreSQL. Extra arguments go to `headcount demo` (for example --participants 1000).
#
#   scripts/demo.sh --live [ARGS…]   the seed event live under a rehearsal clock, through the
#                                    ingest service (scripts/rehearsal.sh; work in progress)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--live" ]; then
    shift
    exec scripts/rehearsal.sh "$@"
fi

scripts/setup.sh
server="$(scripts/postgres.sh start)"
trap 'scripts/postgres.sh stop' EXIT
# A fresh database each run: the embedded development broker starts empty too.
psql -q "$server" -c "DROP DATABASE IF EXISTS headcount_demo WITH (FORCE)" -c "CREATE DATABASE headcount_demo"
export DATABASE_URL="${server%/*}/headcount_demo"
echo "demo: PostgreSQL at $DATABASE_URL" >&2

if [ -z "${HEADCOUNT_BIN:-}" ]; then
    swift build -c release --product headcount
    HEADCOUNT_BIN="$(swift build -c release --show-bin-path)/headcount"
fi
"$HEADCOUNT_BIN" demo "$@"
