#!/usr/bin/env bash
# Installs what Headcount needs from Debian's packages, only when something is missing:
# librdkafka (the Kafka client and its mock cluster), pkg-config (how SwiftPM finds it)
# PostgreSQL 15, docker-compose to check the deployment file offline, headless Chromium
# to render the certificate page and drive the dashboard's browser test, wrk for the ingest
# benchmark's HTTP load, jq for the live demo. Safe to run again and again.
set -euo pipefail

need=()
dpkg -s librdkafka-dev >/dev/null 2>&1 || need+=(librdkafka-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql postgresql-contrib)
command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
# Validates docker-compose.yml offline in the tests; no Docker engine is needed for that.
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
# Renders certificate.html to PNG and PDF in the certificate page's test.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# Drives the HTTP load of `headcount bench ingest-http`.
command -v wrk >/dev/null 2>&1 || need+=(wrk)
# The live demo's progress line reads JSON (the dashboard's status, the simulator's file).
command -v jq >/dev/null 2>&1 || need+=(jq)

if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
command -v swift >/dev/null 2>&1 || { echo "setup: swift is not on PATH (expected the toolchain in /opt/swift)" >&2; exit 1; }
