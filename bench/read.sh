#!/usr/bin/env bash
# bench/read.sh: latency and throughput of the worker's read side over a
# year of history (by default 500 services, 1 M deployments, 10 M
# deployment changes), against the seed's Python service on the same
# deployments. See bench/README.md.
#
# 1. A throwaway Postgres cluster; the fourkeys database migrated by
#    `fourkeys-worker --migrate-only` and filled by bench/read_fill.sql
#    (derived tables only, straight in SQL, timed); a second database with
#    the seed service's two tables (its own DDL) holding the same
#    deployments and incidents.
# 2. fourkeys-worker (embedded Kafka, nothing to consume) with
#    --read-connections 2, then 4; for each, wrk (1 thread, 4 then 16
#    connections, bench/read.lua drawing the service from SPREAD services)
#    on /metrics/dora/{service}?days=90, /api/v1/dora?...&days=90 and
#    &days=30, and /metrics.
# 3. The seed's service (uvicorn, one process) on its /metrics/dora/{service}?days=90.
# pg_stat_statements records every statement's server time: the refresh
# of the DORA series on /metrics (read from the tables in the background
# every --dora-series-refresh, not per scrape) and the slowest read statements
# come from there, so that the worker's own statements are timed, not copies.
#
# Environment: SERVICES (500), DEPLOYMENTS_PER_SERVICE (2000),
# CHANGES_PER_DEPLOYMENT (10, at most 40), INCIDENTS_PER_WEEK (3), SPREAD
# (200: services the requests are drawn from), DURATION (20 s per run),
# WARMUP (3 s before each run), CONNECTIONS ("4 16"), READ_CONNECTIONS
# ("2 4"), DORA_SERIES_REFRESH (the worker's default; e.g. 1h keeps the
# refresh out of the API runs), PEER_DURATION (DURATION), PEER (1; 0 skips
# the seed's service),
# SHARED_BUFFERS (1GB), WAIT_IDLE (0: seconds to wait, at most, for the
# 1-minute load average to drop below MAX_LOAD (0.6) before measuring),
# BUILD_DIR (build/), FOURKEYS_PEERS_DIR (../shared/peers), RESULTS_FILE
# (bench/RESULTS.md; "-" writes none), KEEP_WORKDIR (0; 1 keeps the
# cluster, logs and wrk outputs, stopped).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
source "$BENCH_DIR/../scripts/lib.sh"

COMMAND=""
for setting in SERVICES DEPLOYMENTS_PER_SERVICE CHANGES_PER_DEPLOYMENT INCIDENTS_PER_WEEK SPREAD DURATION WARMUP \
    CONNECTIONS READ_CONNECTIONS DORA_SERIES_REFRESH PEER_DURATION PEER SHARED_BUFFERS WAIT_IDLE; do
  if [ -n "${!setting:-}" ]; then COMMAND+="$setting=$(printf '%q' "${!setting}") "; fi
done
COMMAND+="bench/read.sh"

SERVICES="${SERVICES:-500}"
DEPLOYMENTS_PER_SERVICE="${DEPLOYMENTS_PER_SERVICE:-2000}"
CHANGES_PER_DEPLOYMENT="${CHANGES_PER_DEPLOYMENT:-10}"
INCIDENTS_PER_WEEK="${INCIDENTS_PER_WEEK:-3}"
SPREAD="${SPREAD:-200}"
DURATION="${DURATION:-20}"
WARMUP="${WARMUP:-3}"
CONNECTIONS="${CONNECTIONS:-4 16}"
READ_CONNECTIONS="${READ_CONNECTIONS:-2 4}"
PEER_DURATION="${PEER_DURATION:-$DURATION}"
PEER="${PEER:-1}"
SHARED_BUFFERS="${SHARED_BUFFERS:-1GB}"
DORA_SERIES_REFRESH="${DORA_SERIES_REFRESH:-}"
WAIT_IDLE="${WAIT_IDLE:-0}"
MAX_LOAD="${MAX_LOAD:-0.6}"
BUILD_DIR="${BUILD_DIR:-$FOURKEYS_ROOT/build}"
PEERS_DIR="${FOURKEYS_PEERS_DIR:-$FOURKEYS_ROOT/../shared/peers}"
RESULTS_FILE="${RESULTS_FILE:-$BENCH_DIR/RESULTS.md}"
GOAL_P99_MS=20
if [ "$SPREAD" -gt "$SERVICES" ]; then SPREAD="$SERVICES"; fi

