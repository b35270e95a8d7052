#!/bin/sh
# Makes a throwaway self-signed certificate and prints only public material:
# the certificate (PEM and text), its fingerprints, a CSR and the public keys.
set -e
# The harness passes the empty directory to work in as $1.
cd "$1"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout ec.key -out ec.crt -days 365 -sha256 \
  -subj "/C=DE/O=Example Labs/CN=build.example.test" \
  -addext "subjectAltName=DNS:build.example.test,DNS:localhost" 2>/dev/null
openssl x509 -in ec.crt -noout -text
cat ec.crt
openssl x509 -in ec.crt -noout -fingerprint -sha256
openssl x509 -in ec.crt -noout -fingerprint -sha1
openssl x509 -in ec.crt -noout -serial -subject -issuer -dates
openssl pkey -in ec.key -pubout
openssl pkey -in ec.key -pubout | openssl pkey -pubin -noout -text
openssl genpkey -algorithm ed25519 -out ed.key 2>/dev/null
openssl req -new -key ed.key -subj "/CN=signer.example.test" -out ed.csr
cat ed.csr
openssl req -in ed.csr -noout -text
openssl pkey -in ed.key -pubout
openssl x509 -in ec.crt -outform DER | openssl dgst -sha256
