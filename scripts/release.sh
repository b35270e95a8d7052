#!/usr/bin/env bash
# The release binary: LTO, one codegen unit, stripped (Cargo.toml), and statically linked
# (crt-static), so it needs no shared library at all. Checks size and linkage.
set -euo pipefail
cd "$(dirname "$0")/.."
target="$(rustc -vV | sed -n 's/^host: //p')"
RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$target" --quiet
bin="target/$target/release/agentbox"
size=$(stat -c %s "$bin")
echo "binary: $bin ($((size / 1024)) KiB)"
if ldd "$bin" 2>&1 | grep -q "=>"; then
    echo "FAIL: links shared libraries:"; ldd "$bin"; exit 1
fi
echo "linkage: $(ldd "$bin" 2>&1 | head -1 | sed 's/^\s*//')"
[ "$size" -lt $((12 * 1024 * 1024)) ] || { echo "FAIL: larger than 12 MB"; exit 1; }
"$bin" --version
"$bin" run -q -- true && echo "runs: ok"
# What an install puts next to the binary (README, "Install for every user of the machine"):
# one man page per command, and the completion scripts.
dist="target/$target/release/dist"
rm -rf "$dist"
"$bin" man --out-dir "$dist/man/man1" >/dev/null
for sh in bash zsh fish; do
    # The built-in profile names only, not the builder's own.
    XDG_CONFIG_HOME=/nonexistent "$bin" completions "$sh" > "$dist/completions.$sh"
done
echo "man pages: $(find "$dist/man/man1" -name "*.1" | wc -l) in $dist/man/man1; completions in $dist"
