#!/bin/sh
# Held-out corpus part 7: real output of GnuPG, written by someone who had read neither the
# detector's rules nor any other corpus part. It makes a throw-away key ring in $1 (no passphrase,
# never exported in secret form) and prints only public material: key listings, fingerprints, an
# armored public key, a detached signature, a clear-signed message and their verification.
set -e
cd "$1"
HOME="$PWD"
GNUPGHOME="$PWD/gnupg"
export HOME GNUPGHOME
mkdir -m 700 "$GNUPGHOME"
trap 'gpgconf --kill gpg-agent >/dev/null 2>&1 || true' EXIT
g() { gpg --batch --no-tty --pinentry-mode loopback --passphrase '' "$@" 2>&1; }

g --quick-generate-key "Release Signing <release@example.com>" ed25519 sign 2y
FPR=$(gpg --batch --list-keys --with-colons release@example.com | awk -F: '/^fpr:/ {print $10; exit}')
g --quick-add-key "$FPR" cv25519 encr 2y
g --quick-generate-key "CI Bot <ci@example.com>" rsa2048 sign,encr 1y
echo "== list"
g --list-keys --keyid-format long
g --list-keys --with-colons --with-fingerprint
g --fingerprint --with-subkey-fingerprints release@example.com
echo "== export public"
g --armor --export release@example.com
g --export-ssh-key release@example.com || true
echo "== sign"
printf 'agentbox 2.4.1\nsha256 of the tarball is in SHA256SUMS\n' > RELEASE.txt
sha256sum RELEASE.txt > SHA256SUMS
g --local-user release@example.com --armor --detach-sign SHA256SUMS
cat SHA256SUMS SHA256SUMS.asc
g --verify SHA256SUMS.asc SHA256SUMS
g --local-user release@example.com --clearsign RELEASE.txt
cat RELEASE.txt.asc
g --verify RELEASE.txt.asc
echo "== encrypt to public key (ciphertext only)"
printf 'build cache manifest\n' | g --armor --trust-model always --recipient ci@example.com --encrypt
g --list-packets SHA256SUMS.asc
