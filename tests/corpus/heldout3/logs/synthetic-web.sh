#!/usr/bin/env bash
# Synthetic lines, labelled so (category synthetic-web): web and application logs written from
# documented formats: nginx and Apache combined access logs (query strings with innocent
# parameters), Rails and Django request logs with filtered parameters, Java stack traces,
# Prometheus exposition lines, Kubernetes events as JSON, CloudTrail-like records (ids, ARNs, no
# keys) and OpenTelemetry span lines. Values come from a generator seeded with $CORPUS_SEED.
set -u
exec python3 - "${CORPUS_SEED:-16}" <<'PY'
import random, sys, uuid, json
r = random.Random(int(sys.argv[1]) * 7 + 3)
def hx(n): return "".join(r.choice("0123456789abcdef") for _ in range(n))
def ip(): return f"{r.randint(10,223)}.{r.randint(0,255)}.{r.randint(0,255)}.{r.randint(1,254)}"
paths = ["/api/v1/tokens", "/login", "/oauth/authorize", "/api/v2/sessions/refresh", "/static/app.%s.js", "/healthz", "/api/keys/rotate", "/password/reset"]
agents = ["Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0", "curl/8.5.0", "python-requests/2.32.3", "kube-probe/1.31", "Go-http-client/2.0"]
for _ in range(160):
    p = r.choice(paths)
    if "%s" in p: p = p % hx(8)
    q = r.choice(["", f"?page={r.randint(1,9)}&sort=created_at", f"?state={hx(16)}&response_type=code&client_id=web-app", "?token_type=refresh&expires_in=3600", f"?session_timeout={r.randint(5,60)}", f"?redirect_uri=https%3A%2F%2Fapp.example.org%2Fcallback&scope=openid%20profile"])
    print(f'{ip()} - - [01/Dec/2026:10:{r.randint(0,59):02d}:{r.randint(0,59):02d} +0000] "{r.choice(["GET","POST","PUT"])} {p}{q} HTTP/1.1" {r.choice([200,201,204,301,302,401,403,404,500])} {r.randint(0,90000)} "-" "{r.choice(agents)}" rt={r.random():.3f} uct="{r.random()/10:.3f}"')
for _ in range(40):
    print(f'Started POST "/users/sign_in" for {ip()} at 2026-12-01 10:{r.randint(0,59):02d}:{r.randint(0,59):02d} +0000')
    print(f'Processing by Users::SessionsController#create as HTML')
    print(f'  Parameters: {{"authenticity_token"=>"[FILTERED]", "user"=>{{"email"=>"dev{r.randint(1,99)}@example.org", "password"=>"[FILTERED]", "remember_me"=>"0"}}, "commit"=>"Log in"}}')
    print(f'Completed 302 Found in {r.randint(5,400)}ms (ActiveRecord: {r.random()*20:.1f}ms | Allocations: {r.randint(1000,90000)})')
    print(f'[{r.randint(1,30):02d}/Dec/2026 10:{r.randint(0,59):02d}:{r.randint(0,59):02d}] "POST /api/token/refresh/ HTTP/1.1" 200 {r.randint(100,900)}')
for _ in range(12):
    print(f'Exception in thread "main" org.springframework.security.authentication.BadCredentialsException: Bad credentials')
    print(f'\tat org.springframework.security.authentication.dao.AbstractUserDetailsAuthenticationProvider.authenticate(AbstractUserDetailsAuthenticationProvider.java:{r.randint(100,200)})')
    print(f'\tat com.example.auth.TokenService.issueToken(TokenService.java:{r.randint(10,300)})')
    print(f'\tat com.example.auth.TokenService$$SpringCGLIB$$0.issueToken(<generated>)')
    print(f'Caused by: java.security.KeyStoreException: Keystore password was incorrect for alias "signing-key-{r.randint(1,9)}"')
    print(f'\t... {r.randint(10,60)} common frames omitted')
for _ in range(50):
    m = r.choice(["http_requests_total", "token_refresh_duration_seconds_bucket", "auth_failures_total", "session_store_keys", "vault_token_ttl_seconds"])
    print(f'{m}{{method="{r.choice(["GET","POST"])}",route="{r.choice(paths).replace("%s","x")}",status="{r.choice([200,401,500])}",pod="api-{hx(10)}-{hx(5)}"}} {r.randint(0,10**6)}')
for _ in range(25):
    ev = {"kind": "Event", "apiVersion": "v1", "metadata": {"name": f"api-{hx(10)}-{hx(5)}.{hx(16)}", "namespace": "payments", "uid": str(uuid.UUID(int=r.getrandbits(128))), "resourceVersion": str(r.randint(10**6, 10**8))},
          "reason": r.choice(["Pulled", "Created", "Started", "FailedMount", "BackOff"]), "message": r.choice(["Successfully pulled image \"ghcr.io/acme/api@sha256:" + hx(64) + "\"", "MountVolume.SetUp failed for volume \"api-keys\" : secret \"api-keys\" not found", "Back-off restarting failed container token-broker"]),
          "type": r.choice(["Normal", "Warning"]), "count": r.randint(1, 40)}
    print(json.dumps(ev))
for _ in range(25):
    rec = {"eventVersion": "1.09", "eventSource": "secretsmanager.amazonaws.com", "eventName": r.choice(["GetSecretValue", "RotateSecret", "DescribeSecret"]), "awsRegion": "eu-west-1",
           "requestID": str(uuid.UUID(int=r.getrandbits(128))), "eventID": str(uuid.UUID(int=r.getrandbits(128))),
           "userIdentity": {"type": "AssumedRole", "principalId": "AROA" + "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(17)) + ":ci-deployer", "arn": f"arn:aws:sts::{r.randint(10**11, 10**12-1)}:assumed-role/ci-deployer/session-{r.randint(1,999)}"},
           "requestParameters": {"secretId": f"arn:aws:secretsmanager:eu-west-1:{r.randint(10**11, 10**12-1)}:secret:prod/api-key-{''.join(r.choice('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789') for _ in range(6))}"}, "responseElements": None}
    print(json.dumps(rec))
for _ in range(40):
    print(f'span name="{r.choice(["POST /api/v1/tokens", "redis GET session:*", "vault.kv.read", "SELECT users"])}" trace_id={hx(32)} span_id={hx(16)} parent_id={hx(16)} duration_ms={r.random()*90:.2f} status=OK')
PY
