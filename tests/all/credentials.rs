//! Issue 13: the box holds a placeholder, the proxy adds the real value on the way out. Local
//! servers on 127.0.0.1 only: an HTTPS server with a test CA the caller trusts through
//! SSL_CERT_FILE, and plain HTTP ones. The real value must reach the credential's host, never
//! another host, never the box, and never agentbox's output, report or audit trail.

use crate::common::*;
use std::path::Path;
use std::process::Output;

/// The value is nowhere in what agentbox printed (said without printing it).
#[track_caller]
fn assert_absent(what: &str, text: &str, value: &str) {
    assert!(
        !text.contains(value),
        "the real credential value appeared in {what} (not shown)"
    );
}

/// The placeholder the box saw, from a line `PH=<value>` of its output.
fn placeholder_of(out: &Output) -> String {
    stdout(out)
        .lines()
        .find_map(|l| l.strip_prefix("PH="))
        .unwrap_or_default()
        .to_string()
}

/// Neither what the box and agentbox printed nor the report at `report` or the audit trail
/// holds `real`.
#[track_caller]
fn assert_not_recorded(f: &Fixture, out: &Output, report: &Path, real: &str) {
    assert_absent("the box's output and agentbox's", &all_output(out), real);
    assert_absent("the report or the audit trail", &f.records(report), real);
}

