#!/usr/bin/env bash
# Real cargo output, made offline in $1: a small crate with passing and failing tests, warnings,
# a build script, docs and metadata. Every printed line is a clean line.
set -u
cd "$1" || exit 1
export CARGO_TERM_COLOR=never CARGO_NET_OFFLINE=true CARGO_TARGET_DIR="$1/target"
cargo new --lib tokenstore
cd tokenstore
cat > src/lib.rs <<'RS'
//! Stores API tokens by name (a test fixture for log output).
use std::collections::HashMap;

/// A token store.
#[derive(Default)]
pub struct Store { tokens: HashMap<String, String>, secret_key: Vec<u8> }

impl Store {
    pub fn insert(&mut self, name: &str, token: &str) { self.tokens.insert(name.into(), token.into()); }
    pub fn get(&self, name: &str) -> Option<&str> { self.tokens.get(name).map(|s| s.as_str()) }
    pub fn rotate_key(&mut self) { let unused_password = 1; self.secret_key.push(0); }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test] fn token_roundtrip() { let mut s = Store::default(); s.insert("ci", "x"); assert_eq!(s.get("ci"), Some("x")); }
    #[test] fn api_key_rotation() { let mut s = Store::default(); s.rotate_key(); assert_eq!(s.secret_key.len(), 2, "key not rotated"); }
    #[test] #[ignore] fn password_hashing_is_slow() {}
}
RS
cat > build.rs <<'RS'
fn main() { println!("cargo:rerun-if-changed=build.rs"); println!("cargo:warning=auth feature disabled: no AUTH_TOKEN at build time"); }
RS
cargo build -v
cargo test -- --test-threads=1
cargo test --no-run --message-format=json
cargo doc --no-deps
cargo metadata --format-version 1 --no-deps
cargo tree
cargo clippy 2>/dev/null || true
cargo check --message-format=short
cargo build --release
