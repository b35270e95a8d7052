#!/bin/sh
# Held-out corpus part 6: real output of the JDK keytool, written by someone who had read neither
# the detector's rules nor any other corpus part. It builds throw-away key stores in $1 and prints
# only public material: listings, certificate fingerprints, PEM certificates and a CSR (public parts).
# No private key is ever exported or printed; the store password is random and never echoed.
set -e
cd "$1"
HOME="$PWD"
export HOME
KS_PASS=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export KS_PASS
J="-J-Duser.home=$PWD -J-Djava.util.prefs.userRoot=$PWD/.prefs -J-XX:-UsePerfData -J-XX:TieredStopAtLevel=1 -J-Xshare:auto"
kt() { keytool $J "$@" 2>&1; }

kt -genkeypair -alias api-server -keyalg EC -groupname secp256r1 -sigalg SHA256withECDSA \
   -dname "CN=api.example.internal, OU=Platform, O=Example Corp, L=Berlin, C=DE" \
   -ext "SAN=dns:api.example.internal,dns:localhost,ip:127.0.0.1" -validity 397 \
   -keystore server.p12 -storetype PKCS12 -storepass:env KS_PASS
kt -genkeypair -alias internal-ca -keyalg RSA -keysize 2048 -sigalg SHA256withRSA \
   -dname "CN=Example Internal CA, O=Example Corp, C=DE" -ext bc:c -validity 3650 \
   -keystore ca.p12 -storetype PKCS12 -storepass:env KS_PASS

echo "== keytool -list"
kt -list -keystore server.p12 -storepass:env KS_PASS
echo "== keytool -list -v (ca)"
kt -list -v -keystore ca.p12 -storepass:env KS_PASS
echo "== certificate request (public)"
kt -certreq -alias api-server -keystore server.p12 -storepass:env KS_PASS -file api.csr
cat api.csr
echo "== issue certificate from internal CA"
kt -gencert -alias internal-ca -keystore ca.p12 -storepass:env KS_PASS -infile api.csr -outfile api.crt \
   -ext "SAN=dns:api.example.internal" -ext ku:c=digitalSignature -ext eku=serverAuth -validity 90 -rfc
cat api.crt
kt -printcert -file api.crt
echo "== export CA certificate and build a trust store"
kt -exportcert -rfc -alias internal-ca -keystore ca.p12 -storepass:env KS_PASS -file ca.crt
cat ca.crt
kt -importcert -noprompt -alias example-internal-ca -file ca.crt -keystore trust.p12 -storetype PKCS12 -storepass:env KS_PASS
kt -list -rfc -keystore trust.p12 -storepass:env KS_PASS
echo "== sha256 of the public files"
sha256sum api.csr api.crt ca.crt
