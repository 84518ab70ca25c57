#!/usr/bin/env python3
"""Builds the fuzz targets' seed corpora (scripts/fuzz).

Reads the shared webhook fixtures at run time (they are never copied into the
repository) and writes, per target, inputs in the form the target reads (see
fuzz_support.h: header lines, an empty line, the body), then adds the
regression inputs kept in tests/corpus/<target>/.

    seed_corpus.py --fixtures ../shared/fixtures --corpus tests/corpus --out DIR

DIR/<target>/ is created or topped up; files are named by content hash, so
rerunning adds nothing twice. The decoder's seeds (published envelopes) come
from running the normalizer targets on their corpora; scripts/fuzz does that.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import urllib.parse
from pathlib import Path

GITLAB_EVENTS = {
    "push": "Push Hook", "tag_push": "Tag Push Hook", "merge_request": "Merge Request Hook",
    "pipeline": "Pipeline Hook", "job": "Job Hook", "deployment": "Deployment Hook",
    "issue": "Issue Hook", "release": "Release Hook",
}
# Times in the fixtures look like these; each distinct one is a parse_time seed.
TIME_RE = re.compile(r'"(\d{4}-\d\d-\d\d[T ][^"]{4,40})"')


def request(headers, body: bytes) -> bytes:
    head = "".join(f"{name}: {value}\n" for name, value in headers)
    return head.encode() + b"\n" + body


def write(out: Path, target: str, data: bytes):
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def fixture_files(fixtures: Path, source: str):
    return sorted(p for p in (fixtures / source).rglob("*.json") if p.is_file())


def github(fixtures, out):
    for p in fixture_files(fixtures, "github"):
        event, body = p.parent.name, p.read_bytes()
        base = [("X-GitHub-Event", event), ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")]
        write(out, "normalize_github", request(base + [("Content-Type", "application/json")], body))
        form = b"payload=" + urllib.parse.quote_plus(body).encode()
        write(out, "normalize_github",
              request(base + [("Content-Type", "application/x-www-form-urlencoded")], form))
        write(out, "github_signature", request([("X-Hub-Signature-256", "sha256=$SHA256")], body))
    sample = (fixtures / "github/ping/ping.octokit.json").read_bytes()
    for headers in ([("X-Hub-Signature-256", "SHA256=$SHA256  ")], [("X-Hub-Signature", "sha1=$SHA1")],
                    [("X-Hub-Signature-256", "sha256=00"), ("X-Hub-Signature", "sha1=$SHA1")], []):
        write(out, "github_signature", request(headers, sample))


def gitlab(fixtures, out):
    for p in fixture_files(fixtures, "gitlab"):
        headers = [("Content-Type", "application/json"), ("X-Gitlab-Event-UUID", "13792a34-cac6-4fda-95a8-c58e00a3954e")]
        if p.parent.name in GITLAB_EVENTS:
            headers.insert(0, ("X-Gitlab-Event", GITLAB_EVENTS[p.parent.name]))
        write(out, "normalize_gitlab", request(headers, p.read_bytes()))


def pagerduty(fixtures, out):
    for i, p in enumerate(fixture_files(fixtures, "pagerduty")):
        headers = [("Content-Type", "application/json")]
        if i % 2:
            headers.append(("X-Webhook-Id", "6ca8b1a3-7c18-4d2f-8e25-0f6b1c1e5d2a"))
        body = p.read_bytes()
        write(out, "normalize_pagerduty", request(headers, body))
        write(out, "pagerduty_signature", b"v1=$A\n" + body)
        write(out, "pagerduty_signature", b"v1=0c0b9495, v1=$B,v2=abc\n" + body)


def cdevents(fixtures, out):
    for p in fixture_files(fixtures, "cdevents"):
        body = p.read_bytes()
        write(out, "normalize_cdevents", request([("Content-Type", "application/json")], body))
        context = json.loads(body).get("context", {})
        attributes = {"id": context.get("id", "1"), "type": context.get("type", ""),
                      "source": context.get("source", "/"), "time": context.get("timestamp", "")}
        binary = [("Content-Type", "application/json"), ("ce-specversion", "1.0")]
        binary += [(f"ce-{k}", v) for k, v in attributes.items()]
        write(out, "normalize_cdevents", request(binary, body))
        structured = dict(specversion="1.0", datacontenttype="application/json", **attributes)
        structured["data"] = json.loads(body)
        write(out, "normalize_cdevents",
              request([("Content-Type", "application/cloudevents+json")], json.dumps(structured).encode()))


def times(fixtures, out):
    seen = set()
    for p in sorted(fixtures.rglob("*.json")):
        for m in TIME_RE.finditer(p.read_text(errors="replace")):
            seen.add(m.group(1))
    for t in sorted(seen):
        write(out, "parse_time", t.encode())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fixtures", required=True, type=Path)
    ap.add_argument("--corpus", required=True, type=Path, help="tests/corpus")
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    for build in (github, gitlab, pagerduty, cdevents, times):
        build(args.fixtures, args.out)
    for kept in sorted(p for p in args.corpus.glob("*/*") if p.is_file()):
        write(args.out, kept.parent.name, kept.read_bytes())


if __name__ == "__main__":
    main()
