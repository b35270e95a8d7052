#!/usr/bin/env bash
# Real npm output, made offline in $1 (written for the tuned part, without reading the held-out
# one): a package with scripts that print like test runners and build tools, its config
# listing, a dry-run pack, a failed install from an unreachable registry and npm's own errors.
# Every printed line is a clean line.
set -u
cd "$1" || exit 1
export npm_config_cache="$HOME/.npm" npm_config_update_notifier=false npm_config_fund=false
export npm_config_audit=false npm_config_offline=true npm_config_color=false
mkdir -p auth-tokens && cd auth-tokens
npm init -y
npm pkg set description="Keeps API tokens and secret keys in a keyring" \
    scripts.test="node test.js" scripts.build="node build.js" scripts.lint="node lint.js" \
    keywords[0]=token keywords[1]=secret keywords[2]=apikey license=MIT
cat > index.js <<'JS'
// Reads API tokens from the environment (a fixture for log output).
exports.apiToken = () => process.env.API_TOKEN || null;
exports.secretKey = (name) => `secret key for ${name} not set`;
JS
cat > test.js <<'JS'
const assert = require("assert");
const { apiToken, secretKey } = require("./index.js");
const cases = [
  ["apiToken returns null without API_TOKEN", () => assert.strictEqual(apiToken(), null)],
  ["secretKey names the key", () => assert.match(secretKey("deploy"), /deploy/)],
  ["password policy", () => { throw new Error("expected password length >= 12, got 8"); }],
];
let failed = 0;
for (const [name, fn] of cases) {
  try { fn(); console.log(`  ✓ ${name}`); }
  catch (e) { failed++; console.log(`  ✗ ${name}\n    AssertionError: ${e.message}`); }
}
console.log(`\n${cases.length - failed} passing, ${failed} failing`);
console.log("token_refresh_interval=3600 max_tokens=4096 session_key_rotation=enabled");
process.exitCode = failed ? 1 : 0;
JS
cat > build.js <<'JS'
const crypto = require("crypto");
const files = ["index.js", "test.js", "lib/auth/token-store.js", "lib/keys/secret-manager.js"];
for (const f of files) {
  const h = crypto.createHash("sha512").update(f).digest("base64");
  console.log(`built ${f} sha512-${h} ${crypto.createHash("sha1").update(f).digest("hex")}`);
}
console.log(`bundle id ${crypto.randomUUID()} in ${process.hrtime.bigint() % 1000n}ms`);
JS
cat > lint.js <<'JS'
console.log("src/auth.js:12:7: 'token' is assigned a value but never used (no-unused-vars)");
console.log("src/keys.js:40:3: Unexpected console statement, avoid logging secretKey (no-console)");
console.log("✖ 2 problems (0 errors, 2 warnings)");
JS
npm test
npm run build
npm run lint
npm run
npm config list
npm config get registry
npm pkg get name version scripts keywords
npm pack --dry-run
npm install left-pad@1.3.0 --registry http://127.0.0.1:9/ --fetch-retries=0
npm install --registry http://127.0.0.1:9/ --fetch-retries=0 --no-offline left-pad
npm ls --all
npm explain left-pad
npm view left-pad version
npm token list
npm whoami --registry http://127.0.0.1:9/ --fetch-retries=0
npm version patch --no-git-tag-version
npm run nosuchscript
npm help-search token 2>/dev/null | head -n 20
true
