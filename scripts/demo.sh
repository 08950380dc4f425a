#!/usr/bin/env bash
# The main job: the seed event end to end. Installs what is missing, builds Headcount (release),
# then runs the 25,000 teachers' webinar in one process (`headcount demo`): the embedded
# development Kafka cluster, the canonical adapter publishing every event, a worker pool
# consuming them into PostgreSQL with exactly-once effect, 120 signed, hash-chained minute
# snapshots, the batch recount, the certificate written and verified offline. ARGS go to it.
#
#   scripts/demo.sh --live [ARGS…]   the same event live under a rehearsal clock, as operations
#                                    will run it (scripts/rehearsal.sh: separate processes,
#                                    signed webhooks through ingest, every minute sealed while
#                                    the event runs). On a two-core machine the pipeline keeps
#                                    up with 25,000 teachers, the simulator not quite (the final
#                                    leave storm): see docs/rehearsal.md.
#   scripts/demo.sh --replay [ARGS…] the default, spelled out.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--live" ]; then
    shift
    exec scripts/rehearsal.sh "$@"
fi
[ "${1:-}" = "--replay" ] && shift

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
