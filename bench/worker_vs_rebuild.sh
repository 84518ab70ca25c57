#!/usr/bin/env bash
# bench/worker_vs_rebuild.sh: the worker's tables after a long stream, as it
# built them batch by batch (remembered states, pruned to their recent past),
# against `fourkeys-worker --rebuild` of the same events. A check at a scale
# the tests do not reach, not a timing: prints each derived table's row count
# and digest, and exits 1 when the two differ.
#
# Environment: EVENTS (100000), SERVICES (100: more history per service, so
# states are pruned often), BUILD_DIR (build/). Arguments go to the worker,
# for example `--keep-linked 1h --prune-at 1` to prune as often as it can.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
source "$BENCH_DIR/../scripts/lib.sh"
EVENTS="${EVENTS:-100000}"
SERVICES="${SERVICES:-100}"
BUILD_DIR="${BUILD_DIR:-$FOURKEYS_ROOT/build}"

bench_work_dir fourkeys-worker-vs-rebuild WORKER_PID
sql() { psql -q -At "$FOURKEYS_DATABASE_URL" -c "$1"; }

start_postgres "$WORK/pg"
start_devkafka "$BUILD_DIR/devkafka/fourkeys-devkafka" "$WORK/devkafka.log"
"$BUILD_DIR/worker/fourkeys-worker" --listen 127.0.0.1:0 --port-file "$WORK/worker.port" --log-level warn "$@" \
  2>"$WORK/worker.log" &
WORKER_PID=$!
for _ in $(seq 1 300); do [ -s "$WORK/worker.port" ] && break; sleep 0.1; done
"$BUILD_DIR/bench/fourkeys-bench-events" --events "$EVENTS" --services "$SERVICES" --seed 5 --body-bytes 300 \
  --brokers "$FOURKEYS_KAFKA_BROKERS" --follow-database "$FOURKEYS_DATABASE_URL" --window 3000 >/dev/null
while [ "$(sql "SELECT coalesce(sum(next_offset),0) FROM ingest_offsets")" -lt "$EVENTS" ]; do sleep 0.5; done
curl -fsS "http://127.0.0.1:$(cat "$WORK/worker.port")/metrics" |
  grep -E '^fourkeys_worker_(pruned_states|services_linked)_total' || true
stop_pid "$WORKER_PID"
WORKER_PID=""

digests() {
  for table in deployment_attempts deployment_changes incidents metrics_daily; do
    echo "$table $(sql "SELECT count(*) || ' rows, md5 ' || md5(coalesce(string_agg(row, '|' ORDER BY row), ''))
                        FROM (SELECT t::text AS row FROM $table t) s")"
  done
}
digests >"$WORK/incremental.txt"
"$BUILD_DIR/worker/fourkeys-worker" --rebuild --log-level warn >/dev/null 2>&1
digests >"$WORK/rebuild.txt"
echo "as the worker built them:"
cat "$WORK/incremental.txt"
if diff "$WORK/incremental.txt" "$WORK/rebuild.txt" >/dev/null; then
  log "equal to --rebuild"
else
  echo "after --rebuild:"
  cat "$WORK/rebuild.txt"
  log "DIFFERENT from --rebuild"
  exit 1
fi
