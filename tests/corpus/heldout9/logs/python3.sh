#!/usr/bin/env bash
# Held-out corpus part 9: real clean output of python3 (standard library command-line tools:
# json.tool, hashlib, base64, uuid, calendar, tokenize, ast, dis, zipfile, tarfile, unittest,
# pydoc). Written by a helper who had read neither the detector's rules nor any other corpus
# part's cases. Everything it prints is public: digests, encodings of ordinary text, uuid5 of
# fixed names, documentation and listings. Nothing random and no secret is printed.
set -euo pipefail
cd "$1"
export PYTHONDONTWRITEBYTECODE=1 PYTHONHASHSEED=0 TZ=UTC LC_ALL=C

cat > build-info.json <<'JSON'
{"name": "acme-api", "version": "3.2.1", "commit": "4f1e2d3c5b6a7980", "dependencies": {"requests": "2.31.0", "pyjwt": "2.8.0"}, "auth": {"method": "oidc", "issuer": "https://auth.example.org/", "token_ttl_seconds": 3600, "password_min_length": 12}}
JSON
python3 -m json.tool build-info.json
python3 -m json.tool --sort-keys --indent 2 build-info.json
python3 -m json.tool --compact build-info.json

cat > settings.py <<'PY'
"""Settings for the example service: secrets come from the environment."""
import os

DB_HOST = os.environ.get("DB_HOST", "localhost")
DB_PASSWORD = os.environ["DB_PASSWORD"]  # injected by the orchestrator
TOKEN_TTL = int(os.environ.get("TOKEN_TTL", "3600"))


def masked(value: str) -> str:
    """Return value with all but the last four characters hidden."""
    return "*" * max(len(value) - 4, 0) + value[-4:]
PY

python3 - <<'PY'
import base64, binascii, hashlib, hmac, zlib
texts = [b"", b"hello world\n", b"The quick brown fox jumps over the lazy dog", open("settings.py", "rb").read()]
for t in texts:
    print("md5     ", hashlib.md5(t).hexdigest())
    print("sha1    ", hashlib.sha1(t).hexdigest())
    print("sha256  ", hashlib.sha256(t).hexdigest())
    print("sha3_256", hashlib.sha3_256(t).hexdigest())
    print("blake2b ", hashlib.blake2b(t, digest_size=32).hexdigest())
    print("crc32   ", format(zlib.crc32(t), "08x"), "adler32", format(zlib.adler32(t), "08x"))
    print("b64     ", base64.b64encode(t[:48]).decode())
    print("b32     ", base64.b32encode(t[:20]).decode())
    print("hex     ", binascii.hexlify(t[:24]).decode())
print("hmac-sha256(key=b'key', msg=fox) =", hmac.new(b"key", texts[2], "sha256").hexdigest())
PY

printf 'Build 3.2.1 finished: 121 tests passed.\n' > message.txt
python3 -m base64 -e message.txt
python3 -m base64 -e message.txt | python3 -m base64 -d

python3 -c 'import uuid; print(uuid.uuid5(uuid.NAMESPACE_DNS, "example.org"))'
python3 -c 'import uuid; [print(uuid.uuid3(uuid.NAMESPACE_URL, u), uuid.uuid5(uuid.NAMESPACE_URL, u)) for u in ("https://example.org/", "https://example.org/api/v1/tokens")]'

python3 -m calendar 2024 4

python3 -m tokenize settings.py > tokens.txt
sed -n '1,40p' tokens.txt
python3 -m ast settings.py > ast.txt 2>&1 || python3 -c 'import ast; print(ast.dump(ast.parse(open("settings.py").read()), indent=2))' > ast.txt
sed -n '1,40p' ast.txt
python3 -c 'import dis; dis.dis(compile(open("settings.py").read(), "settings.py", "exec"))' > dis.txt
sed -n '1,40p' dis.txt

python3 - <<'PY'
import tarfile, zipfile, io
with zipfile.ZipFile("release.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for name in ("settings.py", "build-info.json", "message.txt"):
        info = zipfile.ZipInfo(name, date_time=(2024, 4, 9, 10, 12, 44))
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, open(name, "rb").read())
with tarfile.open("release.tar.gz", "w:gz", format=tarfile.GNU_FORMAT) as t:
    for name in ("settings.py", "build-info.json", "message.txt"):
        ti = t.gettarinfo(name)
        ti.mtime = 1712657564
        ti.uid = ti.gid = 1000
        ti.uname = ti.gname = "build"
        ti.mode = 0o644
        with open(name, "rb") as f:
            t.addfile(ti, f)
PY
python3 -m zipfile -l release.zip
python3 -m tarfile -l release.tar.gz
python3 -m tarfile -v -l release.tar.gz

cat > test_masked.py <<'PY'
import os, unittest
os.environ.setdefault("DB_PASSWORD", "")
from settings import masked


class MaskedTest(unittest.TestCase):
    def test_short(self):
        self.assertEqual(masked("abc"), "abc")

    def test_long(self):
        self.assertEqual(masked("abcdefgh"), "****efgh")

    def test_empty(self):
        self.assertEqual(masked(""), "")


if __name__ == "__main__":
    unittest.main()
PY
python3 -m unittest -v test_masked 2>&1 | sed -e 's/in [0-9.]*s$/in 0.000s/'

python3 -m pydoc secrets.token_hex
python3 -m pydoc secrets.compare_digest
python3 -m pydoc getpass.getpass
python3 -m pydoc hmac.compare_digest
python3 -c 'import sys; print(sys.version_info[:2] >= (3, 8))'
