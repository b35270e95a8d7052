#!/usr/bin/env bash
# Real pytest output, made in $1: parametrised tests whose ids are digests and UUIDs, fixtures,
# xfail, skips, warnings, assertion diffs of hex strings, tracebacks and the collection listing.
# Every printed line is a clean line.
set -u
cd "$1" || exit 1
mkdir -p checksums tests
cat > checksums/__init__.py <<'PY'
import base64, hashlib, uuid, warnings

def digest(data: bytes, algo: str = "sha256") -> str:
    return hashlib.new(algo, data).hexdigest()

def b64digest(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()

def request_id(n: int) -> str:
    return str(uuid.UUID(int=n * 0x1234567890ABCDEF1234567 % (1 << 128)))

def legacy_md5(data: bytes) -> str:
    warnings.warn("md5 is deprecated for session key fingerprints", DeprecationWarning)
    return hashlib.md5(data).hexdigest()
PY
cat > tests/test_checksums.py <<'PY'
import hashlib, pytest
from checksums import digest, b64digest, request_id, legacy_md5

CASES = [b"alpha", b"beta", b"gamma", b"delta", b"token-refresh", b"api-key-rotation"]

@pytest.mark.parametrize("data", CASES, ids=[hashlib.sha1(c).hexdigest() for c in CASES])
def test_sha256_length(data):
    assert len(digest(data)) == 64

@pytest.mark.parametrize("algo", ["sha1", "sha224", "sha384", "sha512", "blake2b", "sha3_256"])
def test_algorithms(algo):
    assert digest(b"x", algo) == hashlib.new(algo, b"x").hexdigest()

@pytest.mark.parametrize("n", range(1, 9), ids=lambda n: request_id(n))
def test_request_ids_unique(n):
    assert request_id(n) != request_id(n + 1)

def test_b64digest_roundtrip():
    assert b64digest(b"password-reset") == b64digest(b"password-reset")

def test_digest_mismatch():
    assert digest(b"session") == digest(b"sessions")

def test_b64_mismatch():
    assert b64digest(b"secret-name") == b64digest(b"secret-names")

def test_legacy_md5_warns():
    assert len(legacy_md5(b"k")) == 32

@pytest.mark.xfail(reason="blake3 not in hashlib")
def test_blake3():
    hashlib.new("blake3")

@pytest.mark.skip(reason="needs the credential vault")
def test_vault_token_refresh():
    pass

@pytest.fixture
def keyring(tmp_path):
    p = tmp_path / "keyring.txt"
    p.write_text("\n".join(digest(c) for c in CASES))
    return p

def test_keyring_lines(keyring):
    lines = keyring.read_text().splitlines()
    assert lines[0] == digest(b"omega"), f"first key fingerprint was {lines[0]}"

def test_error_in_fixture_free():
    raise KeyError("api_key")
PY
export PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$1"
pytest -v -p no:cacheprovider tests
pytest -rA -q -p no:cacheprovider tests
pytest --collect-only -q -p no:cacheprovider tests
pytest -v --durations=5 -p no:cacheprovider -k "sha256 or algorithms" tests
pytest --tb=long -p no:cacheprovider -k mismatch tests
pytest --tb=line -p no:cacheprovider tests
pytest --version
