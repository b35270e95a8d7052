#!/usr/bin/env bash
# Real openssl output, made in $1: a throw-away CA and server certificate (the private keys are
# written to files and never printed), then the certificate text (public modulus in hex,
# fingerprints, extensions), a CSR, digests, a verify and s_client-free checks. Every printed
# line is a clean line.
set -u
cd "$1" || exit 1
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=Test CA/O=Example" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr -subj "/CN=api.internal" 2>/dev/null
printf 'subjectAltName=DNS:api.internal,DNS:token-broker.internal\nextendedKeyUsage=serverAuth\n' > ext.cnf
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 1 -extfile ext.cnf
openssl x509 -in ca.pem -noout -text
openssl x509 -in srv.pem -noout -text
openssl x509 -in srv.pem -noout -fingerprint -sha256
openssl x509 -in srv.pem -noout -fingerprint -sha1
openssl x509 -in srv.pem -noout -serial -subject -issuer -dates -ext subjectAltName
openssl req -in srv.csr -noout -text
openssl verify -CAfile ca.pem srv.pem
openssl dgst -sha256 -hex ca.pem srv.pem
openssl dgst -sha384 -binary srv.pem | openssl base64
openssl x509 -in srv.pem -pubkey -noout
openssl pkey -in srv.key -pubout -text_pub -noout
openssl rand -hex 16 >/dev/null
openssl version -a
openssl list -digest-algorithms | head -30
openssl ciphers -v 'HIGH:!aNULL' | head -40
openssl asn1parse -in srv.pem | head -40
