#!/usr/bin/env bash
# Real go output, made offline in $1: a module with table-driven subtests over digests,
# benchmarks, examples, race-free failures, `go build -x` (work directories and build ids),
# `go list -json`, `go version -m` and the build cache. Every printed line is a clean line.
set -u
cd "$1" || exit 1
export GOPATH="$HOME/go" GOCACHE="$HOME/.cache/go-build" GOMODCACHE="$HOME/go/pkg/mod"
mkdir -p digests/cmd/sumtool && cd digests
go mod init example.org/digests
cat > digests.go <<'GO'
// Package digests names blobs by their content.
package digests

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// Hex is the sha256 of b in hex.
func Hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// B64 is the sha256 of b in base64.
func B64(b []byte) string { s := sha256.Sum256(b); return base64.StdEncoding.EncodeToString(s[:]) }

// Short is the first 12 hex digits, like an image id.
func Short(b []byte) string { return Hex(b)[:12] }
GO
cat > digests_test.go <<'GO'
package digests

import (
	"fmt"
	"testing"
)

func TestHex(t *testing.T) {
	for _, in := range []string{"layer-0", "layer-1", "config", "manifest", "token-cache"} {
		t.Run(in, func(t *testing.T) {
			h := Hex([]byte(in))
			t.Logf("sha256:%s", h)
			if len(h) != 64 { t.Fatalf("len %d", len(h)) }
		})
	}
}

func TestB64(t *testing.T) {
	for i := 0; i < 4; i++ {
		in := fmt.Sprintf("blob-%d", i)
		t.Run(in, func(t *testing.T) { t.Logf("digest %s -> %s", in, B64([]byte(in))) })
	}
}

func TestShortCollision(t *testing.T) {
	a, b := Short([]byte("a")), Short([]byte("b"))
	if a != b { t.Errorf("short ids differ: %s != %s (want equal for this fixture)", a, b) }
}

func TestSecretRotation(t *testing.T) { t.Skip("secret rotation needs a KMS") }

func ExampleShort() { fmt.Println(Short([]byte("hello"))) ; // Output: 2cf24dba5fb0
}

func BenchmarkHex(b *testing.B) { for i := 0; i < b.N; i++ { Hex([]byte("x")) } }
GO
cat > cmd/sumtool/main.go <<'GO'
package main

import (
	"fmt"
	"os"

	"example.org/digests"
)

func main() {
	for _, a := range os.Args[1:] { fmt.Printf("%s  %s\n", digests.Hex([]byte(a)), a) }
}
GO
go vet ./...
go test -v -count=1 ./...
go test -json -count=1 -run 'TestHex|TestB64' ./...
go test -bench . -benchtime 50x -run '^$' ./...
go test -cover -count=1 ./...
go build -x -o sumtool ./cmd/sumtool 2>&1 | head -120
./sumtool alpha beta gamma session-key api-token
go version -m ./sumtool
go tool buildid ./sumtool
go list -json ./...
go list -f '{{.ImportPath}} {{.Dir}} {{.Stale}}' ./...
go list -deps ./cmd/sumtool
go env -json
go clean -n ./...
