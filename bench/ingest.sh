#!/usr/bin/env bash
# bench/ingest.sh: the seed's POST /events/deployment load against the
# seed's FastAPI service and against fourkeys (receiver -> Kafka -> worker ->
# Postgres), same machine, same Postgres, same run.
#
# wrk (-c CONNECTIONS, bench/ingest.lua: the seed's deployment bodies, each
# with its own commit sha) runs on core CLIENT_CPU; the server side (the
# seed's uvicorn, or fourkeys-parser with one thread + fourkeys-devkafka +
# fourkeys-worker) and Postgres run on core SERVER_CPU.
#
# The seed's service inserts each event before it answers 200, so its rate
# is its answers per second. fourkeys answers 202 once Kafka has the event;
# its rate counts only what is also in Postgres: events stored / (load time
# + the time the worker then needs to store the rest). Every answered event
# must be stored, once.
#
# Environment: DURATION (20, seconds of load), CONNECTIONS (32), SERVER_CPU
# (0), CLIENT_CPU (1), PARTITIONS (24: the embedded broker keeps 5 MiB per
# partition, and the worker's backlog must fit), BUILD_DIR (build/),
# FOURKEYS_PEERS_DIR (../shared/peers), PYTHON (/usr/bin/python3),
# RESULTS_FILE (bench/RESULTS.md; "-" writes none).
# shellcheck disable=SC2034  # PIDs set here are stopped by bench_cleanup (scripts/lib.sh)
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
source "$BENCH_DIR/../scripts/lib.sh"

COMMAND=""
for setting in DURATION CONNECTIONS SERVER_CPU CLIENT_CPU PARTITIONS; do
  if [ -n "${!setting:-}" ]; then COMMAND+="$setting=${!setting} "; fi
done
COMMAND+="bench/ingest.sh"

DURATION="${DURATION:-20}"
CONNECTIONS="${CONNECTIONS:-32}"
SERVER_CPU="${SERVER_CPU:-0}"
CLIENT_CPU="${CLIENT_CPU:-1}"
PARTITIONS="${PARTITIONS:-24}"
BUILD_DIR="${BUILD_DIR:-$FOURKEYS_ROOT/build}"
PEERS_DIR="${FOURKEYS_PEERS_DIR:-$FOURKEYS_ROOT/../shared/peers}"
PYTHON="${PYTHON:-/usr/bin/python3}"
RESULTS_FILE="${RESULTS_FILE:-$BENCH_DIR/RESULTS.md}"
TOKEN="bench-ingest-token"

die() { log "$*"; exit 1; }
[ -f "$PEERS_DIR/seed_service.py" ] || die "the seed's service is not at $PEERS_DIR/seed_service.py (FOURKEYS_PEERS_DIR)"
"$PYTHON" -c 'import fastapi, uvicorn, asyncpg' 2>/dev/null ||
  die "$PYTHON lacks fastapi/uvicorn/asyncpg (apt-get install python3-fastapi python3-uvicorn python3-asyncpg)"
for tool in wrk curl psql taskset; do command -v "$tool" >/dev/null || die "$tool is missing"; done
for program in parser/server/fourkeys-parser worker/fourkeys-worker devkafka/fourkeys-devkafka; do
  [ -x "$BUILD_DIR/$program" ] || die "$BUILD_DIR/$program is missing: build first (scripts/test or configure_and_build)"
done

bench_work_dir fourkeys-bench-ingest PEER_PID RECEIVER_PID WORKER_PID

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
sql() { psql -X -q -At "$1" -c "$2"; }
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" "$2"; }
wait_http() {
  for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  die "$1 did not answer"
}
load() {  # load <url> <out>
  BENCH_TOKEN="$TOKEN" BENCH_RUN="$RANDOM$RANDOM" taskset -c "$CLIENT_CPU" \
    wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$BENCH_DIR/ingest.lua" "$1" >"$2" 2>"$2.err"
}

start_postgres "$WORK/pg"
# Postgres on the server's core: the backends it forks from now on inherit it.
taskset -a -p -c "$SERVER_CPU" "$(head -n1 "$PG_DIR/data/postmaster.pid")" >/dev/null
BASE_URL="$FOURKEYS_DATABASE_URL"
sql "$BASE_URL" "CREATE DATABASE seed"
SEED_URL="${BASE_URL%/*}/seed"

# 1. The seed's service: one uvicorn process, its asyncpg pool.
peer_port="$(free_port)"
(cd "$WORK" && DATABASE_URL="$SEED_URL" exec taskset -c "$SERVER_CPU" "$PYTHON" -m uvicorn --app-dir "$PEERS_DIR" \
  seed_service:app --host 127.0.0.1 --port "$peer_port" --no-access-log --log-level warning) 2>"$WORK/peer.log" &
PEER_PID=$!
wait_http "http://127.0.0.1:$peer_port/openapi.json"
log "the seed's service: ${DURATION}s of POST /events/deployment"
load "http://127.0.0.1:$peer_port/events/deployment" "$WORK/seed.out"
stop_pid "$PEER_PID"; PEER_PID=""
seed_rows="$(sql "$SEED_URL" "SELECT count(*) FROM deployments")"
seed_ok="$(field ok "$WORK/seed.out")"
seed_seconds="$(field duration_s "$WORK/seed.out")"
seed_rate="$(calc "$seed_rows / $seed_seconds")"

