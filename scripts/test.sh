#!/usr/bin/env bash
# The whole test suite: installs what is missing, starts the project's PostgreSQL, runs
# `swift test` (unit tests, and integration tests on the real PostgreSQL and the
# librdkafka development cluster), stops PostgreSQL. Extra arguments go to `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
url="$(scripts/postgres.sh start)"
trap 'scripts/postgres.sh stop' EXIT
export HEADCOUNT_TEST_DATABASE_URL="$url"
echo "test: PostgreSQL at $url" >&2

swift build --build-tests
swift test --skip-build "$@"
