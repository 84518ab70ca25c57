#!/usr/bin/env bash
# bench/worker.sh: events per second from Kafka to committed Postgres rows
# (decode, events_raw, base rows, linking, metric upkeep, offsets), against a
# plain COPY of the same kind of envelopes into one json table, same machine,
# same run. See bench/README.md.
#
# 1. COPY baseline: COPY_EVENTS envelopes written to a file, then
#    `\copy bench_copy (envelope) FROM file` into a table with one json
#    column (lz4-compressed, as events_raw.envelope), timed.
# 2. Worker: fourkeys-bench-events produces EVENTS envelopes (SERVICES
#    services; pushes of 1-20 commits, deployments, incidents) to the
#    embedded Kafka, staying at most WINDOW events ahead of what the worker
#    has stored (the embedded broker keeps 5 MiB per partition); timed from
#    the first event to the last offset committed in Postgres. The worker's
#    RSS is sampled every 2 s.
#
# Environment: EVENTS (200000), SERVICES (500), COPY_EVENTS (50000),
# BATCH (2000, the worker's default), WINDOW (6000: three batches, so the
# worker has a backlog to pipeline), BUILD_DIR (build/), RESULTS_FILE
# (bench/RESULTS.md; "-" writes none).
# shellcheck disable=SC2034  # PIDs set here are stopped by bench_cleanup (scripts/lib.sh)
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
source "$BENCH_DIR/../scripts/lib.sh"

COMMAND=""
for setting in FOURKEYS_WORKER_CACHE_MB FOURKEYS_WORKER_PIPELINE EVENTS SERVICES COPY_EVENTS BATCH WINDOW; do
  if [ -n "${!setting:-}" ]; then COMMAND+="$setting=${!setting} "; fi
done
COMMAND+="bench/worker.sh"

EVENTS="${EVENTS:-200000}"
SERVICES="${SERVICES:-500}"
COPY_EVENTS="${COPY_EVENTS:-50000}"
BATCH="${BATCH:-2000}"
WINDOW="${WINDOW:-6000}"
BUILD_DIR="${BUILD_DIR:-$FOURKEYS_ROOT/build}"
RESULTS_FILE="${RESULTS_FILE:-$BENCH_DIR/RESULTS.md}"

bench_work_dir fourkeys-bench-worker SAMPLER_PID CPU_START_PID WORKER_PID

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
sql() { psql -q -At "$FOURKEYS_DATABASE_URL" -c "$1"; }

start_postgres "$WORK/pg"
start_devkafka "$BUILD_DIR/devkafka/fourkeys-devkafka" "$WORK/devkafka.log"

# 1. COPY baseline.
"$BUILD_DIR/bench/fourkeys-bench-events" --events "$COPY_EVENTS" --services "$SERVICES" --seed 2 \
  --copy-file "$WORK/events.copy"
sql "CREATE TABLE bench_copy (envelope json COMPRESSION lz4 NOT NULL)"
t0=$(now)
psql -q "$FOURKEYS_DATABASE_URL" -c "\\copy bench_copy (envelope) FROM '$WORK/events.copy'"
t1=$(now)
copy_seconds=$(calc "$t1 - $t0")
copy_rate=$(calc "$COPY_EVENTS / $copy_seconds")
rm -f "$WORK/events.copy"
log "COPY: $COPY_EVENTS envelopes in ${copy_seconds}s"

# 2. The worker.
"$BUILD_DIR/worker/fourkeys-worker" --listen 127.0.0.1:0 --port-file "$WORK/worker.port" \
  --batch-size "$BATCH" --log-level warn 2>"$WORK/worker.log" &
WORKER_PID=$!
for _ in $(seq 1 300); do [ -s "$WORK/worker.port" ] && break; sleep 0.1; done
# The clock must not run while the worker is still joining the consumer
# group: wait until it has been assigned its partitions.
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$(cat "$WORK/worker.port")/metrics" 2>/dev/null |
    grep -q '^fourkeys_worker_assigned_partitions [1-9]' && break
  sleep 0.1
