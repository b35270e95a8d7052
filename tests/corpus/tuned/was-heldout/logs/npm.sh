#!/usr/bin/env bash
# Real npm output, made offline in the directory $1 (the test gives a fresh one, with HOME in it).
# Everything printed (stdout and stderr) is a clean line; failures are part of the log.
set -u
cd "$1" || exit 1
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
mkdir -p lib/left-pad app
cd lib/left-pad
npm init -y
cat > index.js <<'JS'
module.exports = (s, n, c = ' ') => String(s).padStart(n, c);
JS
npm pkg set version=1.3.0 description="pads strings on the left" license=MIT
npm pack --dry-run --json
npm pack
cd ../../app
npm init -y
npm pkg set scripts.test="node test.js" scripts.build="node build.js" scripts.lint="node -e \"console.error('lint: 2 warnings'); process.exit(1)\""
cat > test.js <<'JS'
const assert = require('assert');
const pad = require('left-pad');
console.log('TAP version 13');
assert.strictEqual(pad('7', 3, '0'), '007');
console.log('ok 1 - pads with zeros');
console.log('ok 2 - token refresh keeps the session key # skipped');
console.log('1..2');
JS
cat > build.js <<'JS'
console.log('building with NODE_ENV=%s', process.env.NODE_ENV || 'development');
console.log('wrote dist/app.js (12.4 kB), dist/app.js.map (41.0 kB)');
JS
npm install --offline --no-audit ../lib/left-pad/left-pad-1.3.0.tgz
npm ls --all
npm ls --json
npm test
npm run build
npm run lint
npm config list
npm config get cache
npm explain left-pad
npm version patch --no-git-tag-version
npm view left-pad version --offline
npm install --offline no-such-package-agentbox-corpus
npm query ':root > *'
cat package.json package-lock.json
