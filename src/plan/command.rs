//! The command itself: where it is installed, so the box can read and execute it however it
//! was installed (system npm prefix, ~/.local, nvm, pnpm, pipx, a symlink).

use std::path::{Path, PathBuf};

/// A directory granted read+execute because the command lives there.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Root {
    /// The directory.
    pub path: PathBuf,
    /// Why (`codex -> /home/u/.nvm/.../cli.js`).
    pub why: String,
}

/// Directories that are too broad to grant whole (they hold credentials next to binaries).
fn too_broad(p: &Path, home: &Path) -> bool {
    let broad = [
        ".",
        ".local",
        ".local/share",
        ".config",
        ".cache",
        ".local/lib",
        "go",
        "bin",
    ];
    p == Path::new("/") || home.starts_with(p) || broad.iter().any(|b| p == home.join(b))
}

/// The installation root of one executable file: the package directory inside a
/// `node_modules`, the prefix above a `bin` (a venv, an nvm node version), else its directory.
fn root_of(file: &Path, home: &Path) -> PathBuf {
    let comps: Vec<_> = file.components().collect();
    // node_modules/<pkg> or node_modules/@scope/<pkg>
    if let Some(i) = comps.iter().rposition(|c| c.as_os_str() == "node_modules") {
        let mut p: PathBuf = comps[..=i].iter().collect();
        if let Some(next) = comps.get(i + 1) {
            p.push(next);
            if next.as_os_str().to_string_lossy().starts_with('@') {
                if let Some(n2) = comps.get(i + 2) {
                    p.push(n2);
                }
            }
        }
        return p;
    }
    if let Some(i) = comps.iter().rposition(|c| c.as_os_str() == "bin") {
        let prefix: PathBuf = comps[..i].iter().collect();
        if !too_broad(&prefix, home) {
            return prefix;
        }
    }
    file.parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| file.to_path_buf())
}

/// The interpreter named by a `#!` line, resolved through PATH for `env`.
fn shebang(file: &Path, path_var: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    use std::io::Read;
    let mut buf = [0u8; 256];
    let n = std::fs::File::open(file).ok()?.read(&mut buf).ok()?;
    let line = std::str::from_utf8(buf[..n].strip_prefix(b"#!")?)
        .ok()?
        .lines()
        .next()?;
    let mut words = line.split_whitespace();
    let interp = words.next()?;
    if interp.ends_with("/env") {
        let prog = words.find(|w| !w.starts_with('-'))?;
        let pv = path_var?;
        return std::env::split_paths(pv)
            .map(|d| d.join(prog))
            .find(|p| p.is_file());
    }
    Some(PathBuf::from(interp))
}

/// Roots to grant so `exe` can run: its own (through symlinks) and its interpreter's.
pub fn install_roots(exe: &Path, path_var: Option<&std::ffi::OsStr>, home: &Path) -> Vec<Root> {
    let mut out: Vec<Root> = Vec::new();
    let mut push = |path: PathBuf, why: String| {
        if !too_broad(&path, home) && !out.iter().any(|r| r.path == path) {
            out.push(Root { path, why });
        }
    };
    let mut todo = vec![exe.to_path_buf()];
    let mut seen = 0;
    while let Some(f) = todo.pop() {
        seen += 1;
        if seen > 4 {
            break;
        }
        let real = std::fs::canonicalize(&f).unwrap_or_else(|_| f.clone());
        // The directory the name was found in (a symlink farm such as ~/.local/bin).
        if let Some(d) = f.parent() {
            push(d.to_path_buf(), format!("{} is found there", f.display()));
        }
        let root = root_of(&real, home);
        let why = if real != f {
            format!("{} -> {}", f.display(), real.display())
        } else {
            format!("{} is installed there", f.display())
        };
        push(root, why);
        if let Some(i) = shebang(&real, path_var) {
            todo.push(i);
        }
    }
    out
}

use crate::sandbox::{EXIT_NOEXEC, EXIT_NOTFOUND};
use std::ffi::{OsStr, OsString};
use std::os::unix::fs::PermissionsExt;

/// The program's name as `command_args` keys it (the last component of the command's first word).
pub fn program_name(program: &str) -> String {
    Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The arguments the profile adds after the program's name (`command_args`).
pub fn added_args(p: &crate::profile::Profile, program: &str) -> Vec<String> {
    p.command_args
        .get(&program_name(program))
        .cloned()
        .unwrap_or_default()
}

/// Why a command cannot be started.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CommandError {
    /// 126 or 127.
    pub code: u8,
    /// Message for stderr.
    pub message: String,
}