/// `127.0.0.1:PORT`, for `--allow-host` and `--credential`.
fn loopback(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// `agentbox run FLAGS --allow-host HOST... --credential CRED -- sh -c SCRIPT` in `f`, with the
/// real value in its variable (`var`: name, value) and, for an HTTPS server, `ca` trusted
/// through SSL_CERT_FILE.
fn run_with_credential(
    f: &Fixture,
    flags: &[&str],
    hosts: &[String],
    cred: &str,
    var: (&str, &str),
    ca: Option<&TestCa>,
    script: &str,
) -> Output {
    let mut args = vec!["run"];
    args.extend_from_slice(flags);
    for h in hosts {
        args.extend(["--allow-host", h.as_str()]);
    }
    args.extend(["--credential", cred, "--", "sh", "-c", script]);
    let ssl = ca.map(|ca| ca.pem.to_string_lossy().into_owned());
    let mut env = vec![var];
    if let Some(ssl) = &ssl {
        env.push(("SSL_CERT_FILE", ssl));
    }
    f.agentbox_env(&args, &env)
}

const NODE_CONNECT: &str = r#"
const http = require('http'), https = require('https'), tls = require('tls');
const port = Number(process.argv[2]);
const u = new URL(process.env.HTTPS_PROXY);
const headers = {};
if (u.username) headers['Proxy-Authorization'] = 'Basic ' + Buffer.from(decodeURIComponent(u.username) + ':' + decodeURIComponent(u.password)).toString('base64');
const req = http.request({host: u.hostname, port: u.port, method: 'CONNECT', path: '127.0.0.1:' + port, headers});
req.on('connect', (res, socket) => {
  if (res.statusCode !== 200) { console.log('node-connect-' + res.statusCode); return; }
  const r = https.request({host: '127.0.0.1', port, path: '/node', headers: {'x-api-key': process.env.MY_KEY},
    createConnection: () => tls.connect({socket, host: '127.0.0.1'})}, (resp) => {
      let b = ''; resp.on('data', d => b += d); resp.on('end', () => { console.log('node-' + resp.statusCode + ':' + b); socket.destroy(); });
  });
  r.on('error', e => console.log('node-error ' + e.message));
  r.end();
});
req.on('error', e => console.log('node-error ' + e.message));
req.end();
"#;

const PY_URLLIB: &str = r#"
import os, sys, urllib.request
port = sys.argv[1]
r = urllib.request.Request("https://127.0.0.1:%s/python" % port, headers={"Authorization": "Bearer " + os.environ["MY_KEY"]})
print("python-" + urllib.request.urlopen(r, timeout=10).read().decode())
"#;

/// curl, Python and Node in the box reach the HTTPS server through the proxy, trusting the
/// per-run CA; the server gets the real value in every request, the other allowed server gets
/// only the placeholder, and nothing agentbox writes holds the value.
#[test]
fn clients_in_the_box_send_the_placeholder_and_the_server_gets_the_real_value() {
    let has_node = which("node").is_some();
    require("node (for its https module through CONNECT)", has_node);
    let ca = TestCa::new("agentbox test CA");
    let api = Recorder::ok(Some(ca.server_config()));
    let other = Recorder::ok(None);
    for who in who() {
        for (mode, extra) in MODES {
            let f = Fixture::new(who);
            let real = fake_key("sk-ant-api03-");
            let node = readable_file(&f.ws, "connect.js", NODE_CONNECT);
            let py = readable_file(&f.ws, "get.py", PY_URLLIB);
            let (p, o) = (api.port, other.port);
            let script = format!(
                r#"echo "PH=$MY_KEY"
curl -sS https://127.0.0.1:{p}/curl1 https://127.0.0.1:{p}/curl2 -H "Authorization: Bearer $MY_KEY"; echo
curl -sS http://127.0.0.1:{o}/other -H "Authorization: Bearer $MY_KEY"; echo
python3 {py} {p}
{node_cmd}
echo done"#,
                py = py.display(),
                node_cmd = if has_node {
                    format!("node {} {p}", node.display())
                } else {
                    String::new()
                },
            );
            let report = f.dir.path().join("report.json");
            let mut flags = extra.to_vec();
            flags.extend(["--report", report.to_str().unwrap()]);
            let out = run_with_credential(
                &f,
                &flags,
                &[loopback(p), loopback(o)],
                &format!("MY_KEY={}", loopback(p)),
                ("MY_KEY", &real),
                Some(&ca),
                &script,
            );
            let ctx = format!("[{who:?} {mode}]\n{}", show_masked(&out, &real));
            assert_not_recorded(&f, &out, &report, &real);
            assert_absent("what the other server received", &other.all(), &real);
            let ph = placeholder_of(&out);
            assert!(
                ph.starts_with("sk-ant-api03-agentbox") && ph.len() == real.len(),
                "{ctx}"
            );
            let s = stdout(&out);
            assert!(
                s.contains("ok-recorded\nok-recorded") || s.matches("ok-recorded").count() >= 2,
                "curl: {ctx}"
            );
            assert!(s.contains("python-ok-recorded"), "python: {ctx}");
            if has_node {
                assert!(s.contains("node-200:ok-recorded"), "node: {ctx}");
            }
            assert!(s.contains("done"), "{ctx}");
            let e = stderr(&out);
            assert!(
                e.contains("MY_KEY: placeholder, injected for 127.0.0.1:"),
                "status line: {ctx}"
            );
            // The other host got the placeholder as it was, and the summary says so.
            assert!(
                e.contains("credential MY_KEY: its placeholder went to 127.0.0.1:")
                    && e.contains("unchanged"),
                "{ctx}"
            );
            assert!(
                other.all().contains(&ph),
                "other server got the placeholder: {ctx}"
            );
            let got = api.requests();
            for path in ["/curl1", "/curl2", "/python", "/node"] {
                if path == "/node" && !has_node {
                    continue;
                }
                let r = got
                    .iter()
                    .rev()
                    .find(|r| r.path() == path)
                    .unwrap_or_else(|| panic!("{path}: {ctx}"));
                let auth = r
                    .header("authorization")
                    .or(r.header("x-api-key"))
                    .unwrap_or_default();
                assert!(
                    auth.contains(&real),
                    "{path} did not carry the real value: {ctx}"
                );
                assert!(
                    !r.head.contains(&ph),
                    "{path} still had the placeholder: {ctx}"
                );
            }
        }
    }
}

/// Plain HTTP gets substitution only for loopback hosts (or `http://` ones); a real value
/// never goes in clear text anywhere else, and the summary names a placeholder sent elsewhere.
#[test]
fn loopback_http_gets_the_value_in_clear_text() {
    let api = Recorder::ok(None);
    for (mode, extra) in MODES {
        let f = Fixture::new(As::Me);
        let real = fake_key("ghp_");
        let p = api.port;
        let script = format!(
            "echo \"PH=$GH_TOKEN\"; curl -sS http://127.0.0.1:{p}/plain -H \"Authorization: token $GH_TOKEN\" -H \"X-Other: $GH_TOKEN\"; echo"
        );
        let out = run_with_credential(
            &f,
            extra,
            &[loopback(p)],
            &format!("GH_TOKEN=http://{}", loopback(p)),
            ("GH_TOKEN", &real),
            None,
            &script,
        );
        let ctx = format!("[{mode}]\n{}", show_masked(&out, &real));
        let ph = placeholder_of(&out);
        assert!(ph.starts_with("ghp_agentbox"), "{ctx}");
        assert!(stdout(&out).contains("ok-recorded"), "{ctx}");
        let r = api
            .requests()
            .into_iter()
            .rev()
            .find(|r| r.path() == "/plain")
            .expect("request");
        assert_eq!(
            r.header("authorization"),
            Some(format!("token {real}").as_str()),
            "{ctx}"
        );
        // Only the auth headers: another header keeps the placeholder.
        assert_eq!(r.header("x-other"), Some(ph.as_str()), "{ctx}");
        assert_absent("agentbox's output", &all_output(&out), &real);
    }
}

/// A credential whose host is not allowed, or whose value is missing, refuses the launch
/// (125) and names the fix; the plan names hosts and shapes, never values.
#[test]
fn bad_credentials_refuse_the_launch_and_plans_hold_no_value() {
    let f = Fixture::new(As::Me);
    let real = fake_key("sk-proj-");
    let out = f.agentbox_env(
        &[
            "run",
            "--credential",
            "OPENAI_API_KEY=api.openai.com",
            "--",
            "true",
        ],
        &[("OPENAI_API_KEY", &real)],
    );
    assert_eq!(out.status.code(), Some(125), "{}", show(&out));
    assert!(
        stderr(&out).contains("--allow-host api.openai.com:443"),
        "{}",
        stderr(&out)
    );
    let out = f.agentbox(&[
        "run",
        "--allow-host",
        "api.openai.com:443",
        "--credential",
        "MISSING_KEY=api.openai.com",
        "--",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125), "{}", show(&out));
    assert!(
        stderr(&out).contains("credential MISSING_KEY: no value in $MISSING_KEY"),
        "{}",
        stderr(&out)
    );
    let out = f.agentbox(&["run", "--credential", "NOT_DECLARED", "--", "true"]);
    assert_eq!(out.status.code(), Some(125), "{}", show(&out));
    // The plan, as JSON: names, hosts, where, the shape; never the value.
    let out = f.agentbox_env(
        &["run", "-p", "codex", "--dry-run", "--json", "--", "true"],
        &[("OPENAI_API_KEY", &real)],
    );
    assert!(out.status.success(), "{}", show(&out));
    assert_absent("the plan", &all_output(&out), &real);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &plan["credentials"]["credentials"];
    let k = c
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "OPENAI_API_KEY")
        .unwrap();
    assert_eq!(k["state"]["kind"], "injected");
    assert_eq!(k["hosts"][0]["host"], "api.openai.com");
    assert_eq!(k["placeholder"]["prefix"], "sk-proj-");
    assert!(k["substitute"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h == "authorization"));
    let absent = c
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "CODEX_API_KEY")
        .unwrap();
    assert_eq!(absent["state"]["kind"], "absent");
    assert!(plan["credentials"]["interception"]["ca_bundle"]
        .as_str()
        .unwrap()
        .ends_with("agentbox-ca.pem"));
    // The variable holds no real value in the box's environment as planned.
    assert!(plan["env"]["placeholders"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "OPENAI_API_KEY"));
}

