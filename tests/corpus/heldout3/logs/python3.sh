#!/usr/bin/env bash
# Real python3 output, made in $1: tracebacks (chained, with locals in messages), logging in
# several formats, json and pprint dumps of configuration with secret-sounding names but no
# secrets, hashlib and uuid output, argparse help, unittest -v and sysconfig. Every printed line
# is a clean line.
set -u
cd "$1" || exit 1
cat > app.py <<'PY'
import argparse, hashlib, json, logging, pprint, uuid, sys, base64
logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(levelname)s [%(name)s] %(message)s", stream=sys.stdout)
log = logging.getLogger("auth.session")
cfg = {"token_ttl": 3600, "secret_name": "prod/api", "password_min_length": 12, "api_key_header": "X-Api-Key",
       "session_cookie": "sid", "jwt_algorithm": "RS256", "keyring_backend": "SecretService", "auth_url": "https://auth.example.org/oauth2/token"}
pprint.pprint(cfg)
print(json.dumps(cfg, indent=2, sort_keys=True))
for i in range(40):
    u = uuid.UUID(int=(i * 0x9E3779B97F4A7C15 ** 3) % (1 << 128))
    log.debug("session %s refreshed, digest %s", u, hashlib.sha256(str(i).encode()).hexdigest())
    log.info("request_id=%s user_id=%d status=200 elapsed_ms=%d cache_key=%s", u.hex, 1000 + i, 7 * i, hashlib.md5(str(i).encode()).hexdigest())
    if i % 9 == 0:
        log.warning("token for client %d expires in %d s (etag %s)", i, 60 * i, base64.b64encode(hashlib.sha1(str(i).encode()).digest()).decode())
def load(path):
    try:
        open(path)
    except FileNotFoundError as e:
        raise KeyError("api_key not configured") from e
for p in ["/etc/app/credentials.json", "/run/secrets/db_password"]:
    try:
        load(p)
    except KeyError:
        log.exception("could not load %s", p)
ap = argparse.ArgumentParser(prog="tokenctl", description="Rotate and inspect API tokens.")
ap.add_argument("--token-file", help="file holding the token (never printed)")
ap.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
ap.add_argument("--key-id", default="k-2024-11", help="key id to rotate")
ap.print_help()
PY
python3 app.py 2>&1
cat > test_tokens.py <<'PY'
import unittest, hashlib
class TokenTests(unittest.TestCase):
    def test_digest_length(self): self.assertEqual(len(hashlib.sha512(b"x").hexdigest()), 128)
    def test_digest_mismatch(self): self.assertEqual(hashlib.sha256(b"a").hexdigest(), hashlib.sha256(b"b").hexdigest())
    @unittest.skip("needs the vault")
    def test_vault(self): pass
    def test_secret_name(self): self.assertIn("secret", "prod-secret-name")
if __name__ == "__main__": unittest.main(verbosity=2)
PY
python3 test_tokens.py 2>&1
python3 -m sysconfig | head -150
python3 -c 'import hashlib; print(sorted(hashlib.algorithms_available))'
python3 -c 'import ssl; print(ssl.OPENSSL_VERSION); print(ssl.get_default_verify_paths())'
