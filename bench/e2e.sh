#!/usr/bin/env bash
# bench/e2e.sh: time from the receiver's 202 to the deployment's row being
# visible in Postgres (the worker writes it with its metrics_daily row in one
# transaction), at a steady rate, through the whole pipeline: fourkeys-parser
# → embedded Kafka → fourkeys-worker → Postgres. See bench/README.md.
#
# Environment: RATE (50 deployments/s), SECONDS_RUN (30), SERVICES (20),
# BUILD_DIR (build/), RESULTS_FILE (bench/RESULTS.md; "-" writes none).
# shellcheck disable=SC2034  # PIDs set here are stopped by bench_cleanup (scripts/lib.sh)
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
source "$BENCH_DIR/../scripts/lib.sh"

COMMAND=""
for setting in RATE SECONDS_RUN SERVICES; do
  if [ -n "${!setting:-}" ]; then COMMAND+="$setting=${!setting} "; fi
done
COMMAND+="bench/e2e.sh"
RATE="${RATE:-50}"
SECONDS_RUN="${SECONDS_RUN:-30}"
SERVICES="${SERVICES:-20}"
BUILD_DIR="${BUILD_DIR:-$FOURKEYS_ROOT/build}"
RESULTS_FILE="${RESULTS_FILE:-$BENCH_DIR/RESULTS.md}"

bench_work_dir fourkeys-bench-e2e PARSER_PID WORKER_PID

start_postgres "$WORK/pg"
start_devkafka "$BUILD_DIR/devkafka/fourkeys-devkafka" "$WORK/devkafka.log"
TOKEN="bench-token-$RANDOM$RANDOM"

"$BUILD_DIR/worker/fourkeys-worker" --listen 127.0.0.1:0 --port-file "$WORK/worker.port" --log-level warn \
  2>"$WORK/worker.log" &
WORKER_PID=$!
FOURKEYS_API_TOKEN="$TOKEN" FOURKEYS_LOG_LEVEL=warn "$BUILD_DIR/parser/server/fourkeys-parser" \
  --listen 127.0.0.1:0 --port-file "$WORK/parser.port" 2>"$WORK/parser.log" &
PARSER_PID=$!
for _ in $(seq 1 300); do [ -s "$WORK/parser.port" ] && [ -s "$WORK/worker.port" ] && break; sleep 0.1; done
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$(cat "$WORK/worker.port")/readyz" >/dev/null && \
    curl -sf "http://127.0.0.1:$(cat "$WORK/parser.port")/readyz" >/dev/null && break
  sleep 0.1
done
# The first join of the consumer group takes a few seconds on the embedded broker.
sleep 5

result="$("$BUILD_DIR/bench/fourkeys-bench-e2e" --port "$(cat "$WORK/parser.port")" --token "$TOKEN" \
  --database-url "$FOURKEYS_DATABASE_URL" --rate "$RATE" --seconds "$SECONDS_RUN" --services "$SERVICES")"
section="$(cat <<MD
## End to end: receiver 202 → row visible in Postgres

Command: \`$COMMAND\` ($(date -u +%Y-%m-%d), $(nproc) cores; the seed's \`/events/deployment\` bodies over
one keep-alive connection; Postgres polled every 2 ms, so times carry up to ~2 ms of polling)

$result
MD
)"
echo "$section"
if [ "$RESULTS_FILE" != "-" ]; then
  write_results_section "$RESULTS_FILE" "End to end: receiver 202 → row visible in Postgres" "$section"
fi
