#!/usr/bin/env bash
# Launch overhead of `agentbox run -- /bin/true` (every default layer) against a bare exec,
# bubblewrap and firejail, with hyperfine. Prints a markdown table (medians in ms).
# Needs: hyperfine; optional: bwrap, firejail (apt-get install hyperfine bubblewrap firejail).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
BIN="$PWD/target/release/agentbox"
RUNS="${RUNS:-300}"
ws="$(mktemp -d)"
trap 'rm -rf "$ws"' EXIT
cd "$ws" && git init -q
cmds=(-n "bare /bin/true" "/bin/true"
      -n "agentbox (default profile, all layers)" "$BIN run -q -- /bin/true")
if command -v bwrap >/dev/null; then
    cmds+=(-n "bubblewrap (ro /, new ns)" "bwrap --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --unshare-all --die-with-parent /bin/true")
fi
if command -v firejail >/dev/null; then
    cmds+=(-n "firejail (noprofile)" "firejail --quiet --noprofile /bin/true")
fi
hyperfine -N --warmup 20 --runs "$RUNS" --style none --export-json "$ws/launch.json" "${cmds[@]}" >/dev/null
python3 - "$ws/launch.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
base = r[0]["median"]
print("| launch of /bin/true | median (ms) | overhead over bare exec (ms) |")
print("|---|---:|---:|")
for x in r:
    print(f"| {x['command']} | {x['median']*1000:.2f} | {(x['median']-base)*1000:.2f} |")
PY
