#!/usr/bin/env python3
"""Checks docker-compose.yml, .env.example, docker/, prometheus/ and grafana/
against each other and against the programs, without a Docker engine.

    check_compose.py --root SRC --build-dir BUILD --parser BIN --worker BIN [--sanitized]

What it checks (each failure is printed; the exit status is 1 if any):
  - `docker-compose config` accepts the file with .env.example (and refuses
    it without the required passwords);
  - every variable the file uses is in .env.example, and every variable
    there is used;
  - images: the official ones intended, pinned, or built from a Dockerfile
    stage in the repository;
  - healthchecks, restart policies, depends_on conditions, published ports,
    the worker's scalability;
  - every setting the programs read (their --help) is passed by the
    service, and nothing else named FOURKEYS_*; the broker, database, topic
    and port settings agree with the services they name;
  - Prometheus scrapes both programs at the ports they listen on; Grafana's
    data sources name the right services, user, database and password, and
    every data source the dashboards use is provisioned;
  - the Dockerfile: the build stage installs a subset of scripts/lib.sh's
    packages that provides every header and library the build of the two
    programs used (from this build tree), each runtime stage installs the
    packages that provide every shared library its binary loads, and nothing
    else; non-root users; .dockerignore.

Package questions are answered from this machine's dpkg database, which is
the same Debian release as the images.
"""

import argparse
import glob
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import urllib.parse

try:
    import yaml
except ImportError:  # pragma: no cover
    print("python3-yaml is missing (scripts/lib.sh installs it)", file=sys.stderr)
    sys.exit(1)

# Images docker-compose.yml may pull, per service. Anything else is built
# from a Dockerfile in the repository.
OFFICIAL_IMAGES = {
    "kafka": "apache/kafka",
    "kafka-init": "apache/kafka",
    "postgres": "postgres",
    "prometheus": "prom/prometheus",
    "grafana": "grafana/grafana",
}
BUILT = {"fourkeys-parser": "fourkeys-parser", "fourkeys-worker": "fourkeys-worker"}
ONE_SHOT = {"kafka-init"}
PUBLISHED = {"fourkeys-parser", "grafana"}
REQUIRED_DEPENDS = {
    "kafka-init": {"kafka"},
    "fourkeys-parser": {"kafka", "kafka-init"},
    "fourkeys-worker": {"postgres", "kafka", "kafka-init"},
    "grafana": {"postgres", "prometheus"},
}
# Settings the programs read that the compose file deliberately leaves out.
NOT_PASSED = re.compile(r"_FILE$")
# Names besides the programs' own settings that the services may set.
EXTRA_PROGRAM_ENV = {"fourkeys-parser": {"PARSERS"}, "fourkeys-worker": {"PGPASSWORD"}}
# The worker images' allocator (worker/CMakeLists.txt).
TCMALLOC_PACKAGE = "libtcmalloc-minimal4"
BUILD_TOOLS = {"cmake", "ninja-build", "g++", "pkg-config"}
DEFAULT_BODY_LIMIT = 25 * 1024 * 1024

errors = []


def fail(message):
    errors.append(message)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


# ----------------------------------------------------------------- helpers --

def parse_size(text):
    m = re.fullmatch(r"\s*(\d+)\s*(B|KiB|MiB|GiB|KB|MB|GB|k|K|M|G)?\s*", text or "")
    if not m:
        return None
    mult = {None: 1, "B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3, "KB": 1000, "MB": 1000 ** 2,
            "GB": 1000 ** 3, "k": 1024, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}[m.group(2)]
    return int(m.group(1)) * mult


