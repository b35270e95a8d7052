#!/usr/bin/env bash
# Held-out corpus part 11: clean cases (log of diff). Written by a helper who had read neither the detector's rules nor any other corpus part's cases; every secret is a random template (README "Format"), and this script prints none: only ordinary diff output. Frozen as written.
set -euo pipefail
cd "$1"
export HOME="$PWD" TZ=UTC LC_ALL=C

mkdir -p a b
cat > a/config.yml <<'YML'
database:
  host: db.internal
  user: app
  password: ${DB_PASSWORD}
auth:
  token_ttl: 3600
  secret_backend: env
image: ghcr.io/acme/api@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
commit: 320e149b147f5a972b56e331d99c6421cba5fcf8
YML
cat > b/config.yml <<'YML'
database:
  host: db.internal
  user: app
  password_file: /run/secrets/db_password
auth:
  token_ttl: 7200
  secret_backend: vault
  vault_path: secret/data/api
image: ghcr.io/acme/api@sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfb3e2c1a6d9a7
commit: 680da4e852a8f3e5d80e4f8f2be45b983090a427
YML
cat > a/workflow.yml <<'YML'
env:
  NPM_TOKEN: ${{ secrets.NPM_TOKEN }}
steps:
  - uses: actions/checkout@v3
  - run: npm ci
YML
cat > b/workflow.yml <<'YML'
env:
  NPM_TOKEN: ${{ secrets.NPM_TOKEN }}
  NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
steps:
  - uses: actions/checkout@b4ffde65f46336ab88eb53be808477a3936bae11
  - run: npm ci --ignore-scripts
YML
printf 'LOG_LEVEL=info\nAPI_KEY=<your-api-key>\n' > a/.env.example
cp a/.env.example b/.env.example
printf 'only in b: key rotation notes\n' > b/ROTATION.md
printf '\000\001\002binary\n' > a/blob.bin
printf '\000\001\003binary\n' > b/blob.bin
touch -d '2024-03-01 12:00:00' a/* a/.env.example
touch -d '2024-03-02 12:00:00' b/* b/.env.example

diff --version | sed -n '1,2p'
diff a/config.yml b/config.yml || [ $? -eq 1 ]
diff -u a/config.yml b/config.yml || [ $? -eq 1 ]
diff -c a/workflow.yml b/workflow.yml || [ $? -eq 1 ]
diff -y -W 110 a/workflow.yml b/workflow.yml || [ $? -eq 1 ]
diff -ru a b || [ $? -eq 1 ]
diff -rq a b || [ $? -eq 1 ]
diff -s a/.env.example b/.env.example
diff -e a/config.yml b/config.yml || [ $? -eq 1 ]
diff -N -u a/ROTATION.md b/ROTATION.md || [ $? -eq 1 ]
diff a/config.yml missing.yml 2>&1 || [ $? -eq 2 ]
diff --brief a/blob.bin b/blob.bin || [ $? -eq 1 ]
diff --unknown-option a b 2>&1 || [ $? -eq 2 ]
