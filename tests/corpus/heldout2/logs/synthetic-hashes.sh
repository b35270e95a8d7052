#!/usr/bin/env bash
# Synthetic lines, labelled so (category synthetic-hashes): innocent text that is mostly hashes
# and encodings, written from the documented formats of sha256sum/md5sum/b2sum (real tools,
# run on generated files), Docker image digests, Nix store paths, go.sum, Cargo.lock, yarn.lock,
# pip --hash requirements, npm integrity strings, Subresource Integrity tags, source maps (inline
# base64 ones too), data: URIs of real PNG bytes, UUIDs, SSH public keys and fingerprints, TLS
# certificate fingerprints, bundler asset names and Kubernetes object names. The values are drawn
# from a generator seeded with $CORPUS_SEED, so each seed gives another draw.
set -u
cd "$1" || exit 1
mkdir -p files
for i in $(seq 1 30); do printf 'file %d\n%s\n' "$i" "$(seq 1 "$i")" > "files/part-$i.txt"; done
sha256sum files/*
md5sum files/* | head -15
b2sum files/* | head -10
sha1sum files/* | head -10
openssl dgst -sha256 files/part-1.txt files/part-2.txt
openssl dgst -sha512 -r files/part-3.txt
openssl rand -hex 4 >/dev/null
exec python3 - "${CORPUS_SEED:-16}" <<'PY'
import base64, hashlib, random, sys, uuid, json, zlib, struct
r = random.Random(int(sys.argv[1]))
def hx(n): return "".join(r.choice("0123456789abcdef") for _ in range(n))
def rb(n): return bytes(r.getrandbits(8) for _ in range(n))
def b64(b): return base64.b64encode(b).decode()
NIX = "0123456789abcdfghijklmnpqrsvwxyz"
words = ["api", "auth", "session", "token", "secret", "key", "vault", "login", "web", "db", "cache", "worker"]
pkgs = ["openssl", "zlib", "python3", "nodejs", "glibc", "curl", "libsecret", "gnupg", "openssh", "rustc"]
for _ in range(25):
    repo = r.choice(["library/nginx", "library/postgres", "myorg/api-gateway", "ghcr.io/acme/token-service", "quay.io/keycloak/keycloak"])
    print(f"{repo}@sha256:{hx(64)}")
    print(f"Digest: sha256:{hx(64)}")
    print(f"{hx(12)}: Pull complete")
for _ in range(25):
    p = r.choice(pkgs)
    print(f"/nix/store/{''.join(r.choice(NIX) for _ in range(32))}-{p}-{r.randint(1,9)}.{r.randint(0,30)}.{r.randint(0,9)}")
for _ in range(25):
    m = r.choice(["golang.org/x/crypto", "golang.org/x/oauth2", "github.com/golang-jwt/jwt/v5", "google.golang.org/grpc", "github.com/aws/aws-sdk-go-v2/credentials"])
    v = f"v{r.randint(0,2)}.{r.randint(0,40)}.{r.randint(0,9)}"
    print(f"{m} {v} h1:{b64(rb(32))}")
    print(f"{m} {v}/go.mod h1:{b64(rb(32))}")
for _ in range(20):
    c = r.choice(["ring", "rustls", "base64", "hmac", "sha2", "secrecy", "zeroize", "jsonwebtoken"])
    print('[[package]]')
    print(f'name = "{c}"')
    print(f'version = "0.{r.randint(1,20)}.{r.randint(0,12)}"')
    print('source = "registry+https://github.com/rust-lang/crates.io-index"')
    print(f'checksum = "{hx(64)}"')
for _ in range(20):
    n = r.choice(["jsonwebtoken", "bcrypt", "passport-oauth2", "express-session", "keytar", "dotenv"])
    v = f"{r.randint(1,9)}.{r.randint(0,20)}.{r.randint(0,9)}"
    print(f'{n}@^{v}:')
    print(f'  version "{v}"')
    print(f'  resolved "https://registry.yarnpkg.com/{n}/-/{n}-{v}.tgz#{hx(40)}"')
    print(f'  integrity sha512-{b64(rb(64))}')
    print(f'      "integrity": "sha512-{b64(rb(64))}",')
for _ in range(20):
    n = r.choice(["cryptography", "requests", "pyjwt", "keyring", "boto3", "oauthlib"])
    print(f"{n}=={r.randint(1,40)}.{r.randint(0,9)}.{r.randint(0,9)} \\")
    print(f"    --hash=sha256:{hx(64)} \\")
    print(f"    --hash=sha256:{hx(64)}")
for _ in range(15):
    f = r.choice(["app", "vendor", "login", "session"])
    print(f'<script src="https://cdn.example.com/{f}.{hx(8)}.min.js" integrity="sha384-{b64(rb(48))}" crossorigin="anonymous"></script>')
    print(f'<link rel="stylesheet" href="/assets/{f}-{hx(20)}.css" integrity="sha256-{b64(rb(32))}">')
VLQ = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
def mappings(n):
    return ";".join(",".join("".join(r.choice(VLQ) for _ in range(r.choice([4, 4, 5, 6, 8]))) for _ in range(r.randint(2, 8))) for _ in range(n))
for _ in range(10):
    f = r.choice(["main", "chunk-vendors", "auth", "token-refresh"])
    sm = {"version": 3, "file": f"{f}.{hx(8)}.js", "sources": [f"webpack:///./src/{f}.ts"], "names": ["token", "refresh", "apiKey", "session"], "mappings": mappings(6)}
    print(json.dumps(sm))
    print(f"//# sourceMappingURL=data:application/json;charset=utf-8;base64,{b64(json.dumps(sm).encode())}")
    print(f"//# sourceMappingURL={f}.{hx(8)}.js.map")
def png(w, h):
    raw = b"".join(b"\x00" + rb(w * 3) for _ in range(h))
    def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
for _ in range(8):
    print(f'  background-image: url("data:image/png;base64,{b64(png(r.randint(2, 6), r.randint(2, 6)))}");')
for _ in range(30):
    u = uuid.UUID(int=r.getrandbits(128), version=4)
    print(r.choice([f"request_id={u}", f"X-Request-Id: {u}", f"trace {u} span {hx(16)}", f'"correlationId": "{u}",', f"session {u} closed", f"INFO token refresh job {u} finished"]))
for _ in range(15):
    blob = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + rb(32)
    print(f"ssh-ed25519 {b64(blob)} deploy@build-{r.randint(1,40)}")
    print(f"256 SHA256:{b64(rb(32)).rstrip('=')} deploy@build-{r.randint(1,40)} (ED25519)")
    print(f"The key fingerprint is SHA256:{b64(rb(32)).rstrip('=')}.")
for _ in range(15):
    fp = ":".join(hx(2).upper() for _ in range(32))
    print(f"SHA256 Fingerprint={fp}")
    print(f"        Serial Number: {':'.join(hx(2) for _ in range(16))}")
    print(f"            X509v3 Subject Key Identifier: {':'.join(hx(2).upper() for _ in range(20))}")
for _ in range(20):
    w = r.choice(words)
    print(f"pod/{w}-{hx(10)}-{''.join(r.choice('bcdfghjklmnpqrstvwxz2456789') for _ in range(5))}   1/1   Running   0   {r.randint(1,59)}m")
    print(f"replicaset.apps/{w}-deployment-{hx(10)}   3   3   3   {r.randint(1,9)}d")
for _ in range(20):
    print(f"commit {hx(40)}")
    print(f"tree {hx(40)}")
    print(f"Merge: {hx(7)} {hx(7)}")
    print(f"index {hx(7)}..{hx(7)} 100644")
for _ in range(15):
    print(f"{hx(64)}  dist/{r.choice(words)}-{r.randint(0,3)}.{r.randint(0,9)}.{r.randint(0,9)}-x86_64-linux.tar.gz")
    print(f"sha512:{b64(rb(64))}")
    print(f"etag: \"{hx(32)}\"")
    print(f"ETag: W/\"{hx(8)}-{b64(rb(20)).rstrip('=')}\"")
PY
