#!/usr/bin/env bash
# Real git output, made in $1: a generated repository of 40 commits on three branches (fixed
# dates, so the object ids repeat from run to run), then the listings that are all hashes: log
# with stats and patches, rev-list, cat-file, ls-files, for-each-ref, notes, bisect, worktrees.
# Every printed line is a clean line.
set -u
cd "$1" || exit 1
export GIT_AUTHOR_NAME="Ana Lima" GIT_AUTHOR_EMAIL=ana.lima@example.org
export GIT_COMMITTER_NAME="Build Bot" GIT_COMMITTER_EMAIL=bot@ci.example.org
git init -q -b trunk ledger
cd ledger
git config core.pager cat
git config advice.detachedHead false
mkdir -p src docs migrations
for i in $(seq 1 40); do
  d=$((1700000000 + i * 86400))
  export GIT_AUTHOR_DATE="@$d +0100" GIT_COMMITTER_DATE="@$((d + 60)) +0100"
  printf 'pub fn step_%d() -> u32 { %d }\n' "$i" "$((i * 7))" >> src/lib.rs
  printf -- '- release note %d: session handling, key rotation schedule %d\n' "$i" "$i" >> docs/CHANGES.md
  if [ $((i % 5)) -eq 0 ]; then
    printf 'ALTER TABLE accounts ADD COLUMN api_key_hash_%d CHAR(64);\n' "$i" > "migrations/$(printf %04d "$i")_key_hash.sql"
  fi
  git add -A
  git commit -q -m "ledger: step $i" -m "Refs #$((100 + i)). Signed-off-by: Ana Lima <ana.lima@example.org>"
  if [ "$i" -eq 20 ]; then git branch release/1.x; git tag -a v1.0.0 -m "Ledger 1.0.0"; fi
  if [ "$i" -eq 30 ]; then git tag v1.1.0; fi
done
git checkout -q release/1.x
printf 'pub fn hotfix() {}\n' >> src/lib.rs
GIT_AUTHOR_DATE="@1702000000 +0000" GIT_COMMITTER_DATE="@1702000000 +0000" git commit -qam "hotfix: token expiry off by one"
git checkout -q trunk
git log --stat
git log --format=fuller -n 15
git log --format='%H %T %P %an %ad' --date=iso-strict
git log --oneline --graph --all --decorate
git log -p -n 6
git log --format='%h %s' --reverse
git show --stat --format=raw HEAD
git show v1.0.0
git diff v1.0.0 v1.1.0 --stat
git diff --raw v1.0.0 HEAD
git diff v1.1.0 HEAD -- src
git rev-list --all --objects
git rev-list --count HEAD
git rev-parse HEAD HEAD~3 HEAD^{tree} v1.0.0^{commit}
git cat-file --batch-check --batch-all-objects
git cat-file -p HEAD^{tree}
git ls-files -s
git ls-tree -r -l HEAD
git for-each-ref --format='%(objectname) %(objecttype) %(refname) %(taggerdate:iso)'
git show-ref
git count-objects -v
git gc -q
git verify-pack -v .git/objects/pack/*.idx | head -80
git notes add -m "reviewed by key-rotation team" HEAD~2
git log -n 3 --notes
git name-rev HEAD~7
git merge-base trunk release/1.x
git cherry -v trunk release/1.x
git range-diff v1.0.0..release/1.x v1.0.0..trunk 2>&1 | head -40
git bisect start HEAD v1.0.0
git bisect good HEAD~5
git bisect bad HEAD
git bisect log
git bisect reset
git worktree add -q ../ledger-hotfix release/1.x
git worktree list --porcelain
git status -sb
printf 'changed\n' >> docs/CHANGES.md
git status --porcelain=v2
git diff --stat
git stash -q && git stash list && git stash show -p stash@{0}
git reflog -n 20
git fsck --full --no-progress
git describe --tags --long --always
git archive --format=tar HEAD | sha256sum
git hash-object docs/CHANGES.md
git log --format='%G? %h %aI' -n 5
