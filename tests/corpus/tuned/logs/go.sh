#!/usr/bin/env bash
# Real go output, made offline in $1: a module with passing, failing and skipped tests, vet
# findings, build errors and the environment listing. Every printed line is a clean line.
set -u
cd "$1" || exit 1
export GOPATH="$HOME/go" GOCACHE="$HOME/.cache/go-build" GOMODCACHE="$HOME/go/pkg/mod"
mkdir -p tokens && cd tokens
go mod init example.com/tokens
cat > tokens.go <<'GO'
// Package tokens keeps API tokens (a fixture for log output).
package tokens

import "fmt"

// Store maps names to tokens.
type Store struct{ tokens map[string]string; SecretKey []byte }

// New returns an empty store.
func New() *Store { return &Store{tokens: map[string]string{}} }

// Put stores a token.
func (s *Store) Put(name, token string) { s.tokens[name] = token }

// Get returns a token.
func (s *Store) Get(name string) (string, bool) { t, ok := s.tokens[name]; return t, ok }

// Describe prints a summary with a wrong verb (for go vet).
func (s *Store) Describe() string { return fmt.Sprintf("%d tokens, key %d", len(s.tokens)) }
GO
cat > tokens_test.go <<'GO'
package tokens

import "testing"

func TestTokenRoundTrip(t *testing.T) {
	s := New()
	s.Put("ci", "value")
	if v, ok := s.Get("ci"); !ok || v != "value" { t.Fatalf("got %q", v) }
}

func TestAPIKeyRotation(t *testing.T) {
	t.Log("rotating the API key")
	if len(New().SecretKey) != 32 { t.Errorf("secret key has %d bytes, want 32", len(New().SecretKey)) }
}

func TestPasswordPolicy(t *testing.T) { t.Skip("password policy needs a vault") }

func BenchmarkGet(b *testing.B) { s := New(); s.Put("a", "b"); for i := 0; i < b.N; i++ { s.Get("a") } }
GO
go build ./...
go vet ./...
go test -v -count=1 ./...
go test -run TestTokenRoundTrip -bench . -benchtime 100x ./...
go test -json -count=1 ./...
go list -m -json
go env
go version
cat > broken.go <<'GO'
package tokens
func broken() string { return undefinedToken }
GO
go build ./...
