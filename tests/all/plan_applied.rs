//! `--dry-run --json` holds every decision the launch uses: for each entry of the plan's launch
//! spec, a probe inside the box checks the kernel's state (mounts from /proc/self/mountinfo,
//! each Landlock rule by an access on its path, the network mode by a connect) against it.
//! Nothing here asks agentbox what it did: only the box's own view counts.

use crate::common::*;

const PROBE: &str = r#"
import errno, json, os, socket, sys
plan = json.load(open(sys.argv[1]))
L = plan['launch']
out = {'mounts': {}, 'rules': [], 'outside': None, 'net': {}}

def err(f):
    try:
        f(); return 'ok'
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))

# Mount points and their options, as the kernel has them.
mounts = {}
for line in open('/proc/self/mountinfo'):
    pre, post = line.split(' - ', 1)
    f = pre.split()
    mounts[f[4].replace('\\040', ' ')] = (post.split()[0], f[5].split(','))
ns = L.get('namespaces')
if ns:
    def mp(p, ro=None, fstype=None):
        m = mounts.get(p)
        if m is None:
            return 'absent'
        if fstype and m[0] != fstype:
            return 'fstype ' + m[0]
        if ro is not None and (('ro' in m[1]) != ro):
            return 'rw' if ro else 'ro'
        return 'ok'
    for p in ns['masked']:
        out['mounts']['masked ' + p] = mp(p, fstype='tmpfs')
    for p in ns['hidden']:
        if os.path.lexists(p):
            out['mounts']['hidden ' + p] = mp(os.path.realpath(p), ro=True)
    for p in ns['read_only']:
        out['mounts']['ro ' + p] = mp(p, ro=True)
    for p in ns['keep']:
        out['mounts']['keep ' + p] = mp(p)
    for v in ns['shadows']:
        out['mounts']['view ' + v['path']] = mp(v['path'], fstype='tmpfs')
    for p in ns['skeleton']:
        out['mounts']['skeleton ' + p] = 'ok' if os.path.isdir(p) else 'absent'
    if ns['private_pts']:
        out['mounts']['devpts'] = mp('/dev/pts', fstype='devpts')
    # The copies: read-only mounts of their planned size; the private directories: tmpfs.
    for fv in ns.get('files', []):
        p = os.path.realpath(fv['path'])
        r = mp(p, ro=True)
        if r == 'ok' and os.path.getsize(p) != fv['bytes']:
            r = 'size %d' % os.path.getsize(p)
        out['mounts']['file ' + fv['path']] = r
    for p in ns.get('private_dirs', []):
        out['mounts']['private ' + p] = mp(p, ro=False, fstype='tmpfs')

# Each Landlock rule grants its access: try it on the rule's own path.
ll = L.get('landlock')
for r in (ll['rules'] if ll else []):
    p, acc = r['path'], r['access']
    if not os.path.lexists(p) or p.startswith('/proc') or p.startswith('/sys'):
        continue
    isdir = os.path.isdir(p)
    if acc == 'list':
        res = err(lambda: os.listdir(p))
    elif acc in ('read', 'exec') and isdir:
        res = err(lambda: os.listdir(p))
    elif acc in ('read', 'exec'):
        res = err(lambda: os.close(os.open(p, os.O_RDONLY | os.O_NONBLOCK)))
    elif acc == 'device' and isdir:
        res = err(lambda: os.listdir(p))
    elif acc == 'device':
        res = err(lambda: os.close(os.open(p, os.O_RDWR | os.O_NONBLOCK | os.O_NOCTTY)))
    elif acc == 'write' and isdir:
        probe = os.path.join(p, '.agentbox-plan-probe-%d' % os.getpid())
        res = err(lambda: (os.close(os.open(probe, os.O_CREAT | os.O_WRONLY, 0o600)), os.unlink(probe)))
    else:
        res = err(lambda: os.close(os.open(p, os.O_RDONLY | os.O_NONBLOCK)))
    out['rules'].append([p, acc, res])
# And what no rule covers is refused.
out['outside'] = err(lambda: open(sys.argv[2]).read())

# The network mode, by connects.
def connect(addr):
    fam = socket.AF_INET6 if ':' in addr[0] else socket.AF_INET
    try:
        s = socket.socket(fam, socket.SOCK_STREAM)
    except OSError as e:
        return 'socket ' + errno.errorcode.get(e.errno, str(e.errno))
    s.settimeout(3)
    try:
        s.connect(addr); return 'ok'
    except OSError as e:
        return errno.errorcode.get(e.errno, 'timeout' if isinstance(e, socket.timeout) else str(e.errno))
    finally:
        s.close()
out['net']['host_service'] = connect(('127.0.0.1', int(sys.argv[3])))
out['net']['outside_address'] = connect(('192.0.2.1', 80))
for a in L['listen_inside']:
    h, port = a.rsplit(':', 1)
    out['net']['listen ' + a] = connect((h.strip('[]'), int(port)))
# The stub resolver: a query gets NXDOMAIN at its address; the box's resolv.conf points there.
res = L.get('resolver')
if res:
    h, port = res['address'].rsplit(':', 1)
    q = b'\x61\x62\x01\x00\x00\x01' + b'\x00' * 6 + b'\x05probe\x07invalid\x00\x00\x01\x00\x01'
    try:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(3)
        u.sendto(q, (h, int(port)))
        r = u.recv(512)
        out['net']['resolver'] = 'nxdomain' if r[:2] == b'ab' and r[3] & 15 == 3 else 'rcode %d' % (r[3] & 15)
    except OSError as e:
        out['net']['resolver'] = errno.errorcode.get(e.errno, 'timeout' if isinstance(e, socket.timeout) else str(e.errno))
    if res.get('resolv_conf'):
        text = open('/etc/resolv.conf').read()
        out['net']['resolv_conf'] = 'ok' if ('nameserver %s' % h) in text.split('\n') else 'other'