/// No process the box can see has the real value in its environment: with namespaces its
/// /proc is its own; without them agentbox is non-dumpable and the box may not read it.
#[test]
fn the_box_cannot_read_the_value_from_any_environ() {
    let api = Recorder::ok(None);
    for who in who() {
        for (mode, extra) in MODES {
            let f = Fixture::new(who);
            let real = fake_key("sk-proj-");
            let script = "env; for e in /proc/[0-9]*/environ; do cat \"$e\" 2>/dev/null | tr '\\0' '\\n'; done; \
                          cat /proc/$PPID/environ /proc/1/environ 2>/dev/null | tr '\\0' '\\n'; echo scanned";
            let out = run_with_credential(
                &f,
                extra,
                &[loopback(api.port)],
                &format!("OPENAI_API_KEY=http://{}", loopback(api.port)),
                ("OPENAI_API_KEY", &real),
                None,
                script,
            );
            let ctx = format!("[{who:?} {mode}] {}", stderr(&out).replace(&real, "<REAL>"));
            assert_absent(
                "an environment the box could read",
                &all_output(&out),
                &real,
            );
            assert!(stdout(&out).contains("scanned"), "{ctx}");
            assert!(
                stdout(&out).contains("OPENAI_API_KEY=sk-proj-agentbox"),
                "{ctx}"
            );
        }
    }
}

