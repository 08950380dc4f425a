#!/usr/bin/env bash
# The million-participant rehearsal (issue 15, item 2), reproducible: a seeded join storm
# straight to Kafka, two worker processes and a reporter on this machine, the reporter
# killed and replaced half-way, and the figures of docs/BENCHMARKS.md at the end.
#
#   scripts/rehearsal-1m.sh [--participants N] [--speed X] [--partitions P] [--window-minutes M]
#                           [--join-within S] [--concurrency C] [--kill-reporter-after S]
#
# Defaults: 1,000,000 participants joining within 600 s, heartbeats every 30 s, a 15-minute
# window of 1-minute buckets, 64 partitions, 2 consumers per worker process, speed 1 (the
# event's own pace: ~35,000 events/s once everyone is in), the reporter killed (SIGKILL)
# 12 minutes into the window and another started at once. Everything runs under a rehearsal
# clock, so the chain is marked REHEARSAL. Logs and samples go to .data/rehearsal-1m/.
# HEADCOUNT_BIN overrides the binary (default: the release build, built if missing).
#
# What the development cluster cannot do: librdkafka's mock keeps about 5 MB per partition
# (≈ 130,000 of these events) and silently deletes the oldest beyond it, consumed or not. 64
# partitions hold ≈ 8 million events: workers falling more than ≈ 4 minutes behind at the
# full rate would lose messages, which the workers then report as retention gaps.
set -euo pipefail
cd "$(dirname "$0")/.."

participants=1000000
speed=1
partitions=64
window_minutes=15
join_within=600
concurrency=2
kill_after=720
while [ $# -gt 0 ]; do
    case "$1" in
        --participants) participants="$2"; shift 2 ;;
        --speed) speed="$2"; shift 2 ;;
        --partitions) partitions="$2"; shift 2 ;;
        --window-minutes) window_minutes="$2"; shift 2 ;;
        --join-within) join_within="$2"; shift 2 ;;
        --concurrency) concurrency="$2"; shift 2 ;;
        --kill-reporter-after) kill_after="$2"; shift 2 ;;
        -h|--help) sed -n 2,19p "$0"; exit 0 ;;
        *) echo "rehearsal-1m: unknown argument $1 (see --help)" >&2; exit 64 ;;
    esac
done

if [ -z "${HEADCOUNT_BIN:-}" ]; then
    [ -x .build/release/headcount ] || swift build -c release --product headcount 2>&1 | tail -3
    HEADCOUNT_BIN="$(swift build -c release --show-bin-path)/headcount"
fi
hc="$HEADCOUNT_BIN"
run=.data/rehearsal-1m
rm -rf "$run"
mkdir -p "$run"
say() { echo "rehearsal-1m: $*" | tee -a "$run/summary.txt"; }

# The pipeline of the rehearsal: its own file, so the figures do not depend on the seed event's.
pipeline="$run/pipeline.yaml"
cat >"$pipeline" <<EOF
id: rehearsal-1m
title: Million-participant rehearsal
window:
  start: 2026-01-01T00:00:00Z
  end: $(date -u -d "2026-01-01T00:00:00Z + $window_minutes minutes" +%Y-%m-%dT%H:%M:%SZ)
rules:
  bucket: 60s
  reconnectGrace: 60s
  minimumPresence: 5m
  heartbeatTimeout: 90s
  allowedLateness: 120s
  sustainedPeak: 10s
kafka:
  topic: headcount.rehearsal-1m.events
  partitions: $partitions
EOF

