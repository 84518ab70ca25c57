#!/usr/bin/env bash
# bench/receiver.sh: the receiver against a bare Beast server, same load, same run.
#
# Posts signed ~7 KB GitHub push deliveries with wrk (keep-alive, 32
# connections) to
#   1. fourkeys-bench-bare: reads the body, answers 202 (the ceiling)
#   1b. the same with --read-buffer 16384: a whole request per read, as
#      fourkeys-parser reads (Beast's default sizing reads 512 bytes at a
#      time into a new buffer)
#   2. fourkeys-parser: HMAC + parse + normalize + Kafka acknowledgement,
#      default (info) logging, stderr redirected to a file
#   3. fourkeys-parser as 2. with FOURKEYS_LOG_LEVEL=warn (what logging costs)
#   4. fourkeys-parser with 2 threads, nothing pinned
#   5. fourkeys-bench-bare with 2 threads, nothing pinned (the ceiling of 4.)
# Runs 1-3 pin the server on core SERVER_CPU (0) and wrk and the embedded
# Kafka on core CLIENT_CPU (1). Prints a Markdown section and puts it into
# bench/RESULTS.md (replacing the previous one). See bench/README.md.
#
# Environment: DURATION (15, seconds per measured run), WARMUP (2),
# CONNECTIONS (32), RUNS (default "bare1 bare1-sized receiver1 receiver1-warn
# receiver2 bare2"), SERVER_CPU (0), CLIENT_CPU (1), BUILD_DIR (build/),
# WAIT_IDLE (0: seconds to wait, at most, for the 1-minute load average to
# drop below MAX_LOAD (0.6) before measuring), RESULTS_FILE
# (bench/RESULTS.md; "-" writes none), KEEP_WORKDIR (0), PROFILE (0; 1
# records `perf record --call-graph dwarf` of the 1-thread receiver run into the work dir).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
source "$BENCH_DIR/../scripts/lib.sh"

# The command line as run, with the settings given in the environment.
COMMAND="DURATION=${DURATION:-15}"
for setting in WARMUP CONNECTIONS RUNS SERVER_CPU CLIENT_CPU BUILD_DIR WAIT_IDLE MAX_LOAD PROFILE; do
  if [ -n "${!setting:-}" ]; then COMMAND+=" $setting=$(printf '%q' "${!setting}")"; fi
done
COMMAND+=" bench/receiver.sh"

DURATION="${DURATION:-15}"
WARMUP="${WARMUP:-2}"
CONNECTIONS="${CONNECTIONS:-32}"
RUNS="${RUNS:-bare1 bare1-sized receiver1 receiver1-warn receiver2 bare2}"
SERVER_CPU="${SERVER_CPU:-0}"
CLIENT_CPU="${CLIENT_CPU:-1}"
BUILD_DIR="${BUILD_DIR:-$FOURKEYS_ROOT/build}"
WAIT_IDLE="${WAIT_IDLE:-0}"
MAX_LOAD="${MAX_LOAD:-0.6}"
RESULTS_FILE="${RESULTS_FILE:-$BENCH_DIR/RESULTS.md}"
FIXTURES="${FOURKEYS_FIXTURES_DIR:-$FOURKEYS_ROOT/../shared/fixtures}"
BODY_COUNT=64
SECRET="bench-secret-$RANDOM$RANDOM"

PARSER="$BUILD_DIR/parser/server/fourkeys-parser"
DEVKAFKA="$BUILD_DIR/devkafka/fourkeys-devkafka"
BARE="$BUILD_DIR/bench/fourkeys-bench-bare"

die() { log "$*"; exit 1; }
# calc <printf format> <awk expression>
calc() { awk "BEGIN { printf \"$1\", ($2) }"; }

# ------------------------------------------------------------ tools, build
if ! command -v wrk >/dev/null; then
  log "installing wrk"
  sudo=(); if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
for tool in wrk taskset openssl curl sha1sum; do
  command -v "$tool" >/dev/null || die "$tool is missing"
done
if [ ! -x "$PARSER" ] || [ ! -x "$DEVKAFKA" ] || [ ! -x "$BARE" ]; then
  log "building in $BUILD_DIR"
  configure_and_build "$BUILD_DIR"
fi
BUILD_TYPE="$(benchmark_build_type "$BUILD_DIR")"
[ "$(nproc)" -ge 2 ] || die "needs 2 cores (server on one, load generator on the other)"

