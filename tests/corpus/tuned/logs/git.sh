#!/usr/bin/env bash
# Real git output, made in $1: commits, branches, a merge conflict, logs with patches, stash,
# tags and config listings. Every printed line is a clean line.
set -u
cd "$1" || exit 1
export GIT_AUTHOR_NAME="Jane Doe" GIT_AUTHOR_EMAIL=jane@example.com
export GIT_COMMITTER_NAME="Jane Doe" GIT_COMMITTER_EMAIL=jane@example.com
git init -b main repo
cd repo
git config core.pager cat
printf 'token_ttl = 3600\nmax_tokens = 4096\nsecret_name = "app-tls"\n' > config.toml
printf 'def get_token(client):\n    return client.fetch_token(scope="repo")\n' > auth.py
git add -A
git commit -m "Add token refresh and config"
git checkout -b feature/api-key-rotation
printf 'def rotate_api_key(store):\n    store.secret_key = store.new_key()\n' >> auth.py
git commit -am "Rotate the API key on expiry"
git checkout main
printf 'token_ttl = 7200\n' >> config.toml
git commit -am "Longer token TTL"
git merge feature/api-key-rotation -m "Merge api-key rotation"
git log --stat -p
git log --graph --oneline --all --decorate
git show --format=fuller HEAD~1
git diff HEAD~2 HEAD
git tag -a v1.0.0 -m "First release"
git describe --tags
git branch -a -v
printf 'password_min_length = 12\n' >> config.toml
git stash
git stash list
git stash show -p
git status
git status --porcelain=v2 --branch
git config --list --show-origin
git rev-list --all
git cat-file -p HEAD
git ls-tree -r HEAD
git fsck
git gc
git reflog
git clone --no-hardlinks . ../clone
cd ../clone && git log -1 && git remote -v
git checkout -b conflict && printf 'token_ttl = 1\n' > config.toml && git commit -am "short ttl"
git checkout main && printf 'token_ttl = 2\n' > config.toml && git commit -am "other ttl"
git merge conflict
git diff
git merge --abort
git blame config.toml
git shortlog -sne
