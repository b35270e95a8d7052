#!/usr/bin/env bash
# Throughput of `agentbox redact` on one core, against `cat` and (if installed) peer scanners.
#
#   benches/redact.sh [SIZE_MB]      (default 100)
#
# Generates SIZE_MB of ordinary log lines (cargo, npm, pytest, go, git, docker, nix, UUIDs,
# digests, LS_COLORS) and a token-dense file (fake secrets generated at run time), then
# prints MB/s and what each tool found. Peers: `ripsecrets` (cargo install ripsecrets) and
# `detect-secrets` (pip install detect-secrets); missing ones are skipped; each peer runs
# once. detect-secrets is slow, so it gets 10 MB of the ordinary log and 1 MB of the
# token-dense file, with --no-verify (its default verification makes network calls).
# Set BENCH_DIR=DIR to keep the generated files between runs; BASELINE=PATH to an older
# agentbox binary adds its rows and the ratio of this build's throughput to it (same run, same
# files). Needs python3, bc and (optionally) taskset.
set -euo pipefail

SIZE_MB=${1:-100}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$WORK"
trap '[ -z "${BENCH_DIR:-}" ] && rm -rf "$WORK"' EXIT
PIN=(taskset -c 0)
command -v taskset >/dev/null || PIN=()

echo "building release binary..." >&2
(cd "$ROOT" && cargo build --release --quiet --bin agentbox)
BIN="$ROOT/target/release/agentbox"

if [ "$(cat "$WORK/.size" 2>/dev/null)" != "$SIZE_MB" ]; then
echo "generating ${SIZE_MB} MB of ordinary logs and a token-dense file in $WORK..." >&2
python3 - "$WORK" "$SIZE_MB" <<'PY'
import os, random, string, sys, uuid
work, size_mb = sys.argv[1], int(sys.argv[2])
rng = random.Random(42)
alnum = string.ascii_letters + string.digits
hexd = "0123456789abcdef"
nix32 = "".join(c for c in string.digits + string.ascii_lowercase if c not in "eotu")
def r(n, a=alnum): return "".join(rng.choice(a) for _ in range(n))
def h(n): return r(n, hexd)
crates = ["tokio", "serde", "serde_json", "clap", "regex", "aho-corasick", "tokenizers",
          "keyring", "hyper", "reqwest", "anyhow", "tracing", "rustls", "ring"]
def line():
    k = rng.randrange(16)
    if k == 0: return f"   Compiling {rng.choice(crates)} v{rng.randrange(5)}.{rng.randrange(40)}.{rng.randrange(20)}"
    if k == 1: return f"test {rng.choice(['auth','detect','redact','net'])}::tests::{rng.choice(['token_refresh','secret_key_rotation','parses_config','handles_eof'])}_{rng.randrange(99)} ... ok"
    if k == 2: return f"npm http fetch GET 200 https://registry.npmjs.org/{rng.choice(crates)}/-/{rng.choice(crates)}-{rng.randrange(9)}.{rng.randrange(30)}.{rng.randrange(9)}.tgz {rng.randrange(900)}ms (cache hit)"
    if k == 3: return f'      "integrity": "sha512-{r(86, alnum + "+/")}==",'
    if k == 4: return f"tests/test_{rng.choice(['auth','api','models','views'])}.py::test_{rng.choice(['token_expiry','login','api_key_rotation','list'])}_{rng.randrange(99)} PASSED [{rng.randrange(100):3d}%]"
    if k == 5: return f"--- PASS: Test{rng.choice(['Token','APIKey','Parse','Serve'])}{rng.randrange(999)} (0.{rng.randrange(99):02d}s)"
    if k == 6: return f"ok  \tgithub.com/acme/svc/internal/{rng.choice(['auth','store','api'])}\t0.{rng.randrange(999):03d}s"
    if k == 7: return f"commit {h(40)}"
    if k == 8: return f"Author: Dev {rng.randrange(99)} <dev{rng.randrange(99)}@example.com>"
    if k == 9: return f"Digest: sha256:{h(64)}"
    if k == 10: return f" ---> Running in {h(12)}"
    if k == 11: return f"copying path '/nix/store/{r(32, nix32)}-{rng.choice(crates)}-{rng.randrange(9)}.{rng.randrange(9)}' from 'https://cache.nixos.org'..."
    if k == 12: return f"time=2024-05-01T10:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z level=INFO msg=\"request done\" request_id={uuid.UUID(int=rng.getrandbits(128))} status=200 dur={rng.randrange(999)}ms"
    if k == 13: return "LS_COLORS=rs=0:di=01;34:ln=01;36:mh=00:pi=40;33:so=01;35:do=01;35:bd=40;33;01:cd=40;33;01:or=40;31;01:mi=00:su=37;41:sg=30;43:ca=30;41:tw=30;42:ow=34;42:st=37;44:ex=01;32"
    if k == 14: return f"    Finished `release` profile [optimized] target(s) in {rng.randrange(99)}.{rng.randrange(99):02d}s"
    return f"warning: unused variable: `{rng.choice(['token','key','secret','x'])}`  --> src/{rng.choice(['main','lib','auth'])}.rs:{rng.randrange(999)}:{rng.randrange(80)}"