done
# Each sample: the events stored by the generator's latest "progress" line
# and its time, and the worker's RSS now. (The generator keeps one database
# connection and prints its progress; a psql started here for every sample
# would take CPU from the worker being measured.)
(
  while kill -0 "$WORKER_PID" 2>/dev/null; do
    progress="$(awk '$1 == "progress" && NF == 3 { p = $2 " " $3 } END { print p }' "$WORK/producer.out" 2>/dev/null || true)"
    [ -n "$progress" ] || progress="0 $(now)"
    read -r events_stored sampled_at <<<"$progress"
    echo "$events_stored $(awk '/VmRSS/ {print $2}' /proc/$WORKER_PID/status) $sampled_at"
    sleep 2
  done
) >"$WORK/rss.txt" &
SAMPLER_PID=$!
# Where the two cores went while the worker ran: CPU seconds (user and
# system) of the worker, of Postgres (the postmaster and every process it
# started), of the embedded Kafka and of the load generator, between the
# clock's start and its end.
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }
postgres_cpu() {
  local postmaster
  postmaster="$(head -1 "$PG_DIR/data/postmaster.pid")"
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v pm="$postmaster" -v hz="$(getconf CLK_TCK)" \
    '$1 == pm || $4 == pm { t += $14 + $15 } END { printf "%.2f", t / hz }'
}
cpu_snapshot() { echo "$(cpu_of "$WORKER_PID") $(postgres_cpu) $(cpu_of "$DEVKAFKA_PID")"; }
# fourkeys-bench-events makes every envelope first, then prints
# "producing <epoch seconds> cpu <its CPU seconds so far>": the clock starts
# there.
(
  while [ -d "$WORK" ] && ! grep -q '^producing' "$WORK/producer.out" 2>/dev/null; do sleep 0.01; done
  cpu_snapshot >"$WORK/cpu.start"
) &
CPU_START_PID=$!
"$BUILD_DIR/bench/fourkeys-bench-events" --events "$EVENTS" --services "$SERVICES" --seed 3 \
  --brokers "$FOURKEYS_KAFKA_BROKERS" --follow-database "$FOURKEYS_DATABASE_URL" --window "$WINDOW" \
  --spool-dir "$WORK" \
  >"$WORK/producer.out"
# The generator returns once every event it produced is stored, and prints
# when it saw that ("stored <events> <epoch seconds>").
t0=$(awk '$1 == "producing" { print $2 }' "$WORK/producer.out")
t1=$(awk '$1 == "stored" { print $3 }' "$WORK/producer.out")
[ -n "$t1" ] || { log "the generator did not see every event stored"; exit 1; }
cpu_snapshot >"$WORK/cpu.end"
wait "$CPU_START_PID"
worker_seconds=$(calc "$t1 - $t0")
worker_rate=$(calc "$EVENTS / $worker_seconds")
# Where the worker's time went: its stage clocks and how it linked services.
metrics="$(curl -fsS "http://127.0.0.1:$(cat "$WORK/worker.port")/metrics" || true)"
# samples <metric> <printf format of label and value>: "label value, ..."
samples() {
  awk -F'[{}"= ]+' -v name="$1" -v format="$2" \
    '$1 == name { printf "%s" format, sep, $3, $NF; sep = ", " }' <<<"$metrics"
}
stages="$(samples fourkeys_worker_stage_seconds_total "%s %.1f s")"
linked="$(samples fourkeys_worker_services_linked_total "%s %d")"
pruned="$(samples fourkeys_worker_pruned_states_total "%s %d")"
cache="$(awk '$1 == "fourkeys_worker_cache_bytes" { printf "%.1f MiB", $2 / 1048576 }' <<<"$metrics")"
stored=$(sql "SELECT count(*) FROM events_raw")
if [ "$stored" != "$EVENTS" ]; then
  log "only $stored of $EVENTS events stored: the embedded broker dropped some (its 5 MiB per partition); lower WINDOW"
