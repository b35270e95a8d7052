#!/usr/bin/env bash
# Cost of the box on file-heavy work, and of the denial observer in each of its scopes, side by
# side in one run: bare, agentbox (default profile, defaults: the observer traces exec and
# connect), agentbox --report-denials=writes (writes, creations, removals and exec traced),
# agentbox --no-report-denials, agentbox --report-denials (the full observer, every open
# traced), bubblewrap (new namespaces, / read-only, the workspace writable) and the floor of
# `unshare -Urmpfin --mount-proc`. Workloads, made by this script in a temp directory:
#   - find /usr -xdev | head -40000 | xargs stat, then git status in a 4,000-file repository
#   - git status alone
#   - a stat walk: find over /usr printing 60,000 sizes
#   - writing: copy the 4,000 files inside the workspace and remove the copy
#   - launch of /bin/true
# Rounds of hyperfine are interleaved (ROUNDS, RUNS per round) so a load change on the machine
# hits every subject alike; each median is over all rounds. Prints a markdown table of wall
# medians and mean CPU times (user + system), each with its ratio to bare, and the load average.
# Needs hyperfine; bwrap is compared when present (apt-get install hyperfine bubblewrap).
# Builds agentbox as released (static); AGENTBOX_BIN=path skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${AGENTBOX_BIN:-}" ]; then
    # The binary as released (scripts/release.sh): static, so no dynamic loading at each launch.
    target="$(rustc -vV | sed -n 's/^host: //p')"
    RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --quiet --target "$target"
    AGENTBOX_BIN="$PWD/target/$target/release/agentbox"
fi
BIN="$AGENTBOX_BIN"
ROUNDS="${ROUNDS:-3}"
RUNS="${RUNS:-5}"
LAUNCH_RUNS="${LAUNCH_RUNS:-40}"
w="$(mktemp -d "${TMPDIR:-/var/tmp}/agentbox-fileheavy.XXXXXX")"
trap 'rm -rf "$w"' EXIT
ws="$w/repo"

echo "fileheavy: making a 4,000-file repository in $ws" >&2
mkdir -p "$ws"
(
    cd "$ws"
    git init -q
    for d in $(seq 1 100); do
        mkdir -p "src/m$d"
        for f in $(seq 1 40); do
            printf 'module %d file %d\n' "$d" "$f" > "src/m$d/f$f.txt"
        done
    done
    git add -A
    git -c user.email=bench@example.invalid -c user.name=bench commit -qm init
    # The workloads as scripts inside the workspace (the box reads nothing else), kept out of
    # git status.
    mkdir .bench
    echo .bench >> .git/info/exclude
    printf '%s\n' 'find /usr -xdev -print0 | head -z -n 40000 | xargs -0 stat >/dev/null 2>&1' \
        'git status >/dev/null' > .bench/find-stat-git.sh
    printf '%s\n' "find /usr -xdev -printf '%s\\n' | head -n 60000 >/dev/null" > .bench/statwalk.sh
    printf '%s\n' 'cp -r src copy && rm -rf copy' > .bench/write.sh
    # A warm index and object cache: every subject sees the same repository state.
    git status >/dev/null
)

subjects=(
    "bare|"
    "agentbox (default)|$BIN run -q --"
    "agentbox --report-denials=writes|$BIN run -q --report-denials=writes --"
    "agentbox --no-report-denials|$BIN run -q --no-report-denials --"
    "agentbox --report-denials (full observer)|$BIN run -q --report-denials --"
)
if command -v bwrap >/dev/null; then
    subjects+=("bubblewrap|bwrap --unshare-all --new-session --ro-bind / / --dev /dev --proc /proc --bind $ws $ws --chdir $ws")
fi
if unshare -Urmpfin --mount-proc true 2>/dev/null; then
    subjects+=("unshare -Urmpfin (floor)|unshare -Urmpfin --mount-proc")
fi

workloads=(
    "find + xargs stat (40,000 files) + git status|sh .bench/find-stat-git.sh"
    "git status (4,000 files)|git status --porcelain"
    "stat walk (60,000 files)|sh .bench/statwalk.sh"
    "write: copy 4,000 files, remove the copy|sh .bench/write.sh"
    "launch /bin/true|/bin/true"
)

echo "fileheavy: load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cd "$ws"
for r in $(seq 1 "$ROUNDS"); do
    for i in "${!workloads[@]}"; do
        wname="${workloads[$i]%%|*}"
        wcmd="${workloads[$i]#*|}"
        runs="$RUNS"
        warm=1
        if [ "$wcmd" = "/bin/true" ]; then runs="$LAUNCH_RUNS"; warm=5; fi
        args=()
        for s in "${subjects[@]}"; do
            sname="${s%%|*}"
            prefix="${s#*|}"
            args+=(-n "$sname" "${prefix:+$prefix }$wcmd")
        done
        echo "fileheavy: round $r/$ROUNDS: $wname" >&2
        hyperfine -N --warmup "$warm" --runs "$runs" --style none \
            --export-json "$w/r$r-w$i.json" "${args[@]}" >/dev/null
    done
done

python3 - "$w" "${#workloads[@]}" "$ROUNDS" "${workloads[@]}" <<'PY'
import json, statistics, sys, pathlib
w, nw, rounds = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
names = [x.split("|", 1)[0] for x in sys.argv[4:4 + nw]]
# Wall time is what a person waits; CPU time (user + system of every process of the run, from
# hyperfine's rusage of its children) is what the box costs, and moves less with the load of a
# shared machine.
print("| workload | subject | wall median (ms) | wall ratio | CPU mean (ms) | CPU ratio |")
print("|---|---|---:|---:|---:|---:|")
for i, wname in enumerate(names):
    times, cpu, order = {}, {}, []
    for r in range(1, rounds + 1):
        for x in json.load(open(w / f"r{r}-w{i}.json"))["results"]:
            if x["command"] not in times:
                order.append(x["command"])
            times.setdefault(x["command"], []).extend(x["times"])
            cpu.setdefault(x["command"], []).append(x["user"] + x["system"])
    med = {k: statistics.median(v) for k, v in times.items()}
    cpum = {k: statistics.mean(v) for k, v in cpu.items()}
    bare, bare_cpu = med[order[0]], cpum[order[0]]
    for k in order:
        # bwrap takes its pid 1's exit status from an eventfd and exits without waiting for
        # it: no CPU time of its box reaches hyperfine's rusage.
        cpu_cells = ("n/a | n/a" if k.startswith("bubblewrap")
                     else f"{cpum[k] * 1000:.1f} | {cpum[k] / bare_cpu:.2f}x")
        print(f"| {wname} | {k} | {med[k] * 1000:.1f} | {med[k] / bare:.2f}x | {cpu_cells} |")
PY
echo
echo "load average (1, 5, 15 min) at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
