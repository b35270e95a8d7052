#!/usr/bin/env bash
# Cost of the denial observer on a real build: `cargo build` of a small crate with two
# dependencies (regex, serde_json; fetched once from the registry, then built offline),
# inside agentbox without the observer, with the default one (exec and connect traced), with
# --report-denials=writes (writes and exec traced) and with the full one (--report-denials:
# every open traced). Reports wall and CPU time.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
BIN="$PWD/target/release/agentbox"
RUNS="${RUNS:-5}"
w="$(mktemp -d)"
trap 'rm -rf "$w"' EXIT
cd "$w" && cargo init -q --name denialbench
printf 'regex = "1"\nserde_json = "1"\n' >> Cargo.toml
echo 'fn main() { println!("{}", regex::Regex::new("a+").unwrap().is_match("aa")); }' > src/main.rs
cargo fetch -q
cat > "$w/p.yaml" <<YAML
extends: default
filesystem:
  exec: ["\${RUSTUP_HOME:-~/.rustup}", "\${CARGO_HOME:-~/.cargo}/bin"]
  read: ["\${CARGO_HOME:-~/.cargo}/registry"]
YAML
hyperfine -N --warmup 1 --runs "$RUNS" --prepare "rm -rf $w/target" --style none \
    --export-json "$w/r.json" \
    -n "observer off" "$BIN run -q -p $w/p.yaml --no-report-denials -- cargo build --offline -q" \
    -n "observer default" "$BIN run -q -p $w/p.yaml -- cargo build --offline -q" \
    -n "observer writes" "$BIN run -q -p $w/p.yaml --report-denials=writes -- cargo build --offline -q" \
    -n "observer full" "$BIN run -q -p $w/p.yaml --report-denials -- cargo build --offline -q" >/dev/null
python3 - "$w/r.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print("| cargo build (regex + serde_json) | wall median (s) | CPU user+sys (s) |")
print("|---|---:|---:|")
for x in r:
    print(f"| {x['command']} | {x['median']:.2f} | {x['user']+x['system']:.2f} |")
a = r[0]
cpu = lambda x: x['user'] + x['system']
print("\nobserver overhead: " + "; ".join(
    f"{b['command'].removeprefix('observer ')}: wall {100*(b['median']/a['median']-1):+.1f} %, CPU {100*(cpu(b)/cpu(a)-1):+.1f} %"
    for b in r[1:]))
PY
