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
        foreground_tty: None,
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
        personal_allow: Default::default(),
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
    // The box gets a resolv.conf of its own where the host's is (its target in /run), read
    // by a rule of its own, pointing at the stub resolver; the host's is not kept.
    assert!(!ns.keep.iter().any(|k| k.starts_with("/run")));
    let resolv = Path::new("/run/systemd/resolve/stub-resolv.conf");
    let r = p.launch.resolver.as_ref().expect("stub resolver");
    assert_eq!(r.address, "127.0.0.1:53".parse().unwrap());
    assert_eq!(r.resolv_conf.as_deref(), Some(resolv));
    let f = ns.files.iter().find(|f| f.path == resolv).unwrap();
    assert!(std::str::from_utf8(&f.content)
        .unwrap()
        .contains("\nnameserver 127.0.0.1\n"));
    // The terminal stays shared without one (the facts have none).
    assert_eq!(p.launch.terminal, crate::sandbox::spec::Terminal::Shared);
    let ll = p.launch.landlock.as_ref().unwrap();
    assert!(ll.rules.iter().any(|r| r.path == resolv));
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

#[test]
fn the_box_gets_redacted_copies_of_its_rc_files_and_a_private_nano_dir() {
    let t = tree();
    let tok = format!("gh{}_{}", "p", "Q7xK9mP2vR4tW8zL3nB6cF1hJ5dG0sYQ7xK9");
    std::fs::write(
        t.home.join(".bashrc"),
        format!("alias ll='ls -l'\nexport GITHUB_TOKEN={tok}\n"),
    )
    .unwrap();
    std::fs::write(t.home.join(".gitconfig"), "[user]\n\tname = T\n").unwrap();
    let home = std::fs::canonicalize(&t.home).unwrap();
    let p = build_with("default", &facts(kernel(7, true), &[]), &inputs(&t));
    let ns = p.launch.namespaces.as_ref().unwrap();
    let rc = ns
        .files
        .iter()
        .find(|f| f.path == home.join(".bashrc"))
        .unwrap();
    let text = std::str::from_utf8(&rc.content).unwrap();
    assert!(text.starts_with("alias ll='ls -l'\n") && !text.contains(&tok));
    // The profile's own read rule on ~/.gitconfig no longer binds the host's file: the copy
    // takes its place; each copy can be read.
    assert!(!ns.keep.contains(&home.join(".gitconfig")));
    assert!(ns.files.iter().any(|f| f.path == home.join(".gitconfig")));
    let ll = p.launch.landlock.as_ref().unwrap();
    assert!(ll.rules.iter().any(|r| r.path == home.join(".bashrc")));
    assert_eq!(ns.private_dirs, [home.join(".local/share/nano")]);
    assert!(ll
        .rules
        .iter()
        .any(|r| r.path == home.join(".local/share/nano") && r.access == Grant::Write));
    // What was removed is named, never shown.
    let json = serde_json::to_string(&p).unwrap();
    assert!(!json.contains(&tok) && json.contains("github-pat"));

    // Without namespaces: ~/.bashrc stays hidden; ~/.gitconfig, clean, stays readable.
    let p = build_with("default", &facts(kernel(7, false), &[]), &inputs(&t));
    use crate::plan::views::Skip;
    let why = |name: &str| {
        p.views
            .skipped
            .iter()
            .find(|s| s.path == home.join(name))
            .map(|s| s.why.clone())
    };
    assert_eq!(why(".bashrc"), Some(Skip::NoNamespaces));
    assert_eq!(why(".gitconfig"), Some(Skip::ReadableAsIs));
    assert!(p.views.files.is_empty() && p.views.private_dirs.is_empty());
    assert_eq!(p.network.dns, crate::plan::net::Dns::Unrecorded);
    assert!(p.launch.resolver.is_none());
}

#[test]
fn the_box_holds_the_terminal_in_its_own_group_only_in_a_pid_namespace() {
    use crate::sandbox::spec::Terminal;
    let t = tree();
    let mut f = facts(kernel(7, true), &[]);
    f.foreground_tty = Some(0);
    let p = build_with("default", &f, &inputs(&t));
    assert_eq!(p.launch.terminal, Terminal::ForegroundGroup { fd: 0 });
    let mut f = facts(kernel(7, false), &[]);
    f.foreground_tty = Some(0);
    let p = build_with("default", &f, &inputs(&t));
    assert_eq!(p.launch.terminal, Terminal::Shared);
}

#[test]
fn the_stub_resolver_steps_aside_for_what_takes_port_53() {
    use crate::plan::net::Dns;
    let conf = Some(Path::new("/etc/resolv.conf"));
    let at = |d: &Dns| match d {
        Dns::Stub { address, .. } => Some(address.to_string()),
        _ => None,
    };
    let d = Dns::decide(NetMode::Off, true, conf, &[], &[]);
    assert_eq!(at(&d).as_deref(), Some("127.0.0.1:53"));
    // A local DNS service forwarded at 127.0.0.1:53: the stub takes the next address, and
    // the box's resolv.conf names it.
    let local: Vec<std::net::SocketAddr> = vec!["127.0.0.1:53".parse().unwrap()];
    let d = Dns::decide(NetMode::Off, true, conf, &local, &[]);
    assert_eq!(at(&d).as_deref(), Some("127.0.0.53:53"));
    assert!(
        Dns::resolv_conf(NetMode::Off, "127.0.0.53".parse().unwrap())
            .contains("\nnameserver 127.0.0.53\n")
    );
    // The box serves DNS itself: no stub.
    assert_eq!(
        Dns::decide(NetMode::Off, true, conf, &[], &[53]),
        Dns::PortTaken
    );
    assert_eq!(
        Dns::decide(NetMode::Unrestricted, true, conf, &[], &[]),
        Dns::Host
    );
    assert_eq!(
        Dns::decide(NetMode::Allowlist, false, conf, &[], &[]),
        Dns::Unrecorded
    );
}

#[test]
fn with_the_network_off_package_managers_do_not_retry() {
    let t = tree();
    let r = crate::profile::resolve("default").unwrap();
    let f = facts(kernel(7, true), &[("npm_config_fetch_retries", "5")]);
    let (p, child) = build(&r, &f, &inputs(&t)).unwrap();
    assert_eq!(p.network.mode, NetMode::Off);
    for (k, v) in crate::plan::net::OFFLINE_ENV {
        assert_eq!(child.get(k), Some(std::ffi::OsStr::new(v)), "{k}");
    }
    // With a way out, the tools keep their own settings.
    let mut inp = inputs(&t);
    inp.allow_host = vec!["pypi.org".into()];
    let (_, child) = build(&r, &f, &inp).unwrap();
    assert_eq!(child.get("PIP_RETRIES"), None);
    assert_eq!(
        child.get("npm_config_fetch_retries"),
        Some(std::ffi::OsStr::new("5"))
    );
}
