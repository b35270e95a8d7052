#!/usr/bin/env bash
# Held-out corpus part 8: real clean output of openssl. Written by a helper who had read neither
# the detector's rules nor any other corpus part's cases. A throwaway key is made in the
# temporary directory ($1) and never printed: only public material (certificates, public keys,
# fingerprints, digests) and tool banners are shown.
set -euo pipefail
cd "$1"
printf 'Hello from the corpus.\nNothing secret in here.\n' > note.txt
openssl version -a
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key 2>/dev/null
openssl genpkey -algorithm ED25519 -out ed.key 2>/dev/null
openssl pkey -in ec.key -pubout
openssl pkey -in rsa.key -pubout
openssl pkey -in ed.key -pubout
openssl pkey -in ec.key -pubout -outform DER | openssl dgst -sha256
openssl req -new -key rsa.key -subj "/C=DE/O=Corpus Test/CN=corpus.example.org" -out req.csr 2>/dev/null
openssl req -in req.csr -noout -text
cat req.csr
openssl req -x509 -key ec.key -days 30 -subj "/CN=corpus.example.org" \
  -addext "subjectAltName=DNS:corpus.example.org,DNS:www.corpus.example.org" -out ec.crt 2>/dev/null
openssl req -x509 -key rsa.key -days 365 -subj "/C=DE/O=Corpus Test/CN=ca.corpus.example.org" -out rsa.crt 2>/dev/null
cat ec.crt rsa.crt
openssl x509 -in ec.crt -noout -text
openssl x509 -in rsa.crt -noout -subject -issuer -dates -serial
openssl x509 -in rsa.crt -noout -fingerprint -sha256
openssl x509 -in rsa.crt -noout -fingerprint -sha1
openssl x509 -in ec.crt -noout -pubkey
openssl x509 -in rsa.crt -noout -ocspid
openssl verify -CAfile ec.crt ec.crt
openssl dgst -sha256 note.txt
openssl dgst -sha512 note.txt
openssl dgst -sha1 -r note.txt
openssl dgst -md5 note.txt
openssl base64 -in note.txt
openssl dgst -sha256 -sign ec.key -out note.sig note.txt
openssl dgst -sha256 -verify <(openssl pkey -in ec.key -pubout) -signature note.sig note.txt
openssl base64 -in note.sig
openssl ciphers -v 'ECDHE+AESGCM' | head -n 12
openssl list -digest-commands
openssl ecparam -list_curves | head -n 15
openssl asn1parse -in ec.crt | head -n 20