WORKER="$BUILD_DIR/worker/fourkeys-worker"
DEVKAFKA="$BUILD_DIR/devkafka/fourkeys-devkafka"
PYTHON=/usr/bin/python3

die() { log "$*"; exit 1; }
calc() { awk "BEGIN { printf \"$1\", ($2) }"; }
now() { date +%s.%N; }

# ------------------------------------------------------------ tools, build
if [ "$CHANGES_PER_DEPLOYMENT" -lt 1 ] || [ "$CHANGES_PER_DEPLOYMENT" -gt 40 ]; then
  die "CHANGES_PER_DEPLOYMENT must be 1..40 (change ids are rotations of one 40-digit sha)"
fi
if ! command -v wrk >/dev/null; then
  log "installing wrk"
  sudo=(); if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
for tool in wrk curl psql; do command -v "$tool" >/dev/null || die "$tool is missing"; done
if [ "$PEER" = 1 ]; then
  [ -f "$PEERS_DIR/seed_service.py" ] || die "the seed's service is not at $PEERS_DIR/seed_service.py (FOURKEYS_PEERS_DIR, or PEER=0)"
  "$PYTHON" -c 'import fastapi, uvicorn, asyncpg' 2>/dev/null ||
    die "$PYTHON lacks fastapi/uvicorn/asyncpg (apt-get install python3-fastapi python3-uvicorn python3-asyncpg), or PEER=0"
fi
if [ ! -x "$WORKER" ] || [ ! -x "$DEVKAFKA" ]; then
  log "building in $BUILD_DIR"
  configure_and_build "$BUILD_DIR"
fi
BUILD_TYPE="$(benchmark_build_type "$BUILD_DIR")"

# ------------------------------------------------------ processes, cleanup
bench_work_dir fourkeys-bench-read WRK_PID PEER_PID WORKER_PID

as_postgres=()
if [ "$(id -u)" -eq 0 ]; then as_postgres=(runuser -u postgres --); fi

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
if [ "$WAIT_IDLE" -gt 0 ]; then
  waited=0
  while [ "$(calc %d "$(cut -d' ' -f1 /proc/loadavg) >= $MAX_LOAD")" = 1 ] && [ "$waited" -lt "$WAIT_IDLE" ]; do
    log "load average $(loadavg); waiting for < $MAX_LOAD ($waited/$WAIT_IDLE s)"
    sleep 30; waited=$((waited + 30))
  done
fi
LOAD_BEFORE="$(loadavg)"
START_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
T_START="$(now)"

# --------------------------------------------------------------- database
start_postgres "$WORK/pg"
FOURKEYS_URL="$FOURKEYS_DATABASE_URL"
SEED_URL="${FOURKEYS_URL%/*}/seed"
sql() { psql -X -q -At "$FOURKEYS_URL" -c "$1"; }
# pg_stat_statements needs a restart; the shared buffers are set with it:
# with Postgres' 128 MB default the few hundred MB the 90-day windows touch
# would be copied in from the kernel's page cache at every request, and
# that, not the queries, would be measured.
sql "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
sql "ALTER SYSTEM SET shared_buffers = '$SHARED_BUFFERS'"
"${as_postgres[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -m fast restart >/dev/null
sql "CREATE EXTENSION pg_stat_statements"
FOURKEYS_DATABASE_URL="$FOURKEYS_URL" "$WORKER" --migrate-only --log-level warn

