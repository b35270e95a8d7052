//! Fixtures: the fake production secrets, the two users, the binary, and a temporary git
//! workspace with a fake HOME full of credentials.

use super::{as_who, assert_no_secret, require, stderr, stdout, PATH};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// Name of the unprivileged user the tests create when running as root.
pub const TEST_USER: &str = "agentbox-test";

/// Fake secret values, assembled at run time so the repository holds no token-shaped strings.
pub fn secrets() -> Vec<(&'static str, String)> {
    let r = |n: usize| -> String {
        "Q7xK9mP2vR4tW8zL3nB6cF1hJ5dG0sY"
            .chars()
            .cycle()
            .take(n)
            .collect()
    };
    vec![
        (
            "GITHUB_TOKEN",
            format!("{}{}", "gh", format_args!("p_{}", r(36))),
        ),
        ("AWS_SECRET_ACCESS_KEY", r(40)),
        (
            "DATABASE_URL",
            format!("postgres://app:{}@db.internal:5432/prod", r(16)),
        ),
        ("STRIPE_API_KEY", format!("sk_{}_{}", "live", r(24))),
        ("DEPLOY_PASSWORD", format!("pw-{}", r(14))),
        ("NPM_TOKEN", format!("npm_{}", r(36))),
        (
            "SSH_AUTH_SOCK",
            "/tmp/ssh-XXXXsecret/agent.4242".to_string(),
        ),
        // A token shape under an innocent name.
        (
            "BUILD_NOTE",
            format!("{}{}", "gh", format_args!("o_{}", r(36))),
        ),
    ]
}

/// `n` random bytes (for values made at run time, different every run).
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .unwrap();
    b
}

/// A fake API key or token of the shape `prefix` starts, random per call (the test never
/// prints it).
pub fn fake_key(prefix: &str) -> String {
    let body: String = random_bytes(24)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    format!("{prefix}{body}")
}

/// Values that must never appear in agentbox's own output.
pub fn secret_values() -> Vec<String> {
    secrets()
        .into_iter()
        .filter(|(k, _)| *k != "SSH_AUTH_SOCK")
        .map(|(_, v)| v)
        .collect()
}

/// Who runs agentbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum As {
    /// The current user (root in CI).
    Me,
    /// The unprivileged user `agentbox-test` (created when running as root).
    User,
}

pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// uid/gid of the unprivileged test user, creating it once when root.
pub fn test_user() -> Option<(u32, u32)> {
    static U: OnceLock<Option<(u32, u32)>> = OnceLock::new();
    *U.get_or_init(|| {
        if !is_root() {
            return None;
        }
        let lookup = || {
            let out = Command::new("id").arg("-u").arg(TEST_USER).output().ok()?;
            if !out.status.success() {
                return None;
            }
            let uid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
            let out = Command::new("id").arg("-g").arg(TEST_USER).output().ok()?;
            let gid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
            Some((uid, gid))
        };
        if let Some(u) = lookup() {
            return Some(u);
        }
        let _ = Command::new("useradd")
            .args(["--no-create-home", "--shell", "/bin/sh", TEST_USER])
            .status();
        lookup()
    })
}

/// uid `who` runs as.
pub fn uid_of(who: As) -> u32 {
    match (who, test_user()) {
        (As::User, Some((u, _))) => u,
        // SAFETY: getuid cannot fail.
        _ => unsafe { libc::getuid() },
    }
}

/// Both: as root and as the unprivileged user. Only as the current user when the suite cannot
/// make that user (not root, or `useradd` failed): `require` says so, and fails under CI.
#[track_caller]
pub fn who() -> Vec<As> {
    if require(
        "root, to create the unprivileged user agentbox-test and run as it too",
        is_root() && test_user().is_some(),
    ) {
        vec![As::Me, As::User]
    } else {
        vec![As::Me]
    }
}

/// Give `p` (recursively, symlinks themselves rather than their targets) to `who`.
pub fn chown_to(p: &Path, who: As) {
    if who == As::User {
        if let Some((uid, gid)) = test_user() {
            let st = Command::new("chown")
                .arg("-hR")
                .arg(format!("{uid}:{gid}"))
                .arg(p)
                .status()
                .expect("chown");
            assert!(st.success(), "chown -hR {uid}:{gid} {}", p.display());
        }
    }
}

/// A copy of the binary in a world-readable place, so the unprivileged user can run it.
pub fn bin() -> PathBuf {
    static B: OnceLock<PathBuf> = OnceLock::new();
    B.get_or_init(|| {
        let src = PathBuf::from(env!("CARGO_BIN_EXE_agentbox"));
        if !is_root() {
            return src;
        }
        // One stable place per build tree (no litter across runs, and two checkouts testing at
        // once never run each other's binary); copy then rename so a concurrent run never sees
        // a half-written file.
        let tag = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            src.hash(&mut h);
            format!("{:016x}", h.finish())
        };
        let dir = PathBuf::from(format!("/tmp/agentbox-testbin-{tag}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let tmp = dir.join(format!(".agentbox-{}", std::process::id()));
        std::fs::copy(&src, &tmp).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
        let dst = dir.join("agentbox");
        std::fs::rename(&tmp, &dst).unwrap();
        dst
    })
    .clone()
}

/// Where fixtures live: /var/tmp, like a real home or checkout outside the /tmp the box masks
/// (so each test shows the layer it is about; `launcher::workspace_under_tmp_*` and the escape
/// tests' `layouts` cover a fixture in /tmp).
pub fn fixture_base() -> &'static str {
    "/var/tmp"
}

/// A fixture under an explicit base directory.
pub fn fixture_in(owner: As, base: &str) -> Fixture {
    Fixture::new_in(owner, base)
}