target = size_mb * 1024 * 1024
pool = [line() for _ in range(20000)]
with open(os.path.join(work, "ordinary.log"), "w") as f:
    n = 0
    while n < target:
        chunk = "\n".join(rng.choice(pool) for _ in range(5000)) + "\n"
        f.write(chunk); n += len(chunk)
b32 = string.ascii_uppercase + "234567"
shapes = [
    lambda: f"export GITHUB_TOKEN=ghp_{r(36)}",
    lambda: f"aws_access_key_id = AKIA{r(16, b32)}",
    lambda: f"SLACK_BOT_TOKEN=xoxb-{r(12, string.digits)}-{r(13, string.digits)}-{r(24)}",
    lambda: f"glpat-{r(20)} used for clone",
    lambda: f"id_token=eyJ{r(20)}.eyJ{r(60)}.{r(43)}",
    lambda: f"DATABASE_URL=postgres://app:{r(16)}@db:5432/app",
    lambda: f"> Authorization: Bearer {r(40)}",
    lambda: f'{{"level":"info","api_key":"{r(32)}"}}',
    lambda: f"OPENAI_API_KEY=sk-proj-{r(74)}T3BlbkFJ{r(74)}",
    lambda: f"STRIPE_SECRET_KEY=sk_live_{r(24)}",
]
with open(os.path.join(work, "tokens.log"), "w") as f:
    for i in range(100000):
        f.write(shapes[i % len(shapes)]() + "\n")
PY
head -c $((10 * 1024 * 1024)) "$WORK/ordinary.log" > "$WORK/ordinary-10mb.log"
head -c $((1024 * 1024)) "$WORK/tokens.log" | head -n -1 > "$WORK/tokens-1mb.log"
echo "$SIZE_MB" > "$WORK/.size"
fi

mb() { echo "scale=1; $(stat -c %s "$1") / 1048576" | bc; }
# best of N (default 5) wall-clock seconds for a command writing to /dev/null
best() {
  local best=999999 t0 t1 t n=${RUNS:-5}
  for _ in $(seq "$n"); do
    t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N)
    t=$(echo "$t1 - $t0" | bc); if (( $(echo "$t < $best" | bc) )); then best=$t; fi
  done
  echo "$best"
}
row() { # name file seconds found
  printf '| %-28s | %-16s | %7s MB | %8.3f s | %8.1f MB/s | %-10s |\n' \
    "$1" "$(basename "$2")" "$(mb "$2")" "$3" "$(echo "$(mb "$2") / $3" | bc -l)" "$4"
}
count_ab() {
  ("$BIN" redact --check --json "$1" 2>/dev/null || true) \
    | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["findings"]))'
}

echo
echo "| tool                         | input            |    size    |    time    |   throughput   | found      |"
echo "|------------------------------|------------------|------------|------------|----------------|------------|"
# One timed run that also counts what the tool reported (peers are slow).
timed_count() { # counter-command... ; prints "seconds found"
  local t0 t1 out
  t0=$(date +%s.%N); out=$("$@" 2>/dev/null || true); t1=$(date +%s.%N)
  echo "$(echo "$t1 - $t0" | bc) $out"
}
for f in "$WORK/ordinary.log" "$WORK/tokens.log"; do
  row "cat" "$f" "$(best "${PIN[@]}" cat "$f")" "-"
  row "agentbox redact" "$f" "$(best "${PIN[@]}" "$BIN" redact "$f")" "$(count_ab "$f")"
  row "agentbox redact --check" "$f" "$(best "${PIN[@]}" "$BIN" redact --check "$f")" "$(count_ab "$f")"
  if [ -n "${BASELINE:-}" ]; then
    now=$(best "${PIN[@]}" "$BIN" redact "$f")
    base=$(best "${PIN[@]}" "$BASELINE" redact "$f")
    row "baseline redact" "$f" "$base" "-"
    printf '| %-28s | %-16s | this build / baseline throughput: %.2f |\n' "ratio" "$(basename "$f")" \
      "$(echo "$base / $now" | bc -l)"
  fi
  if command -v ripsecrets >/dev/null; then
    read -r secs found < <(timed_count bash -c '"$@" | wc -l' _ "${PIN[@]}" ripsecrets "$f")
    row "ripsecrets" "$f" "$secs" "$found"
  fi
done
if command -v detect-secrets >/dev/null; then
  for f in "$WORK/ordinary-10mb.log" "$WORK/tokens-1mb.log"; do
    read -r secs found < <(timed_count bash -c 'cd "$(dirname "$1")" && "${@:2}" detect-secrets scan --no-verify "$(basename "$1")" \
      | python3 -c "import json,sys; print(sum(len(v) for v in json.load(sys.stdin)[\"results\"].values()))"' _ "$f" "${PIN[@]}")
    row "detect-secrets" "$f" "$secs" "$found"
  done
fi
echo
echo "found = findings reported (output lines for ripsecrets); tokens.log holds 100000 fake"
echo "secrets, one per line (tokens-1mb.log: the first $(wc -l < "$WORK/tokens-1mb.log") lines)."