log "filling: $SERVICES services x $DEPLOYMENTS_PER_SERVICE deployments x $CHANGES_PER_DEPLOYMENT changes"
t0="$(now)"
psql -X -q -v services="$SERVICES" -v deploys="$DEPLOYMENTS_PER_SERVICE" -v changes="$CHANGES_PER_DEPLOYMENT" \
  -v incidents_per_week="$INCIDENTS_PER_WEEK" -f "$BENCH_DIR/read_fill.sql" "$FOURKEYS_URL"
FILL_SECONDS="$(calc %.0f "$(now) - $t0")"
log "filled in ${FILL_SECONDS}s"

# The day rows must add up to the rows they summarize.
check="$(sql "SELECT (SELECT sum(deployments) FROM metrics_daily) = (SELECT count(*) FROM deployment_attempts WHERE status = 'success')
  AND (SELECT sum(changes_deployed) FROM metrics_daily) = (SELECT count(*) FROM deployment_changes)
  AND (SELECT sum(incidents_opened) FROM metrics_daily) = (SELECT count(*) FROM incidents)")"
[ "$check" = t ] || die "metrics_daily does not add up to the rows it summarizes"
# The histogram's bounds are repeated in read_fill.sql: a sample of days
# against the migration's own definition of them.
if [ "$(sql "SELECT count(*) FROM pg_proc WHERE proname = 'fourkeys_lead_time_buckets'")" = 1 ]; then
  check="$(sql "SELECT bool_and(lead_time_buckets = fourkeys_lead_time_buckets(service, environment, day))
    FROM (SELECT * FROM metrics_daily ORDER BY random() LIMIT 300) m")"
  [ "$check" = t ] || die "metrics_daily.lead_time_buckets differ from fourkeys_lead_time_buckets(): bench/read_fill.sql has other bounds"
fi
IFS='|' read -r N_DEPLOYS N_ATTEMPTS N_CHANGES N_INCIDENTS N_DAYS DB_SIZE <<<"$(sql "SELECT
  (SELECT count(*) FROM deployment_attempts WHERE status = 'success'), (SELECT count(*) FROM deployment_attempts),
  (SELECT count(*) FROM deployment_changes), (SELECT count(*) FROM incidents), (SELECT count(*) FROM metrics_daily),
  pg_size_pretty(pg_database_size(current_database()))")"
IFS='|' read -r CFR_PCT NEG_PCT LEAD_P50_H <<<"$(sql "SELECT
  round(100.0 * count(*) FILTER (WHERE is_rollback OR is_hotfix OR caused_incident) / count(*), 1)
  FROM deployment_attempts WHERE status = 'success'")|$(sql "SELECT
  round(100.0 * count(*) FILTER (WHERE lead_time_seconds < 0) / count(*), 2),
  round((percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_time_seconds) / 3600)::numeric, 1)
  FROM deployment_changes")"