/// Find `cmd` the way execvp would, using the child's PATH.
pub fn resolve_command(
    cmd: &str,
    path_var: Option<&OsStr>,
    cwd: &Path,
) -> Result<PathBuf, CommandError> {
    let is_exec = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if cmd.is_empty() {
        return Err(CommandError {
            code: EXIT_NOTFOUND,
            message: "empty command".into(),
        });
    }
    if cmd.contains('/') {
        let p = cwd.join(cmd);
        return match std::fs::metadata(&p) {
            Err(_) => Err(CommandError {
                code: EXIT_NOTFOUND,
                message: format!("{cmd}: no such file"),
            }),
            Ok(m) if m.is_dir() => Err(CommandError {
                code: EXIT_NOEXEC,
                message: format!("{cmd}: is a directory"),
            }),
            Ok(_) if !is_exec(&p) => Err(CommandError {
                code: EXIT_NOEXEC,
                message: format!("{cmd}: permission denied (not executable)"),
            }),
            Ok(_) => Ok(crate::profile::expand::normalize(&p.to_string_lossy())),
        };
    }
    let path_var = path_var
        .map(|p| p.to_os_string())
        .unwrap_or_else(|| OsString::from("/usr/local/bin:/usr/bin:/bin"));
    let mut found_noexec = None;
    for dir in std::env::split_paths(&path_var) {
        let dir = if dir.as_os_str().is_empty() {
            cwd.to_path_buf()
        } else {
            dir
        };
        let p = dir.join(cmd);
        if is_exec(&p) {
            return Ok(p);
        }
        if found_noexec.is_none() && p.is_file() {
            found_noexec = Some(p);
        }
    }
    match found_noexec {
        Some(p) => Err(CommandError {
            code: EXIT_NOEXEC,
            message: format!("{}: permission denied (not executable)", p.display()),
        }),
        None => Err(CommandError {
            code: EXIT_NOTFOUND,
            message: format!("{cmd}: command not found"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_of_common_layouts() {
        let home = Path::new("/home/u");
        assert_eq!(
            root_of(Path::new("/home/u/.nvm/versions/node/v20.1.0/lib/node_modules/@openai/codex/bin/codex.js"), home),
            PathBuf::from("/home/u/.nvm/versions/node/v20.1.0/lib/node_modules/@openai/codex")
        );
        assert_eq!(
            root_of(
                Path::new("/home/u/.nvm/versions/node/v20.1.0/bin/node"),
                home
            ),
            PathBuf::from("/home/u/.nvm/versions/node/v20.1.0")
        );
        assert_eq!(
            root_of(
                Path::new("/home/u/.local/share/pipx/venvs/aider-chat/bin/aider"),
                home
            ),
            PathBuf::from("/home/u/.local/share/pipx/venvs/aider-chat")
        );
        // ~/.local/bin/x: the prefix ~/.local is too broad (keyrings live under it).
        assert_eq!(
            root_of(Path::new("/home/u/.local/bin/tool"), home),
            PathBuf::from("/home/u/.local/bin")
        );
        assert!(too_broad(Path::new("/home/u"), home));
        assert!(too_broad(Path::new("/home"), home));
        assert!(too_broad(Path::new("/"), home));
    }

    #[test]
    fn follows_symlinks_and_shebangs() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("home");
        let pkg = home.join(".nvm/versions/node/v20/lib/node_modules/agent");
        let bin = home.join(".nvm/versions/node/v20/bin");
        std::fs::create_dir_all(pkg.join("bin")).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(pkg.join("bin/cli.js"), "#!/usr/bin/env node\n").unwrap();
        std::fs::write(bin.join("node"), "").unwrap();
        std::os::unix::fs::symlink(pkg.join("bin/cli.js"), bin.join("agent")).unwrap();
        let pv = std::ffi::OsString::from(bin.as_os_str());
        let roots = install_roots(&bin.join("agent"), Some(&pv), &home);
        let paths: Vec<&PathBuf> = roots.iter().map(|r| &r.path).collect();
        assert!(paths.contains(&&pkg), "{roots:?}");
        assert!(
            paths.contains(&&home.join(".nvm/versions/node/v20")),
            "{roots:?}"
        );
    }
}

#[cfg(test)]
mod resolve_tests {
    use super::*;

    #[test]
    fn resolves_commands() {
        let cwd = Path::new("/");
        assert!(resolve_command("sh", Some(OsStr::new("/usr/bin:/bin")), cwd).is_ok());
        let e = resolve_command(
            "definitely-not-a-command-xyz",
            Some(OsStr::new("/usr/bin")),
            cwd,
        )
        .unwrap_err();
        assert_eq!(e.code, EXIT_NOTFOUND);
        let e = resolve_command("/etc/passwd", None, cwd).unwrap_err();
        assert_eq!(e.code, EXIT_NOEXEC);
        let e = resolve_command("/", None, cwd).unwrap_err();
        assert_eq!(e.code, EXIT_NOEXEC);
    }
}
