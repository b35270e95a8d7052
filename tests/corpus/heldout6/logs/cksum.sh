#!/bin/sh
# Held-out corpus part 6: real output of GNU coreutils cksum with every digest algorithm it has,
# over files created in $1 (release notes, a tarball listing, a small binary), written by someone
# who had read neither the detector's rules nor any other corpus part. Digests are not secrets.
set -e
cd "$1"
HOME="$PWD"
export HOME
printf 'release 2.4.1\n- rotate signing keys yearly\n- token TTL now 15 minutes\n' > NOTES.md
printf '{"name":"agent","version":"2.4.1","checksumAlgorithm":"sha256"}\n' > manifest.json
i=0; while [ $i -lt 256 ]; do printf "\\$(printf %03o $i)"; i=$((i+1)); done > bytes.bin
mkdir -p dist && cp NOTES.md manifest.json dist/
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf dist.tar dist
for a in sysv bsd crc md5 sha1 sha224 sha256 sha384 sha512 blake2b sm3; do
  cksum -a "$a" NOTES.md manifest.json bytes.bin dist.tar
done
echo "== untagged"
cksum -a sha256 --untagged NOTES.md manifest.json bytes.bin dist.tar | tee SHA256SUMS
cksum -a blake2b -l 256 NOTES.md manifest.json bytes.bin dist.tar | tee B2SUMS
echo "== check"
cksum -a sha256 --check SHA256SUMS
cksum --check B2SUMS