PEER_FILL_SECONDS=""
if [ "$PEER" = 1 ]; then
  log "filling the seed service's database"
  t0="$(now)"
  sql "CREATE DATABASE seed"
  # Its own DDL, taken from the service (it would run it at start anyway).
  "$PYTHON" -c 'import sys; sys.path.insert(0, sys.argv[1]); import seed_service; print(seed_service.DDL)' "$PEERS_DIR" |
    psql -X -q -v ON_ERROR_STOP=1 "$SEED_URL"
  # One row per successful deployment, as the seed's POST /events/deployment
  # stores it: the deployed commit, and as commit_timestamp the earliest of
  # the deployment's changes (the seed measures lead time from one commit
  # time per deployment); times as naive UTC, as its naive() does.
  psql -X -q "$FOURKEYS_URL" -c "SET work_mem = '1GB'" -c "COPY (
      SELECT d.service, d.environment, d.main_commit,
             coalesce(c.first_change, d.commit_timestamp) AT TIME ZONE 'UTC', d.time_created AT TIME ZONE 'UTC',
             'success', d.is_rollback, d.is_hotfix
      FROM deployment_attempts d
      LEFT JOIN (SELECT service, deploy_id, min(time_created) AS first_change
                 FROM deployment_changes GROUP BY service, deploy_id) c USING (service, deploy_id)
      WHERE d.status = 'success' ORDER BY d.time_created) TO STDOUT" |
    psql -X -q "$SEED_URL" -c "COPY deployments (service, environment, commit_sha, commit_timestamp, deployed_at,
      status, is_rollback, is_hotfix) FROM STDIN"
  psql -X -q "$FOURKEYS_URL" -c "COPY (
      SELECT incident_id, service, severity, time_created AT TIME ZONE 'UTC', time_resolved AT TIME ZONE 'UTC'
      FROM incidents ORDER BY time_created) TO STDOUT" |
    psql -X -q "$SEED_URL" -c "COPY incidents (incident_id, service, severity, detected_at, resolved_at) FROM STDIN"
  psql -X -q "$SEED_URL" -c "VACUUM ANALYZE deployments, incidents"
  PEER_FILL_SECONDS="$(calc %.0f "$(now) - $t0")"
  PEER_ROWS="$(psql -X -At "$SEED_URL" -c "SELECT (SELECT count(*) FROM deployments) || ' deployments, ' ||
    (SELECT count(*) FROM incidents) || ' incidents, ' || pg_size_pretty(pg_database_size(current_database()))")"
fi

# ------------------------------------------------------------------ load
wait_for_file() {  # <file> <seconds>
  local _
  for _ in $(seq 1 $(($2 * 10))); do
    if [ -s "$1" ]; then return 0; fi
    sleep 0.1
  done
  return 1
}

# wrk runs in the background and the script waits for it: a signal then
# interrupts the wait at once and the traps stop everything (wrk takes
# SIGINT as "stop and print the summary", and the script would go on).
run_wrk() {  # <url> <path template> <connections> <seconds> <output>
  wrk -t1 -c"$3" -d"$4s" --timeout 60s --latency -s "$BENCH_DIR/read.lua" "$1" -- "$2" "$SPREAD" \
    >"$5" 2>"$5.err" &
  WRK_PID=$!
  local status=0
  wait "$WRK_PID" || status=$?
  # Above 128: the wait was cut short by a signal (Ctrl-C), not a wrk failure.
  if [ "$status" -gt 128 ]; then exit 130; fi
  [ "$status" -eq 0 ] || die "wrk failed; see $5.err"
  WRK_PID=""
}

declare -A RESULT
ROWS=()

# measure <slug> <server> <read conns> <base url> <path template> <connections> <seconds>
measure() {
  local slug="$1" server="$2" rc="$3" url="$4" template="$5" conns="$6" seconds="$7"
  local label="GET $template" key="$server.$rc.$slug.$conns" out="$WORK/wrk-$server-$rc-$slug-$conns"
  run_wrk "$url" "$template" "$conns" "$WARMUP" "$out.warmup"
  run_wrk "$url" "$template" "$conns" "$seconds" "$out"
  local line kv
  line="$(grep '^BENCH ' "$out")" || die "$key: no result from wrk; see $out and $out.err"
  for kv in ${line#BENCH }; do RESULT["$key.${kv%%=*}"]="${kv#*=}"; done
  ROWS+=("$key|$label|$server|$rc|$conns|$seconds")
  log "$server (read connections $rc), $label, $conns connections: ${RESULT[$key.rps]} req/s," \
    "p50 ${RESULT[$key.p50_ms]} ms, p99 ${RESULT[$key.p99_ms]} ms, non-2xx ${RESULT[$key.non2xx]}"
}

expect_200() {  # <url> <text the body must hold>
  local body
  body="$(curl -fsS "$1")" || die "GET $1 failed"
  case "$body" in *"$2"*) ;; *) die "GET $1: no \"$2\" in ${body:0:300}" ;; esac
}

