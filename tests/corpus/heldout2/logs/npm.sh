#!/usr/bin/env bash
# Real npm output, made offline in $1: two local packages packed and installed from tarballs,
# so the lock file carries sha512 integrity strings; pack listings with shasums, ls, explain,
# scripts that print bundler-like asset names, and the lock file itself. Every printed line is a
# clean line.
set -u
cd "$1" || exit 1
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
mkdir -p pkgs/hash-utils pkgs/uuid-lite site
cd pkgs/hash-utils
npm init -y >/dev/null
printf 'module.exports = s => require("crypto").createHash("sha256").update(s).digest("hex");\n' > index.js
npm pkg set version=2.1.0 description="content hashes" license=ISC
npm pack --json
cd ../uuid-lite
npm init -y >/dev/null
printf 'module.exports = () => require("crypto").randomUUID();\n' > index.js
npm pkg set version=0.9.3 description="uuid helper" license=MIT
npm pack
cd ../../site
npm init -y
npm pkg set scripts.build="node build.js" scripts.test="node test.js"
cat > build.js <<'JS'
const crypto = require('crypto');
const h = s => crypto.createHash('sha256').update(s).digest('hex');
for (const name of ['main', 'vendor', 'runtime', 'polyfills', 'auth-callback', 'session-worker']) {
  const id = h(name).slice(0, 16);
  console.log(`asset ${name}.${id}.js ${(name.length * 13.7).toFixed(1)} KiB [emitted] [immutable] [minimized] (name: ${name})`);
  console.log(`asset ${name}.${id}.js.map ${(name.length * 41.2).toFixed(1)} KiB [emitted] [dev] (auxiliary name: ${name})`);
}
for (const f of ['app.css', 'logo.svg', 'font.woff2']) {
  const d = crypto.createHash('sha384').update(f).digest('base64');
  console.log(`<link rel="preload" href="/static/${h(f).slice(0, 8)}/${f}" integrity="sha384-${d}" crossorigin="anonymous">`);
}
console.log(`webpack 5.88.2 compiled successfully in 4213 ms (hash ${h('build').slice(0, 20)})`);
JS
cat > test.js <<'JS'
const hash = require('hash-utils');
const uuid = require('uuid-lite');
console.log('TAP version 13');
console.log(`ok 1 - sha256 ${hash('fixture')}`);
console.log(`ok 2 - uuid ${uuid().length === 36 ? 'has 36 characters' : 'wrong'}`);
console.log('not ok 3 - session token cache is warm # TODO');
console.log('1..3');
JS
npm install --offline --no-audit ../pkgs/hash-utils/hash-utils-2.1.0.tgz ../pkgs/uuid-lite/uuid-lite-0.9.3.tgz
cat package-lock.json
npm ls --long
npm ls --parseable
npm ls --json --long
npm run build
npm test
npm explain hash-utils
npm query ':root > *'
npm pkg get dependencies
npm cache verify
npm doctor 2>&1 | head -5 || true
