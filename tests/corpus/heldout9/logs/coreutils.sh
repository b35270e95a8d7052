#!/usr/bin/env bash
# Held-out corpus part 9: real clean output of coreutils and GNU tar (sha256sum, sha1sum,
# sha512sum, md5sum, b2sum, cksum, base64, base32, od, ls -l, stat, date, tar -tv, gzip -l).
# Written by a helper who had read neither the detector's rules nor any other corpus part's
# cases. It hashes, encodes and lists ordinary files it writes itself (release notes, a
# config without secret values, a checksum manifest); no key, token or password is printed.
set -euo pipefail
cd "$1"
export TZ=UTC LC_ALL=C

mkdir -p release/docs release/config
cat > release/NOTES.md <<'MD'
# Release 3.2.1

* Fix: refresh tokens are rotated on every use.
* Fix: the password reset page no longer echoes the e-mail address.
* Docs: how to rotate the API token (see docs/rotation.md).
MD
cat > release/docs/rotation.md <<'MD'
Rotate the token with `acme token rotate`; the old one stays valid for 10 minutes.
MD
cat > release/config/app.toml <<'TOML'
[server]
listen = "0.0.0.0:8080"

[auth]
issuer = "https://auth.example.org/"
token_ttl_seconds = 3600
password_min_length = 12
password_file = "/run/secrets/db_password"
TOML
printf 'hello world\n' > release/hello.txt
: > release/empty.txt
find release -exec touch -d '2024-04-09 10:12:44' {} +

cd release
sha256sum NOTES.md docs/rotation.md config/app.toml hello.txt empty.txt | tee SHA256SUMS
touch -d '2024-04-09 10:12:44' SHA256SUMS
sha256sum -c SHA256SUMS
sha256sum --tag hello.txt empty.txt
sha1sum NOTES.md hello.txt empty.txt
sha512sum hello.txt empty.txt
md5sum NOTES.md docs/rotation.md config/app.toml hello.txt empty.txt
b2sum hello.txt empty.txt
b2sum -l 256 NOTES.md hello.txt
cksum NOTES.md hello.txt empty.txt
cksum -a sha256 hello.txt 2>/dev/null || true
printf 'The quick brown fox jumps over the lazy dog' | sha256sum
printf 'The quick brown fox jumps over the lazy dog' | md5sum
base64 NOTES.md
base64 -w 0 hello.txt; echo
base64 docs/rotation.md | base64 -d
base32 hello.txt
od -A x -t x1z -v hello.txt
od -c config/app.toml
ls -l --time-style=long-iso . docs config | sed -e 's/ [a-z_][a-z0-9_-]* [a-z_][a-z0-9_-]* / owner group /'
stat -c '%n %s %a %Y' NOTES.md hello.txt empty.txt config/app.toml
date -u -d @1712657564
date -u -d @1712657564 '+%Y-%m-%dT%H:%M:%SZ %s %A %j %V'
date -u -d '2024-04-09 10:12:44' -R
date -u -d '2024-04-09 10:12:44' --iso-8601=seconds
wc NOTES.md docs/rotation.md config/app.toml
cd ..

tar --sort=name --mtime='2024-04-09 10:12:44' --owner=build:1000 --group=build:1000 --numeric-owner -czf release-3.2.1.tar.gz release
tar --sort=name --mtime='2024-04-09 10:12:44' --owner=build:1000 --group=build:1000 -cvf release-3.2.1.tar release
tar -tvf release-3.2.1.tar
tar -tvzf release-3.2.1.tar.gz
tar -tf release-3.2.1.tar
gzip -n -9 -c release-3.2.1.tar > release-plain.tar.gz
gzip -l release-plain.tar.gz release-3.2.1.tar.gz
gzip -t release-plain.tar.gz && echo "gzip: release-plain.tar.gz OK"
sha256sum release-plain.tar.gz
sha256sum release-3.2.1.tar