start_devkafka "$DEVKAFKA" "$WORK/devkafka.log"
ENDPOINTS=(
  "seed90|/metrics/dora/{service}?days=90"
  "api90|/api/v1/dora?service={service}&days=90"
  "api30|/api/v1/dora?service={service}&days=30"
  "metrics|/metrics"
)
sql "SELECT pg_stat_statements_reset()" >/dev/null
# Nothing here runs niced: the "nice" share of the machine over the runs is
# what other (niced) work on it took.
CPU_BEFORE="$(head -n1 /proc/stat)"
for rc in $READ_CONNECTIONS; do
  port_file="$WORK/worker-$rc.port"
  refresh=()
  if [ -n "$DORA_SERIES_REFRESH" ]; then refresh=(--dora-series-refresh "$DORA_SERIES_REFRESH"); fi
  FOURKEYS_DATABASE_URL="$FOURKEYS_URL" "$WORKER" --listen 127.0.0.1:0 --port-file "$port_file" \
    --read-connections "$rc" "${refresh[@]}" --log-level warn 2>"$WORK/worker-$rc.log" &
  WORKER_PID=$!
  wait_for_file "$port_file" 60 || die "fourkeys-worker did not start; see $WORK/worker-$rc.log"
  base="http://127.0.0.1:$(cat "$port_file")"
  expect_200 "$base/metrics/dora/svc-1?days=90" '"deployment_frequency"'
  expect_200 "$base/api/v1/dora?service=svc-1&days=90" '"lead_time"'
  # The DORA series appear once the first background refresh is done.
  series=""
  for _ in $(seq 1 1200); do
    series="$(curl -fsS "$base/metrics" | grep -c '^deployments_total{' || true)"
    if [ "$series" -gt 0 ]; then break; fi
    sleep 0.1
  done
  [ "$series" -gt 0 ] || die "no DORA series on $base/metrics after 120 s"
  for conns in $CONNECTIONS; do
    for endpoint in "${ENDPOINTS[@]}"; do
      measure "${endpoint%%|*}" fourkeys "$rc" "$base" "${endpoint#*|}" "$conns" "$DURATION"
    done
  done
  stop_pid "$WORKER_PID"; WORKER_PID=""
done

# The refresh of the DORA series (worker/read/dora_series.cc read_rows()):
# its statements, recognised by what only they read.
REFRESH="$(sql "SELECT string_agg(format('%s calls, mean %s ms, max %s ms: %s', calls, round(mean_exec_time::numeric),
    round(max_exec_time::numeric), left(regexp_replace(query, '\s+', ' ', 'g'), 90)), E'\n' ORDER BY mean_exec_time DESC)
  FROM pg_stat_statements
  WHERE query ILIKE '%sum(restore_sum_seconds)%' OR query ILIKE '%FROM deployment_changes WHERE lead_time_seconds >=%GROUP BY service, environment%'
     OR query ILIKE '%CROSS JOIN LATERAL%ORDER BY a.time_created DESC LIMIT%'")"
REFRESH_MS="$(sql "SELECT round(sum(mean_exec_time)::numeric) FROM pg_stat_statements
  WHERE query ILIKE '%sum(restore_sum_seconds)%' OR query ILIKE '%FROM deployment_changes WHERE lead_time_seconds >=%GROUP BY service, environment%'
     OR query ILIKE '%CROSS JOIN LATERAL%ORDER BY a.time_created DESC LIMIT%'")"
# The read API's statements, slowest first (the refresh and this script's own left out).
SLOWEST="$(sql "SELECT string_agg(format('| %s | %s | %s | %s | %s | \`%s\` |', calls, round(mean_exec_time::numeric, 2),
    round(min_exec_time::numeric, 2), round(max_exec_time::numeric, 1), round(100.0 * shared_blks_hit / nullif(shared_blks_hit + shared_blks_read, 0), 1),
    replace(left(regexp_replace(query, '\s+', ' ', 'g'), 160), '|', '\|')), E'\n' ORDER BY mean_exec_time DESC)
  FROM (SELECT * FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND calls >= 100 AND query NOT ILIKE '%pg_stat_statements%'
          AND query NOT ILIKE '%sum(restore_sum_seconds)%' AND query NOT ILIKE '%CROSS JOIN LATERAL%'
          AND query NOT ILIKE '%FROM deployment_changes WHERE lead_time_seconds >=%GROUP BY service, environment%'
        ORDER BY mean_exec_time DESC LIMIT 6) s")"