# ------------------------------------------------------ processes, cleanup
WORK="$(mktemp -d "${TMPDIR:-/tmp}/fourkeys-bench.XXXXXX")"
SERVER_PID=""
DEVKAFKA_PID=""
WRK_PID=""
PERF_PID=""
cleanup() {
  stop_pid "$WRK_PID"
  stop_pid "$PERF_PID"
  stop_pid "$SERVER_PID"
  stop_pid "$DEVKAFKA_PID"
  if [ "${KEEP_WORKDIR:-0}" = 1 ] || [ "${PROFILE:-0}" = 1 ]; then
    log "work dir kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# taskset prefix for a core list; empty: not pinned.
pinned() { if [ -n "$1" ]; then printf '%s\n' taskset -c "$1"; fi; }

# CPU seconds used so far by a process (all its threads).
cpu_seconds() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo 0; return; }
  stat="${stat##*) }"
  # shellcheck disable=SC2086
  set -- $stat
  calc %.3f "(${12} + ${13}) / $(getconf CLK_TCK)"
}

# "user nice system idle iowait irq softirq steal" of each core, one line per core.
cpu_times() { grep '^cpu[0-9]' /proc/stat; }
# busy % of one core between two cpu_times snapshots: busy_percent <core> <before> <after>
busy_percent() {
  local a b
  a="$(grep "^cpu$1 " <<<"$2")"; b="$(grep "^cpu$1 " <<<"$3")"
  awk -v a="$a" -v b="$b" 'BEGIN {
    n = split(a, x, " "); split(b, y, " "); total = 0
    for (i = 2; i <= n; i++) total += y[i] - x[i]
    idle = (y[5] - x[5]) + (y[6] - x[6])
    printf "%.0f", (total > 0 ? 100 * (total - idle) / total : 0) }'
}

# --------------------------------------------------------------- bodies
# BODY_COUNT signed push deliveries made from one fixture: compact JSON (as
# GitHub sends), each with its own commit sha and a commit message of varied
# length, so that each body and signature differ.
make_bodies() {
  local fixture="$FIXTURES/github/push/to-default-branch.drone-go-scm.json"
  local sha=199eddf46df50de8d02e99bf1c5fdb4101338224
  local message='"message":"Update README"'
  [ -f "$fixture" ] || die "fixture not found: $fixture (set FOURKEYS_FIXTURES_DIR)"
  local compact
  # One key or value per line in the fixture: drop the indentation, the
  # blank after each key's colon and the line breaks.
  compact="$(sed -e 's/^[[:space:]]*//' -e 's/^\("[^"\\]*"\):[[:space:]]*/\1:/' "$fixture" | tr -d '\n')"
  case "$compact" in *"$sha"*"$message"*) ;; *) die "the fixture changed: $fixture" ;; esac
  mkdir -p "$WORK/bodies"
  local i k new_sha text body
  for i in $(seq 1 "$BODY_COUNT"); do
    new_sha="$(printf 'fourkeys-bench-%d' "$i" | sha1sum | cut -c1-40)"
    text="Bench change $i of $BODY_COUNT: touch module $((i % 9))"
    for k in $(seq 1 $((i % 4))); do
      text="$text\\n\\nAdjust the retry budget of step $k."
    done
    body="${compact//"$sha"/"$new_sha"}"
    body="${body//"$message"/"\"message\":\"$text\""}"
    printf '%s' "$body" >"$WORK/bodies/push-$i.json"
    printf 'sha256=%s\n' "$(openssl dgst -sha256 -hmac "$SECRET" -r "$WORK/bodies/push-$i.json" | cut -d' ' -f1)" \
      >"$WORK/bodies/push-$i.sig"
  done
  BODY_SIZES="$(wc -c "$WORK"/bodies/push-*.json | awk '$2 != "total" {print $1}' | sort -n | sed -n '1p;$p' | paste -sd-)"
}

# --------------------------------------------------------------- servers
wait_for_line() {  # <file> <seconds>
  local i
  for i in $(seq 1 $(($2 * 20))); do
    if [ -s "$1" ] && [ -n "$(head -n1 "$1")" ]; then head -n1 "$1"; return 0; fi
    sleep 0.05
  done
  return 1
}

start_bare() {  # <threads> <cores or ""> [more fourkeys-bench-bare options...]
  local out="$WORK/bare.stdout" threads="$1" cores="$2"
  shift 2
  : >"$out"
  # shellcheck disable=SC2046
  $(pinned "$cores") "$BARE" --listen 127.0.0.1:0 --threads "$threads" "$@" >"$out" 2>"$WORK/bare.log" &
  SERVER_PID=$!
  PORT="$(wait_for_line "$out" 10)" || die "fourkeys-bench-bare did not start; see $WORK/bare.log"
}

