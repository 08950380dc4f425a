#!/usr/bin/env bash
# The main job: the seed event live. Installs what is missing, builds Headcount (release), then
# runs the 25,000 teachers' webinar under a rehearsal clock (two hours in about three minutes)
# as operations will run it: PostgreSQL, the development Kafka cluster, `ingest`, two worker
# processes, the reporter, the dashboard and the simulator as separate processes, every minute
# sealed while the event runs, the certificate written and verified offline, the certified
# result printed beside the simulator's expected one (scripts/rehearsal.sh; its arguments, e.g.
# --participants 1000, --speed 20, --via mix, --verbose, pass through).
#
#   scripts/demo.sh --replay [ARGS…]   the same event replayed after the fact in one process
#                                      (`headcount demo`: publish everything, consume, seal all
#                                      120 minutes at the end, recount, verify); ARGS go to it
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != "--replay" ]; then
    [ "${1:-}" = "--live" ] && shift
    exec scripts/rehearsal.sh "$@"
fi
shift

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
