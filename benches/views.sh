#!/usr/bin/env bash
# What the redacted views of start-up files cost a launch: `agentbox run -- /bin/true` with an
# empty home, with a usual set of start-up files (Debian's skeleton .bashrc and .profile, a
# .gitconfig, an .npmrc with a token: about 6 KiB), and with a .bashrc just under the 1 MiB
# limit holding a token on every line, side by side in one hyperfine run. Prints a markdown
# table (medians in ms, and the ratio to the empty home). Needs hyperfine and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin agentbox
BIN="$PWD/target/release/agentbox"
RUNS="${RUNS:-100}"
w="$(mktemp -d /var/tmp/agentbox-bench-XXXXXX)"
trap 'rm -rf "$w"' EXIT
mkdir -p "$w/repo" "$w/empty" "$w/usual" "$w/dense"
(cd "$w/repo" && git init -q)
# Tokens made at run time (the repository holds none).
python3 - "$w" <<'PY'
import pathlib, random, string, sys
w = pathlib.Path(sys.argv[1])
r = random.Random(7)
tok = lambda: "gh" + "p_" + "".join(r.choice(string.ascii_letters + string.digits) for _ in range(36))
u = w / "usual"
skel = pathlib.Path("/etc/skel")
for n in (".bashrc", ".profile"):
    src = skel / n
    (u / n).write_text(src.read_text() if src.exists() else "alias ll='ls -l'\n" * 100)
(u / ".gitconfig").write_text("[user]\n\tname = T\n\temail = t@example.invalid\n[alias]\n\tst = status\n")
(u / ".npmrc").write_text(f"registry=https://r.example.invalid/\n//r.example.invalid/:_authToken={tok()}\n")
lines, size = [], 0
while size < 1000 * 1024:
    l = f"export T{len(lines)}={tok()}\n"
    lines.append(l)
    size += len(l)
(w / "dense" / ".bashrc").write_text("".join(lines))
PY
cd "$w/repo"
hyperfine -N --warmup 10 --runs "$RUNS" --style none --export-json "$w/views.json" \
    -n "empty home" "env HOME=$w/empty $BIN run -q -- /bin/true" \
    -n "usual start-up files (4 copies)" "env HOME=$w/usual $BIN run -q -- /bin/true" \
    -n "1 MiB .bashrc, a token per line" "env HOME=$w/dense $BIN run -q -- /bin/true" >/dev/null
python3 - "$w/views.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
base = r[0]["median"]
print("| launch of /bin/true | median (ms) | ratio to the empty home |")
print("|---|---:|---:|")
for x in r:
    print(f"| {x['command']} | {x['median'] * 1000:.2f} | {x['median'] / base:.2f} |")
PY
