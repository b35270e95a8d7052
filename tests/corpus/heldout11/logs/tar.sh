#!/usr/bin/env bash
# Held-out corpus part 11: clean cases (log of tar). Written by a helper who had read neither the detector's rules nor any other corpus part's cases; every secret is a random template (README "Format"), and this script prints none: only ordinary tar output. Frozen as written.
set -euo pipefail
cd "$1"
export HOME="$PWD" TZ=UTC LC_ALL=C

mkdir -p app/etc app/secrets app/keys app/bin app/docs out
printf 'token_ttl: 3600\npassword_file: /run/secrets/db_password\nsecret_backend: vault\n' > app/etc/config.yml
printf 'DB_PASSWORD=\nAPI_KEY=<your-api-key>\nLOG_LEVEL=info\n' > app/.env.example
printf 'Secrets are mounted here at runtime; nothing is stored in the image.\n' > app/secrets/README.md
printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMJyauAhTUWCBpoH5zaEWgnVfW9xmgnQLfB8UdasMiFC deploy@build\n' > app/keys/deploy.pub
printf '#!/bin/sh\nexec /usr/local/bin/app --config /etc/app/config.yml\n' > app/bin/start.sh
printf 'How to rotate the API token: see docs/rotation.md\n' > app/docs/rotation.md
printf 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  empty.txt\n' > app/docs/SHA256SUMS
for i in 1 2 3 4 5 6 7 8; do printf 'migration %s\n' "$i" > "app/docs/0$i-migration.sql"; done
touch -d '2024-03-01 12:00:00' app app/* app/*/* app/.env.example

T=(--owner=0 --group=0 --numeric-owner --sort=name "--mtime=2024-03-01 12:00:00")
tar --version | sed -n '1,4p'
tar "${T[@]}" -cvf out/app.tar app
tar -tvf out/app.tar
tar "${T[@]}" -czf out/app.tar.gz app
tar -tzf out/app.tar.gz
tar "${T[@]}" -cvf out/docs.tar --exclude='*.sql' app/docs
mkdir -p restore
tar -xvf out/app.tar -C restore app/etc/config.yml app/keys/deploy.pub
tar -xf out/app.tar -C restore app/no-such-file 2>&1 || true
tar -tf out/missing.tar 2>&1 || true
tar -cf out/broken.tar app/does-not-exist 2>&1 || true
printf 'token_ttl: 7200\n' >> app/etc/config.yml
tar -df out/app.tar 2>&1 || true
tar --list --file=out/app.tar --wildcards '*.pub'
tar --list --verbose --file=out/app.tar app/secrets
tar -tvzf out/app.tar.gz app/etc app/keys
tar --test-label -f out/app.tar 2>&1 || true
printf 'not a tar archive\n' > out/fake.tar
tar -tf out/fake.tar 2>&1 || true
tar --show-defaults
tar --usage | sed -n '1,6p'
