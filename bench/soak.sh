#!/usr/bin/env bash
# bench/soak.sh: a steady mixed load for SOAK_SECONDS (600) through the
# whole pipeline (fourkeys-generate's signed deliveries of every source at
# RATE per second -> receiver -> embedded Kafka -> worker -> Postgres), with
# the receiver's and the worker's resident memory sampled every 10 s. Memory
# is flat when the last third's highest sample is within 20 % of the middle
# third's highest: after warm-up nothing grows with the number of events.
#
# Environment: SOAK_SECONDS (600), RATE (150), SERVICES (40), BUILD_DIR
# (build/), RESULTS_FILE (bench/RESULTS.md; "-" writes none).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
source "$BENCH_DIR/../scripts/lib.sh"

COMMAND=""
for setting in SOAK_SECONDS RATE SERVICES; do
  if [ -n "${!setting:-}" ]; then COMMAND+="$setting=${!setting} "; fi
done
COMMAND+="bench/soak.sh"
SOAK_SECONDS="${SOAK_SECONDS:-600}"
RATE="${RATE:-150}"
SERVICES="${SERVICES:-40}"
BUILD_DIR="${BUILD_DIR:-$FOURKEYS_ROOT/build}"
RESULTS_FILE="${RESULTS_FILE:-$BENCH_DIR/RESULTS.md}"

bench_work_dir fourkeys-bench-soak GENERATE_PID RECEIVER_PID WORKER_PID

rss_mib() { awk '/VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo 0; }
sql() { psql -X -q -At "$FOURKEYS_DATABASE_URL" -c "$1"; }

start_postgres "$WORK/pg"
start_devkafka "$BUILD_DIR/devkafka/fourkeys-devkafka" "$WORK/devkafka.log"
worker_port="$(free_port)"
receiver_port="$(free_port)"
SECRETS=(FOURKEYS_GITHUB_SECRET=soak-gh FOURKEYS_GITLAB_TOKEN=soak-gl FOURKEYS_PAGERDUTY_SECRET=soak-pd
         FOURKEYS_API_TOKEN=soak-api FOURKEYS_CDEVENTS_TOKEN=soak-cd)
env FOURKEYS_WORKER_LISTEN="127.0.0.1:$worker_port" FOURKEYS_LOG_LEVEL=warn \
  "$BUILD_DIR/worker/fourkeys-worker" 2>"$WORK/worker.log" &
WORKER_PID=$!
env "${SECRETS[@]}" FOURKEYS_PARSER_LISTEN="127.0.0.1:$receiver_port" FOURKEYS_LOG_LEVEL=warn \
  "$BUILD_DIR/parser/server/fourkeys-parser" 2>"$WORK/receiver.log" &
RECEIVER_PID=$!
for url in "http://127.0.0.1:$receiver_port/readyz" "http://127.0.0.1:$worker_port/readyz"; do
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "$url" 2>/dev/null && break; sleep 0.1; done
done

# A year of history for many services (160,000 deliveries for 40), sent at a
# steady rate; stopped after SOAK_SECONDS.
env "${SECRETS[@]}" "$BUILD_DIR/tools/generate/fourkeys-generate" --url "http://127.0.0.1:$receiver_port" \
  --services "$SERVICES" --days 365 --seed 7 --rate "$RATE" --concurrency 4 --quiet >"$WORK/generate.out" 2>&1 &
GENERATE_PID=$!
log "soak: $RATE deliveries/s for ${SOAK_SECONDS}s"
samples="| elapsed s | events stored | receiver RSS MiB | worker RSS MiB |
|---:|---:|---:|---:|"
declare -a worker_rss receiver_rss
start=$(date +%s)
while :; do
  elapsed=$(( $(date +%s) - start ))
  stored="$(sql "SELECT count(*) FROM events_raw" 2>/dev/null || echo 0)"
  r="$(rss_mib "$RECEIVER_PID")"; w="$(rss_mib "$WORKER_PID")"
  receiver_rss+=("$r"); worker_rss+=("$w")
  if [ $((elapsed % 60)) -lt 10 ]; then samples+=$'\n'"| $elapsed | $stored | $r | $w |"; fi
  [ "$elapsed" -ge "$SOAK_SECONDS" ] && break
  kill -0 "$GENERATE_PID" 2>/dev/null || { log "fourkeys-generate ended early"; break; }
  sleep 10
done
stop_pid "$GENERATE_PID"; GENERATE_PID=""
if [ -n "${SOAK_DEBUG:-}" ]; then for f in generate.out worker.log receiver.log; do tail -n 5 "$WORK/$f" >&2; done; fi
samples+=$'\n'"| $elapsed | $stored | $r | $w |"

# Flat: the last third's highest sample within 20 % of the middle third's.
verdict() {
  local -n series=$1
  local n=${#series[@]} third=$(( ${#series[@]} / 3 )) mid=0 last=0 i
  for ((i = third; i < 2 * third; i++)); do (( series[i] > mid )) && mid=${series[i]}; done
  for ((i = 2 * third; i < n; i++)); do (( series[i] > last )) && last=${series[i]}; done
  if (( last * 10 <= mid * 12 )); then echo "flat (middle third max $mid MiB, last third max $last MiB)"
  else echo "**growing** (middle third max $mid MiB, last third max $last MiB)"; fi
}
section="$(cat <<MD
## Soak: steady mixed load, memory over time

Command: \`$COMMAND\` ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores; fourkeys-generate's signed deliveries of every source for $SERVICES services at $RATE/s; Postgres 15 fsync=off; build type $(benchmark_build_type "$BUILD_DIR"))

$samples

Receiver: $(verdict receiver_rss). Worker: $(verdict worker_rss). Samples every 10 s, one row per minute shown.
MD
)"
echo "$section"
if [ "$RESULTS_FILE" != "-" ]; then
  write_results_section "$RESULTS_FILE" "Soak: steady mixed load, memory over time" "$section"
fi