start_receiver() {  # <threads> <cores or ""> <log level>
  local port_file="$WORK/parser.port"
  rm -f "$port_file"
  local clear=()
  local name
  for name in $(compgen -e | grep '^FOURKEYS_' || true); do clear+=(-u "$name"); done
  # shellcheck disable=SC2046
  env "${clear[@]}" \
    FOURKEYS_KAFKA_BROKERS="$FOURKEYS_KAFKA_BROKERS" \
    FOURKEYS_PARSER_LISTEN=127.0.0.1:0 \
    FOURKEYS_PARSER_THREADS="$1" \
    FOURKEYS_GITHUB_SECRET="$SECRET" \
    FOURKEYS_LOG_LEVEL="$3" \
    $(pinned "$2") "$PARSER" --port-file "$port_file" 2>"$WORK/parser-$RUN.log" &
  SERVER_PID=$!
  PORT="$(wait_for_line "$port_file" 30)" || die "fourkeys-parser did not start; see $WORK/parser-$RUN.log"
  local i
  for i in $(seq 1 100); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz"; then return 0; fi
    sleep 0.2
  done
  die "fourkeys-parser never became ready; see $WORK/parser-$RUN.log"
}

# One signed delivery by hand: the server must say 202 accepted (a dead
# letter would also be 202 and would not measure the normal path).
sanity_check() {
  local answer
  answer="$(curl -sS -w ' %{http_code}' "http://127.0.0.1:$PORT/webhooks/github" \
    -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
    -H "X-GitHub-Delivery: sanity-$RUN-$$" -H 'User-Agent: GitHub-Hookshot/bench' \
    -H "X-Hub-Signature-256: $(cat "$WORK/bodies/push-1.sig")" \
    --data-binary "@$WORK/bodies/push-1.json")"
  case "$answer" in
    *'"accepted"'*' 202') ;;
    *) die "$RUN: a signed push was not accepted: $answer" ;;
  esac
}

# ------------------------------------------------------------------ load
# wrk runs in the background and the script waits for it: a signal then
# interrupts the wait at once and the traps stop everything (wrk itself takes
# SIGINT as "stop and print the summary", and the script would go on).
run_wrk() {  # <cores or ""> <seconds> <output>
  # shellcheck disable=SC2046
  BENCH_BODIES="$WORK/bodies" BENCH_RUN="$RUN-$$-$2" \
    $(pinned "$1") wrk -t1 -c"$CONNECTIONS" -d"$2s" --latency -s "$BENCH_DIR/push.lua" \
    "http://127.0.0.1:$PORT/webhooks/github" >"$3" 2>"$3.err" &
  WRK_PID=$!
  wait "$WRK_PID" || die "wrk failed; see $3.err"
  WRK_PID=""
}

declare -A RESULT

