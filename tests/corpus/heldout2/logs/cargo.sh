#!/usr/bin/env bash
# Real cargo output, made offline in $1: a two-crate workspace (no registry crates) with a
# build script, features, warnings, passing, failing and ignored tests, doc tests, benches as
# tests, JSON messages (with the hashed file names of artifacts) and the package listing.
# Every printed line is a clean line.
set -u
cd "$1" || exit 1
export CARGO_TERM_COLOR=never CARGO_NET_OFFLINE=true CARGO_TARGET_DIR="$1/target"
mkdir -p ws && cd ws
cat > Cargo.toml <<'TOML'
[workspace]
members = ["vault-core", "vault-cli"]
resolver = "2"
TOML
cargo new -q --lib vault-core
cargo new -q --bin vault-cli
cat > vault-core/Cargo.toml <<'TOML'
[package]
name = "vault-core"
version = "0.4.2"
edition = "2021"
description = "Keeps session keys (a fixture for log output)"
license = "MIT"

[features]
default = ["sha"]
sha = []
audit-log = []
TOML
cat > vault-core/src/lib.rs <<'RS'
//! Session keys and their digests.
//!
//! ```
//! let k = vault_core::SessionKey::new(3);
//! assert_eq!(k.generation(), 3);
//! ```

/// A session key's metadata (never its bytes).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionKey { generation: u32, fingerprint: String }

impl SessionKey {
    /// A key of generation `g`.
    pub fn new(g: u32) -> Self { Self { generation: g, fingerprint: format!("{:016x}", u64::from(g) * 0x9e37_79b9_7f4a_7c15) } }
    /// The generation.
    pub fn generation(&self) -> u32 { self.generation }
    /// The fingerprint, hex.
    pub fn fingerprint(&self) -> &str { &self.fingerprint }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test] fn fingerprint_is_hex() { assert!(SessionKey::new(7).fingerprint().chars().all(|c| c.is_ascii_hexdigit())); }
    #[test] fn fingerprint_length() { assert_eq!(SessionKey::new(1).fingerprint().len(), 16); }
    #[test] fn fingerprints_differ() { assert_eq!(SessionKey::new(1).fingerprint(), SessionKey::new(2).fingerprint(), "token fingerprints should differ"); }
    #[test] #[ignore = "needs the hardware key store"] fn hsm_roundtrip() {}
    #[test] #[should_panic(expected = "expired")] fn expired_key_panics() { panic!("session key expired"); }
}
RS
cat > vault-core/build.rs <<'RS'
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-env=VAULT_BUILD_ID=local-0001");
    println!("cargo:warning=credential helper not found; falling back to the file store");
}
RS
cat > vault-cli/Cargo.toml <<'TOML'
[package]
name = "vault-cli"
version = "0.4.2"
edition = "2021"
license = "MIT"

[dependencies]
vault-core = { path = "../vault-core", features = ["audit-log"] }
TOML
cat > vault-cli/src/main.rs <<'RS'
fn main() {
    let unused_token = 5;
    let k = vault_core::SessionKey::new(42);
    println!("key generation {} fingerprint {}", k.generation(), k.fingerprint());
}
RS
cargo build -v
cargo build --message-format=json
cargo test -v -- --test-threads=1
cargo test -- --list
cargo test --doc
cargo run -q -p vault-cli
cargo tree -e features
cargo pkgid -p vault-core
cargo package --list --allow-dirty -p vault-core
cargo rustc -q -p vault-core -- --print cfg
cargo build --release --timings
cargo metadata --format-version 1 --no-deps | python3 -m json.tool
cargo check --message-format=json-diagnostic-short
cargo clean -p vault-cli
cargo fix --allow-no-vcs --bin vault-cli 2>&1 || true
cargo version --verbose
