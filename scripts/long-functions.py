#!/usr/bin/env python3
"""List functions in src/ longer than a limit (default 120 lines), by indentation: a function
ends at the first line after its signature that is `}` at the signature's indentation."""
import re, sys, pathlib
limit = int(sys.argv[1]) if len(sys.argv) > 1 else 120
bad = 0
for f in sorted(pathlib.Path("src").rglob("*.rs")):
    lines = f.read_text().split("\n")
    for i, l in enumerate(lines):
        m = re.match(r"^(\s*)(pub(\([a-z]+\))? )?(const )?(unsafe )?(extern \"C\" )?fn (\w+)", l)
        if not m:
            continue
        ind = m.group(1)
        for j in range(i + 1, len(lines)):
            if lines[j] == ind + "}":
                n = j - i + 1
                if n > limit:
                    bad += 1
                    print(f"{f}:{i+1}: {m.group(7)} {n} lines")
                break
sys.exit(1 if bad else 0)
