#!/usr/bin/env bash
# Real git output, made in $1: a throw-away repository whose files and commit messages talk about
# tokens, passwords and keys without holding any (names, env references, placeholders), then
# log --stat / --raw / -p, cat-file of commits, trees and tags, ls-tree, rev-list, for-each-ref,
# reflog, count-objects, verify-pack and bundle listings, plus coreutils digests and base64 of
# the ordinary files. Every printed line is a clean line.
set -u
cd "$1" || exit 1
export GIT_AUTHOR_NAME="Dana Reyes" GIT_AUTHOR_EMAIL="dana@example.org"
export GIT_COMMITTER_NAME="CI Bot" GIT_COMMITTER_EMAIL="ci@example.org"
export GIT_CONFIG_NOSYSTEM=1
git init -q -b main repo
cd repo || exit 1
git config core.autocrlf false
n=0
commit() {
  n=$((n + 1))
  export GIT_AUTHOR_DATE="2026-11-$((10 + n))T09:$((10 + n)):07+01:00" GIT_COMMITTER_DATE="2026-11-$((10 + n))T10:$((10 + n)):00+00:00"
  git add -A
  git commit -q -m "$1" -m "$2"
}
mkdir -p src/auth config docs secrets
cat > src/auth/token.py <<'PY'
import os

TOKEN_TTL_SECONDS = 3600


def load_api_key():
    # The key comes from the environment; it is never logged.
    return os.environ["API_KEY"]
PY
cat > config/settings.example.yml <<'YML'
database:
  host: db.internal
  user: app
  password: ${DB_PASSWORD}
api_key_rotation_days: 90
token_url: https://auth.example.org/oauth2/token
YML
printf '# Secrets\n\nPut the database password in /run/secrets/db_password.\n' > docs/secrets.md
printf 'secrets/*\n!secrets/.gitkeep\n.env\n' > .gitignore
: > secrets/.gitkeep
commit "initial layout: token loader and example settings" "No credential is stored in the repository; see docs/secrets.md."
cat >> src/auth/token.py <<'PY'


def refresh_token(client, refresh_url):
    """Exchange the refresh token for a new access token."""
    resp = client.post(refresh_url, data={"grant_type": "refresh_token"})
    resp.raise_for_status()
    return resp.json()["access_token"]
PY
commit "auth: add refresh_token helper" "Refs #482. The refresh token itself is read from the keyring."
sed -i 's/password: ${DB_PASSWORD}/password_file: \/run\/secrets\/db_password/' config/settings.example.yml
printf 'DB_PASSWORD=\nAPI_KEY=your-api-key-here\nSTRIPE_SECRET_KEY=sk_live_...\n' > .env.example
commit "config: read the password from a file, add .env.example" "Placeholders only."
git tag -a v0.1.0 -m "release 0.1.0: rotate signing keys every 30 days"
git checkout -q -b feature/api-key-rotation
for i in 1 2 3; do
  printf 'def test_api_key_rotation_%d():\n    assert rotate("key-%d") != "key-%d"\n' "$i" "$i" "$i" > "src/auth/test_rotation_$i.py"
  commit "tests: api key rotation case $i" "test_password_reset_token_expiry follows."
done
git checkout -q main
export GIT_AUTHOR_DATE="2026-11-20T09:00:00+01:00" GIT_COMMITTER_DATE="2026-11-20T09:00:00+00:00"
git merge -q --no-ff -m "Merge branch 'feature/api-key-rotation'" feature/api-key-rotation
git log --stat
git log --raw --no-abbrev -3
git log -p -2
git log --graph --oneline --decorate --all
git log --format='%H %T %P %an <%ae> %at %s'
git cat-file -p HEAD
git cat-file -p HEAD^2
git cat-file -p v0.1.0
git cat-file -p 'HEAD^{tree}'
git ls-tree -r --long HEAD
git ls-files -s
git rev-list --all --objects
git for-each-ref --format='%(objectname) %(objecttype) %(refname) %(*objectname)'
git show-ref --head --dereference
git reflog --format='%H %gd %gs'
git show --stat --format=fuller HEAD
git diff --stat HEAD~3 HEAD
git diff HEAD~3 HEAD -- config/
git describe --always --long --tags
git rev-parse HEAD HEAD~1 'HEAD^{tree}' v0.1.0 'v0.1.0^{commit}'
git gc -q
git count-objects -v
git verify-pack -v .git/objects/pack/*.idx | head -60
git bundle create ../repo.bundle --all 2>&1
git bundle list-heads ../repo.bundle
git fsck --full 2>&1
git hash-object -t blob docs/secrets.md
git status --porcelain=v2 --branch
sha256sum $(git ls-files)
sha512sum src/auth/token.py config/settings.example.yml
md5sum $(git ls-files)
sha1sum .git/objects/pack/*
base64 docs/secrets.md
base64 -w 0 config/settings.example.yml; echo
git archive --format=tar HEAD | sha256sum
