//! Every case a new user found, with a made-up home and host.

use super::*;
use std::collections::BTreeSet;

/// A host holding exactly these paths (every ancestor of one is a directory).
struct Fake(BTreeSet<PathBuf>);

impl Fake {
    fn new(paths: &[&str]) -> Fake {
        let mut all = BTreeSet::new();
        for p in paths {
            let mut cur = PathBuf::from(p);
            all.insert(cur.clone());
            while cur.pop() {
                all.insert(cur.clone());
            }
        }
        Fake(all)
    }
}

impl Host for Fake {
    fn exists(&self, p: &Path) -> bool {
        self.0.contains(p)
    }
    fn is_dir(&self, p: &Path) -> bool {
        self.0.iter().any(|q| q.parent() == Some(p))
    }
    fn names(&self, dir: &Path) -> Vec<String> {
        self.0
            .iter()
            .filter(|q| q.parent() == Some(dir))
            .filter_map(|q| q.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect()
    }
}

const HOME: &str = "/home/u";

/// The host every case runs against: a rustup install, a workspace with git, agents' files.
fn host() -> Fake {
    Fake::new(&[
        "/home/u/.cargo/bin/cargo",
        "/home/u/.cargo/env",
        "/home/u/.cargo/registry/cache/x.crate",
        "/home/u/.cargo/.global-cache",
        "/home/u/.rustup/toolchains/stable/bin/rustc",
        "/home/u/.lesshst",
        "/home/u/.claude.json",
        "/home/u/.gitconfig",
        "/home/u/.bashrc",
        "/home/u/.local/bin/tool",
        "/home/u/.local/share/foo/db",
        "/home/u/.config/foo/bar.toml",
        "/home/u/.npm/_cacache/index",
        "/home/u/src/proj/README.md",
        "/home/u/src/proj/.git/HEAD",
        "/home/u/src/proj/.git/hooks/pre-commit.sample",
        "/srv/repo/docs/a.md",
        "/srv/repo/Cargo.lock",
        "/srv/repo/.git/HEAD",
        "/srv/data/x",
        "/dev/kvm",
    ])
}

fn cx<'a>(h: &'a Fake, ws: &'a Path, git: &[&str], writable: bool) -> Context<'a> {
    Context {
        home: Path::new(HOME),
        workspace: ws,
        deny: &[],
        protect: vec![PathBuf::from("/home/u/src/proj/.gitmodules")],
        git_dirs: git.iter().map(PathBuf::from).collect(),
        git_writable: writable,
        toolchains: vec![
            PathBuf::from("/home/u/.rustup"),
            PathBuf::from("/home/u/.cargo/bin"),
        ],
        in_test_tier: false,
        host: h,
    }
}

fn with<T>(f: impl FnOnce(&Context) -> T) -> T {
    let h = host();
    let ws = PathBuf::from("/home/u/src/proj");
    let c = cx(&h, &ws, &["/home/u/src/proj/.git"], true);
    f(&c)
}

fn remedy(access: Access, p: &str) -> Remedy {
    with(|c| c.suggest(access, Path::new(p)).remedy)
}

fn grant(access: Access, dir: &str) -> Remedy {
    Remedy::Grant {
        access,
        dir: dir.into(),
    }
}

fn outside(path: &str, what: Outside) -> Remedy {
    Remedy::RunsOutside {
        path: path.into(),
        what,
    }
}

use Access::{Read, Write};

#[test]
fn cargo_home_is_never_granted_whole_only_its_caches_and_lock_files() {
    // `learn -p test -- cargo build --offline` used to write `write: ["~/.cargo"]`.
    assert_eq!(
        remedy(Write, "/home/u/.cargo/registry/cache/y.crate"),
        grant(Write, "~/.cargo/registry")
    );
    assert_eq!(
        remedy(Write, "/home/u/.cargo/git/db/x"),
        grant(Write, "~/.cargo/git/")
    );
    assert_eq!(
        remedy(Write, "/home/u/.cargo/.global-cache"),
        grant(Write, "~/.cargo/.global-cache")
    );
    // A lock file cargo has not made yet: creating it needs ~/.cargo itself.
    assert_eq!(
        remedy(Write, "/home/u/.cargo/.package-cache"),
        Remedy::CreateFirst {
            path: "~/.cargo/.package-cache".into(),
            parent: "~/.cargo".into()
        }
    );
    // SQLite's journal next to the cache database.
    let s = with(|c| c.suggest(Write, Path::new("/home/u/.cargo/.global-cache-journal")));
    assert_eq!(
        s.remedy,
        Remedy::TempFiles {
            dir: "~/.cargo".into()
        }
    );
    assert_eq!(s.of.as_deref(), Some("/home/u/.cargo/.global-cache"));
    assert_eq!(s.tier.as_deref(), Some("test"), "the test tier allows it");
    // What runs outside: the binaries on PATH, the shell's env file, cargo's config.
    assert_eq!(
        remedy(Write, "/home/u/.cargo/bin/cargo-evil"),
        outside("~/.cargo/bin", Outside::OnPath)
    );
    assert_eq!(
        remedy(Write, "/home/u/.cargo/config.toml"),
        outside("~/.cargo/config.toml", Outside::Config)
    );
    assert_eq!(
        remedy(Write, "/home/u/.cargo/env"),
        outside("~/.cargo/env", Outside::ShellStartup)
    );
    // ~/.cargo itself (made in the masked home): it holds all of that.
    let s = with(|c| c.suggest(Write, Path::new("/home/u/.cargo")));
    assert!(
        matches!(&s.remedy, Remedy::RunsOutside { path, what: Outside::Holds { .. } } if path == "~/.cargo"),
        "{:?}",
        s.remedy
    );
    assert_eq!(s.tier.as_deref(), Some("test"));
    // Reading is not writing: a read grant names the narrowest tree.
    assert_eq!(
        remedy(Read, "/home/u/.cargo/registry/index/x"),
        grant(Read, "~/.cargo/registry")
    );
}

#[test]
fn bin_dirs_rc_files_and_their_locks_are_never_suggested() {
    assert_eq!(
        remedy(Write, "/home/u/.local/bin/x"),
        outside("~/.local/bin", Outside::OnPath)
    );
    assert_eq!(
        remedy(Write, "/home/u/.local/share/foo/db"),
        grant(Write, "~/.local/share/foo")
    );
    assert_eq!(
        remedy(Write, "/home/u/.bashrc"),
        outside("~/.bashrc", Outside::ShellStartup)
    );
    // `git config --global` locks ~/.gitconfig first.
    let s = with(|c| c.suggest(Write, Path::new("/home/u/.gitconfig.lock")));
    assert_eq!(s.remedy, outside("~/.gitconfig", Outside::Config));
    assert_eq!(s.of.as_deref(), Some("/home/u/.gitconfig"));
    assert_eq!(
        remedy(Write, "/home/u/.config/autostart/x.desktop"),
        outside("~/.config/autostart", Outside::Autostart)
    );
    assert_eq!(
        remedy(Write, "/home/u/.rustup/toolchains/stable/bin/rustc"),
        outside("~/.rustup", Outside::Toolchain)
    );
    assert_eq!(
        remedy(Write, "/etc/profile.d/x.sh"),
        outside("/etc", Outside::System)
    );
    assert_eq!(
        remedy(Write, "/usr/local/bin/x"),
        outside("/usr", Outside::System)
    );
    // Reading an rc file is fine: the file itself, never ~.
    assert_eq!(remedy(Read, "/home/u/.bashrc"), grant(Read, "~/.bashrc"));
}

#[test]
fn never_slash_or_home_or_a_top_level_directory() {
    // `read /dev -> --allow-read /`
    assert_eq!(
        remedy(Read, "/dev"),
        Remedy::Kernel {
            what: Kernel::DeviceList
        }
    );
    assert_eq!(
        remedy(Write, "/dev/kvm"),
        Remedy::Device {
            path: "/dev/kvm".into()
        }
    );
    assert_eq!(remedy(Read, "/"), Remedy::Whole { dir: "/".into() });
    assert_eq!(remedy(Read, HOME), Remedy::Whole { dir: "~".into() });
    assert_eq!(
        remedy(Read, "/home"),
        Remedy::Whole {
            dir: "/home".into()
        }
    );
    // A top-level directory's entry is named itself, never the directory.
    assert_eq!(remedy(Read, "/srv/data"), grant(Read, "/srv/data"));
    assert_eq!(remedy(Read, "/srv/data/x"), grant(Read, "/srv/data"));
    assert_eq!(
        remedy(Write, "/newdir"),
        Remedy::CreateFirst {
            path: "/newdir".into(),
            parent: "/".into()
        }
    );
}

#[test]
fn never_the_workspace_parent() {
    // `-w docs`: the workspace is a subdirectory of the repository.
    let h = host();
    let ws = PathBuf::from("/srv/repo/docs");
    let c = cx(&h, &ws, &[], true);
    assert_eq!(
        c.suggest(Write, Path::new("/srv/repo/Cargo.lock")).remedy,
        grant(Write, "/srv/repo/Cargo.lock")
    );
    assert_eq!(
        c.suggest(Write, Path::new("/srv/repo/docs/a.md.orig"))
            .remedy,
        grant(Write, "/srv/repo/docs")
    );
    assert_eq!(
        c.suggest(Write, Path::new("/srv/repo")).remedy,
        Remedy::Whole {
            dir: "/srv/repo".into()
        }
    );
    // Its git metadata is the repository's: use that as the workspace.
    assert_eq!(
        c.suggest(Read, Path::new("/srv/repo/.git/HEAD")).remedy,
        Remedy::Git {
            part: GitPart::OutsideWorkspace {
                top: PathBuf::from("/srv/repo")
            }
        }
    );
    // `git worktree add ../proj-wt` from ~/src/proj: the new sibling, never ~/src.
    assert_eq!(
        remedy(Write, "/home/u/src/proj-wt"),
        Remedy::CreateFirst {
            path: "~/src/proj-wt".into(),
            parent: "~/src".into()
        }
    );
    assert_eq!(
        remedy(Write, "/home/u/src/proj-wt/file"),
        grant(Write, "~/src/proj-wt/")
    );
}

#[test]
fn temporary_names_collapse_into_a_glob_of_their_stable_part() {
    let a = with(|c| c.suggest(Write, Path::new("/home/u/.claude.json.tmp.2.891749179185")));
    let b = with(|c| c.suggest(Write, Path::new("/home/u/.claude.json.tmp.77.12345678")));
    assert_eq!(a.shown, "/home/u/.claude.json.tmp.*");
    assert_eq!(a, b, "two temporary names are one line");
    assert_eq!(a.of.as_deref(), Some("/home/u/.claude.json"));
    assert_eq!(a.remedy, Remedy::TempFiles { dir: "~".into() });
    // less writes its history through ~/.lesshsQ: judged as the history file itself.
    let s = with(|c| c.suggest(Write, Path::new("/home/u/.lesshsQ")));
    assert_eq!(s.shown, "/home/u/.lesshs*");
    assert_eq!(s.of.as_deref(), Some("/home/u/.lesshst"));
    assert!(matches!(s.remedy, Remedy::Never { .. }), "{:?}", s.remedy);
    // mkstemp in a directory that may be granted: that directory.
    let s = with(|c| c.suggest(Write, Path::new("/srv/data/out.json.Xk3Jd9")));
    assert_eq!(s.shown, "/srv/data/out.json.*");
    assert_eq!(s.remedy, grant(Write, "/srv/data"));
    // A name that exists is no temporary one; a lock of nothing is an ordinary name.
    assert!(shape("report-20240101.txt", &[], true).is_none());
    assert!(shape("Cargo.lock", &["Cargo.toml".into()], false).is_none());
    assert_eq!(
        shape(".viminfz.tmp", &[".viminfo".into()], false),
        Some(Shape {
            pattern: ".viminfz.tmp".into(),
            base: Some(".viminfo".into())
        })
    );
    for t in ["891749179185", "Xk3Jd9", "a1b2c3", "3f2a9c81e0"] {
        assert!(random(t), "{t}");
    }
    for t in [
        "python3",
        "sha256sum",
        "x86",
        "json",
        "lesshsQ",
        "deadbeef",
        "2",
    ] {
        assert!(!random(t), "{t}");
    }
}

#[test]
fn per_process_proc_paths_are_kernel_files() {
    let s = with(|c| c.suggest(Read, Path::new("/proc/106/environ")));
    assert_eq!(s.shown, "/proc/*/environ");
    assert_eq!(
        s.remedy,
        Remedy::Kernel {
            what: Kernel::ProcessFiles
        }
    );
    let t = with(|c| c.suggest(Read, Path::new("/proc/4242/environ")));
    assert_eq!(s, t, "one line whatever the pid");
    assert_eq!(
        remedy(Write, "/proc/self/attr/current"),
        Remedy::Kernel {
            what: Kernel::ProcessFiles
        }
    );
    assert_eq!(
        remedy(Write, "/proc/sys/kernel/x"),
        Remedy::Kernel {
            what: Kernel::Interface
        }
    );
    assert_eq!(
        with(|c| c.suggest(Write, Path::new("/dev/pts/3"))).shown,
        "/dev/pts/*"
    );
}

#[test]
fn git_metadata_is_named_with_why_it_is_protected() {
    let git = |p: &str| remedy(Write, p);
    assert_eq!(
        git("/home/u/src/proj/.git/hooks/pre-commit"),
        Remedy::Git {
            part: GitPart::Hooks
        }
    );
    assert_eq!(
        git("/home/u/src/proj/.git/packed-refs"),
        Remedy::Git {
            part: GitPart::PackedRefs
        }
    );
    assert_eq!(
        git("/home/u/src/proj/.git/objects/info/alternates"),
        Remedy::Git {
            part: GitPart::Redirect
        }
    );
    // A rename onto the read-only .gitmodules fails with EBUSY: named as protected.
    let r = git("/home/u/src/proj/.gitmodules");
    assert_eq!(
        r,
        Remedy::Protected {
            by: PathBuf::from("/home/u/src/proj/.gitmodules")
        }
    );
    assert!(r.to_string().contains("Device or resource busy"), "{r}");
    // In a profile that does not write the workspace.
    let h = host();
    let ws = PathBuf::from("/home/u/src/proj");
    let c = cx(&h, &ws, &["/home/u/src/proj/.git"], false);
    assert_eq!(
        c.suggest(Write, Path::new("/home/u/src/proj/.git/config.lock"))
            .remedy,
        Remedy::Git {
            part: GitPart::ReadOnly
        }
    );
    // Another repository's metadata, anywhere.
    assert_eq!(
        git("/home/u/other/.git/config"),
        Remedy::Git {
            part: GitPart::Metadata
        }
    );
}

#[test]
fn ordinary_grants_stay_as_they_were() {
    assert_eq!(
        remedy(Read, "/home/u/.config/foo/bar.toml"),
        grant(Read, "~/.config/foo")
    );
    assert_eq!(remedy(Read, "/home/u/data/x/y"), grant(Read, "~/data/"));
    assert_eq!(remedy(Read, "/srv/a/b"), grant(Read, "/srv/a/"));
    let s = with(|c| c.suggest(Write, Path::new("/home/u/.npm/_cacache/index")));
    assert_eq!(s.remedy, grant(Write, "~/.npm"));
    assert_eq!(s.tier.as_deref(), Some("test"));
    assert!(matches!(
        remedy(Read, "/home/u/.ssh/id_ed25519"),
        Remedy::Never { .. }
    ));
    assert!(matches!(
        remedy(Write, "/run/user/1000/bus"),
        Remedy::Never { .. }
    ));
}
