#!/usr/bin/env bash
# Every benchmark, one table (markdown on stdout): launch overhead against a bare exec,
# bubblewrap and firejail; file-heavy work (find + stat, git status, a stat walk, writing) and
# launch against bare, bubblewrap and unshare, for each observer scope; `redact` throughput
# against `cat` and peer scanners; proxy throughput and latency against a direct loopback copy;
# credential injection against a plain tunnel; the denial observer's cost on a build.
# Needs hyperfine (apt-get install hyperfine; bubblewrap and firejail are compared if present),
# python3 and bc. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
w="$(mktemp -d)"
trap 'rm -rf "$w"' EXIT
echo "launch..." >&2
bash benches/launch.sh > "$w/launch.md"
echo "file-heavy work..." >&2
bash benches/fileheavy.sh > "$w/fileheavy.md"
echo "redact..." >&2
bash benches/redact.sh "${REDACT_MB:-100}" > "$w/redact.md"
echo "proxy..." >&2
AGENTBOX_BENCH_MIB="${PROXY_MIB:-1024}" cargo bench --quiet --bench proxy > "$w/proxy.txt" 2>/dev/null
echo "credentials..." >&2
bash benches/credentials.sh > "$w/credentials.md"
echo "denial observer..." >&2
bash benches/denials.sh > "$w/denials.md"
python3 - "$w" <<'PY'
import re, sys, pathlib
w = pathlib.Path(sys.argv[1])
rows = []
def table_rows(text):
    out = []
    for l in text.splitlines():
        if l.startswith("|") and not l.startswith("|---") and not l.startswith("| launch of") \
           and not l.startswith("| tool") and not l.startswith("| cargo build") \
           and not l.startswith("| workload"):
            out.append([c.strip() for c in l.strip("|").split("|")])
    return out
for c in table_rows((w / "launch.md").read_text()):
    rows.append(("launch `/bin/true`", c[0], f"{c[1]} ms median (+{c[2]} ms)"))
for c in table_rows((w / "fileheavy.md").read_text()):
    rows.append((c[0], c[1], f"{c[2]} ms median ({c[3]} bare), CPU {c[4]} ms ({c[5]} bare)"))
for c in table_rows((w / "redact.md").read_text()):
    rows.append((f"redact {c[1]} ({c[2]})", c[0], f"{c[4]}, found {c[5]}"))
p = (w / "proxy.txt").read_text()
for name, pat in [("direct loopback", r"direct loopback\s+(\d+) MB/s"), ("CONNECT tunnel", r"CONNECT tunnel\s+(\d+) MB/s.*?(\d+)% of direct")]:
    m = re.search(pat, p)
    if m:
        rows.append(("proxy bulk transfer", name, f"{m.group(1)} MB/s" + (f" ({m.group(2)} % of direct)" if m.lastindex == 2 else "")))
for name in ["direct", "proxy"]:
    m = re.search(rf"{name}\s+median\s+([\d.]+) us\s+p99\s+([\d.]+) us", p)
    if m:
        rows.append(("connect + GET latency", name, f"{m.group(1)} µs median, {m.group(2)} µs p99"))
for c in table_rows((w / "credentials.md").read_text()):
    if c[0] != "credentials":
        rows.append(("credential injection (TLS)", c[0], f"down {c[1]}, up {c[2]}, first request {c[3]}"))
for c in table_rows((w / "denials.md").read_text()):
    rows.append(("cargo build (regex, serde_json)", c[0], f"{c[1]} s wall, {c[2]} s CPU"))
print("| benchmark | subject | result |")
print("|---|---|---|")
for r in rows:
    print(f"| {r[0]} | {r[1]} | {r[2]} |")
m = re.search(r"observer overhead: (.*)", (w / "denials.md").read_text())
if m:
    print(f"\ndenial observer overhead on the build: {m.group(1)}")
PY
