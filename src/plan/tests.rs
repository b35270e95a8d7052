//! The policy, without root and without the process's own environment: fake host facts, real
//! temporary trees, the built-in profiles.

use super::*;
use crate::sandbox::seccomp::SocketPolicy;
use std::ffi::OsString;

fn kernel(landlock: i32, userns: bool) -> Kernel {
    Kernel {
        landlock_abi: landlock,
        real_landlock_abi: landlock,
        user_namespaces: userns,
        user_namespaces_reason: (!userns).then(|| "simulated: no user namespaces".into()),
        seccomp: true,
        seccomp_notify: true,
        seccomp_notify_reason: None,
        simulated: None,
    }
}

fn facts(k: Kernel, env: &[(&str, &str)]) -> HostFacts {
    HostFacts {
        kernel: k,
        euid_root: false,
        uid: 1000,
        gid: 1000,
        user: "person".into(),
        pid: 4242,
        env: env
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect(),
        terminals: vec![],
        resolv_conf: Some(PathBuf::from("/run/systemd/resolve/stub-resolv.conf")),
        var_run_dir: false,
        dev_shm: true,
    }
}

/// A home with credentials and a git workspace holding a `.env`, under /var/tmp (outside the
/// /tmp the namespace layer masks).
struct Tree {
    _t: tempfile::TempDir,
    home: PathBuf,
    ws: PathBuf,
}

