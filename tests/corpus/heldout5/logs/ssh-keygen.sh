#!/bin/sh
# Prints SSH public keys and fingerprints, checksums and pretty-printed JSON
# (a JWKS and a lockfile fragment); private key files are never printed.
set -e
# The harness passes the empty directory to work in as $1.
cd "$1"
ssh-keygen -q -t ed25519 -N '' -C 'ci@build-01.example' -f id_ed25519
ssh-keygen -q -t ecdsa -b 256 -N '' -C 'deploy@example.org' -f id_ecdsa
cat id_ed25519.pub id_ecdsa.pub
ssh-keygen -l -f id_ed25519.pub
ssh-keygen -l -E md5 -f id_ecdsa.pub
ssh-keygen -e -f id_ed25519.pub
ssh-keygen -e -m PKCS8 -f id_ecdsa.pub
printf 'release notes for 2.3.0\n' > notes.txt
sha256sum notes.txt id_ed25519.pub
sha1sum notes.txt
md5sum notes.txt
b2sum notes.txt
base64 notes.txt
git hash-object notes.txt
python3 - <<'PY'
import base64, hashlib, json, uuid
data = open("notes.txt", "rb").read()
lock = {
    "name": "acme-web",
    "lockfileVersion": 3,
    "packages": {
        "node_modules/notes": {
            "version": "2.3.0",
            "resolved": "https://registry.npmjs.org/notes/-/notes-2.3.0.tgz",
            "integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode(),
            "shasum": hashlib.sha1(data).hexdigest(),
        }
    },
    "request_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "https://example.com/build/42")),
}
print(json.dumps(lock, indent=2))
pub = open("id_ed25519.pub").read().split()[1]
raw = base64.b64decode(pub)[-32:]
jwk = {"keys": [{"kty": "OKP", "crv": "Ed25519", "use": "sig", "kid": hashlib.sha256(raw).hexdigest()[:16],
                 "x": base64.urlsafe_b64encode(raw).decode().rstrip("=")}]}
print(json.dumps(jwk, indent=2))
PY
