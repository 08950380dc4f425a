#!/usr/bin/env bash
# The whole test suite: installs what is missing, starts the project's PostgreSQL, runs
# `swift test` (unit tests, and integration tests on the real PostgreSQL and the
# librdkafka development cluster), then the live-fault test alone, stops PostgreSQL. Extra
# arguments go to one `swift test` run instead (e.g. `--filter LiveFaultTests`).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
url="$(scripts/postgres.sh start)"
trap 'scripts/postgres.sh stop' EXIT
export HEADCOUNT_TEST_DATABASE_URL="$url"
echo "test: PostgreSQL at $url" >&2

swift build --build-tests
if [ $# -gt 0 ]; then
    swift test --skip-build "$@"
else
    # The live-fault test runs real worker and reporter processes on a live window and
    # checks that every delivery reached Kafka within its delay budget; beside the rest of
    # the suite on two cores its own processes are starved, so it runs on its own, after.
    swift test --skip-build --skip LiveFaultTests
    swift test --skip-build --filter LiveFaultTests
fi
