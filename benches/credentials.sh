#!/usr/bin/env bash
# Credential injection against a plain CONNECT tunnel, side by side in one run (loopback only;
# see benches/credentials.rs): download and upload throughput and first-request latency for a
# tunnel through a proxy without credentials, a tunnel through a proxy that has a credential for
# another host (must be unchanged), and the credential's own host (TLS terminated with the
# per-run CA, the value put in, TLS again to the host). Markdown on stdout.
# CRED_MIB (default 256) MiB per transfer, CRED_N (default 200) first requests per case.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(AGENTBOX_BENCH_MIB="${CRED_MIB:-256}" AGENTBOX_BENCH_N="${CRED_N:-200}" \
    nice cargo bench --quiet --bench credentials 2>/dev/null)"
python3 - "$out" <<'PY'
import re, sys
text = sys.argv[1]
print("| credentials | download | upload | first request (median, p99) |")
print("|---|---:|---:|---:|")
pat = re.compile(r"^\s+(.+?)\s+down\s+(\d+) MB/s \(\s*(\d+)%\)\s+up\s+(\d+) MB/s \(\s*(\d+)%\)\s+"
                 r"first request median\s+([\d.]+) ms \(\+\s*(-?[\d.]+) ms\)\s+p99\s+([\d.]+) ms")
for line in text.splitlines():
    m = pat.match(line)
    if m:
        name, d, dp, u, up, med, add, p99 = m.groups()
        add = add if add.startswith("-") else "+" + add
        print(f"| {name} | {d} MB/s ({dp} %) | {u} MB/s ({up} %) | {med} ms ({add} ms), {p99} ms |")
m = re.search(r"first ever intercepted request \(leaf certificate made\): ([\d.]+) ms", text)
if m:
    print(f"\nfirst request ever to a credential's host (its leaf certificate made): {m.group(1)} ms")
m = re.search(r"requests injected: (\d+)", text)
if m:
    print(f"requests with the real value put in: {m.group(1)}")
PY