/// An upstream whose certificate does not verify answers 502 with the reason in
/// X-Agentbox-Denied; a client that does not trust the per-run CA fails, and the summary says
/// why; `--redact-output` leaves agentbox's own placeholder alone.
#[test]
fn tls_failures_are_named_and_placeholders_are_not_redacted() {
    let trusted = TestCa::new("trusted test CA");
    let stranger = TestCa::new("unknown test CA");
    let bad = Recorder::ok(Some(stranger.server_config()));
    let good = Recorder::ok(Some(trusted.server_config()));
    let f = Fixture::new(As::Me);
    let pinned = readable_file(
        &f.ws,
        "pinned-ca.pem",
        &std::fs::read_to_string(&trusted.pem).unwrap(),
    );
    let real = fake_key("sk-ant-api03-");
    let cred = format!("MY_KEY={},{}", loopback(bad.port), loopback(good.port));
    let script = format!(
        "echo \"PH=$MY_KEY\"; curl -s -D - -o /dev/null https://127.0.0.1:{}/x | tr -d '\\r' | grep -iE '^(HTTP|x-agentbox-denied)'; \
         curl -s --cacert {} https://127.0.0.1:{}/pinned -H \"x-api-key: $MY_KEY\" || echo pinned-failed",
        bad.port,
        pinned.display(),
        good.port
    );
    let out = run_with_credential(
        &f,
        &["--redact-output"],
        &[loopback(bad.port), loopback(good.port)],
        &cred,
        ("MY_KEY", &real),
        Some(&trusted),
        &script,
    );
    let ctx = show_masked(&out, &real);
    let s = stdout(&out);
    assert!(s.contains("HTTP/1.1 502"), "{ctx}");
    assert!(
        s.to_lowercase()
            .contains("x-agentbox-denied: tls with the upstream failed"),
        "{ctx}"
    );
    assert!(s.contains("pinned-failed"), "{ctx}");
    assert!(
        stderr(&out).contains("the client refused agentbox's certificate")
            || stderr(&out).contains("during the TLS handshake"),
        "{ctx}"
    );
    assert!(
        placeholder_of(&out).starts_with("sk-ant-api03-agentbox"),
        "placeholder redacted? {ctx}"
    );
    assert!(
        bad.requests().is_empty() && good.requests().is_empty(),
        "{ctx}"
    );
    assert_absent("agentbox's output", &all_output(&out), &real);
}

/// Raw requests through the proxy from inside the box, each trying to get the real value sent
/// somewhere else or shown to the box. Prints one `name: result` line per attempt.
const PY_ADVERSARY: &str = r#"
import base64, os, re, socket, ssl, sys, urllib.parse
P, C, O = (int(a) for a in sys.argv[1:4])
ph = os.environ["MY_KEY"]
u = urllib.parse.urlsplit(os.environ["HTTPS_PROXY"])
auth = ""
if u.username:
    pa = urllib.parse.unquote(u.username) + ":" + urllib.parse.unquote(u.password)
    auth = "Proxy-Authorization: Basic " + base64.b64encode(pa.encode()).decode() + "\r\n"
def proxy():
    return socket.create_connection((u.hostname, u.port), timeout=10)
