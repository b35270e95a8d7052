#!/usr/bin/env bash
# Held-out corpus part 8: real clean output of ssh-keygen. Written by a helper who had read
# neither the detector's rules nor any other corpus part's cases. Throwaway keys are made in the
# temporary directory ($1); only their public halves, fingerprints and randomart are printed.
set -euo pipefail
cd "$1"
ssh-keygen -t ed25519 -N '' -C corpus@example.org -f ed
ssh-keygen -t rsa -b 3072 -N '' -C deploy@ci -f rsa
ssh-keygen -t ecdsa -b 256 -N '' -C root@bastion -f ec
cat ed.pub rsa.pub ec.pub
ssh-keygen -l -f ed.pub
ssh-keygen -l -f rsa.pub
ssh-keygen -l -E md5 -f ec.pub
ssh-keygen -lv -f ed.pub
ssh-keygen -B -f rsa.pub
ssh-keygen -e -f ed.pub
ssh-keygen -e -m PKCS8 -f rsa.pub
ssh-keygen -e -m PEM -f rsa.pub
ssh-keygen -y -f ed
cat ed.pub > authorized_keys
printf 'github.com %s\n' "$(cut -d' ' -f1-2 ec.pub)" > known_hosts
ssh-keygen -H -f known_hosts 2>&1
cat known_hosts
ssh-keygen -F github.com -f known_hosts || true
printf 'corpus@example.org %s\n' "$(cut -d' ' -f1-2 ed.pub)" > allowed_signers
printf 'a release note, signed\n' > note.txt
ssh-keygen -Y sign -f ed -n file note.txt
cat note.txt.sig
ssh-keygen -Y verify -f allowed_signers -I corpus@example.org -n file -s note.txt.sig < note.txt
ssh-keygen -s ed -I host-cert -h -n web01.example.org -V +52w ec.pub
ssh-keygen -L -f ec-cert.pub