# 2. fourkeys: embedded Kafka, the receiver (one thread) and the worker.
start_devkafka "$BUILD_DIR/devkafka/fourkeys-devkafka" "$WORK/devkafka.log" --partitions "$PARTITIONS"
taskset -a -p -c "$SERVER_CPU" "$DEVKAFKA_PID" >/dev/null
sql "$BASE_URL" "CREATE DATABASE ours"
OURS_URL="${BASE_URL%/*}/ours"
worker_port="$(free_port)"
FOURKEYS_DATABASE_URL="$OURS_URL" FOURKEYS_WORKER_LISTEN="127.0.0.1:$worker_port" FOURKEYS_LOG_LEVEL=warn \
  taskset -c "$SERVER_CPU" "$BUILD_DIR/worker/fourkeys-worker" 2>"$WORK/worker.log" &
WORKER_PID=$!
receiver_port="$(free_port)"
FOURKEYS_PARSER_LISTEN="127.0.0.1:$receiver_port" FOURKEYS_PARSER_THREADS=1 FOURKEYS_API_TOKEN="$TOKEN" \
  FOURKEYS_LOG_LEVEL=warn taskset -c "$SERVER_CPU" "$BUILD_DIR/parser/server/fourkeys-parser" 2>"$WORK/receiver.log" &
RECEIVER_PID=$!
wait_http "http://127.0.0.1:$receiver_port/readyz"
wait_http "http://127.0.0.1:$worker_port/readyz"
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$worker_port/metrics" 2>/dev/null | grep -q '^fourkeys_worker_assigned_partitions [1-9]' && break
  sleep 0.1
done
log "fourkeys: ${DURATION}s of POST /events/deployment"
t0="$(now)"
load "http://127.0.0.1:$receiver_port/events/deployment" "$WORK/ours.out"
t_load="$(now)"
ours_ok="$(field ok "$WORK/ours.out")"
# Drained: the worker has stored every answered event and nothing more
# arrives (a request cut off by wrk's stop may still have been stored).
last=-1
while :; do
  stored="$(sql "$OURS_URL" "SELECT count(*) FROM events_raw" 2>/dev/null || echo 0)"
  if [ "$stored" -ge "$ours_ok" ] && [ "$stored" = "$last" ]; then break; fi
  last="$stored"
  sleep 0.5
  if awk "BEGIN { exit !($(now) - $t_load > 600) }"; then die "the worker did not store every answered event in 10 minutes"; fi
done
t_drained="$(now)"
ours_stored="$stored"
# Each request carried a commit sha of its own: one deployment per sha.
deployments="$(sql "$OURS_URL" "SELECT count(*) FROM deployments")"
distinct="$(sql "$OURS_URL" "SELECT count(DISTINCT main_commit) FROM deployments")"
gaps="$(sql "$OURS_URL" "SELECT count(*) FROM ingest_gaps")"
load_seconds="$(calc "$t_load - $t0")"
drain_seconds="$(calc "$t_drained - $t_load - 1")"  # the last second was the check that nothing more arrives
ours_rate="$(calc "$ours_stored / ($t_drained - 1 - $t0)")"
receiver_rate="$(field rps "$WORK/ours.out")"
ratio="$(calc "$ours_rate / $seed_rate")"

verdict="every answered event stored once"
if [ "$ours_stored" -lt "$ours_ok" ] || [ "$deployments" != "$ours_stored" ] || [ "$distinct" != "$deployments" ] ||
  [ "$gaps" != 0 ]; then
  verdict="**events missing or doubled: answered $ours_ok, stored $ours_stored, $deployments deployments ($distinct distinct shas), $gaps gaps**"
fi

section="$(cat <<MD
## Ingest: the seed's POST /events/deployment against the seed's service

Command: \`$COMMAND\` ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores; server side and Postgres on core $SERVER_CPU, \`wrk -t1 -c$CONNECTIONS\` with bench/ingest.lua on core $CLIENT_CPU; Postgres 15, fsync=off; build type $(benchmark_build_type "$BUILD_DIR"))

| server | answered 2xx | non-2xx | stored in Postgres | events/s stored | p50 / p99 ms |
|---|---:|---:|---:|---:|---|
| the seed's service (uvicorn, asyncpg, one insert per request) | $seed_ok | $(field non2xx "$WORK/seed.out") | $seed_rows | $(printf %.0f "$seed_rate") | $(field p50_ms "$WORK/seed.out") / $(field p99_ms "$WORK/seed.out") |
| fourkeys (receiver on 1 thread, embedded Kafka, worker) | $ours_ok | $(field non2xx "$WORK/ours.out") | $ours_stored | $(printf %.0f "$ours_rate") | $(field p50_ms "$WORK/ours.out") / $(field p99_ms "$WORK/ours.out") |

fourkeys' rate counts stored events over the load ($(printf %.1f "$load_seconds") s) plus the time the worker took to store the rest after it ($(printf %.1f "$drain_seconds") s); the receiver alone answered $(printf %.0f "$receiver_rate") requests/s. Ratio fourkeys / seed: **$(printf %.2f "$ratio")×** (goal ≥ 10×). $verdict ($deployments deployments, one per commit sha sent).
MD
)"
echo "$section"
if [ "$RESULTS_FILE" != "-" ]; then
  write_results_section "$RESULTS_FILE" "Ingest: the seed's POST /events/deployment against the seed's service" "$section"
fi