print('PROBE ' + json.dumps(out))
"#;

fn probe(f: &Fixture, extra: &[&str]) -> (serde_json::Value, serde_json::Value, String) {
    probe_with(f, extra, extra)
}

/// The plan made with `plan_args`, the box run with `run_args`.
fn probe_with(
    f: &Fixture,
    plan_args: &[&str],
    run_args: &[&str],
) -> (serde_json::Value, serde_json::Value, String) {
    // A host service the box must not reach when the network is off.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || for _ in l.incoming().take(20) {});
    let outside = f.dir.path().join("outside-secret");
    std::fs::write(&outside, "x").unwrap();
    let plan_path = f.ws.join("plan.json");
    let mut args = vec!["run", "--dry-run", "--json"];
    args.extend_from_slice(plan_args);
    args.extend(["--", "true"]);
    let out = f.agentbox(&args);
    assert!(
        out.status.success(),
        "dry run {args:?}: {}\n{}",
        stderr(&out),
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains("refusals")
                || l.contains("REFUSED")
                || l.contains("\"refusals\""))
            .collect::<Vec<_>>()
            .join("\n")
    );
    std::fs::write(&plan_path, &out.stdout).unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut args = vec!["run", "-q", "--no-report-denials"];
    args.extend_from_slice(run_args);
    let port_s = port.to_string();
    let (pp, os) = (plan_path.to_str().unwrap(), outside.to_str().unwrap());
    args.extend(["--", "python3", "-c", PROBE, pp, os, &port_s]);
    let out = f.agentbox(&args);
    let text = stdout(&out);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("PROBE "))
        .unwrap_or_else(|| panic!("no probe output: {}", stderr(&out)));
    (plan, serde_json::from_str(line).unwrap(), stderr(&out))
}

fn check_against_plan(ctx: &str, plan: &serde_json::Value, got: &serde_json::Value) {
    for (k, v) in got["mounts"].as_object().unwrap() {
        assert_eq!(v, "ok", "{ctx}: mount {k}: {v}");
    }
    let rules = got["rules"].as_array().unwrap();
    assert!(rules.len() > 10, "{ctx}: too few rules probed");
    for r in rules {
        // A device may answer for itself (no controlling terminal: ENXIO); what matters is
        // that the sandbox did not refuse it.
        let refused = matches!(r[2].as_str(), Some("EACCES" | "EPERM" | "EROFS"));
        let ok = if r[1] == "device" {
            !refused
        } else {
            r[2] == "ok"
        };
        assert!(ok, "{ctx}: rule {} {}: {}", r[1], r[0], r[2]);
    }
    assert_eq!(
        got["outside"], "EACCES",
        "{ctx}: a path no rule covers was readable"
    );
    let mode = plan["network"]["mode"].as_str().unwrap();
    let net = &got["net"];
    if mode == "off" {
        assert_ne!(
            net["host_service"], "ok",
            "{ctx}: network off reached the host"
        );
        assert_ne!(
            net["outside_address"], "ok",
            "{ctx}: network off reached out"
        );
    }
    for (k, v) in net.as_object().unwrap() {
        if k.starts_with("listen ") || k == "resolv_conf" {
            assert_eq!(v, "ok", "{ctx}: {k}");
        }
    }
    if !plan["launch"]["resolver"].is_null() {
        assert_eq!(net["resolver"], "nxdomain", "{ctx}: the stub resolver");
    }
}

#[test]
fn the_plan_printed_is_the_plan_applied() {
    for who in who() {
        for (mode, extra) in [
            ("namespaces", &[][..]),
            ("no-namespaces", &["--simulate-kernel", "userns=off"][..]),
        ] {
            // `docs` requires the namespace layer (its allowlist is then the namespace's).
            let profiles: &[&str] = if extra.is_empty() {
                &["default", "test", "docs"]
            } else {
                &["default", "test"]
            };
            for profile in profiles.iter().copied() {
                let f = Fixture::new(who);
                std::fs::write(f.ws.join(".env"), "A=1\n").unwrap();
                let mut args = vec!["-p", profile];
                args.extend_from_slice(extra);
                let (plan, got, err) = probe(&f, &args);
                let ctx = format!("[{who:?}/{mode}/{profile}]");
                assert!(
                    (plan["launch"]["namespaces"].is_null()) == (mode == "no-namespaces"),
                    "{ctx}: namespace layer"
                );
                check_against_plan(&ctx, &plan, &got);
                assert!(!err.contains("set-up failed"), "{ctx}: {err}");
            }
        }
    }
}

/// The probe is a real test of the kernel's state, not of agentbox's word: a box that does
/// not apply what the plan says (here: a plan made with namespaces, a box run without them, or
/// without Landlock) fails the same check.
#[test]
fn the_probe_sees_a_layer_that_is_not_applied() {
    let f = Fixture::new(As::Me);
    let (_, got, _) = probe(&f, &["--simulate-kernel", "landlock=0", "--best-effort"]);
    assert_eq!(
        got["outside"], "ok",
        "without Landlock the outside path is readable"
    );
    let (plan, got, _) = probe_with(&f, &[], &["--simulate-kernel", "userns=off"]);
    let failed = std::panic::catch_unwind(|| check_against_plan("mismatch", &plan, &got));
    assert!(
        failed.is_err(),
        "a box without the planned mounts passed the check"
    );
}
