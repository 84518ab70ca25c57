# Shared by scripts/test and scripts/run. Sourced, not executed.
# shellcheck shell=bash

FOURKEYS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

# Debian bookworm packages the build, the tests (the seed's service as a peer,
# Chromium for the page's browser test, docker-compose and python3-yaml for
# tests/compose's check of docker-compose.yml) and the local run need.
FOURKEYS_PACKAGES=(
  cmake ninja-build ccache g++ pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  librdkafka-dev libpqxx-dev libpq-dev libssl-dev catch2
  libspdlog-dev libfmt-dev libcli11-dev libyaml-cpp-dev libvalijson-dev prometheus-cpp-dev
  libtcmalloc-minimal4
  postgresql-15 postgresql-client-15 wrk
  python3-fastapi python3-uvicorn python3-asyncpg python3-uvloop python3-httptools
  chromium
  docker-compose python3-yaml
)

log() { printf '\033[1m[fourkeys]\033[0m %s\n' "$*" >&2; }

# Installs the packages that are missing; does nothing when all are present.
# Node.js and npm (the browser test's playwright-core) are checked as
# commands: a machine may have them from another packaging than Debian's,
# whose nodejs and npm packages would conflict with it.
install_missing_packages() {
  local missing=()
  local pkg
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    missing+=(nodejs npm)
  fi
  for pkg in "${FOURKEYS_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  log "installing missing packages: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 20 ]; then
    log "warning: the browser test needs Node.js 20 or newer (playwright-core); this machine has $(node --version 2>/dev/null || echo none)"
  fi
}

# configure_and_build <build-dir> [extra cmake args...]
configure_and_build() {
  local dir="$1"; shift
  export CCACHE_DIR="${CCACHE_DIR:-$FOURKEYS_ROOT/.ccache}"
  cmake -S "$FOURKEYS_ROOT" -B "$dir" -G Ninja "$@" >/dev/null
  ninja -C "$dir" -j "${FOURKEYS_JOBS:-2}"
}

