#!/usr/bin/env bash
# Real pytest output, made in $1: passing, failing, skipped and erroring tests with tracebacks,
# captured output and assertion rewriting. Every printed line is a clean line.
set -u
cd "$1" || exit 1
mkdir -p app tests
cat > app/auth.py <<'PY'
import hashlib, os

class TokenError(Exception):
    pass

def hash_password(password, salt=b"pepper"):
    return hashlib.sha256(salt + password.encode()).hexdigest()

def refresh_token(token, ttl=3600):
    if not token:
        raise TokenError("token missing")
    return {"access_token_expires_in": ttl, "token_type": "bearer"}

def api_key_from_env():
    return os.environ.get("APP_API_KEY")
PY
touch app/__init__.py
cat > tests/test_auth.py <<'PY'
import pytest
from app.auth import hash_password, refresh_token, api_key_from_env, TokenError

def test_hash_password_is_hex():
    assert len(hash_password("correct horse")) == 64

def test_refresh_token_ttl():
    assert refresh_token("abc", ttl=60)["access_token_expires_in"] == 60

def test_refresh_token_missing():
    with pytest.raises(TokenError, match="token missing"):
        refresh_token("")

def test_api_key_rotation_fails():
    key = api_key_from_env()
    print("api key present:", key is not None)
    assert key == "expected", "API key was not rotated"

@pytest.mark.skip(reason="needs a secret store")
def test_secret_store():
    pass

@pytest.mark.parametrize("ttl", [1, 60, 3600])
def test_ttls(ttl):
    assert refresh_token("t", ttl)["access_token_expires_in"] == ttl

def test_password_hash_differs():
    assert hash_password("a") == hash_password("b")
PY
cat > tests/test_broken.py <<'PY'
import not_a_module_for_the_corpus
PY
pytest -v -rA
pytest -q --tb=long tests/test_auth.py
pytest --collect-only -q
pytest -x --tb=line
pytest --durations=3 tests/test_auth.py
pytest --version
