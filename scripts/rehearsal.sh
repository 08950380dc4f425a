#!/usr/bin/env bash
# The seed event *live*, under a rehearsal clock, as operations will run it (scripts/demo.sh,
# the README's first command, runs this).
#
# Starts PostgreSQL, the development Kafka cluster (`headcount dev-broker`), two worker
# processes, the reporter and the dashboard as separate processes, then `headcount simulate`
# delivers the 25,000 teachers' events each when its moment comes, two hours in about three
# minutes. Every minute is sealed while the event is still running. At the end it writes the
# certificate, runs `headcount verify` and prints the certified result beside the
# simulator's expected one. Exit status: 0 when they are equal with no amendment; 2 when
# events came after their minute was sealed (the amended numbers equal the expectation); 3 when
# the simulator fell behind its schedule (then the run does not show the pipeline live); 1 on a
# mismatch or a failed service. Ctrl-C stops everything.
#
#   scripts/rehearsal.sh [--participants N] [--speed X] [--via mix|canonical|zoom|webex|bbb|jitsi|cloudevents|kafka]
#                        [--verbose] [--debug]
#
# Logs go to .data/logs/ (with --verbose also to the terminal). HEADCOUNT_BIN overrides
# the binary (the demo otherwise builds and runs the release build). The progress line reads
# the dashboard's /api/status (one reader of the store) and the simulator's status file.
set -euo pipefail
cd "$(dirname "$0")/.."

participants=25000
speed=40
via=mix
verbose=false
configuration=release
pipeline=Pipelines/sumsel-ai-webinar-2025.yaml
dashboard_port=8080
while [ $# -gt 0 ]; do
    case "$1" in
        --participants) participants="$2"; shift 2 ;;
        --speed) speed="$2"; shift 2 ;;
        --via) via="$2"; shift 2 ;;
        --pipeline) pipeline="$2"; shift 2 ;;
        --dashboard-port) dashboard_port="$2"; shift 2 ;;
        --verbose) verbose=true; shift ;;
        --debug) configuration=debug; shift ;;
        -h|--help) sed -n 2,15p "$0"; exit 0 ;;
        *) echo "demo: unknown argument $1 (see --help)" >&2; exit 64 ;;
    esac
done

scripts/setup.sh
if [ -z "${HEADCOUNT_BIN:-}" ]; then
    build_started=$(date +%s)
    swift build -c "$configuration" --product headcount 2>&1 | tail -3
    HEADCOUNT_BIN="$(swift build -c "$configuration" --show-bin-path)/headcount"
    echo "demo: build took $(( $(date +%s) - build_started )) s"
fi
hc="$HEADCOUNT_BIN"
started=$(date +%s)