def env_of(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {k: ("" if v is None else str(v)) for k, v in env.items()}


def port_of_listen(value, default):
    value = value or default
    return int(value.rsplit(":", 1)[1])


def string_leaves(node):
    if isinstance(node, dict):
        for k, v in node.items():
            yield str(k)
            yield from string_leaves(v)
    elif isinstance(node, list):
        for v in node:
            yield from string_leaves(v)
    elif isinstance(node, str):
        yield node


def variables_used(raw):
    names = set()
    for text in string_leaves(raw):
        text = text.replace("$$", "")
        names.update(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
        names.update(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", text))
    return names


def dotenv_keys(path):
    keys = []
    for line in open(path):
        m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)=", line)
        if m:
            keys.append(m.group(1))
    return keys


def volume_mounts(service):
    """(source, target) pairs of a service's volumes in `config` output."""
    out = []
    for v in service.get("volumes") or []:
        if isinstance(v, dict):
            out.append((v.get("source", ""), v.get("target", "")))
        else:
            parts = v.split(":")
            out.append((parts[0], parts[1] if len(parts) > 1 else parts[0]))
    return out


def published_ports(service):
    out = []
    for p in service.get("ports") or []:
        if isinstance(p, dict):
            out.append((str(p.get("published", "")), int(p["target"])))
        else:
            spec = str(p).split("/")[0]
            parts = spec.split(":")
            out.append((parts[-2] if len(parts) > 1 else "", int(parts[-1])))
    return out


def healthcheck_text(service):
    test = (service.get("healthcheck") or {}).get("test")
    if isinstance(test, list):
        return " ".join(str(t) for t in test)
    return str(test or "")


# -------------------------------------------------------------------- dpkg --

class Dpkg:
    """Which installed package owns a file, and what a set of packages pulls in."""

    def __init__(self):
        self.owners = {}
        for listing in glob.glob("/var/lib/dpkg/info/*.list"):
            package = os.path.basename(listing)[:-len(".list")].split(":")[0]
            with open(listing, errors="replace") as f:
                for line in f:
                    self.owners.setdefault(line.rstrip("\n"), set()).add(package)
        self.depends = {}
        self.providers = {}
        self.essential = set()
        out = run(["dpkg-query", "-W", "-f=${Package}\t${Essential}\t${Provides}\t${Depends}\t${Pre-Depends}\t"
                   "${db:Status-Abbrev}\n"]).stdout
        for line in out.splitlines():
            package, essential, provides, depends, predepends, status = (line.split("\t") + [""] * 6)[:6]
            if not status.startswith("ii"):
                continue
            if essential == "yes":
                self.essential.add(package)
            self.depends[package] = self._names(depends + "," + predepends)
            for alts in self._names(provides):
                for name in alts:
                    self.providers.setdefault(name, set()).add(package)

    @staticmethod
    def _names(field):
        groups = []
        for group in field.split(","):
            alts = [re.sub(r"\(.*?\)|:\w+", "", a).strip() for a in group.split("|")]
            alts = [a for a in alts if a]
            if alts:
                groups.append(alts)
        return groups

    def owner(self, path):
        candidates = [path, os.path.realpath(path)]
        for p in list(candidates):
            if p.startswith("/usr/lib/"):
                candidates.append(p[len("/usr"):])
            elif p.startswith("/lib/") or p.startswith("/lib64/"):
                candidates.append("/usr" + p)
        for p in candidates:
            if p in self.owners:
                return self.owners[p]
        return set()

    def closure(self, roots):
        seen = set()
        todo = [r for r in roots]
        while todo:
            package = todo.pop()
            if package in seen:
                continue
            seen.add(package)
            for alts in self.depends.get(package, []):
                for name in alts:
                    if name in self.depends:
                        todo.append(name)
                    todo.extend(self.providers.get(name, ()))
        return seen

    def base_image(self):
        # debian:bookworm-slim: the Essential packages and apt, with their
        # dependencies.
        return self.closure(self.essential | {"apt"})


# ------------------------------------------------------------- Dockerfile --

class Stage:
    def __init__(self, base, name):
        self.base, self.name = base, name
        self.packages = []
        self.runs = []
        self.copies = []
        self.user = None
        self.entrypoint = None


def parse_dockerfile(path):
    text = open(path).read()
    text = re.sub(r"\\\n", " ", text)
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            stages.append(Stage(m.group(1), m.group(2) or str(len(stages))))
        elif not stages:
            continue
        elif word == "RUN":
            stages[-1].runs.append(rest)
            for m in re.finditer(r"apt-get\s+install\s+(.*?)(?:&&|;|$)", rest):
                stages[-1].packages += [t for t in m.group(1).split() if not t.startswith("-")]
        elif word == "COPY":
            stages[-1].copies.append(rest)
        elif word == "USER":
            stages[-1].user = rest.strip()
        elif word == "ENTRYPOINT":
            stages[-1].entrypoint = rest.strip()
    return stages


def lib_sh_packages(root):
    out = run(["bash", "-c", 'source scripts/lib.sh && printf "%s\\n" "${FOURKEYS_PACKAGES[@]}"'], cwd=root)
    if out.returncode != 0:
        fail("cannot read FOURKEYS_PACKAGES from scripts/lib.sh: " + out.stderr.strip())
        return set()
    return set(out.stdout.split())


def ldd(binary):
    """{soname: resolved path} of every shared library the binary loads."""
    out = run(["ldd", binary])
    libs = {}
    for line in out.stdout.splitlines():
        m = re.match(r"\s*(\S+)\s+=>\s+(\S+)", line)
        if m and m.group(2).startswith("/"):
            libs[m.group(1)] = m.group(2)
        elif m:
            fail(f"{binary}: {m.group(1)} not found by ldd")
    return libs


def needed(binary):
    out = run(["readelf", "-d", binary]).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out)


def check_runtime_stage(stage, binary, dpkg, base, sanitized, unused_ok=frozenset()):
    """unused_ok: packages the stage may install though this build's binary
    loads none of their libraries (the images link what this build did not)."""
    where = f"docker/Dockerfile stage {stage.name}"
    listed = set(stage.packages)
    for p in listed:
        if p.endswith("-dev") or p in BUILD_TOOLS:
            fail(f"{where}: installs {p}, a build package, in a runtime image")
    if not stage.user or stage.user.split(":")[0] in ("root", "0"):
        fail(f"{where}: runs as root (USER {stage.user})")
    if sanitized:
        # A sanitizer (Debug) build links differently from the images' build,
        # so its libraries say nothing about theirs; the plain build's run of
        # this check compares them.
        print(f"{where}: shared libraries not compared (sanitizer build)")
        return
    libs = ldd(binary)
    closure = dpkg.closure(listed)
    used = set()
    for soname, path in libs.items():
        owners = dpkg.owner(path)
        if not owners:
            fail(f"{where}: no Debian package owns {path} ({soname}, loaded by {os.path.basename(binary)})")
            continue
        used |= owners
        if not owners & (closure | base):
            fail(f"{where}: {soname} ({'/'.join(sorted(owners))}) is loaded by {os.path.basename(binary)} "
                 f"but the stage installs no package that provides it")
    for soname in needed(binary):
        owners = dpkg.owner(libs.get(soname, ""))
        if owners and not owners & (listed | base):
            fail(f"{where}: {os.path.basename(binary)} links {soname} directly; install "
                 f"{'/'.join(sorted(owners))} explicitly rather than through another package's dependencies")
    for p in sorted(listed - used - unused_ok):
        fail(f"{where}: installs {p}, which provides none of the libraries {os.path.basename(binary)} loads")
    print(f"{where}: {len(libs)} shared libraries of {os.path.basename(binary)} checked")


def check_build_stage(stage, root, build_dir, dpkg, allowed):
    where = f"docker/Dockerfile stage {stage.name}"
    listed = set(stage.packages)
    for p in sorted(listed - allowed):
        fail(f"{where}: installs {p}, which scripts/lib.sh FOURKEYS_PACKAGES does not list")
    for tool in sorted(BUILD_TOOLS - listed):
        fail(f"{where}: does not install {tool}")
    commands = " ".join(stage.runs)
    if "-DFOURKEYS_BUILD_TESTS=OFF" not in commands:
        fail(f"{where}: the CMake configure step does not pass -DFOURKEYS_BUILD_TESTS=OFF")
    m = re.search(r"(?:^|[\s;&])ninja\s+(-C\s+[^&;]*)", commands)
    targets = set(m.group(1).split()) if m else set()
    for t in ("fourkeys-parser", "fourkeys-worker"):
        if t not in targets:
            fail(f"{where}: ninja does not build {t}")
    # The image's configure step, tests off: everything CMake finds must come
    # from a package the stage installs (a find_package added to the tree
    # without its package in the Dockerfile fails here, not in docker build).
    with tempfile.TemporaryDirectory(prefix="fourkeys-image-configure-") as tmp:
        out = run(["cmake", "-S", root, "-B", tmp, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                   "-DFOURKEYS_BUILD_TESTS=OFF", "-DFOURKEYS_WERROR=OFF", "-DFOURKEYS_SANITIZE=OFF"])
        if out.returncode != 0:
            fail(f"{where}: CMake cannot configure the tree with -DFOURKEYS_BUILD_TESTS=OFF:\n{out.stderr.strip()}")
        else:
            closure = dpkg.closure(listed)
            for line in open(os.path.join(tmp, "CMakeCache.txt")):
                m = re.match(r"([^:#\s]+):(?:PATH|FILEPATH)=(/usr/\S+)$", line.strip())
                if not m or m.group(1) == "CCACHE_PROGRAM":  # optional: the image builds without ccache
                    continue
                owners = dpkg.owner(m.group(2))
                if owners and not owners & closure:
                    fail(f"{where}: CMake finds {m.group(1)}={m.group(2)} from {'/'.join(sorted(owners))}, "
                         "which the stage does not install")
    if not os.path.exists(os.path.join(build_dir, "build.ninja")):
        print(f"note: {build_dir} is not a Ninja build; the build stage's headers and libraries are not checked")
        return
    inputs = run(["ninja", "-C", build_dir, "-t", "inputs", "fourkeys-parser", "fourkeys-worker"])
    if inputs.returncode != 0:
        fail("ninja -t inputs failed: " + inputs.stderr.strip())
        return
    files = inputs.stdout.split()
    objects = [f for f in files if f.endswith(".o")]
    used = {f for f in files if f.startswith("/usr/")}
    deps = run(["ninja", "-C", build_dir, "-t", "deps"] + objects)
    for line in deps.stdout.splitlines():
        if "deps not found" in line:
            fail(f"{build_dir}: no dependency information for {line.split(':')[0]} (build it first)")
        path = line.strip()
        if line.startswith("    ") and path.startswith("/usr/"):
            used.add(path)
    if len(used) < 20:
        fail(f"{build_dir}: found only {len(used)} system headers and libraries for the two programs; "
             "is the tree built?")
    closure = dpkg.closure(listed)
    missing = {}
    for path in sorted(used):
        owners = dpkg.owner(path)
        if not owners:
            continue  # generated or local files outside any package
        if not owners & closure:
            missing.setdefault("/".join(sorted(owners)), path)
    for owners, path in sorted(missing.items()):
        fail(f"{where}: the build uses {path} from {owners}, which the stage does not install")
    print(f"{where}: {len(used)} system headers and libraries of the two programs' build checked")


# ------------------------------------------------------------------ checks --

def check_compose(root, args):
    compose_path = os.path.join(root, "docker-compose.yml")
    env_example = os.path.join(root, ".env.example")
    clean_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    cmd = ["docker-compose", "-f", "docker-compose.yml", "--env-file", ".env.example", "config"]
    try:
        # A clean environment: variables of the caller's shell would win over
        # .env.example's.
        out = run(cmd, cwd=root, env=clean_env)
    except FileNotFoundError:
        fail("docker-compose is not installed (Debian's docker-compose; scripts/lib.sh installs it)")
        return None
    if out.returncode != 0:
        fail("docker-compose config failed:\n" + out.stderr.strip())
        return None
    resolved = yaml.safe_load(out.stdout)
    raw = yaml.safe_load(open(compose_path))

    # Without a password the file must be refused, not run with a blank one.
    for secret in ("POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD"):
        with tempfile.NamedTemporaryFile("w", suffix=".env", delete=False) as f:
            for line in open(env_example):
                if not line.startswith(secret + "="):
                    f.write(line)
            stripped = f.name
        try:
            out = run(["docker-compose", "-f", "docker-compose.yml", "--env-file", stripped, "config"],
                      cwd=root, env=clean_env)
            if out.returncode == 0:
                fail(f"docker-compose config accepts an .env without {secret}")
        finally:
            os.unlink(stripped)

    documented = dotenv_keys(env_example)
    for k in sorted({k for k in documented if documented.count(k) > 1}):
        fail(f".env.example: {k} is set twice")
    used = variables_used(raw)
    for v in sorted(used - set(documented)):
        fail(f"docker-compose.yml uses ${{{v}}}, which .env.example does not document")
    for v in sorted(set(documented) - used):
        fail(f".env.example documents {v}, which docker-compose.yml does not use")
    return resolved, raw


def check_services(root, resolved, raw, programs):
    services = resolved.get("services", {})
    raw_services = raw.get("services", {})
    for name in set(OFFICIAL_IMAGES) | set(BUILT):
        if name not in services:
            fail(f"docker-compose.yml has no service {name}")
    for name, svc in services.items():
        where = f"service {name}"
        if "build" in svc:
            build = svc["build"]
            context = build.get("context", ".") if isinstance(build, dict) else build
            dockerfile = os.path.join(context, build.get("dockerfile", "Dockerfile") if isinstance(build, dict)
                                      else "Dockerfile")
            if os.path.realpath(context) != os.path.realpath(root):
                fail(f"{where}: build context {context} is not the repository")
            if not os.path.isfile(dockerfile):
                fail(f"{where}: {dockerfile} does not exist")
            else:
                stages = {s.name for s in parse_dockerfile(dockerfile)}
                target = build.get("target") if isinstance(build, dict) else None
                if target not in stages:
                    fail(f"{where}: build target {target} is not a stage of {dockerfile}")
                if name in BUILT and target != BUILT[name]:
                    fail(f"{where}: builds {target}, expected {BUILT[name]}")
        else:
            image = svc.get("image", "")
            repo, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
            if name not in OFFICIAL_IMAGES:
                fail(f"{where}: image {image} is neither one of {sorted(set(OFFICIAL_IMAGES.values()))} "
                     "nor built from the repository")
            elif repo != OFFICIAL_IMAGES[name]:
                fail(f"{where}: image {image}, expected {OFFICIAL_IMAGES[name]}")
            if not tag or tag == "latest":
                fail(f"{where}: image {image} is not pinned to a version")
        restart = svc.get("restart")
        if name in ONE_SHOT:
            if restart not in ("on-failure", "no"):
                fail(f"{where}: a one-shot service needs restart: on-failure (has {restart})")
        else:
            if restart not in ("unless-stopped", "always"):
                fail(f"{where}: restart policy {restart}, expected unless-stopped")
            hc = svc.get("healthcheck") or {}
            if not hc.get("test") or hc.get("disable") or healthcheck_text(svc).strip() in ("NONE", ""):
                fail(f"{where}: no healthcheck")
        depends = svc.get("depends_on") or {}
        if isinstance(depends, list):
            fail(f"{where}: depends_on without conditions")
            depends = {d: {} for d in depends}
        for dep, spec in depends.items():
            cond = (spec or {}).get("condition")
            if dep not in services:
                fail(f"{where}: depends on unknown service {dep}")
            elif dep in ONE_SHOT:
                if cond != "service_completed_successfully":
                    fail(f"{where}: waits for one-shot {dep} with {cond}, expected service_completed_successfully")
            elif cond != "service_healthy":
                fail(f"{where}: waits for {dep} with {cond}, expected service_healthy")
        for dep in REQUIRED_DEPENDS.get(name, ()):
            if dep not in depends:
                fail(f"{where}: does not wait for {dep}")
        ports = svc.get("ports") or []
        if ports and name not in PUBLISHED:
            fail(f"{where}: publishes ports; only {sorted(PUBLISHED)} should")
        if name in PUBLISHED:
            if not ports:
                fail(f"{where}: publishes no port")
            for p in raw_services.get(name, {}).get("ports") or []:
                if "${" not in str(p):
                    fail(f"{where}: host port {p} is not taken from .env")
    worker = raw_services.get("fourkeys-worker", {})
    for key in ("container_name", "ports", "hostname"):
        if key in worker:
            fail(f"service fourkeys-worker: has {key}, which breaks --scale fourkeys-worker=N")

    # The programs' settings.
    for name, binary in programs.items():
        svc = services.get(name, {})
        env = env_of(svc)
        reads = set(re.findall(r"\(Env:([A-Z0-9_]+)\)", run([binary, "--help"]).stdout))
        if not reads:
            fail(f"{binary} --help lists no environment variables")
            continue
        for v in sorted(reads):
            if v not in env and not NOT_PASSED.search(v):
                fail(f"service {name}: does not pass {v}, which {os.path.basename(binary)} reads")
        for v in sorted(env):
            if v not in reads and v not in EXTRA_PROGRAM_ENV.get(name, set()):
                fail(f"service {name}: sets {v}, which {os.path.basename(binary)} does not read")
    parser_env = env_of(services.get("fourkeys-parser", {}))
    for v in ("FOURKEYS_PARSERS", "PARSERS"):
        if v not in parser_env:
            fail(f"service fourkeys-parser: does not pass {v}")
    return services


def check_wiring(services):
    parser, worker = services.get("fourkeys-parser", {}), services.get("fourkeys-worker", {})
    penv, wenv = env_of(parser), env_of(worker)
    kafka_env = env_of(services.get("kafka", {}))
    advertised = kafka_env.get("KAFKA_ADVERTISED_LISTENERS", "")
    for name, env in (("fourkeys-parser", penv), ("fourkeys-worker", wenv)):
        brokers = env.get("FOURKEYS_KAFKA_BROKERS", "")
        for broker in filter(None, brokers.split(",")):
            host, _, port = broker.rpartition(":")
            if host not in services:
                fail(f"service {name}: FOURKEYS_KAFKA_BROKERS names {host}, not a service")
            elif f"://{host}:{port}" not in advertised:
                fail(f"service {name}: Kafka at {broker}, but kafka advertises {advertised}")
        if not brokers:
            fail(f"service {name}: FOURKEYS_KAFKA_BROKERS is not set")

    # Topics: both programs and kafka-init agree.
    init = services.get("kafka-init", {})
    ienv = env_of(init)
    command = " ".join(init.get("command") or []) if isinstance(init.get("command"), list) else str(
        init.get("command", ""))
    command = command.replace("$$", "$")
    defaults = {"FOURKEYS_EVENTS_TOPIC": "fourkeys.events.v1", "FOURKEYS_DEADLETTER_TOPIC": "fourkeys.deadletter.v1"}
    for setting, init_var in (("FOURKEYS_EVENTS_TOPIC", "EVENTS_TOPIC"), ("FOURKEYS_DEADLETTER_TOPIC", "DEADLETTER_TOPIC")):
        values = {penv.get(setting) or defaults[setting], wenv.get(setting) or defaults[setting]}
        if len(values) != 1:
            fail(f"{setting} differs between the receiver and the worker: {sorted(values)}")
        if ienv.get(init_var) not in values:
            fail(f"kafka-init creates {init_var}={ienv.get(init_var)}, the programs use {sorted(values)}")
        if f"${init_var}" not in command:
            fail(f"kafka-init's command does not create ${init_var}")
    for needle in ("kafka-$1.sh", "--create", "--if-not-exists", "--partitions", "max.message.bytes"):
        if needle not in command:
            fail(f"kafka-init's command lacks {needle}")
    try:
        partitions = int(ienv.get("PARTITIONS", "0"))
        expected = int(penv.get("FOURKEYS_EXPECTED_PARTITIONS") or 1)
        if partitions < 1 or expected > partitions:
            fail(f"kafka-init makes {partitions} partitions; the receiver expects {expected}")
        max_bytes = int(ienv.get("MAX_MESSAGE_BYTES", "0"))
        body = parse_size(penv.get("FOURKEYS_BODY_LIMIT")) if penv.get("FOURKEYS_BODY_LIMIT") else DEFAULT_BODY_LIMIT
        if body is None or max_bytes < body + 1024 * 1024:
            fail(f"kafka-init's max.message.bytes {max_bytes} is below FOURKEYS_BODY_LIMIT plus 1 MiB")
    except ValueError as e:
        fail(f"kafka-init: {e}")

    # Postgres: the worker's URI names the service, user and database.
    pg = env_of(services.get("postgres", {}))
    url = urllib.parse.urlsplit(wenv.get("FOURKEYS_DATABASE_URL", ""))
    if url.hostname != "postgres" or (url.port or 5432) != 5432:
        fail(f"FOURKEYS_DATABASE_URL names {url.hostname}:{url.port}, expected the postgres service on 5432")
    if url.username != pg.get("POSTGRES_USER") or url.path.lstrip("/") != pg.get("POSTGRES_DB"):
        fail("FOURKEYS_DATABASE_URL's user or database differs from the postgres service's")
    password = urllib.parse.unquote(url.password) if url.password else wenv.get("PGPASSWORD")
    if not password or password != pg.get("POSTGRES_PASSWORD"):
        fail("the worker's Postgres password (URI or PGPASSWORD) is not the postgres service's")

    # Healthchecks of the programs ask the port they listen on.
    for name, env, setting, default in (("fourkeys-parser", penv, "FOURKEYS_PARSER_LISTEN", "0.0.0.0:8080"),
                                        ("fourkeys-worker", wenv, "FOURKEYS_WORKER_LISTEN", "0.0.0.0:8090")):
        port = port_of_listen(env.get(setting), default)
        text = healthcheck_text(services.get(name, {}))
        if not re.search(rf"\b{port}\b", text) or "http-health" not in text:
            fail(f"service {name}: healthcheck ({text}) does not ask port {port} with docker/http-health")
    for published, target in published_ports(parser):
        if target != port_of_listen(penv.get("FOURKEYS_PARSER_LISTEN"), "0.0.0.0:8080"):
            fail(f"service fourkeys-parser: publishes container port {target}; it listens elsewhere")


def check_prometheus(root, services):
    prom = services.get("prometheus", {})
    command = prom.get("command") or []
    if isinstance(command, str):
        command = shlex.split(command)
    config_in_container = "/etc/prometheus/prometheus.yml"
    listen = 9090
    for arg in command:
        if arg.startswith("--config.file="):
            config_in_container = arg.split("=", 1)[1]
        if arg.startswith("--web.listen-address="):
            listen = int(arg.rsplit(":", 1)[1])
    host_file = os.path.join(root, "prometheus", "prometheus.yml")
    if (os.path.realpath(host_file), config_in_container) not in \
            [(os.path.realpath(s), t) for s, t in volume_mounts(prom)]:
        fail(f"service prometheus: does not mount prometheus/prometheus.yml at {config_in_container}")
    try:
        config = yaml.safe_load(open(host_file))
    except Exception as e:  # noqa: BLE001
        fail(f"prometheus/prometheus.yml does not parse: {e}")
        return None
    targets = {}  # host -> (port, discovered by DNS)
    for job in config.get("scrape_configs") or []:
        if job.get("metrics_path", "/metrics") != "/metrics":
            fail(f"prometheus job {job.get('job_name')}: metrics_path {job.get('metrics_path')}")
        for sc in job.get("static_configs") or []:
            for t in sc.get("targets") or []:
                host, _, port = t.rpartition(":")
                targets.setdefault(host, []).append((int(port), False))
        for dc in job.get("dns_sd_configs") or []:
            if dc.get("type", "SRV") != "A" or "port" not in dc:
                fail(f"prometheus job {job.get('job_name')}: DNS discovery must be type A with a port")
            for n in dc.get("names") or []:
                targets.setdefault(n, []).append((int(dc.get("port", 0)), True))
    for host in targets:
        if host not in services and host != "localhost":
            fail(f"prometheus scrapes {host}, which is not a compose service")
    expected = {"fourkeys-parser": port_of_listen(env_of(services.get("fourkeys-parser", {})).get(
                    "FOURKEYS_PARSER_LISTEN"), "0.0.0.0:8080"),
                "fourkeys-worker": port_of_listen(env_of(services.get("fourkeys-worker", {})).get(
                    "FOURKEYS_WORKER_LISTEN"), "0.0.0.0:8090")}
    for host, port in expected.items():
        found = targets.get(host, [])
        if not any(p == port for p, _ in found):
            fail(f"prometheus does not scrape {host}:{port} (has {found})")
    if not any(dns for _, dns in targets.get("fourkeys-worker", [])):
        fail("prometheus finds the workers by a fixed target: with --scale only one of them would be scraped")
    return {"listen": listen, "interval": (config.get("global") or {}).get("scrape_interval", "1m")}


def check_grafana(root, services, prometheus):
    graf = services.get("grafana", {})
    genv = env_of(graf)
    pg = env_of(services.get("postgres", {}))
    mounts = {t: os.path.realpath(s) for s, t in volume_mounts(graf)}
    prov = "/etc/grafana/provisioning"
    ds_file = os.path.join(root, "grafana/provisioning/datasources/datasources.yaml")
    db_file = os.path.join(root, "grafana/provisioning/dashboards/dashboards.yaml")
    for sub in ("datasources", "dashboards"):
        src = os.path.realpath(os.path.join(root, "grafana/provisioning", sub))
        if mounts.get(f"{prov}/{sub}") != src and mounts.get(prov) != os.path.dirname(src):
            fail(f"service grafana: does not mount grafana/provisioning/{sub} at {prov}/{sub}")
    if genv.get("GF_AUTH_ANONYMOUS_ORG_ROLE") != "Viewer":
        fail("service grafana: anonymous visitors must be Viewers")
    try:
        datasources = yaml.safe_load(open(ds_file)).get("datasources") or []
        providers = yaml.safe_load(open(db_file)).get("providers") or []
    except Exception as e:  # noqa: BLE001
        fail(f"grafana provisioning files do not parse: {e}")
        return
    uids = {}
    for ds in datasources:
        uids[ds.get("uid")] = ds.get("type")
        url = ds.get("url", "")
        if ds.get("type") == "postgres":
            host, _, port = url.rpartition(":")
            if host not in services or port != "5432" or host != "postgres":
                fail(f"grafana data source {ds.get('name')}: url {url}, expected postgres:5432")
            if ds.get("user") != pg.get("POSTGRES_USER"):
                fail(f"grafana data source {ds.get('name')}: user {ds.get('user')}, Postgres has "
                     f"{pg.get('POSTGRES_USER')}")
            if (ds.get("jsonData") or {}).get("database") != pg.get("POSTGRES_DB"):
                fail(f"grafana data source {ds.get('name')}: database differs from POSTGRES_DB")
            secret = (ds.get("secureJsonData") or {}).get("password", "")
            m = re.fullmatch(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", secret)
            if not m:
                fail(f"grafana data source {ds.get('name')}: the password is not taken from the environment")
            elif genv.get(m.group(1)) != pg.get("POSTGRES_PASSWORD"):
                fail(f"grafana data source {ds.get('name')}: ${m.group(1)} in the grafana service is not "
                     "the postgres service's password")
        elif ds.get("type") == "prometheus":
            u = urllib.parse.urlsplit(url)
            if u.hostname != "prometheus" or "prometheus" not in services or \
                    (prometheus and u.port != prometheus["listen"]):
                fail(f"grafana data source {ds.get('name')}: url {url}, expected the prometheus service")
            interval = (ds.get("jsonData") or {}).get("timeInterval")
            if prometheus and interval and interval != prometheus["interval"]:
                fail(f"grafana data source {ds.get('name')}: timeInterval {interval}, Prometheus scrapes every "
                     f"{prometheus['interval']}")
    dash_dir = os.path.realpath(os.path.join(root, "grafana/dashboards"))
    for p in providers:
        path = (p.get("options") or {}).get("path")
        if mounts.get(path) != dash_dir:
            fail(f"grafana dashboard provider {p.get('name')}: reads {path}, where grafana/dashboards is not mounted")
    home = genv.get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        base = next((t for t, s in mounts.items() if s == dash_dir), None)
        if not base or not home.startswith(base + "/") or \
                not os.path.isfile(os.path.join(dash_dir, home[len(base) + 1:])):
            fail(f"service grafana: home dashboard {home} is not one of grafana/dashboards")
    builtin = {"-- Grafana --", "grafana", "-- Mixed --", "-- Dashboard --"}

    def refs(node):
        if isinstance(node, dict):
            ds = node.get("datasource")
            if isinstance(ds, dict) and "uid" in ds:
                yield ds
            for v in node.values():
                yield from refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from refs(v)

    dashboards = glob.glob(os.path.join(root, "grafana/dashboards/*.json"))
    if not dashboards:
        fail("grafana/dashboards has no dashboard")
    for path in dashboards:
        try:
            dash = json.load(open(path))
        except Exception as e:  # noqa: BLE001
            fail(f"{path} does not parse: {e}")
            continue
        for ds in refs(dash):
            uid = str(ds.get("uid"))
            if uid in builtin or uid.startswith("$"):
                continue
            if uid not in uids:
                fail(f"{os.path.basename(path)}: uses data source uid {uid}, which is not provisioned")
            elif ds.get("type") and ds.get("type") != uids[uid]:
                fail(f"{os.path.basename(path)}: data source {uid} as {ds.get('type')}, provisioned as {uids[uid]}")


def check_docker(root, build_dir, services, programs, sanitized, worker_heap="tcmalloc"):
    dockerfile = os.path.join(root, "docker", "Dockerfile")
    stages = {s.name: s for s in parse_dockerfile(dockerfile)}
    dpkg = Dpkg()
    base = dpkg.base_image()
    allowed = lib_sh_packages(root)
    build_stages = set()
    for name, binary in programs.items():
        svc = services.get(name, {})
        target = (svc.get("build") or {}).get("target")
        stage = stages.get(target)
        if stage is None:
            continue  # reported with the services
        if stage.base != "debian:bookworm-slim":
            fail(f"docker/Dockerfile stage {target}: based on {stage.base}, expected debian:bookworm-slim")
        program = os.path.basename(binary)
        copied = [c for c in stage.copies if c.startswith("--from=") and program in c]
        if not copied:
            fail(f"docker/Dockerfile stage {target}: does not copy {program} from the build stage")
        else:
            build_stages.add(copied[0].split()[0].split("=", 1)[1])
        if not stage.entrypoint or program not in stage.entrypoint:
            fail(f"docker/Dockerfile stage {target}: does not run {program}")
        health = healthcheck_text(svc).split()
        script = next((h for h in health if "http-health" in h), None)
        if script:
            if not any(c.split()[-1] == script and "docker/http-health" in c for c in stage.copies):
                fail(f"docker/Dockerfile stage {target}: does not install {script} used by the healthcheck")
            if not os.access(os.path.join(root, "docker", "http-health"), os.X_OK):
                fail("docker/http-health is not executable")
        # The images' worker links tcmalloc (its build stage installs it); a
        # build configured without it still checks the rest of the stage.
        unused_ok = {TCMALLOC_PACKAGE} if name == "fourkeys-worker" and worker_heap != "tcmalloc" else set()
        check_runtime_stage(stage, binary, dpkg, base, sanitized, unused_ok)
    for name in sorted(build_stages):
        stage = stages.get(name)
        if stage is None:
            fail(f"docker/Dockerfile: copies from unknown stage {name}")
            continue
        if stage.base != "debian:bookworm-slim":
            fail(f"docker/Dockerfile stage {name}: based on {stage.base}, expected debian:bookworm-slim")
        check_build_stage(stage, root, build_dir, dpkg, allowed)
    for stage in stages.values():
        for c in stage.copies:
            words = [w for w in shlex.split(c) if not w.startswith("--")]
            if c.startswith("--from=") or len(words) < 2:
                continue
            for source in words[:-1]:
                if source != "." and not os.path.exists(os.path.join(root, source)):
                    fail(f"docker/Dockerfile stage {stage.name}: copies {source}, which does not exist")
    ignore_path = os.path.join(root, ".dockerignore")
    ignored = [l.strip() for l in open(ignore_path)] if os.path.exists(ignore_path) else []
    for needed_pattern in ("build", "build-*", ".ccache", ".fourkeys", "**/node_modules"):
        if needed_pattern not in ignored:
            fail(f".dockerignore does not exclude {needed_pattern}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--parser", required=True)
    ap.add_argument("--worker", required=True)
    ap.add_argument("--sanitized", action="store_true", help="a sanitizer build: its binaries' libraries are not compared with the images'")
    ap.add_argument("--worker-heap", default="tcmalloc",
                    help="the allocator this build's worker links (worker/CMakeLists.txt); the images' links tcmalloc")
    args = ap.parse_args()
    root = os.path.realpath(args.root)
    programs = {"fourkeys-parser": args.parser, "fourkeys-worker": args.worker}
    for p in programs.values():
        if not os.access(p, os.X_OK):
            fail(f"{p} is not built")
    if not errors:
        result = check_compose(root, args)
        if result:
            resolved, raw = result
            services = check_services(root, resolved, raw, programs)
            check_wiring(services)
            prometheus = check_prometheus(root, services)
            check_grafana(root, services, prometheus)
            check_docker(root, args.build_dir, services, programs, args.sanitized, args.worker_heap)
    unique = list(dict.fromkeys(errors))
    for e in unique:
        print("FAIL: " + e)
    if errors:
        print(f"{len(unique)} problem(s) in docker-compose.yml, .env.example, docker/, prometheus/ or grafana/")
        return 1
    print("docker-compose.yml, .env.example, docker/, prometheus/ and grafana/ agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