if [ "$PEER" = 1 ]; then
  peer_port="$(free_port)"
  (cd "$WORK" && DATABASE_URL="$SEED_URL" exec "$PYTHON" -m uvicorn --app-dir "$PEERS_DIR" seed_service:app \
    --host 127.0.0.1 --port "$peer_port" --no-access-log --log-level warning) 2>"$WORK/peer.log" &
  PEER_PID=$!
  for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$peer_port/openapi.json" 2>/dev/null; then break; fi
    sleep 0.1
  done
  expect_200 "http://127.0.0.1:$peer_port/metrics/dora/svc-1?days=90" '"deployment_frequency"'
  for conns in $CONNECTIONS; do
    measure seed90 seed - "http://127.0.0.1:$peer_port" \
      "/metrics/dora/{service}?days=90" "$conns" "$PEER_DURATION"
  done
  stop_pid "$PEER_PID"; PEER_PID=""
fi
CPU_AFTER="$(head -n1 /proc/stat)"
CPU_SHARES="$(awk -v a="$CPU_BEFORE" -v b="$CPU_AFTER" 'BEGIN {
  split(a, x, " "); split(b, y, " "); total = 0
  for (i = 2; i <= 9; i++) { d[i] = y[i] - x[i]; total += d[i] }
  printf "user %.0f %%, system %.0f %%, niced %.0f %%, idle %.0f %%", 100 * d[2] / total,
    100 * (d[4] + d[7] + d[8]) / total, 100 * d[3] / total, 100 * (d[5] + d[6]) / total }')"
LOAD_AFTER="$(loadavg)"
TOTAL_SECONDS="$(calc %.0f "$(now) - $T_START")"

# --------------------------------------------------------------- report
version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }
goal_mark() { if [ "$(calc %d "$1 < $GOAL_P99_MS")" = 1 ]; then echo "$1"; else echo "**$1**"; fi; }