pids=()
names=()
stop_all() {
    for (( i=${#pids[@]}-1; i>=0; i-- )); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    pids=()
}
trap 'stop_all' EXIT
trap 'echo "rehearsal-1m: interrupted"; exit 130' INT TERM
start() {
    local name="$1"; shift
    "$@" >"$run/$name.log" 2>&1 &
    pids+=("$!"); names+=("$name")
    eval "pid_${name//-/_}=$!"
}
pid_of() { local v="pid_${1//-/_}"; echo "${!v:-0}"; }
# Peak and current resident set of a process, in MiB.
rss() { awk '/^VmHWM/ {h=$2} /^VmRSS/ {r=$2} END {printf "peak %.0f MiB (now %.0f)", h/1024, r/1024}' "/proc/$1/status" 2>/dev/null || echo "gone"; }

server="$(scripts/postgres.sh start)"
psql -q "$server" -c "DROP DATABASE IF EXISTS headcount_rehearsal WITH (FORCE)" -c "CREATE DATABASE headcount_rehearsal"
export DATABASE_URL="${server%/*}/headcount_rehearsal"
"$hc" migrate --log-level warning >/dev/null
"$hc" keygen --out "$run/signing-key.pem" >/dev/null
disk_before=$(df --output=used -B1M / | tail -1)

export HEADCOUNT_BROKERS=
start dev-broker "$hc" dev-broker --pipeline "$pipeline" --bootstrap-file "$run/bootstrap"
for _ in $(seq 100); do [ -s "$run/bootstrap" ] && break; sleep 0.1; done
[ -s "$run/bootstrap" ] || { echo "rehearsal-1m: the development broker did not start" >&2; exit 1; }
export HEADCOUNT_BROKERS="$(cat "$run/bootstrap")"

# One clock for every process: event time 30 s before the window is reached 15 s from now.
anchor=$(date -u -d "+15 seconds" +%Y-%m-%dT%H:%M:%SZ)
export HEADCOUNT_CLOCK="rehearsal:2025-12-31T23:59:30Z@$speed,wall=$anchor"
say "$(date -u +%H:%M:%S) load average $(cut -d' ' -f1-3 /proc/loadavg); clock $HEADCOUNT_CLOCK; $participants participants, $partitions partitions, 2 workers × $concurrency consumers"

start worker-1 "$hc" work --pipeline "$pipeline" --concurrency "$concurrency" --metrics-port 19464
start worker-2 "$hc" work --pipeline "$pipeline" --concurrency "$concurrency" --metrics-port 19465
start reporter-1 "$hc" report --pipeline "$pipeline" --key "$run/signing-key.pem" --interval 0.25
start load "$hc" bench rehearsal --pipeline "$pipeline" --participants "$participants" --join-within "$join_within" \
    --samples "$run/samples.jsonl"
load_pid=$(pid_of load)

# Resident memory every 10 s; the reporter is replaced after --kill-reporter-after seconds of event time.
started=$(date +%s)
# Wall seconds from here: 15 s to the anchor, then 30 s of clock before the window, at --speed.
kill_wall=$(awk -v k="$kill_after" -v s="$speed" 'BEGIN {printf "%d", 15 + (30 + k) / s}')
killed=false
reporter=reporter-1
while kill -0 "$load_pid" 2>/dev/null; do
    now=$(date +%s)
    line="t=$(( now - started ))"
    for name in worker-1 worker-2 "$reporter" load; do line="$line $name: $(rss "$(pid_of "$name")");"; done
    echo "$line" >>"$run/rss.txt"
    if ! $killed && [ $(( now - started )) -ge "$kill_wall" ]; then
        say "reporter-1 before the kill: $(rss "$(pid_of reporter-1)")"
        kill -KILL "$(pid_of reporter-1)"
        killed_at=$(date +%s.%N)
        start reporter-2 "$hc" report --pipeline "$pipeline" --key "$run/signing-key.pem" --interval 0.25
        reporter=reporter-2
        killed=true
        say "killed reporter-1 (SIGKILL) at t=$(( now - started )) s and started reporter-2"
    fi
    sleep 10
done
wait "$load_pid" || { echo "rehearsal-1m: the load failed (see $run/load.log)" >&2; tail -5 "$run/load.log" >&2; exit 1; }

buckets=$window_minutes
for _ in $(seq 600); do
    sealed=$(psql -qtA "$DATABASE_URL" -c "SELECT count(*) FROM headcount.snapshots WHERE pipeline = 'rehearsal-1m'")
    [ "$sealed" -ge "$buckets" ] && break
    sleep 1
done
say "sealed $sealed of $buckets buckets; amendments $(psql -qtA "$DATABASE_URL" -c "SELECT count(*) FROM headcount.amendments")"
sed -n '/^bench rehearsal summary:/,$p' "$run/load.log" | tee -a "$run/summary.txt"

# Seal latency after the watermark: the duration of the round that sealed (it fixed its
# watermark by reading Kafka first). Steady: every sealing round of a reporter but its first.
percentiles() { sort -n | awk '{v[NR]=$1} END {if (NR==0) {print "none"; exit}; p50=v[int((NR-1)*0.5)+1]; i=int((NR-1)*0.99+0.999); if (i<1) i=1; printf "p50 %d ms, p99 %d ms, max %d ms (%d rounds)", p50, v[i], v[NR], NR}'; }
rounds() { grep '\[HeadcountReporter\] sealed' "$run/$1.log" | sed -n 's/.*roundMilliseconds=\([0-9]*\).*/\1/p'; }
say "seal latency after the watermark, steady (reporter-1, every sealing round): $(rounds reporter-1 | percentiles)"
if $killed; then
    say "seal latency after the watermark, steady (reporter-2 after its first seal): $(rounds reporter-2 | tail -n +2 | percentiles)"
    first=$(grep -m1 '\[HeadcountReporter\] sealed' "$run/reporter-2.log" || true)
    say "takeover: reporter-2's first round after taking the lock: $(grep -m1 'first round after taking the lock' "$run/reporter-2.log" | sed -n 's/.*roundMilliseconds=\([0-9]*\).*sealed=\([0-9]*\).*/\1 ms, sealed \2 buckets/p')"
    say "takeover: reporter-2's first seal: round $(sed -n 's/.*roundMilliseconds=\([0-9]*\).*/\1/p' <<<"$first") ms, $(sed -n 's/.*sinceLockMilliseconds=\([0-9]*\).*/\1/p' <<<"$first") ms after it took the lock; buckets $(sed -n 's/.*buckets=\([^ ]*\).*/\1/p' <<<"$first")"
fi
for name in worker-1 worker-2; do
    port=$([ "$name" = worker-1 ] && echo 19464 || echo 19465)
    metrics=$(curl -fs "http://127.0.0.1:$port/metrics" || true)
    p=$(awk '/^headcount_worker_participants/ {s+=$2} END {print s+0}' <<<"$metrics")
    e=$(awk '/^headcount_worker_state_bytes/ && /part="engine"/ {s+=$2} END {print s+0}' <<<"$metrics")
    r=$(awk '/^headcount_worker_state_bytes/ && /part="recent_event_ids"/ {s+=$2} END {print s+0}' <<<"$metrics")
    say "$name: $(rss "$(pid_of "$name")"); counting state $p participants, engine $e bytes ($(( p > 0 ? e / p : 0 )) B/participant), recent ids $r bytes"
done
say "reporter-2: $(rss "$(pid_of reporter-2)"); dev-broker: $(rss "$(pid_of dev-broker)"); load: see rss.txt"
say "database $(psql -qtA "$DATABASE_URL" -c "SELECT pg_size_pretty(pg_database_size('headcount_rehearsal'))"), disk used by the run $(( $(df --output=used -B1M / | tail -1) - disk_before )) MiB; load average $(cut -d' ' -f1-3 /proc/loadavg)"
