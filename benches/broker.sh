#!/usr/bin/env bash
# Cost of the connect broker: connect+close latency to a listed local service from inside the
# box without user namespaces, with the broker (default) and without it (Landlock port rules
# only: `--simulate-kernel unotify=off --best-effort`), each with the denial observer off and
# on (its trace filter stops every connect too), next to the same loop outside any box.
# Prints a markdown table (medians and p99 in microseconds). Needs python3. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
BIN="$PWD/target/release/agentbox"
N="${N:-2000}"
ws="$(mktemp -d /var/tmp/agentbox-bench-XXXXXX)"
trap 'kill "$srv" 2>/dev/null || true; rm -rf "$ws"' EXIT
# The profile stays outside the workspace (a workspace profile may not widen access).
mkdir "$ws/repo" && cd "$ws/repo" && git init -q
# A listener that accepts and closes, so the backlog never fills.
python3 - >"$ws/port" <<'PY' &
import socket, sys, threading
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(4096)
print(l.getsockname()[1], flush=True)
sys.stdout.close()
while True:
    c, _ = l.accept()
    c.close()
PY
srv=$!
for _ in $(seq 1 100); do [ -s "$ws/port" ] && break; sleep 0.05; done
port="$(cat "$ws/port")"
printf 'extends: default\nnetwork:\n  local: ["127.0.0.1:%s"]\n' "$port" >"$ws/bench.yaml"
# One launch runs $1 iterations of each kind and appends the samples (ns) to $2; with a proxy
# port in $3 also blocking connects to agentbox's proxy (connect+close, no request).
cat >"$ws/repo/loop.py" <<PY
import errno, select, socket, sys, time
addr = ("127.0.0.1", $port)
def blocking():
    s = socket.socket()
    s.connect(addr)
    s.close()
def nonblocking():
    s = socket.socket()
    s.setblocking(False)
    r = s.connect_ex(addr)
    if r == errno.EINPROGRESS:
        select.select([], [s], [], 5)
    s.close()
def proxy():
    s = socket.socket()
    s.connect(("127.0.0.1", int(sys.argv[3])))
    s.close()
n, out = int(sys.argv[1]), sys.argv[2]
kinds = [("blocking", blocking), ("non-blocking", nonblocking)]
if len(sys.argv) > 3:
    kinds.append(("proxy", proxy))
with open(out, "a") as f:
    for name, fn in kinds:
        for _ in range(50):
            fn()
        for _ in range(n):
            t0 = time.perf_counter_ns()
            fn()
            f.write("%s %d\n" % (name, time.perf_counter_ns() - t0))
PY
# Configurations, interleaved in ROUNDS so that load from elsewhere hits them alike.
ROUNDS="${ROUNDS:-4}"
names=(
    "outside any box"
    "box, Landlock port rules only (no broker), denial observer off"
    "box, connect broker, denial observer off"
    "box, Landlock port rules only (no broker), denial observer on (default)"
    "box, connect broker, denial observer on (default)"
)
sims=("" "userns=off,unotify=off --best-effort --no-report-denials" "userns=off --no-report-denials"
      "userns=off,unotify=off --best-effort" "userns=off")
per=$((N / ROUNDS))
for _ in $(seq 1 "$ROUNDS"); do
    for i in "${!names[@]}"; do
        if [ "$i" = 0 ]; then
            python3 "$ws/repo/loop.py" "$per" "$ws/repo/s$i"
        else
            # shellcheck disable=SC2086
            "$BIN" run -q -p "$ws/bench.yaml" --simulate-kernel ${sims[$i]} -- \
                sh -c 'exec python3 "$0" "$1" "$2" "${HTTPS_PROXY##*:}"' \
                "$ws/repo/loop.py" "$per" "$ws/repo/s$i"
        fi
    done
done
python3 - "$N" "$ws/repo" "${names[@]}" <<'PY'
import statistics, sys
n, d, names = sys.argv[1], sys.argv[2], sys.argv[3:]
print(f"| connect+close, {n} each (µs) | listed local service, blocking socket | same, non-blocking socket | agentbox's proxy, blocking socket |")
print("|---|---:|---:|---:|")
for i, name in enumerate(names):
    t = {"blocking": [], "non-blocking": [], "proxy": []}
    for line in open(f"{d}/s{i}"):
        k, v = line.split()
        t[k].append(int(v) / 1000)
    cells = []
    for k in ("blocking", "non-blocking", "proxy"):
        v = sorted(t[k])
        if not v:
            cells.append("-")
            continue
        cells.append(f"{statistics.median(v):.1f} median, {v[int(len(v) * 0.99)]:.1f} p99")
    print(f"| {name} | " + " | ".join(cells) + " |")
PY