# A free TCP port on 127.0.0.1.
free_port() {
  local port
  while :; do
    port=$(( (RANDOM % 20000) + 30000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
}

# start_postgres <dir>: a throwaway cluster in <dir>, listening on 127.0.0.1 at a
# free port, trust authentication. Sets PG_DIR, PG_PORT, FOURKEYS_DATABASE_URL.
start_postgres() {
  PG_DIR="$1"
  PG_PORT="$(free_port)"
  local as=()
  mkdir -p "$PG_DIR"
  if [ "$(id -u)" -eq 0 ]; then
    # initdb refuses to run as root: the cluster belongs to the postgres user.
    chown postgres:postgres "$PG_DIR"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U fourkeys -A trust --no-sync >/dev/null
  "${as[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -o \
    "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  "${as[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U fourkeys fourkeys
  export FOURKEYS_DATABASE_URL="postgresql://fourkeys@127.0.0.1:$PG_PORT/fourkeys"
  log "postgres on 127.0.0.1:$PG_PORT ($PG_DIR)"
}

# start_local_postgres <dir>: the persistent cluster of scripts/run in <dir>
# (created on first use, reused after). Keeps its port in <dir>/port while it
# is free. Sets PG_DIR, PG_PORT, FOURKEYS_DATABASE_URL.
start_local_postgres() {
  PG_DIR="$1"
  local as=()
  mkdir -p "$PG_DIR"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$PG_DIR"
    as=(runuser -u postgres --)
  fi
  if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
    log "creating a Postgres cluster in $PG_DIR"
    "${as[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U fourkeys -A trust >/dev/null
  fi
  PG_PORT="$(cat "$PG_DIR/port" 2>/dev/null || true)"
  if [ -z "$PG_PORT" ] || (exec 3<>"/dev/tcp/127.0.0.1/$PG_PORT") 2>/dev/null; then
    PG_PORT="$(free_port)"
  fi
  echo "$PG_PORT" >"$PG_DIR/port"
  "${as[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -o \
    "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1" start >/dev/null
  if ! "${as[@]}" "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U fourkeys -d postgres -Atc \
      "SELECT 1 FROM pg_database WHERE datname = 'fourkeys'" | grep -q 1; then
    "${as[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U fourkeys fourkeys
  fi
  export FOURKEYS_DATABASE_URL="postgresql://fourkeys@127.0.0.1:$PG_PORT/fourkeys"
  log "postgres on 127.0.0.1:$PG_PORT ($PG_DIR)"
}

stop_postgres() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
    local as=()
    if [ "$(id -u)" -eq 0 ]; then as=(runuser -u postgres --); fi
    "${as[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

# start_devkafka <binary> <log> [options...]: runs the embedded Kafka (with
# fourkeys-devkafka options such as --partitions), waits for its first
# stdout line (the bootstrap servers). Sets DEVKAFKA_PID, FOURKEYS_KAFKA_BROKERS.
start_devkafka() {
  local bin="$1" logfile="$2"
  shift 2  # the rest: fourkeys-devkafka's own options
  local out="$logfile.stdout"
  : >"$out"
  # Its own session: a Ctrl-C in the terminal reaches the programs that use
  # Kafka first; the cleanup stops Kafka after them.
  setsid "$bin" "$@" >"$out" 2>"$logfile" &
  DEVKAFKA_PID=$!
  local i
  for i in $(seq 1 100); do
    if [ -s "$out" ]; then break; fi
    sleep 0.05
  done
  FOURKEYS_KAFKA_BROKERS="$(head -n1 "$out")"
  if [ -z "$FOURKEYS_KAFKA_BROKERS" ]; then
    log "fourkeys-devkafka did not start; see $logfile"
    return 1
  fi
  export FOURKEYS_KAFKA_BROKERS
  log "embedded kafka on $FOURKEYS_KAFKA_BROKERS"
}

# bench_work_dir <name> <variable>...: a benchmark's setup. Makes WORK, a
# fresh folder under $TMPDIR (or /tmp) that the postgres user can enter, and
# on exit, failure or Ctrl-C stops the programs whose PIDs the named
# variables hold (in that order, each empty until set), then the embedded
# Kafka (DEVKAFKA_PID) and the Postgres cluster, and removes WORK
# (KEEP_WORKDIR=1 keeps it).
bench_work_dir() {
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
  chmod 755 "$WORK"
  shift
  BENCH_STOP_ON_EXIT=("$@" DEVKAFKA_PID)
  local variable
  for variable in "${BENCH_STOP_ON_EXIT[@]}"; do printf -v "$variable" '%s' ""; done
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

bench_cleanup() {
  trap - EXIT INT TERM
  local variable
  for variable in "${BENCH_STOP_ON_EXIT[@]}"; do stop_pid "${!variable:-}"; done
  stop_postgres
  if [ "${KEEP_WORKDIR:-0}" = 1 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}

stop_pid() {
  local pid="${1:-}"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || return 0
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

# write_results_section <file> <heading> <section>: puts <section> (Markdown
# starting with "## <heading>") into <file> in place of the section with the
# same heading, or at the end. For the benchmarks' RESULTS.md.
# benchmark_build_type <build-dir>: prints the build's type (with the
# sanitizers when on) for a benchmark's results, and warns on stderr when it
# is not an optimized build.
benchmark_build_type() {
  local dir="$1" type
  type="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$dir/CMakeCache.txt" 2>/dev/null || true)"
  if [ "$(sed -n 's/^FOURKEYS_SANITIZE:[A-Z]*=//p' "$dir/CMakeCache.txt" 2>/dev/null)" = ON ]; then
    type="$type + ASan/UBSan"
  fi
  case "$type" in
    Release | RelWithDebInfo | MinSizeRel) ;;
    *) log "warning: $dir is a '${type:-?}' build; measure an optimized one (BUILD_DIR)" ;;
  esac
  printf '%s\n' "$type"
}

write_results_section() {
  python3 - "$1" "$2" "$3" <<'PY'
import os, re, sys
path, heading, section = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
pattern = re.compile("## " + re.escape(heading) + r"\n.*?(?=\n## |\Z)", re.S)
if pattern.search(text):
    text = pattern.sub(lambda m: section.strip() + "\n", text)
else:
    text = text.rstrip() + "\n\n" + section.strip() + "\n"
open(path, "w").write(text)
PY
}