report() {
  echo "## Read side: DORA queries over a year of history"
  echo
  echo "Command: \`$COMMAND\` ($START_DATE; the whole script ${TOTAL_SECONDS}s)"
  echo
  echo "- machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(free -g | awk '/^Mem:/ {print $2}') GB RAM, Linux $(uname -r); load average (1/5/15 min) $LOAD_BEFORE before, $LOAD_AFTER after; CPU over the measured runs: $CPU_SHARES"
  echo "- Postgres $(psql -X -At "$FOURKEYS_URL" -c 'SHOW server_version' | cut -d' ' -f1) (fsync=off, shared_buffers $SHARED_BUFFERS, pg_stat_statements loaded, otherwise defaults), build type ${BUILD_TYPE:-?}, wrk $(version wrk), uvicorn $("$PYTHON" -c 'import uvicorn; print(uvicorn.__version__)' 2>/dev/null || echo '?')"
  echo "- data (bench/read_fill.sql, ${FILL_SECONDS}s including indexes and VACUUM ANALYZE): $SERVICES services over 365 days, all production; $N_DEPLOYS successful deployments ($N_ATTEMPTS attempts), $N_CHANGES deployment changes (lead times log-normal, median ${LEAD_P50_H} h, ${NEG_PCT} % negative), $N_INCIDENTS incidents, $N_DAYS metrics_daily rows; change failure rate ${CFR_PCT} %; database $DB_SIZE"
  if [ "$PEER" = 1 ]; then
    echo "- the seed's service: \`seed_service.py\` under uvicorn (one process, its asyncpg pool of 4-16), its own tables (no index but the primary key, as its DDL makes them) with the same data: $PEER_ROWS (${PEER_FILL_SECONDS}s to copy)"
  fi
  echo "- load: \`wrk -t1 -c<connections> -d${DURATION}s --latency -s bench/read.lua\`, services drawn uniformly from svc-1..svc-$SPREAD, ${WARMUP}s warm-up before each run; everything on the same $(nproc) cores"
  echo
  echo "| endpoint | server | read connections | wrk connections | req/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | socket errors |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  local row key label server rc conns seconds p99
  for row in "${ROWS[@]}"; do
    IFS='|' read -r key label server rc conns seconds <<<"$row"
    p99="${RESULT[$key.p99_ms]}"
    if [ "$label" != "GET /metrics" ] && [ "$server" = fourkeys ]; then p99="$(goal_mark "$p99")"; fi
    if [ "$server" = seed ]; then server="seed (Python)"; if [ "$seconds" != "$DURATION" ]; then server+=", ${seconds}s"; fi; fi
    echo "| \`${label#GET }\` | $server | $rc | $conns | ${RESULT[$key.rps]} | ${RESULT[$key.p50_ms]} | ${RESULT[$key.p90_ms]} | $p99 | ${RESULT[$key.max_ms]} | ${RESULT[$key.non2xx]} | ${RESULT[$key.socket_errors]} |"
  done
  echo
  local first_rc="${READ_CONNECTIONS%% *}"
  if [ "$PEER" = 1 ]; then
    local conns_list=() c ours peer
    for c in $CONNECTIONS; do
      ours="fourkeys.$first_rc.seed90.$c"
      peer="seed.-.seed90.$c"
      if [ -n "${RESULT[$ours.rps]:-}" ] && [ -n "${RESULT[$peer.rps]:-}" ]; then
        conns_list+=("$c connections: $(calc %.1f "${RESULT[$ours.rps]} / ${RESULT[$peer.rps]}")× the requests/s, p99 $(calc %.1f "${RESULT[$ours.p99_ms]}") ms against $(calc %.0f "${RESULT[$peer.p99_ms]}") ms")
      fi
    done
    local joined
    joined="$(printf '%s; ' "${conns_list[@]}")"
    echo "fourkeys (read connections $first_rc) / the seed's service on \`/metrics/dora/{service}?days=90\`: ${joined%; }."
    echo
  fi
  local misses=0
  for row in "${ROWS[@]}"; do
    IFS='|' read -r key label server rc conns seconds <<<"$row"
    if [ "$server" = fourkeys ] && [ "$label" != "GET /metrics" ] &&
      [ "$(calc %d "${RESULT[$key.p99_ms]} >= $GOAL_P99_MS")" = 1 ]; then misses=$((misses + 1)); fi
  done
  if [ "$misses" = 0 ]; then
    echo "Goal p99 < $GOAL_P99_MS ms on \`/metrics/dora\` and \`/api/v1/dora\`: **met** in every run."
  else
    echo "Goal p99 < $GOAL_P99_MS ms on \`/metrics/dora\` and \`/api/v1/dora\`: **missed** in $misses run(s) (in bold)."
  fi
  echo
  echo "\`/metrics\` answers from text the worker keeps; the DORA series in it are read from the tables in the background every \`--dora-series-refresh\` (${DORA_SERIES_REFRESH:-15s}, also during the runs above), which takes **${REFRESH_MS:-?} ms** of Postgres time each (pg_stat_statements, mean per statement over the run):"
  echo
  echo '```'
  echo "${REFRESH:-(no refresh statement found in pg_stat_statements)}"
  echo '```'
  echo
  echo "Slowest statements of the read API over all runs (pg_stat_statements; server time only, without planning; min = the least contended call; hit % = shared buffer hits):"
  echo
  echo "| calls | mean ms | min ms | max ms | hit % | statement |"
  echo "|---|---|---|---|---|---|"
  echo "$SLOWEST"
}

section="$(report)"
echo "$section"
if [ "$RESULTS_FILE" != "-" ]; then
  write_results_section "$RESULTS_FILE" "Read side: DORA queries over a year of history" "$section"
fi
