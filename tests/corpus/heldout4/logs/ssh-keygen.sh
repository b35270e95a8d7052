#!/usr/bin/env bash
# Real ssh-keygen output, made in $1: throw-away ed25519, ecdsa and rsa keys (the private halves
# stay in files and are never printed), their public keys in OpenSSH, RFC 4716 and PKCS8 forms,
# fingerprints (SHA256, MD5, with randomart), a user certificate signed by a throw-away CA and
# its listing, a hashed known_hosts file, and an SSH signature of a file and its verification.
# Every printed line is a clean line (public keys, fingerprints and signatures are no secrets).
set -u
cd "$1" || exit 1
for t in ed25519 ecdsa rsa; do
  ssh-keygen -q -t "$t" -N '' -C "deploy-$t@ci.example.org" -f "id_$t" >/dev/null
  cat "id_$t.pub"
  ssh-keygen -l -f "id_$t.pub"
  ssh-keygen -l -E md5 -f "id_$t.pub"
  ssh-keygen -lv -f "id_$t.pub"
  ssh-keygen -e -f "id_$t.pub"
  ssh-keygen -e -m PKCS8 -f "id_$t.pub"
  ssh-keygen -y -f "id_$t"
done
ssh-keygen -q -t ed25519 -N '' -C "user-ca@example.org" -f user_ca >/dev/null
ssh-keygen -s user_ca -I "dana@example.org" -n dana,deploy -V +1d -z 42 id_ed25519.pub 2>&1
cat id_ed25519-cert.pub
ssh-keygen -L -f id_ed25519-cert.pub
printf '@cert-authority *.example.org %s\n' "$(cat user_ca.pub)" > known_hosts
for h in github.com gitlab.com bastion.example.org; do
  printf '%s %s\n' "$h" "$(cat id_ecdsa.pub)" >> known_hosts
done
cat known_hosts
ssh-keygen -H -f known_hosts 2>&1
cat known_hosts
ssh-keygen -F github.com -f known_hosts
printf 'release manifest: agentbox 0.9.0, sha256 of every archive below\n' > manifest.txt
sha256sum id_*.pub >> manifest.txt
ssh-keygen -Y sign -f id_ed25519 -n file manifest.txt 2>&1
cat manifest.txt.sig
printf 'dana@example.org %s\n' "$(cut -d' ' -f1,2 id_ed25519.pub)" > allowed_signers
ssh-keygen -Y verify -f allowed_signers -I dana@example.org -n file -s manifest.txt.sig < manifest.txt 2>&1
ssh-keygen -Y find-principals -f allowed_signers -s manifest.txt.sig 2>&1
ls -la --time-style=+%Y-%m-%d | awk '{print $1, $5, $7}'