run=.data/demo
logs=.data/logs
rm -rf "$run"
mkdir -p "$run" "$logs"
pids=()
names=()
declare -A cpu_seconds=()
last_seal=
stop_all() {
    # Everything but the development broker first (the workers must leave their group while
    # it still answers), then the broker, then PostgreSQL; a service not gone within 8 s is killed.
    local i deadline
    for (( i=${#pids[@]}-1; i>=1; i-- )); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
    deadline=$(( $(date +%s) + 8 ))
    for (( i=${#pids[@]}-1; i>=1; i-- )); do
        while kill -0 "${pids[i]}" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
        kill -KILL "${pids[i]}" 2>/dev/null || true
        wait "${pids[i]}" 2>/dev/null || true
    done
    if [ ${#pids[@]} -gt 0 ]; then kill -TERM "${pids[0]}" 2>/dev/null || true; wait "${pids[0]}" 2>/dev/null || true; fi
    pids=()
    scripts/postgres.sh stop >/dev/null 2>&1 || true
    [ -n "$last_seal" ] && echo "demo: everything stopped $(( $(date +%s) - last_seal )) s after the last seal" || true
}
trap 'stop_all' EXIT
trap 'echo; echo "demo: interrupted, stopping everything it started"; exit 130' INT TERM

# start NAME COMMAND…: a service in the background, its log in .data/logs/NAME.log.
start() {
    local name="$1"; shift
    if $verbose; then
        "$@" > >(tee "$logs/$name.log") 2>&1 &
    else
        "$@" >"$logs/$name.log" 2>&1 &
    fi
    pids+=("$!")
    names+=("$name")
}

# The CPU each service has used so far (user + system, seconds), remembered at every look so a
# service that exited (the simulator) keeps its figure; the machine's busy time beside it.
clock_ticks=$(getconf CLK_TCK)
machine_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
sample_cpu() {
    local i fields
    for i in "${!pids[@]}"; do
        fields=$(cut -d' ' -f14,15 "/proc/${pids[i]}/stat" 2>/dev/null) || continue
        cpu_seconds[${names[i]}]=$(awk -v t="$clock_ticks" '{ printf "%.1f", ($1 + $2) / t }' <<<"$fields")
    done
}

server="$(scripts/postgres.sh start)"
busy_at_start=$(machine_busy)
psql -q "$server" -c "DROP DATABASE IF EXISTS headcount_demo WITH (FORCE)" -c "CREATE DATABASE headcount_demo"
export DATABASE_URL="${server%/*}/headcount_demo"
"$hc" migrate --log-level warning >/dev/null

"$hc" keygen --out "$run/signing-key.pem" >/dev/null
export HEADCOUNT_BROKERS=
start dev-broker "$hc" dev-broker --pipeline "$pipeline" --bootstrap-file "$run/bootstrap"
for _ in $(seq 100); do [ -s "$run/bootstrap" ] && break; sleep 0.1; done
[ -s "$run/bootstrap" ] || { echo "demo: the development broker did not start (see $logs/dev-broker.log)" >&2; exit 1; }
export HEADCOUNT_BROKERS="$(cat "$run/bootstrap")"

# One clock for every process: event time START (a minute before the window opens) is
# reached 30 s from now, when every service is up and the simulator has written its story
# (2.9 million deliveries for 25,000 teachers), then runs SPEED times faster.
window_start=$(sed -n 's/^ *start: *//p' "$pipeline" | head -1)
clock_start=$(date -u -d "$window_start - 60 seconds" +%Y-%m-%dT%H:%M:%SZ)
anchor=$(date -u -d "+30 seconds" +%Y-%m-%dT%H:%M:%SZ)
export HEADCOUNT_CLOCK="rehearsal:$clock_start@$speed,wall=$anchor"
echo "demo: rehearsal clock $HEADCOUNT_CLOCK (everything it makes is marked REHEARSAL — NOT EVIDENCE)"

# One consumer per process: two processes share the partitions as two hosts would.
start worker-1 "$hc" work --pipeline "$pipeline" --concurrency 1 --metrics-port 0
start worker-2 "$hc" work --pipeline "$pipeline" --concurrency 1 --metrics-port 0
start reporter "$hc" report --pipeline "$pipeline" --key "$run/signing-key.pem" --interval 0.5
ingest_args=()
dashboard_args=()
if [ "$via" != kafka ]; then
    # Fresh secrets for this run only: the simulator signs with them, ingest checks them.
    export HEADCOUNT_PSEUDONYM_KEY="$(head -c 32 /dev/urandom | base64)"
    secret() { head -c 24 /dev/urandom | base64 | tr -d '/+='; }
    export HEADCOUNT_CANONICAL_TOKEN="$(secret)" HEADCOUNT_ZOOM_SECRET_TOKEN="$(secret)" HEADCOUNT_WEBEX_SECRET="$(secret)"
    export HEADCOUNT_BBB_SECRET="$(secret)" HEADCOUNT_JITSI_TOKEN="$(secret)" HEADCOUNT_CLOUDEVENTS_TOKEN="$(secret)"
    ingest_port=$(( 18000 + RANDOM % 1000 ))
    start ingest "$hc" ingest --pipeline "$pipeline" --listen "127.0.0.1:$ingest_port"
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$ingest_port/health/ready" >/dev/null && break; sleep 0.1; done
    ingest_args=(--ingest "http://127.0.0.1:$ingest_port")
    dashboard_args=(--ingest-metrics "http://127.0.0.1:$ingest_port/metrics")
fi
start dashboard "$hc" dashboard --pipeline "$pipeline" --port "$dashboard_port" "${dashboard_args[@]}"
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$dashboard_port/api/status" >/dev/null && break; sleep 0.1; done
echo "demo: dashboard at http://127.0.0.1:$dashboard_port/"
simulator_index=${#pids[@]}
start simulate "$hc" simulate --pipeline "$pipeline" --participants "$participants" --via "$via" "${ingest_args[@]}" \
    --end-with-window --expected "$run/expected.json" --status-file "$run/sent.json"

pipeline_id=$(sed -n 's/^id: *//p' "$pipeline")
window_end=$(sed -n 's/^ *end: *//p' "$pipeline" | head -1)
buckets=$(( ($(date -d "$window_end" +%s) - $(date -d "$window_start" +%s)) / $(sed -n 's/^ *bucket: *\([0-9]*\)s.*/\1/p' "$pipeline" | head -1) ))

# The progress view: one line rewritten in place on a terminal, a plain line per 10 s otherwise.
# Sent comes from the simulator; accepted (ingest's count), stored (offsets the workers have
# stored), lag, the last sealed minute and the current minute's provisional numbers from the
# dashboard, which reads the store once a second for every viewer.
progress() {
    local sent status accepted stored lag sealed now
    sent=$(jq -r '"\(.sent) (behind \(.behind_s) s)"' "$run/sent.json" 2>/dev/null || echo 0)
    status=$(curl -fs --max-time 2 "http://127.0.0.1:$dashboard_port/api/status" | jq -r '
        [ (.ingest.events_accepted // "-"),
          ([.partitions[]?.stored_next_offset] | add // 0),
          ([.partitions[]?.lag // empty] | add // "-"),
          (if .last then (.last.bucket + 1 | tostring) else "-" end),
          (if .current then "minute \(.current.bucket + 1) active \(.current.active) peak \(.current.peak) qualified \(.current.qualified) (provisional)"
           elif .last then "minute \(.last.bucket + 1) active \(.last.active) peak \(.last.peak) qualified \(.last.qualified) (sealed)" else "-" end)
        ] | join("|")' 2>/dev/null || echo "?|?|?|-|-")
    IFS='|' read -r accepted stored lag sealed now <<<"$status"
    printf 'sent %s · accepted %s · stored %s · lag %s · sealed minute %s of %s · now %s · %ss' \
        "$sent" "$accepted" "$stored" "$lag" "$sealed" "$buckets" "$now" "$(( $(date +%s) - started ))"
}
tty=false; [ -t 1 ] && tty=true
last_line=0
simulator_status=
while :; do
    for i in "${!pids[@]}"; do
        pid=${pids[i]}
        kill -0 "$pid" 2>/dev/null && continue
        [ "$i" = "$simulator_index" ] && [ -n "$simulator_status" ] && continue
        wait "$pid" && status=0 || status=$?
        if [ "$i" = "$simulator_index" ] && { [ "$status" -eq 0 ] || [ "$status" -eq 3 ]; }; then
            simulator_status=$status
            [ "$status" -eq 3 ] && { echo; echo "demo: THE SIMULATOR FELL BEHIND ITS SCHEDULE (see $logs/simulate.log): this run does not show the pipeline keeping up live" >&2; }
            continue
        fi
        echo; echo "demo: a service stopped (exit $status); logs in $logs/" >&2; tail -n 5 "$logs"/*.log >&2; exit 1
    done
    sample_cpu
    sealed=$(psql -qtA "$DATABASE_URL" -c "SELECT count(*) FROM headcount.snapshots WHERE pipeline = '$pipeline_id'" 2>/dev/null || echo 0)
    if $tty; then printf '\r\033[K%s' "$(progress)"; elif [ $(( $(date +%s) - last_line )) -ge 10 ]; then progress; echo; last_line=$(date +%s); fi
    [ "$sealed" -ge "$buckets" ] && [ -s "$run/expected.json" ] && break
    sleep 1
done
$tty && echo
last_seal=$(psql -qtA "$DATABASE_URL" -c "SELECT extract(epoch FROM max(sealed_at))::bigint FROM headcount.snapshots WHERE pipeline = '$pipeline_id'")
echo "demo: all $buckets minutes sealed after $(( $(date +%s) - started )) s"
sample_cpu
ours=0
line=
for name in "${names[@]}"; do
    line+=" $name ${cpu_seconds[$name]:-?}"
    ours=$(awk -v a="$ours" -v b="${cpu_seconds[$name]:-0}" 'BEGIN { print a + b }')
done
busy=$(awk -v a="$(machine_busy)" -v b="$busy_at_start" -v t="$clock_ticks" 'BEGIN { printf "%.1f", (a - b) / t }')
echo "demo: CPU seconds by service:$line; the machine was busy $busy CPU s in all (PostgreSQL and anything else: $(awk -v a="$busy" -v b="$ours" 'BEGIN { printf "%.1f", a - b }'))"

out=out/certificate
rm -rf "$out"
"$hc" certificate --pipeline "$pipeline" --key "$run/signing-key.pem" --out "$out" --log-level warning
"$hc" verify "$out" | tee "$run/verify.txt"
certified=$(sed -n 's/^result: //p' "$run/verify.txt")
expected=$(sed -n 's/.*"qualified": \([0-9]*\), "peak": \([0-9]*\), "sustained_peak": \([0-9]*\).*/qualified \1, peak \2, sustained peak \3/p' "$run/expected.json")
amendments=$(psql -qtA "$DATABASE_URL" -c "SELECT count(*) FROM headcount.amendments WHERE pipeline = '$pipeline_id'")
echo "demo: amendments $amendments (late events after their minute was sealed; 0 when the pipeline kept up)"
echo "demo: certified  $certified"
echo "demo: expected   $expected   (the counting engine over exactly what the simulator sent)"
sender=$(jq -r '"\(.deliveries) deliveries, at most \(.max_behind_s) s of event time behind schedule"' "$run/expected.json")
echo "demo: simulator sent $sender"
echo "demo: pipeline part took $(( $(date +%s) - started )) s; certificate at $out/certificate.html"
# The simulator writes its expectation, then exits 3 if it fell behind: its file says so too.
if [ "${simulator_status:-0}" -eq 3 ] || [ "$(jq -r .kept_schedule "$run/expected.json")" != true ]; then
    echo "demo: the simulator fell behind its schedule: not a live run, whatever the numbers (exit 3)" >&2
    exit 3
fi
[ "$certified" = "$expected" ] && [ "$amendments" -eq 0 ] && exit 0
# With late events the signed numbers stay as sealed; the amendments must still account for
# every event, so the corrected numbers equal the expectation.
amended=$(psql -qtA -F' ' "$DATABASE_URL" -c "
    WITH latest AS (SELECT DISTINCT ON (bucket) bucket, corrected_peak p, corrected_sustained_peak sp, corrected_qualified q
                    FROM headcount.amendments WHERE pipeline = '$pipeline_id' ORDER BY bucket, seq DESC),
         numbers AS (SELECT s.bucket, coalesce(l.q, s.qualified) q, coalesce(l.p, s.peak) p, coalesce(l.sp, s.sustained_peak) sp
                     FROM headcount.snapshots s LEFT JOIN latest l USING (bucket) WHERE s.pipeline = '$pipeline_id')
    SELECT (SELECT q FROM numbers ORDER BY bucket DESC LIMIT 1), max(p), max(sp) FROM numbers")
read -r aq ap asp <<<"$amended"
echo "demo: amended   qualified $aq, peak $ap, sustained peak $asp"
if [ "qualified $aq, peak $ap, sustained peak $asp" = "$expected" ]; then
    echo "demo: the certificate plus its amendments equal the expectation, but events arrived after their minute was sealed: the pipeline did not keep up with --speed $speed (try a lower speed or the release build)" >&2
    exit 2
fi
echo "demo: MISMATCH between the certificate and the simulator's expectation" >&2
exit 1