fn tree() -> Tree {
    let t = tempfile::Builder::new()
        .prefix("agentbox-plan-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let home = t.path().join("home");
    let ws = t.path().join("ws");
    for d in [".ssh", ".cargo/registry", ".cargo/bin", ".cache"] {
        std::fs::create_dir_all(home.join(d)).unwrap();
    }
    std::fs::write(home.join(".ssh/id_ed25519"), "x").unwrap();
    std::fs::create_dir_all(ws.join(".git/objects")).unwrap();
    std::fs::create_dir_all(ws.join(".git/refs")).unwrap();
    std::fs::write(ws.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(ws.join(".git/config"), "[core]\n").unwrap();
    std::fs::write(ws.join(".env"), "A=1\n").unwrap();
    Tree { _t: t, home, ws }
}

fn inputs(t: &Tree) -> Inputs {
    Inputs {
        workspace: t.ws.clone(),
        home: t.home.to_string_lossy().into_owned(),
        command: vec!["sh".into()],
        program: "sh".into(),
        cwd: t.ws.clone(),
        allow_read: vec![],
        allow_write: vec![],
        create_for_run: vec![],
        allow_env: vec![],
        best_effort: false,
        host_tmpdir: PathBuf::from("/tmp/agentbox-4242-abc"),
        allow_host: vec![],
        host_proxy: None,
        credentials: vec![],
        profile_choice: crate::plan::command::ProfileChoice::Given,
    }
}

fn build_with(profile: &str, f: &HostFacts, inp: &Inputs) -> Plan {
    let r = crate::profile::resolve(profile).unwrap();
    build(&r, f, inp).unwrap().0
}

#[test]
fn namespaces_decide_mounts_keep_list_and_bounding_set() {
    let t = tree();
    let p = build_with("default", &facts(kernel(7, true), &[]), &inputs(&t));
    let ns = p.launch.namespaces.as_ref().expect("namespace layer");
    let home = std::fs::canonicalize(&t.home).unwrap();
    // The home is masked; what is granted below it comes back; nothing else of it does.
    assert!(ns.masked.contains(&home));
    assert!(ns.keep.contains(&home.join(".cargo/registry")));
    assert!(!ns.keep.iter().any(|k| k.starts_with(home.join(".ssh"))));
    assert!(ns.skeleton.contains(&home.join(".cache")));
    // The workspace's .env is hidden by a mount, its git directory seen through a view.
    assert!(ns.hidden.contains(&t.ws.join(".env")));
    assert_eq!(ns.shadows.len(), 1);
    assert_eq!(ns.shadows[0].path, t.ws.join(".git"));
    // /etc/resolv.conf's target in /run is kept, the private /dev/shm granted to Landlock.
    assert!(ns.keep.iter().any(|k| k.starts_with("/run")));
    let ll = p.launch.landlock.as_ref().unwrap();
    assert!(ll
        .rules
        .iter()
        .any(|r| r.path == Path::new("/dev/shm") && r.access == Grant::Write));
    assert!(
        ll.opts.net_connect.is_none(),
        "the network namespace does it"
    );
    assert!(p.launch.require_empty_bounding);
    assert_eq!(
        p.launch.seccomp.as_ref().unwrap().sockets,
        SocketPolicy::Contained
    );
    assert!(p.launch.listen_inside.is_empty());
}

#[test]
fn without_namespaces_trees_are_split_and_seccomp_holds_the_network() {
    let t = tree();
    let p = build_with("default", &facts(kernel(7, false), &[]), &inputs(&t));
    assert!(p.launch.namespaces.is_none());
    assert!(p.refusals.is_empty(), "default lets the namespaces go");
    // The workspace is split around .env: no rule on .env, the split entries not followed.
    assert!(p.filesystem.splits.iter().any(|s| s.tree == t.ws));
    let ll = p.launch.landlock.as_ref().unwrap();
    assert!(!ll.rules.iter().any(|r| r.path == t.ws.join(".env")));
    assert!(ll
        .rules
        .iter()
        .filter(|r| r.path.starts_with(&t.ws))
        .all(|r| r.nofollow || r.access == Grant::List || r.path == t.ws));
    // Network off: no TCP at all (an empty port list), UNIX sockets only.
    assert_eq!(ll.opts.net_connect, Some(vec![]));
    assert_eq!(
        p.launch.seccomp.as_ref().unwrap().sockets,
        SocketPolicy::UnixOnly
    );
    // Not root, no user namespace: the bounding set cannot be emptied, and the plan says so.
    assert!(!p.launch.require_empty_bounding);
    // The git metadata is snapshotted instead of viewed.
    assert_eq!(p.git.mode, crate::gitmeta::GitMode::Snapshot);
    assert!(p.filesystem.protect.contains(&t.ws.join(".git/config")));
    assert!(p
        .filesystem
        .protect_missing
        .contains(&t.ws.join(".git/commondir")));
}

#[test]
fn fallback_allowlist_ports_go_through_the_broker() {
    let t = tree();
    let mut inp = inputs(&t);
    inp.allow_host = vec!["example.org".into()];
    inp.host_proxy = Some((40123, "token".into()));
    let p = build_with("default", &facts(kernel(7, false), &[]), &inp);
    assert!(p.network.connect_broker);
    let ll = p.launch.landlock.as_ref().unwrap();
    // The broker connects for the box: Landlock allows no TCP connect of its own.
    assert_eq!(ll.opts.net_connect, Some(vec![]));
    assert_eq!(
        p.launch.seccomp.as_ref().unwrap().sockets,
        SocketPolicy::UnixAndTcp
    );
    // Without the broker the launch is refused, unless relaxed; then the ports are open.
    let mut k = kernel(7, false);
    k.seccomp_notify = false;
    let f = facts(k, &[]);
    let r = crate::profile::resolve("default").unwrap();
    let (refused, _) = build(&r, &f, &inp).unwrap();
    assert!(refused.refusals.iter().any(|r| r.layer == LayerId::Network));
    inp.best_effort = true;
    let (relaxed, _) = build(&r, &f, &inp).unwrap();
    let ports = relaxed.launch.landlock.unwrap().opts.net_connect.unwrap();
    assert_eq!(ports, vec![40123]);
}

#[test]
fn allowlist_with_namespaces_listens_inside() {
    let t = tree();
    let p = build_with("docs", &facts(kernel(7, true), &[]), &inputs(&t));
    assert_eq!(p.network.mode, NetMode::Allowlist);
    assert_eq!(
        p.launch.listen_inside,
        vec![std::net::SocketAddr::from((
            [127, 0, 0, 1],
            PROXY_PORT_IN_NS
        ))]
    );
}

#[test]
fn tiers_grant_what_they_say() {
    let t = tree();
    let f = facts(kernel(7, true), &[]);
    let inp = inputs(&t);
    let writes = |p: &Plan, path: &Path| {
        p.filesystem
            .rules
            .iter()
            .any(|r| r.access == Grant::Write && path.starts_with(&r.path))
    };
    let ro = build_with("read-only", &f, &inp);
    assert!(!writes(&ro, &t.ws.join("src")));
    assert_eq!(ro.git.mode, crate::gitmeta::GitMode::None);
    let def = build_with("default", &f, &inp);
    assert!(writes(&def, &t.ws.join("src")));
    assert!(!writes(&def, &t.home.join(".cargo/registry")));
    let test = build_with("test", &f, &inp);
    assert!(writes(&test, &t.home.join(".cargo/registry")));
    // Cargo creates its lock files in ~/.cargo; its bin stays read-only (a read-only mount).
    assert!(writes(&test, &t.home.join(".cargo/.package-cache")));
    let bin = t.home.join(".cargo/bin");
    assert_eq!(test.filesystem.toolchains_read_only, vec![bin.clone()]);
    let ns = test.launch.namespaces.as_ref().expect("namespace layer");
    assert!(ns.read_only.contains(&bin));
    // Without namespaces Landlock leaves bin out of the writable tree.
    let no_ns = build_with("test", &facts(kernel(7, false), &[]), &inp);
    assert!(!writes(&no_ns, &bin));
    assert!(writes(&no_ns, &t.home.join(".cargo/registry")));
    assert!(no_ns
        .filesystem
        .splits
        .iter()
        .any(|s| s.tree == t.home.join(".cargo") && s.denied == vec![bin.clone()]));
}

#[test]
fn missing_kernel_features_refuse_required_layers() {
    let t = tree();
    let p = build_with("default", &facts(kernel(0, true), &[]), &inputs(&t));
    assert!(p.refusals.iter().any(|r| r.layer == LayerId::Landlock));
    assert!(p.launch.landlock.is_none());
}

#[test]
fn unknown_optional_layer_is_an_error() {
    let t = tree();
    let dir = tempfile::tempdir().unwrap();
    let prof = dir.path().join("p.yaml");
    std::fs::write(&prof, "extends: default\nsandbox:\n  optional: [landlok]\n").unwrap();
    let r = crate::profile::resolve(prof.to_str().unwrap()).unwrap();
    // (ChildEnv has no Debug on purpose: it holds the removed values.)
    let Err(e) = build(&r, &facts(kernel(7, true), &[]), &inputs(&t)) else {
        panic!("an unknown layer name was accepted");
    };
    assert!(
        e.contains("landlok") && e.contains("landlock-scopes"),
        "{e}"
    );
}

#[test]
fn the_environment_is_the_facts_not_the_process() {
    let t = tree();
    let token = format!(
        "{}{}",
        "gh",
        format_args!("p_{}", "Q7xK9mP2vR4tW8zL3nB6cF1hJ5dG0sY1234x")
    );
    let f = facts(
        kernel(7, true),
        &[
            ("PATH", "/usr/bin:/bin"),
            ("BUILD_NOTE", &token),
            ("AGENTBOX_PLAN_TEST_ONLY", "yes"),
        ],
    );
    let r = crate::profile::resolve("default").unwrap();
    let (p, child) = build(&r, &f, &inputs(&t)).unwrap();
    assert!(p.env.removed.iter().any(|x| x.name == "BUILD_NOTE"));
    assert_eq!(
        child.get("AGENTBOX_PLAN_TEST_ONLY"),
        Some(std::ffi::OsStr::new("yes"))
    );
    // A variable of the test process itself is not there.
    assert!(child.get("CARGO_PKG_NAME").is_none());
    assert_eq!(p.executable.as_deref(), Some(Path::new("/usr/bin/sh")));
}