def tunnel(port, sni=None):
    s = proxy()
    s.sendall(("CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n" % (port, port, auth)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        d = s.recv(1)
        if not d:
            break
        head += d
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    return ctx.wrap_socket(s, server_hostname=sni)
def req(path, host, extra=""):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n%s\r\n" % (path, host, ph, extra)).encode()
def readall(s, until=None):
    out = b""
    try:
        while until is None or until not in out:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except Exception:
        pass
    return out.decode(errors="replace")
def status(text):
    return ",".join(re.findall(r"HTTP/1\.1 (\d{3}) ", text)) or "none"
def attempt(name, f):
    try:
        print(name + ": " + f())
    except Exception as e:
        print(name + ": error " + type(e).__name__)
    sys.stdout.flush()
def host_mismatch():
    s = tunnel(P); s.sendall(req("/vhost", "127.0.0.1:%d" % O)); return status(readall(s))
def sni_mismatch():
    s = tunnel(P, sni="localhost"); s.sendall(req("/sni", "127.0.0.1:%d" % P)); return status(readall(s))
def pipelined():
    s = tunnel(P)
    s.sendall(req("/pipe1", "127.0.0.1:%d" % P) + req("/pipe2", "127.0.0.1:%d" % O) + req("/pipe3", "127.0.0.1:%d" % P, "Connection: close\r\n"))
    return status(readall(s))
def absolute_in_tunnel():
    s = tunnel(P); s.sendall(req("http://127.0.0.1:%d/abs-in-tunnel" % O, "127.0.0.1:%d" % O)); return status(readall(s))
def absolute_two_hosts():
    s = proxy()
    a = req("http://127.0.0.1:%d/abs1" % C, "127.0.0.1:%d" % C, auth)
    b = req("http://127.0.0.1:%d/abs2" % O, "127.0.0.1:%d" % O, auth)
    s.sendall(a + b); return status(readall(s))
def echoed():
    s = tunnel(P); s.sendall(req("/echo", "127.0.0.1:%d" % P)); t = readall(s, b"\r\n0\r\n\r\n")
    return status(t) + (" placeholder-echoed" if ph in t else " no-placeholder")
attempt("host-mismatch", host_mismatch)
attempt("sni-mismatch", sni_mismatch)
attempt("pipelined", pipelined)
attempt("absolute-in-tunnel", absolute_in_tunnel)
attempt("absolute-two-hosts", absolute_two_hosts)
attempt("echoed", echoed)
"#;

/// A server that sends back what it got in the auth header, in a header and in a body split
/// across chunks (the value straddles two of them).
fn echo_handler() -> Handler {
    std::sync::Arc::new(|s: &Received| {
        if s.path() != "/echo" {
            return Reply::ok("ok-recorded");
        }
        let auth = s.header("authorization").unwrap_or_default().to_string();
        let half = auth.len() / 2;
        Reply {
            head: format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Echo: {auth}\r\n"),
            chunks: vec![
                format!("got {}", &auth[..half]).into_bytes(),
                format!("{}\n", &auth[half..]).into_bytes(),
            ],
        }
    })
}

/// As an adversary inside the box: a Host header, an SNI or a pipelined request naming another
/// host than the tunnel, absolute-form requests to two hosts on one connection, and a server
/// that echoes the value. The real value reaches only the credential's host, never another
/// server and never the box.
#[test]
fn the_value_goes_only_to_its_host_and_never_comes_back() {
    let ca = TestCa::new("agentbox adversary CA");
    let api = Recorder::start(Some(ca.server_config()), echo_handler());
    let clear = Recorder::ok(None);
    let other = Recorder::ok(None);
    let f = Fixture::new(As::Me);
    let real = fake_key("sk-ant-api03-");
    let py = readable_file(&f.ws, "adversary.py", PY_ADVERSARY);
    let (p, c, o) = (api.port, clear.port, other.port);
    let cred = format!("MY_KEY={},{}", loopback(p), loopback(c));
    let script = format!("echo \"PH=$MY_KEY\"; python3 {} {p} {c} {o}", py.display());
    let report = f.dir.path().join("report.json");
    let out = run_with_credential(
        &f,
        &["--report", report.to_str().unwrap()],
        &[p, c, o].map(loopback),
        &cred,
        ("MY_KEY", &real),
        Some(&ca),
        &script,
    );
    let ctx = show_masked(&out, &real);
    assert_absent("what the other server received", &other.all(), &real);
    assert_not_recorded(&f, &out, &report, &real);
    let s = stdout(&out);
    let line = |name: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_default()
            .to_string()
    };
    let ph = placeholder_of(&out);
    assert!(ph.starts_with("sk-ant-api03-agentbox"), "{ctx}");
    assert_eq!(line("host-mismatch"), "421", "{ctx}");
    assert!(!line("sni-mismatch").starts_with('2'), "{ctx}");
    assert!(line("pipelined").starts_with("200,421"), "{ctx}");
    assert!(line("absolute-in-tunnel").starts_with('4'), "{ctx}");
    assert!(line("absolute-two-hosts").starts_with("200"), "{ctx}");
    assert_eq!(line("echoed"), "200 placeholder-echoed", "{ctx}");
    let got = api.requests();
    let paths: Vec<&str> = got.iter().map(|r| r.path()).collect();
    for refused in ["/vhost", "/sni", "/pipe2", "/pipe3", "/abs-in-tunnel"] {
        assert!(
            !paths.iter().any(|p| p.contains(refused)),
            "{refused} reached the host: {paths:?}"
        );
    }
    let first = got.iter().find(|r| r.path() == "/pipe1").expect("/pipe1");
    assert_eq!(
        first.header("authorization"),
        Some(format!("Bearer {real}").as_str()),
        "{ctx}"
    );
    let abs = clear
        .requests()
        .into_iter()
        .find(|r| r.path() == "/abs1")
        .expect("/abs1");
    assert_eq!(
        abs.header("authorization"),
        Some(format!("Bearer {real}").as_str()),
        "{ctx}"
    );
}