measure() {  # <run> <server kind> <threads> <server cores> <client cores> [log level]
  RUN="$1"
  local kind="$2" threads="$3" server_cores="$4" client_cores="$5" level="${6:-info}"
  log "$RUN: $kind, $threads thread(s), server on ${server_cores:-any core}, wrk on ${client_cores:-any core}"
  # The embedded Kafka goes where wrk goes.
  taskset -a -p -c "${client_cores:-0-$(($(nproc) - 1))}" "$DEVKAFKA_PID" >/dev/null
  case "$kind" in
    bare) start_bare "$threads" "$server_cores" ;;
    bare-sized) start_bare "$threads" "$server_cores" --read-buffer 16384 ;;
    *) start_receiver "$threads" "$server_cores" "$level" ;;
  esac
  sanity_check
  run_wrk "$client_cores" "$WARMUP" "$WORK/$RUN.warmup"
  local s0 k0 s1 k1 t0 t1 c0 c1
  s0="$(cpu_seconds "$SERVER_PID")"; k0="$(cpu_seconds "$DEVKAFKA_PID")"; t0="$(date +%s.%N)"; c0="$(cpu_times)"
  PERF_PID=""
  if [ "${PROFILE:-0}" = 1 ] && [ "$RUN" = receiver1 ] && command -v perf >/dev/null; then
    perf record -F 499 --call-graph dwarf,16384 -o "$WORK/perf-$RUN.data" -p "$SERVER_PID" -- sleep "$DURATION" >/dev/null 2>&1 &
    PERF_PID=$!
  fi
  local TIMEFORMAT='%U %S'
  { time run_wrk "$client_cores" "$DURATION" "$WORK/$RUN.wrk"; } 2>"$WORK/$RUN.time"
  t1="$(date +%s.%N)"; s1="$(cpu_seconds "$SERVER_PID")"; k1="$(cpu_seconds "$DEVKAFKA_PID")"; c1="$(cpu_times)"
  if [ -n "$PERF_PID" ]; then wait "$PERF_PID" || true; PERF_PID=""; fi
  stop_pid "$SERVER_PID"; SERVER_PID=""
  local line
  line="$(grep '^BENCH ' "$WORK/$RUN.wrk")" || die "$RUN: no result from wrk; see $WORK/$RUN.wrk and $WORK/$RUN.wrk.err"
  local kv
  for kv in ${line#BENCH }; do RESULT["$RUN.${kv%%=*}"]="${kv#*=}"; done
  local wall wrk_cpu
  wall="$(calc %.3f "$t1 - $t0")"
  wrk_cpu="$(awk '{print $1 + $2}' "$WORK/$RUN.time")"
  RESULT["$RUN.server_cpu"]="$(calc %.0f "100 * ($s1 - $s0) / $wall")"
  RESULT["$RUN.cpu_us"]="$(calc %.1f "1e6 * ($s1 - $s0) / ${RESULT[$RUN.requests]}")"
  RESULT["$RUN.kafka_cpu"]="$(calc %.0f "100 * ($k1 - $k0) / $wall")"
  RESULT["$RUN.wrk_cpu"]="$(calc %.0f "100 * $wrk_cpu / $wall")"
  RESULT["$RUN.busy_server"]="$(busy_percent "$SERVER_CPU" "$c0" "$c1")"
  RESULT["$RUN.busy_client"]="$(busy_percent "$CLIENT_CPU" "$c0" "$c1")"
  RESULT["$RUN.desc"]="$kind|$threads|${server_cores:-any}|${client_cores:-any}|$level"
  log "$RUN: ${RESULT[$RUN.rps]} req/s, p50 ${RESULT[$RUN.p50_ms]} ms, p99 ${RESULT[$RUN.p99_ms]} ms, non-2xx ${RESULT[$RUN.non2xx]}"
}

# ------------------------------------------------------------------ main
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

make_bodies
start_devkafka "$DEVKAFKA" "$WORK/devkafka.log"

for run in $RUNS; do
  case "$run" in
    bare1) measure bare1 bare 1 "$SERVER_CPU" "$CLIENT_CPU" ;;
    bare1-sized) measure bare1-sized bare-sized 1 "$SERVER_CPU" "$CLIENT_CPU" ;;
    receiver1) measure receiver1 receiver 1 "$SERVER_CPU" "$CLIENT_CPU" info ;;
    receiver1-warn) measure receiver1-warn receiver 1 "$SERVER_CPU" "$CLIENT_CPU" warn ;;
    receiver2) measure receiver2 receiver 2 "" "" info ;;
    bare2) measure bare2 bare 2 "" "" ;;
    *) die "unknown run: $run" ;;
  esac
done
LOAD_AFTER="$(loadavg)"

# --------------------------------------------------------------- report
version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }

report() {
  echo "## Receiver vs bare Beast server ($START_DATE)"
  echo
  echo "Command: \`$COMMAND\` (wrk -t1 -c$CONNECTIONS -d${DURATION}s --latency -s bench/push.lua, ${WARMUP}s warm-up per run)"
  echo
  echo "- machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)$(lscpu 2>/dev/null | sed -n 's/^Hypervisor vendor: *\(.*\)/, \1 guest/p'), Linux $(uname -r)"
  echo "- load average (1/5/15 min): $LOAD_BEFORE before, $LOAD_AFTER after"
  echo "- versions: librdkafka $(pkg-config --modversion rdkafka 2>/dev/null || version librdkafka1), Boost $(version libboost1.81-dev), $(g++ --version | head -n1), wrk $(version wrk); build type ${BUILD_TYPE:-?}"
  echo "- load: $BODY_COUNT signed push deliveries of $BODY_SIZES bytes from github/push/to-default-branch.drone-go-scm.json, keep-alive, $CONNECTIONS connections"
  echo
  echo "| run | server | threads | server cores | wrk + devkafka cores | log level | req/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | 2xx not accepted | socket errors | server CPU % | server CPU µs/req | wrk CPU % | devkafka CPU % | core $SERVER_CPU / core $CLIENT_CPU busy % |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  local run
  for run in $RUNS; do
    IFS='|' read -r kind threads sc cc level <<<"${RESULT[$run.desc]}"
    case "$kind" in
      bare) kind=fourkeys-bench-bare; level=- ;;
      bare-sized) kind="fourkeys-bench-bare --read-buffer 16384"; level=- ;;
      *) kind=fourkeys-parser ;;
    esac
    echo "| $run | $kind | $threads | $sc | $cc | $level | ${RESULT[$run.rps]} | ${RESULT[$run.p50_ms]} | ${RESULT[$run.p90_ms]} | ${RESULT[$run.p99_ms]} | ${RESULT[$run.max_ms]} | ${RESULT[$run.non2xx]} | ${RESULT[$run.not_accepted]} | ${RESULT[$run.socket_errors]} | ${RESULT[$run.server_cpu]} | ${RESULT[$run.cpu_us]} | ${RESULT[$run.wrk_cpu]} | ${RESULT[$run.kafka_cpu]} | ${RESULT[$run.busy_server]} / ${RESULT[$run.busy_client]} |"
  done
  echo
  # The goal's baseline is the bare Beast server as the issue describes it:
  # it only reads the body and answers 202, reading as Beast's examples do
  # (bare1). bare1-sized, the same server given room for a whole request per
  # read as the receiver has, is printed beside it: no receiver can reach
  # 0.5x of it, since hashing the body for the HMAC and the envelope's SHA-1
  # costs more than bare1-sized's whole request (bench/RESULTS.md).
  local base=bare1
  if [ -n "${RESULT[$base.rps]:-}" ] && [ -n "${RESULT[receiver1.rps]:-}" ]; then
    local ratio ok_ratio ok_p99 ok_err verdict
    ratio="$(calc %.3f "${RESULT[receiver1.rps]} / ${RESULT[$base.rps]}")"
    ok_ratio="$(calc %d "$ratio >= 0.5")"
    ok_p99="$(calc %d "${RESULT[receiver1.p99_ms]} < 10")"
    ok_err=$(( ${RESULT[receiver1.non2xx]} + ${RESULT[receiver1.not_accepted]} + ${RESULT[receiver1.socket_errors]} == 0 ))
    if [ "$ok_ratio$ok_p99$ok_err" = 111 ]; then verdict="**met**"; else verdict="**missed**"; fi
    echo "Goal (receiver1 against $base, the bare Beast server reading as Beast's examples do, one core each): ratio ≥ 0.5, p99 < 10 ms, no non-2xx: $verdict."
    echo
    echo "- ratio receiver/$base: **$ratio** ($([ "$ok_ratio" = 1 ] && echo ok || echo missed))"
    echo "- receiver p99: **${RESULT[receiver1.p99_ms]} ms** ($([ "$ok_p99" = 1 ] && echo ok || echo missed))"
    echo "- receiver non-2xx: **${RESULT[receiver1.non2xx]}**, 2xx not accepted ${RESULT[receiver1.not_accepted]}, socket errors ${RESULT[receiver1.socket_errors]} ($([ "$ok_err" = 1 ] && echo ok || echo missed))"
    echo "- server CPU per request: receiver ${RESULT[receiver1.cpu_us]} µs, $base ${RESULT[$base.cpu_us]} µs"
  fi
  if [ -n "${RESULT[bare1-sized.rps]:-}" ] && [ -n "${RESULT[receiver1.rps]:-}" ]; then
    echo
    echo "Against bare1-sized (the same bare server with room for a whole request per read, as the receiver reads): requests/s ratio $(calc %.3f "${RESULT[receiver1.rps]} / ${RESULT[bare1-sized.rps]}"), bare1-sized's CPU per request ${RESULT[bare1-sized.cpu_us]:-?} µs."
  fi
  if [ "$(calc %d "${LOAD_BEFORE%% *} >= $MAX_LOAD")" = 1 ]; then
    echo
    echo "Note: the machine was not idle when this run started (1-minute load ${LOAD_BEFORE%% *} ≥ $MAX_LOAD)."
  fi
}

SECTION="$(report)"
printf '\n%s\n\n' "$SECTION"

if [ "$RESULTS_FILE" != - ]; then
  begin='<!-- bench/receiver.sh: begin -->'
  end='<!-- bench/receiver.sh: end -->'
  block="$(printf '%s\n%s\n%s' "$begin" "$SECTION" "$end")"
  if [ -f "$RESULTS_FILE" ] && grep -qF "$begin" "$RESULTS_FILE"; then
    BLOCK="$block" awk -v b="$begin" -v e="$end" '
      $0 == b { print ENVIRON["BLOCK"]; skip = 1; next }
      $0 == e { skip = 0; next }
      !skip { print }' "$RESULTS_FILE" >"$RESULTS_FILE.tmp"
    mv "$RESULTS_FILE.tmp" "$RESULTS_FILE"
  else
    printf '\n%s\n' "$block" >>"$RESULTS_FILE"
  fi
  log "results written to $RESULTS_FILE"
fi
