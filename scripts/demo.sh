#!/usr/bin/env bash
# The main job: the seed event end to end. Installs what is missing, starts the project's
# PostgreSQL, builds Headcount (release), runs `headcount demo` (embedded development
# Kafka cluster, simulated teachers, adapter, workers, PostgreSQL) and stops PostgreSQL.
# Extra arguments go to `headcount demo` (for example --participants 1000).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
server="$(scripts/postgres.sh start)"
trap 'scripts/postgres.sh stop' EXIT
# A fresh database each run: the embedded development broker starts empty too.
psql -q "$server" -c "DROP DATABASE IF EXISTS headcount_demo WITH (FORCE)" -c "CREATE DATABASE headcount_demo"
export DATABASE_URL="${server%/*}/headcount_demo"
echo "demo: PostgreSQL at $DATABASE_URL" >&2

swift build -c release --product headcount
"$(swift build -c release --show-bin-path)/headcount" demo "$@"
