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

/// The arguments the profile adds after the program's name (`command_args`), with
/// `${WORKSPACE}` expanded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddedArgs {
    /// What goes after the program's name.
    pub args: Vec<String>,
    /// Entries left out (as written in the profile): `${WORKSPACE}` would put a quote, a
    /// backslash or a control character into an argument agents parse as TOML or JSON.
    pub left_out: Vec<String>,
}

/// Characters a workspace path may not bring into an argument (they would end or escape a
/// quoted string in the agent's own syntax).
fn unsafe_in_args(c: char) -> bool {
    c == '"' || c == '\\' || c == '\'' || c.is_control()
}

/// The arguments the profile adds after the program's name (`command_args`).
pub fn added_args(p: &crate::profile::Profile, program: &str, workspace: &Path) -> AddedArgs {
    let mut out = AddedArgs::default();
    let ws = workspace.to_string_lossy();
    let ws_ok = !ws.chars().any(unsafe_in_args);
    for raw in p
        .command_args
        .get(&program_name(program))
        .into_iter()
        .flatten()
    {
        if !raw.contains("${WORKSPACE}") {
            out.args.push(raw.clone());
            continue;
        }
        if ws_ok {
            out.args.push(raw.replace("${WORKSPACE}", &ws));
            continue;
        }
        // Left out with the option it belongs to (`-c VALUE`), which must not take the next
        // argument as its value.
        if out
            .args
            .last()
            .is_some_and(|a| a.starts_with('-') && !a.contains('='))
        {
            if let Some(opt) = out.args.pop() {
                out.left_out.push(opt);
            }
        }
        out.left_out.push(raw.clone());
    }
    out
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

/// A known agent: it has a built-in preset of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Agent {
    /// OpenAI Codex CLI.
    Codex,
    /// Claude Code.
    Claude,
    /// Gemini CLI.
    Gemini,
    /// aider.
    Aider,
    /// opencode.
    Opencode,
}

impl Agent {
    /// Every known agent.
    pub const ALL: [Agent; 5] = [
        Agent::Codex,
        Agent::Claude,
        Agent::Gemini,
        Agent::Aider,
        Agent::Opencode,
    ];

    /// Its command name, which is also its preset's name.
    pub fn name(self) -> &'static str {
        match self {
            Agent::Codex => "codex",
            Agent::Claude => "claude",
            Agent::Gemini => "gemini",
            Agent::Aider => "aider",
            Agent::Opencode => "opencode",
        }
    }

    /// The agent a program name is, if any.
    pub fn from_program(program: &str) -> Option<Agent> {
        let n = program_name(program);
        Agent::ALL.into_iter().find(|a| a.name() == n)
    }
}

/// How a program was reached: the path found, where its symlinks lead, its `#!` interpreters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reach {
    /// Where the command was found (PATH or the path given).
    pub found: PathBuf,
    /// Every symlink hop after it, the real file last (empty when it is no symlink).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<PathBuf>,
    /// The interpreters of `#!` lines (npm's bin scripts, wrapper scripts), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interpreters: Vec<PathBuf>,
}

impl Reach {
    /// Every file the launch runs through.
    fn files(&self) -> impl Iterator<Item = &PathBuf> {
        std::iter::once(&self.found)
            .chain(&self.links)
            .chain(&self.interpreters)
    }
}

/// Why a run without `-p` uses `default` rather than an agent's preset.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum NoPreset {
    /// The program is no known agent.
    NotAnAgent,
    /// The program, a link on the way to it or its interpreter is inside the workspace: a
    /// repository cannot loosen its own cage.
    InWorkspace {
        /// The first such file.
        path: PathBuf,
    },
    /// The command is not found (the run then says so).
    NotFound,
}

/// How the run's profile was chosen (in the plan and the status line).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "by")]
pub enum ProfileChoice {
    /// `-p NAME`.
    Given,
    /// No `-p`, and the command is a known agent installed outside the workspace: its preset.
    AgentPreset {
        /// The agent.
        agent: Agent,
        /// How its command was reached.
        reach: Reach,
    },
    /// No `-p`: `default`.
    Default {
        /// Why not a preset.
        why: NoPreset,
    },
}

impl ProfileChoice {
    /// The profile to load for this choice (`given` when `-p` was given).
    pub fn profile_name(&self, given: Option<&str>) -> String {
        match (self, given) {
            (_, Some(g)) => g.to_string(),
            (ProfileChoice::AgentPreset { agent, .. }, None) => agent.name().to_string(),
            _ => "default".to_string(),
        }
    }
}

/// `p` absolute (relative to `cwd`) and without `.` or `..`.
fn absolute(p: &Path, cwd: &Path) -> PathBuf {
    crate::profile::expand::normalize(&cwd.join(p).to_string_lossy())
}

/// The symlink hops after `p` (each absolute), at most 16, the last the real file.
fn link_hops(p: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut cur = p.to_path_buf();
    for _ in 0..16 {
        let Ok(t) = std::fs::read_link(&cur) else {
            break;
        };
        let dir = cur.parent().unwrap_or(Path::new("/")).to_path_buf();
        cur = absolute(&t, &dir);
        out.push(cur.clone());
    }
    if let Ok(real) = std::fs::canonicalize(p) {
        if out.last() != Some(&real) && real != p {
            out.push(real);
        }
    }
    out
}

/// How `exe` is reached: its links and the interpreters of its `#!` lines (4 deep at most).
pub fn reach(exe: &Path, path_var: Option<&OsStr>, cwd: &Path) -> Reach {
    let found = absolute(exe, cwd);
    let links = link_hops(&found);
    let mut interpreters = Vec::new();
    let mut cur = links.last().cloned().unwrap_or_else(|| found.clone());
    for _ in 0..4 {
        let Some(i) = shebang(&cur, path_var) else {
            break;
        };
        let i = absolute(&i, cwd);
        let hops = link_hops(&i);
        interpreters.push(i.clone());
        interpreters.extend(hops.iter().cloned());
        cur = hops.last().cloned().unwrap_or(i);
    }
    Reach {
        found,
        links,
        interpreters,
    }
}

/// Which profile a run without `-p` gets: a known agent's preset when its command (every file
/// on the way to it, interpreters included) lies outside the workspace, else `default`.
pub fn choose_profile(
    given: bool,
    program: &str,
    path_var: Option<&OsStr>,
    cwd: &Path,
    workspace: &Path,
) -> ProfileChoice {
    if given {
        return ProfileChoice::Given;
    }
    let Some(agent) = Agent::from_program(program) else {
        return ProfileChoice::Default {
            why: NoPreset::NotAnAgent,
        };
    };
    let Ok(exe) = resolve_command(program, path_var, cwd) else {
        return ProfileChoice::Default {
            why: NoPreset::NotFound,
        };
    };
    let reach = reach(&exe, path_var, cwd);
    let ws_real = std::fs::canonicalize(workspace).unwrap_or_else(|_| workspace.to_path_buf());
    if let Some(p) = reach
        .files()
        .find(|f| f.starts_with(workspace) || f.starts_with(&ws_real))
    {
        return ProfileChoice::Default {
            why: NoPreset::InWorkspace { path: p.clone() },
        };
    }
    ProfileChoice::AgentPreset { agent, reach }
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
