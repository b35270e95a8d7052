#!/usr/bin/env bash
# Held-out corpus part 8: real clean output of git. Written by a helper who had read neither the
# detector's rules nor any other corpus part's cases. A small repository in the temporary
# directory ($1) whose files talk about secrets and hold none.
set -euo pipefail
cd "$1"
export GIT_AUTHOR_NAME="Jane Doe" GIT_AUTHOR_EMAIL=jane.doe@example.org
export GIT_COMMITTER_NAME="Jane Doe" GIT_COMMITTER_EMAIL=jane.doe@example.org
export GIT_AUTHOR_DATE="2025-03-14T10:12:01Z" GIT_COMMITTER_DATE="2025-03-14T10:12:01Z"
git init -q -b main repo
cd repo
git config core.pager cat
printf 'API_KEY=\nDB_PASSWORD=\nSTRIPE_SECRET_KEY=sk_test_your_key_here\n' > .env.example
printf '.env\n*.pem\n*.key\nsecrets/\n' > .gitignore
printf '# Acme\n\nCopy .env.example to .env and fill in your own API key.\n' > README.md
git add -A && git commit -q -m "init: add env example and ignore secrets"
mkdir -p src
printf 'fn token() -> String {\n    std::env::var("API_TOKEN").expect("API_TOKEN is not set")\n}\n' > src/auth.rs
git add -A && git commit -q -m "auth: read the API token from the environment"
git checkout -q -b fix/password-reset
printf 'pub const PASSWORD_MIN_LENGTH: usize = 12;\npub const TOKEN_TTL_SECS: u64 = 3600;\n' > src/limits.rs
git add -A && git commit -q -m "limits: password length and token lifetime"
git checkout -q main
git merge -q --no-ff fix/password-reset -m "Merge branch 'fix/password-reset'"
git tag -a v1.0.0 -m "release 1.0.0"
git log --graph --decorate --oneline --all
git log --stat --format=fuller
git show --stat HEAD~1
git show HEAD~2
git rev-parse HEAD HEAD~1 HEAD^{tree}
git cat-file -p HEAD
git cat-file -p v1.0.0
git ls-tree -r HEAD
git ls-files -s
git show-ref
git for-each-ref --format='%(objectname) %(refname) %(objecttype)'
git describe --tags --long
git reflog
git count-objects -v
git fsck --full 2>&1
git diff HEAD~2 HEAD
git format-patch -1 HEAD~1 --stdout
git hash-object README.md
git gc -q
git verify-pack -v .git/objects/pack/*.idx | tail -n 12
git status --short --branch
git config --list --local
