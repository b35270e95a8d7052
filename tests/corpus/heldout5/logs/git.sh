#!/bin/sh
# Prints git log/show/ls-tree output of a small repository built here.
# Config files in it only hold placeholders and env-var references.
set -e
# The harness passes the empty directory to work in as $1.
cd "$1"
export HOME="$PWD" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="Dana Builder" GIT_AUTHOR_EMAIL="dana@example.com"
export GIT_COMMITTER_NAME="Dana Builder" GIT_COMMITTER_EMAIL="dana@example.com"
git init -q -b main repo
cd repo
commit() {
  GIT_AUTHOR_DATE="$1" GIT_COMMITTER_DATE="$1" git commit -q -m "$2"
}
mkdir -p config src
cat > config/settings.example.toml <<'T'
[database]
url = "postgres://app@localhost/app"
password = "${DB_PASSWORD}"

[api]
token_env = "API_TOKEN"
T
printf 'def load():\n    import os\n    return os.environ["API_TOKEN"]\n' > src/token.py
git add -A
commit "2024-03-01T10:00:00+01:00" "Add example settings and token loader"
cat >> config/settings.example.toml <<'T'

[smtp]
host = "smtp.example.com"
password = "<set SMTP_PASSWORD in the environment>"
T
printf '.env\n*.pem\n' > .gitignore
git add -A
commit "2024-03-02T11:30:00+01:00" "Document SMTP settings; ignore .env and key files"
GIT_COMMITTER_DATE="2024-03-02T12:00:00+01:00" git tag -a v0.1.0 -m "first release"
git checkout -q -b feature/rotate-keys
printf '# Key rotation\n\nRun `acme keys rotate --dry-run` before rotating.\n' > ROTATION.md
git add -A
commit "2024-03-03T09:15:00+01:00" "Describe key rotation"
git checkout -q main
GIT_AUTHOR_DATE="2024-03-04T08:00:00+01:00" GIT_COMMITTER_DATE="2024-03-04T08:00:00+01:00" \
  git merge -q --no-ff -m "Merge branch 'feature/rotate-keys'" feature/rotate-keys
git log --format=fuller --stat
git log --oneline --graph --decorate --all
git show --format=raw HEAD~1
git ls-tree -r HEAD
git cat-file -p v0.1.0
git show-ref
git rev-parse HEAD HEAD^{tree}
git describe --tags --long
git count-objects -v | grep -v '^size'
