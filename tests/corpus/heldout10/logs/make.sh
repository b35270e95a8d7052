#!/usr/bin/env bash
set -euo pipefail
cd "$1"
export HOME="$PWD" TZ=UTC LC_ALL=C
# Real GNU make output: a tiny C-less build with pattern rules, dry runs and the database of variables.
mkdir -p src
for n in alpha beta gamma delta epsilon; do printf 'module %s\nversion 1.4.%s\n' "$n" "${#n}" > "src/$n.txt"; done
cat > Makefile <<'MK'
SRC := $(wildcard src/*.txt)
OUT := $(patsubst src/%.txt,build/%.out,$(SRC))
VERSION ?= 2.14.0
.PHONY: all clean list show check
all: build/bundle.txt
build:
	mkdir -p build
build/%.out: src/%.txt | build
	@echo "  GEN     $@"
	@tr 'a-z' 'A-Z' < $< > $@
build/bundle.txt: $(OUT)
	@echo "  BUNDLE  $@ ($(words $^) parts)"
	@cat $^ > $@
	@wc -l < $@ | sed 's/^/  LINES   /'
list:
	@$(foreach f,$(SRC),echo "source: $(f) -> $(patsubst src/%.txt,build/%.out,$(f))";)
show:
	@echo "VERSION=$(VERSION)"
	@echo "SRC=$(SRC)"
	@echo "OUT=$(OUT)"
	@echo "upper: $(shell echo $(VERSION) | tr . _)"
	@echo "basename: $(basename $(notdir $(SRC)))"
	@echo "sorted: $(sort delta alpha gamma beta)"
check: all
	@for f in $(OUT); do test -s $$f && echo "ok   $$f"; done
clean:
	rm -rf build
MK
make --no-print-directory list
make --no-print-directory show VERSION=3.0.1
make --no-print-directory -n all
make --no-print-directory all
make --no-print-directory all
make --no-print-directory check
touch -d '2019-01-01 00:00:00' src/*.txt
touch -d '2020-01-01 00:00:00' build/*.out build/bundle.txt
touch -d '2021-01-01 00:00:00' src/gamma.txt
make --no-print-directory -q all && echo "up to date" || echo "needs rebuild"
make --no-print-directory all
make --no-print-directory -q all && echo "up to date" || echo "needs rebuild"
{ make --no-print-directory -p -f /dev/null 2>/dev/null || true; } | grep -E '^(CC|CXX|AR|ARFLAGS|RM|LEX|YACC|MAKE_VERSION|\.SUFFIXES|COMPILE\.c|LINK\.o|OUTPUT_OPTION) ' | sort | sed 's/[[:space:]]*$//'
make --no-print-directory clean
make --no-print-directory nosuchtarget 2>&1 || true
make --no-print-directory --trace all 2>&1
make --no-print-directory -W src/beta.txt -n all
make --no-print-directory -s check
make --no-print-directory -n clean
make --version | sed -n 1p