fi
rows=$(sql "SELECT (SELECT count(*) FROM deployment_attempts) || ' deployments, ' || (SELECT count(*) FROM deployment_changes) || ' deployment changes, ' || (SELECT count(*) FROM incidents) || ' incidents, ' || (SELECT count(*) FROM metrics_daily) || ' metric days'")
rss="$(awk 'NF == 3 && $2 > 0 { n++; e[n] = $1; r[n] = $2; if ($2 > max) { max = $2; at = $1 } }
  END { step = n > 6 ? int(n / 6) : 1; for (i = 1; i <= n; i += step) printf "%s%d MiB at %d", (i > 1 ? ", " : ""), r[i] / 1024, e[i];
        printf "; max %d MiB at %d", max / 1024, at }' "$WORK/rss.txt")"
# The rate in each sixth of the events: a worker whose per-event cost grows
# with the history behind it slows down from one stretch to the next.
stretches="$(awk -v total="$EVENTS" -v t0="$t0" -v t1="$t1" '
  NF == 3 { n++; e[n] = $1; t[n] = $3 }
  END {
    e[0] = 0; t[0] = t0; e[n + 1] = total; t[n + 1] = t1; k = 0; last = 0
    for (s = 1; s <= 6; s++) {
      goal = total * s / 6
      while (k < n + 1 && e[k] < goal) k++
      if (t[k] > t[last] && e[k] > e[last]) printf "%s%d-%dk: %.0f", (s > 1 ? ", " : ""), e[last] / 1000, e[k] / 1000, (e[k] - e[last]) / (t[k] - t[last])
      last = k
    }
  }' "$WORK/rss.txt")"
cpu="$(awk -v seconds="$worker_seconds" -v cores="$(nproc)" \
  -v producer_start="$(awk '$1 == "producing" { print $4 }' "$WORK/producer.out")" \
  -v producer_end="$(awk '$1 == "produced" { print $3 }' "$WORK/producer.out")" '
  FNR == 1 && NR == 1 { for (i = 1; i <= 3; i++) start[i] = $i; next }
  { for (i = 1; i <= 3; i++) used[i] = $i - start[i] }
  END {
    producer = producer_end - producer_start
    total = used[1] + used[2] + used[3] + producer
    printf "%.1f s of %.1f (%d cores × %.1f s): Postgres %.1f, worker %.1f, embedded Kafka %.1f, load generator %.1f; per event: Postgres %.0f µs, worker %.0f µs",
      total, cores * seconds, cores, seconds, used[2], used[1], used[3], producer, used[2] / events * 1e6, used[1] / events * 1e6
  }' events="$EVENTS" "$WORK/cpu.start" "$WORK/cpu.end")"
ratio=$(calc "$worker_rate / $copy_rate")
section="$(cat <<MD
## Worker: Kafka → committed Postgres rows

Command: \`$COMMAND\` ($(date -u +%Y-%m-%d), $(nproc) cores, Postgres 15 with fsync=off for both runs)

| run | events | seconds | events/s |
|---|---|---|---|
| plain COPY into one json (lz4) table, as events_raw.envelope | $COPY_EVENTS | $(printf %.1f "$copy_seconds") | $(printf %.0f "$copy_rate") |
| fourkeys-worker (batch $BATCH, $SERVICES services) | $EVENTS | $(printf %.1f "$worker_seconds") | $(printf %.0f "$worker_rate") |

Ratio worker / COPY: **$(printf %.2f "$ratio")** (goal ≥ 0.5; goal ≥ 10,000 events/s).
Stored: $stored events; $rows.
Worker RSS (events stored so far): $rss.
Worker events/s by stretch of the stream (events stored): ${stretches:-none}.
CPU while the worker ran: $cpu.
Worker stage clocks: ${stages:-none}; services linked: ${linked:-none}; pruned states: ${pruned:-none}; cache at the end: ${cache:-none}.
MD
)"
echo "$section"
if [ "$RESULTS_FILE" != "-" ]; then
  write_results_section "$RESULTS_FILE" "Worker: Kafka → committed Postgres rows" "$section"
fi
