#!/usr/bin/env bash
# Held-out corpus part 9: real clean output of git in a throwaway repository (init, commit,
# log in several formats, show --stat, diff of ordinary code, shortlog, ls-tree, cat-file,
# describe, format-patch, blame, notes, bundle verify). Written by a helper who had
# read neither the detector's rules nor any other corpus part's cases. The code it commits
# reads its secrets from the environment; no secret value is written or printed.
set -euo pipefail
cd "$1"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME="$PWD" TZ=UTC LC_ALL=C
export GIT_AUTHOR_NAME="Priya Raman" GIT_AUTHOR_EMAIL="priya.raman@example.org"
export GIT_COMMITTER_NAME="Priya Raman" GIT_COMMITTER_EMAIL="priya.raman@example.org"
n=0
at() { n=$((n + 1)); export GIT_AUTHOR_DATE="2024-04-0${1}T10:1${n}:44Z" GIT_COMMITTER_DATE="2024-04-0${1}T10:1${n}:44Z"; }

git init -q -b main repo
cd repo
git config commit.gpgsign false
git config core.pager cat

mkdir -p src/auth docs
cat > src/auth/config.py <<'PY'
import os

def database_url() -> str:
    user = os.environ.get("DB_USER", "app")
    host = os.environ.get("DB_HOST", "localhost")
    return f"postgresql://{user}@{host}:5432/app"
PY
cat > README.md <<'MD'
# example service

Configuration is read from the environment. Set `DB_PASSWORD` and `API_TOKEN`
before starting; never commit them. See docs/secrets.md.
MD
at 1; git add -A; git commit -q -m "Initial commit"

cat > docs/secrets.md <<'MD'
# Secrets

* `DB_PASSWORD`: injected from the secret manager at deploy time.
* `API_TOKEN`: rotated every 90 days; only its last four characters are logged.
MD
at 2; git add -A; git commit -q -m "docs: explain where secrets come from" -m "No secret values are stored in the repository."

cat > src/auth/config.py <<'PY'
import os

def database_url() -> str:
    user = os.environ.get("DB_USER", "app")
    host = os.environ.get("DB_HOST", "localhost")
    password = os.environ["DB_PASSWORD"]
    return f"postgresql://{user}:{password}@{host}:5432/app"

def masked(value: str) -> str:
    return "*" * max(len(value) - 4, 0) + value[-4:]
PY
at 3; git add -A; git commit -q -m "auth: read DB_PASSWORD from the environment" -m "Adds masked() so that logs only show the last four characters."
git tag -a v0.1.0 -m "first release"

git checkout -q -b feature/token-ttl
printf 'TOKEN_TTL_SECONDS = int(__import__("os").environ.get("TOKEN_TTL_SECONDS", "3600"))\n' > src/auth/ttl.py
at 4; git add -A; git commit -q -m "auth: make token lifetime configurable"
git checkout -q main
at 5; git merge -q --no-ff feature/token-ttl -m "Merge branch 'feature/token-ttl'"
at 6; git notes add -m "reviewed: no credentials in diff" HEAD

git log
git log --oneline --graph --decorate --all
git log --format='%H %h %an <%ae> %ad %s' --date=iso-strict
git log --stat -n 2
git show --stat HEAD~1
git show HEAD~1 -- src/auth/config.py
git diff v0.1.0~1 v0.1.0
git diff --numstat v0.1.0~2 HEAD
git diff --name-status v0.1.0~2 HEAD
git shortlog -sne HEAD
git ls-tree -r HEAD
git ls-files -s
git cat-file -p HEAD
git cat-file -p v0.1.0
git cat-file -t HEAD^{tree}
git rev-parse HEAD HEAD^{tree} v0.1.0
git describe --tags --long
git for-each-ref --format='%(refname) %(objectname) %(objecttype)'
git count-objects -v
git blame --date=short src/auth/config.py
git format-patch -1 --stdout v0.1.0
git notes show HEAD

git bundle create ../repo.bundle --all 2>&1
git bundle verify ../repo.bundle 2>&1
git status
git log --reverse --format='%h %s'
