#!/usr/bin/env bash
# How fast a lookup fails with the network off: `getent hosts NAME` (a process per lookup) and
# getaddrinfo(NAME) in a loop, inside one box, for a name nobody resolves, next to the same for
# `localhost` (answered from /etc/hosts, no DNS at all) as the baseline, in one run:
#   - namespaces: the stub resolver on the box's own loopback answers NXDOMAIN;
#   - fallback (no namespaces, `--simulate-kernel userns=off`): seccomp refuses the UDP socket.
# Prints a markdown table (medians and p99 in microseconds, and the ratio to the baseline), then
# how long a failed `npm install` and `pip download` take with the box's settings and with the
# tools' own retry defaults (when npm and pip are installed).
# Needs python3 and getent. Nothing leaves the box's loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin agentbox
BIN="$PWD/target/release/agentbox"
N="${N:-300}"
ws="$(mktemp -d /var/tmp/agentbox-bench-XXXXXX)"
trap 'rm -rf "$ws"' EXIT
mkdir "$ws/repo" && cd "$ws/repo" && git init -q
cat >loop.py <<'PY'
import socket, subprocess, sys, time
mode, n = sys.argv[1], int(sys.argv[2])
name = "bench-nobody-resolves.invalid"
def getent(host):
    t = time.perf_counter_ns()
    subprocess.run(["getent", "hosts", host], stdout=subprocess.DEVNULL)
    return time.perf_counter_ns() - t
def gai(host):
    t = time.perf_counter_ns()
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        pass
    return time.perf_counter_ns() - t
for kind, f in (("getent", getent), ("getaddrinfo", gai)):
    for host, label in (("localhost", "localhost (/etc/hosts)"), (name, "unknown name")):
        s = sorted(f(host) for _ in range(n))
        print(f"{mode}\t{kind}\t{label}\t{s[n // 2] / 1000:.1f}\t{s[n * 99 // 100] / 1000:.1f}")
PY
{
    "$BIN" run -q -- python3 loop.py namespaces "$N"
    "$BIN" run -q --simulate-kernel userns=off -- python3 loop.py fallback "$N"
} >"$ws/samples.tsv"
# What a person waits for when a package manager cannot reach its registry, once each: with
# the box's settings (no retries with the network off) and with the tools' own defaults
# restored inside the box (their retries and back-off), when npm and pip are installed.
echo '{"name":"b","version":"1.0.0","dependencies":{"left-pad":"1.3.0"}}' >package.json
once() {
    local t0 t1
    t0=$(date +%s%N)
    "$BIN" run -q -- "$@" >/dev/null 2>&1 || true
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}
{
    if command -v npm >/dev/null; then
        printf 'npm install (one dependency)\t%s\t%s\n' \
            "$(once npm install --no-audit --no-fund)" \
            "$(once env npm_config_fetch_retries=2 npm install --no-audit --no-fund)"
    fi
    if python3 -m pip --version >/dev/null 2>&1; then
        printf 'pip download (one package)\t%s\t%s\n' \
            "$(once python3 -m pip download --no-cache-dir -d dl left-pad)" \
            "$(once env PIP_RETRIES=5 python3 -m pip download --no-cache-dir -d dl left-pad)"
    fi
} >"$ws/tools.tsv"
python3 - "$ws/samples.tsv" "$N" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
base = {(m, k): float(med) for m, k, label, med, _ in rows if label.startswith("localhost")}
print(f"| box | lookup ({sys.argv[2]} each) | name | median (µs) | p99 (µs) | median / localhost |")
print("|---|---|---|---:|---:|---:|")
for m, k, label, med, p99 in rows:
    print(f"| {m} | {k} | {label} | {med} | {p99} | {float(med) / base[(m, k)]:.2f} |")
PY
python3 - "$ws/tools.tsv" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
if rows:
    print()
    print("| network off, namespaces | with the box's settings (s) | tools' defaults (s) | ratio |")
    print("|---|---:|---:|---:|")
    for name, box, dflt in rows:
        print(f"| {name} | {int(box) / 1000:.1f} | {int(dflt) / 1000:.1f} | {int(dflt) / max(int(box), 1):.0f} |")
PY