/// Both layouts, for the tests where the place matters: a fixture in /tmp (which the box masks
/// with a private one) and one in /var/tmp, outside it, as on a real machine (HOME reachable by
/// path, only the hiding rules keep it out).
pub fn layouts(who: As) -> Vec<(&'static str, Fixture)> {
    vec![
        ("tmp", Fixture::new_in(who, "/tmp")),
        ("var", Fixture::new(who)),
    ]
}

/// git on the host, as the fixture's owner, with its HOME (the person's later, unboxed use).
pub fn host_git(f: &Fixture, dir: &Path, args: &[&str]) -> Output {
    let mut c = Command::new("git");
    c.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", PATH)
        .env("HOME", &f.home)
        .env("GIT_AUTHOR_NAME", "Person")
        .env("GIT_AUTHOR_EMAIL", "p@example.invalid")
        .env("GIT_COMMITTER_NAME", "Person")
        .env("GIT_COMMITTER_EMAIL", "p@example.invalid")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(Stdio::null());
    as_who(&mut c, f.owner);
    c.output().expect("git")
}

/// [`host_git`], which must succeed; its stdout.
pub fn git_ok(f: &Fixture, dir: &Path, args: &[&str]) -> String {
    let o = host_git(f, dir, args);
    assert!(
        o.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        stderr(&o)
    );
    stdout(&o)
}

/// An executable file at `p` holding `text` (its parent directories made first).
pub fn write_exec(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Credential files in the fake HOME (relative to it).
pub const CRED_FILES: &[&str] = &[
    ".ssh/id_ed25519",
    ".aws/credentials",
    ".config/gh/hosts.yml",
    ".kube/config",
    ".docker/config.json",
    ".bash_history",
];

/// A temporary fixture: `root/home` (fake HOME) and `root/work/repo` (a git workspace).
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub ws: PathBuf,
    pub owner: As,
}

impl Fixture {
    /// A fixture owned by whoever will run agentbox.
    pub fn new(owner: As) -> Fixture {
        Self::new_in(owner, fixture_base())
    }

    /// A fixture under `base`.
    pub fn new_in(owner: As, base: &str) -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("agentbox-t-")
            .tempdir_in(base)
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let home = dir.path().join("home");
        let ws = dir.path().join("work/repo");
        std::fs::create_dir_all(&ws).unwrap();
        for f in CRED_FILES {
            let p = home.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "CREDENTIAL-FILE-CONTENT\n").unwrap();
        }
        std::fs::write(home.join(".bashrc"), "# rc\n").unwrap();
        let git = |args: &[&str]| {
            let st = Command::new("git")
                .args(args)
                .current_dir(&ws)
                .env("HOME", &home)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(st.success(), "git {args:?}");
        };
        git(&["init", "-q", "-b", "feature/test"]);
        git(&["config", "user.email", "t@example.invalid"]);
        git(&["config", "user.name", "T"]);
        std::fs::write(ws.join("README.md"), "hello\n").unwrap();
        git(&["add", "README.md"]);
        git(&["commit", "-q", "-m", "init"]);
        chown_to(dir.path(), owner);
        Fixture {
            dir,
            home,
            ws,
            owner,
        }
    }

    /// `agentbox ARGS` as the fixture's owner, in the workspace, with the fake HOME and the
    /// fake secrets in an otherwise clean environment; not started yet.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.args(args)
            .current_dir(&self.ws)
            .env_clear()
            .env("PATH", PATH)
            .env("HOME", &self.home)
            .env("TERM", "xterm")
            .env("LANG", "C.UTF-8")
            .env("TOKENIZERS_PARALLELISM", "false")
            .env("XDG_CONFIG_HOME", self.home.join(".config"));
        for (k, v) in secrets() {
            c.env(k, v);
        }
        as_who(&mut c, self.owner);
        c
    }

    /// Run `agentbox ARGS` (see [`Fixture::command`]); no secret may be in what it prints.
    pub fn agentbox(&self, args: &[&str]) -> Output {
        self.agentbox_env(args, &[])
    }

    /// Same, with extra environment variables.
    pub fn agentbox_env(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut c = self.command(args);
        for (k, v) in extra {
            c.env(k, v);
        }
        let out = c.output().expect("run agentbox");
        assert_no_secret(&out);
        out
    }

    /// Write the person's profile `name` (`~/.config/agentbox/profiles/NAME.yaml`); its path.
    pub fn user_profile(&self, name: &str, text: &str) -> PathBuf {
        let dir = self.home.join(".config/agentbox/profiles");
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(format!("{name}.yaml"));
        std::fs::write(&p, text).unwrap();
        p
    }

    /// The plan of `agentbox run -p PRESET --dry-run --json -- true`, which must succeed.
    pub fn preset_plan(&self, preset: &str) -> serde_json::Value {
        let out = self.agentbox(&["run", "-p", preset, "--dry-run", "--json", "--", "true"]);
        assert!(out.status.success(), "plan {preset}: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).expect("plan JSON")
    }

    /// agentbox's audit trail in the fake HOME.
    pub fn audit_log(&self) -> PathBuf {
        self.home.join(".local/state/agentbox/audit.jsonl")
    }

    /// What agentbox kept of a run: the `--report` file at `report`, then the audit trail.
    pub fn records(&self, report: &Path) -> String {
        format!(
            "{}\n{}",
            std::fs::read_to_string(report).unwrap_or_default(),
            std::fs::read_to_string(self.audit_log()).unwrap_or_default()
        )
    }

    /// `agentbox run -q -- sh -c SCRIPT`.
    pub fn sh(&self, script: &str) -> Output {
        self.agentbox(&["run", "-q", "--", "sh", "-c", script])
    }
}
