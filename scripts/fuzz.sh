#!/usr/bin/env bash
# Fuzz agentbox's parsers of untrusted bytes with libFuzzer, on the stable toolchain.
#
#   scripts/fuzz.sh [-t SECONDS] [-j JOBS] [TARGET...]   fuzz each target SECONDS (default 600)
#   scripts/fuzz.sh --build                              only build the instrumented binaries
#   scripts/fuzz.sh --list                               the targets
#   scripts/fuzz.sh --repro TARGET FILE...               run inputs once (a crash reproduces)
#
# Targets run JOBS at a time (default: the number of cores). Each keeps its corpus in
# fuzz/corpus/TARGET (seeded from fuzz/seeds/TARGET and from seeds made at run time) and writes
# a crashing, timing-out or memory-hungry input to fuzz/artifacts/TARGET/; the script then
# prints its path and exits 1. See fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

secs=600
jobs=$(nproc 2>/dev/null || echo 2)
mode=fuzz
targets=()
while (($#)); do
    case $1 in
        -t) secs=$2; shift 2 ;;
        -j) jobs=$2; shift 2 ;;
        --build) mode=build; shift ;;
        --list) mode=list; shift ;;
        --repro) mode=repro; shift; break ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done

# Every target, with its longest input (keep in step with TARGETS in fuzz/src/lib.rs).
declare -A max_len=(
    [http_request]=16384 [http_response]=16384 [http_parts]=4096 [sni]=16384 [profile]=16384
    [detect]=16384 [redact]=16384 [gitconfig]=8192 [channel]=4096 [agentconf]=16384
)
all=(http_request http_response http_parts sni profile detect redact gitconfig channel agentconf)
if [ "$mode" = list ]; then
    printf '%s\n' "${all[@]}"
    exit 0
fi

host=$(rustc -vV | sed -n 's/^host: //p')
bin_dir=$root/fuzz/target/$host/release

# SanitizerCoverage through stable -C flags only (what cargo-fuzz passes, minus the -Z
# sanitizer): 8-bit edge counters and the PC table for libFuzzer's coverage, comparison
# tracing for its value profile and dictionary. `--target` keeps build scripts and proc macros
# uninstrumented. Overflow checks and debug assertions come from fuzz/Cargo.toml's profile.
build() {
    echo "== fuzz: building the instrumented targets ($host)"
    RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cforce-frame-pointers=yes" \
        cargo build --release --manifest-path fuzz/Cargo.toml --target "$host" \
        --target-dir fuzz/target --bins
}

if [ "$mode" = repro ]; then
    t=${1:?--repro TARGET FILE...}
    shift
    [ -x "$bin_dir/$t" ] || build
    exec "$bin_dir/$t" -runs=1 "$@"
fi

build
[ "$mode" = build ] && exit 0
((${#targets[@]})) || targets=("${all[@]}")
for t in "${targets[@]}"; do
    [ -n "${max_len[$t]:-}" ] || { echo "unknown target $t (see --list)" >&2; exit 2; }
done

logs=$root/fuzz/logs
mkdir -p "$logs"

# One target: seed its corpus, fuzz it for $secs seconds, report a crash by its input's path.
run_one() {
    local t=$1 corpus=$root/fuzz/corpus/$1 art=$root/fuzz/artifacts/$1 log=$logs/$1.log
    mkdir -p "$corpus" "$art"
    AGENTBOX_FUZZ_WRITE_SEEDS=$root/fuzz/corpus "$bin_dir/$t" >"$log" 2>&1 ||
        { echo "fuzz $t: could not write its seeds; log $log"; return 1; }
    local rc=0 dirs=("$corpus")
    [ -d "$root/fuzz/seeds/$t" ] && dirs+=("$root/fuzz/seeds/$t")
    # -timeout: one input taking 10 s is a hang; -rss_limit_mb: 2 GiB is a memory blowup.
    "$bin_dir/$t" -max_total_time="$secs" -max_len="${max_len[$t]}" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art/" \
        "${dirs[@]}" >>"$log" 2>&1 || rc=$?
    local stats
    stats=$(grep -E '^stat::(number_of_executed_units|new_units_added):' "$log" | awk '{print $2}' | paste -sd/ -) || true
    if ((rc == 0)); then
        echo "fuzz $t: ok (${secs}s, executed/new: ${stats:-?}, corpus $(find "$corpus" -type f | wc -l) files)"
        return 0
    fi
    local input
    input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1) || true
    echo "fuzz $t: FAILED (exit $rc); log $log"
    grep -E -m1 -A12 "panicked at|==ERROR|ERROR: libFuzzer|ALARM|out-of-memory" "$log" | sed 's/^/    /' || tail -20 "$log"
    if [ -n "$input" ] && [ -f "$input" ]; then
        echo "fuzz $t: crashing input saved at $input ($(wc -c <"$input") bytes)"
        # The input itself, for a CI log whose work tree is gone: base64 -d > FILE.
        if (($(wc -c <"$input") <= 4096)); then
            echo "fuzz $t: input as base64: $(base64 -w0 "$input")"
        fi
        echo "fuzz $t: reproduce with: scripts/fuzz.sh --repro $t $input"
    fi
    return 1
}

failed=0
running=0
pids=()
for t in "${targets[@]}"; do
    run_one "$t" &
    pids+=($!)
    running=$((running + 1))
    if ((running >= jobs)); then
        wait -n || failed=1
        running=$((running - 1))
    fi
done
while ((running > 0)); do
    wait -n || failed=1
    running=$((running - 1))
done
if ((failed)); then
    echo "fuzz: a target failed (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${secs}s each: no crash"
