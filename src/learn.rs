//! `agentbox learn`: run a trusted command under a base profile with the denial observer,
//! turn each refusal into the narrowest grant that lets it pass, and repeat until nothing new
//! is refused. Credentials, authority sockets and secret variables are never granted: they go
//! into the file as comments with a warning.

use crate::report::denials::{never_allowed, Remedy};
use crate::report::out::die;
use crate::report::{Access, FsDenial, NetDenial, NetRemedy};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `agentbox learn` arguments.
#[derive(Debug, Clone, Default)]
pub struct LearnOptions {
    /// Write the learned profile here (default: stdout).
    pub output: Option<PathBuf>,
    /// The profile to extend.
    pub profile: String,
    /// Workspace directory (as for `run`).
    pub workspace: Option<PathBuf>,
    /// Give up after this many rounds.
    pub max_rounds: u32,
    /// The trusted command to learn from.
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Default)]
struct Learned {
    read: BTreeSet<String>,
    write: BTreeSet<String>,
    exec: BTreeSet<String>,
    devices: BTreeSet<String>,
    hosts: BTreeSet<String>,
    local: BTreeSet<String>,
    refused: BTreeSet<String>,
    created: BTreeSet<String>,
}

impl Learned {
    fn count(&self) -> usize {
        self.read.len()
            + self.write.len()
            + self.exec.len()
            + self.devices.len()
            + self.hosts.len()
            + self.local.len()
    }

    fn yaml(&self, base: &str, command: &str, with_comments: bool) -> String {
        let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let mut o = String::new();
        if with_comments {
            o.push_str(&format!(
                "# Learned by `agentbox learn` from: {command}\n# Review before use: every grant below was needed by that command.\n"
            ));
            for r in &self.refused {
                o.push_str(&format!("# WARNING: not granted: {r}\n"));
            }
            for c in &self.created {
                o.push_str(&format!(
                    "# note: created the missing directory {c} so it can be granted\n"
                ));
            }
        }
        o.push_str(&format!(
            "description: {}\n",
            q(&format!("learned from {command}"))
        ));
        o.push_str(&format!("extends: {}\n", q(base)));
        let list = |o: &mut String, key: &str, v: &BTreeSet<String>| {
            if !v.is_empty() {
                o.push_str(&format!("  {key}:\n"));
                for x in v {
                    o.push_str(&format!("    - {}\n", q(x)));
                }
            }
        };
        let fs = [&self.read, &self.write, &self.exec, &self.devices];
        if fs.iter().any(|v| !v.is_empty()) {
            o.push_str("filesystem:\n");
            // Writing includes reading.
            let read = self.read.difference(&self.write).cloned().collect();
            list(&mut o, "read", &read);
            list(&mut o, "exec", &self.exec);
            list(&mut o, "write", &self.write);
            list(&mut o, "devices", &self.devices);
        }
        if !(self.hosts.is_empty() && self.local.is_empty()) {
            o.push_str("network:\n");
            list(&mut o, "allow", &self.hosts);
            list(&mut o, "local", &self.local);
        }
        o
    }
}

fn home() -> PathBuf {
    PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/nonexistent".into()))
}

/// The profile entry for a suggested grant. A missing one is taken for a directory (the command
/// was about to create it): under the home directory it becomes a state directory the run
/// creates (`DIR/`); elsewhere it is created now, when its parent exists, so that it can carry
/// a rule.
fn entry(dir: &str, l: &mut Learned) -> String {
    let d = dir.strip_suffix('/').unwrap_or(dir);
    let abs = PathBuf::from(crate::profile::expand::tilde(d));
    if abs.exists() {
        return d.to_string();
    }
    if abs.starts_with(home()) {
        return format!("{d}/");
    }
    if std::fs::create_dir(&abs).is_ok() {
        l.created.insert(abs.display().to_string());
    }
    d.to_string()
}

/// The part of a run report `learn` reads.
#[derive(serde::Deserialize, Default)]
struct Report {
    #[serde(default)]
    filesystem_denials: Vec<FsDenial>,
    #[serde(default)]
    network_denials: Vec<NetDenial>,
    #[serde(default)]
    connect_failures: Vec<String>,
}

impl Learned {
    /// Take one round's refusals: the suggested grants, warnings for what is never suggested.
    fn take(&mut self, rep: &Report) {
        for d in &rep.filesystem_denials {
            // The report is agentbox's own, but a credential is never granted whatever it says.
            if never_allowed(Path::new(&d.path), &home()).is_some() {
                self.refused.insert(format!("{} {}", d.access, d.path));
                continue;
            }
            match &d.remedy {
                Remedy::Grant { access, dir } => {
                    let g = entry(dir, self);
                    match access {
                        Access::Write => self.write.insert(g),
                        Access::Exec => self.exec.insert(g),
                        Access::Read => self.read.insert(g),
                    };
                }
                Remedy::Device { path } => {
                    self.devices.insert(path.clone());
                }
                other => {
                    let tier = d
                        .tier
                        .as_ref()
                        .map(|t| format!("; the `{t}` profile allows it (learn -p {t})"))
                        .unwrap_or_default();
                    self.refused
                        .insert(format!("{} {} ({other}{tier})", d.access, d.path));
                }
            }
        }
        for d in &rep.network_denials {
            match &d.remedy {
                // The connect broker's loopback refusals: judged below, as connect failures.
                NetRemedy::LocalService => {}
                NetRemedy::Never { why } => {
                    self.refused
                        .insert(format!("network {}:{} ({why})", d.host, d.port));
                }
                NetRemedy::AllowHost => {
                    self.hosts.insert(format!("{}:{}", d.host, d.port));
                }
                // Allowed already: nothing to learn, but worth a line.
                NetRemedy::Unresolved | NetRemedy::Unreachable => {
                    self.refused.insert(format!("network {}", d.fix()));
                }
            }
        }
        for a in &rep.connect_failures {
            let Ok(addr) = a.parse::<std::net::SocketAddr>() else {
                continue;
            };
            // A refused connect to a loopback port with a listener on the host: a local service.
            if addr.ip().is_loopback()
                && std::net::TcpStream::connect_timeout(
                    &addr,
                    std::time::Duration::from_millis(300),
                )
                .is_ok()
            {
                self.local.insert(addr.to_string());
            }
        }
    }
}

/// One round: run the command under the candidate profile and read its report.
fn round(args: &LearnOptions, prof: &Path, rep: &Path) -> Result<(Report, Option<i32>), String> {
    let _ = std::fs::remove_file(rep);
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("agentbox"));
    let mut c = std::process::Command::new(&exe);
    c.args(["run", "-q", "--report-denials", "--report"])
        .arg(rep)
        .arg("-p")
        .arg(prof);
    if let Some(w) = &args.workspace {
        c.arg("-w").arg(w);
    }
    c.arg("--").args(&args.command);
    let code = c.status().ok().and_then(|s| s.code());
    let text = std::fs::read_to_string(rep)
        .map_err(|_| "learn: the run produced no report (see the errors above)".to_string())?;
    let report = serde_json::from_str(&text).map_err(|e| format!("learn: the report: {e}"))?;
    Ok((report, code))
}

/// Run `agentbox learn`.
pub fn run(args: &LearnOptions, quiet: bool) -> ExitCode {
    let cmd_text = args
        .command
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>();
    let cmd_text = crate::report::redact_args(&cmd_text).join(" ");
    // The candidate profile lives outside the workspace: a workspace profile may only narrow.
    let dir = match tempfile_dir() {
        Ok(d) => d,
        Err(e) => return die(format!("learn: {e}")),
    };
    let (prof, rep) = (dir.join("learned.yaml"), dir.join("report.json"));
    let mut l = Learned::default();
    let mut converged = false;
    for n in 1..=args.max_rounds {
        if let Err(e) = std::fs::write(&prof, l.yaml(&args.profile, &cmd_text, false)) {
            let _ = std::fs::remove_dir_all(&dir);
            return die(format!("learn: {e}"));
        }
        let (report, code) = match round(args, &prof, &rep) {
            Ok(x) => x,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return die(e);
            }
        };
        let before = l.count();
        l.take(&report);
        if !quiet {
            let code = code.map(|c| c.to_string()).unwrap_or_else(|| "?".into());
            errln!(
                "agentbox learn: round {n}: {} grants (exit {code})",
                l.count()
            );
        }
        if l.count() == before {
            converged = true;
            break;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let out = l.yaml(&args.profile, &cmd_text, true);
    match &args.output {
        Some(p) => {
            if let Err(e) = std::fs::write(p, &out) {
                return die(format!("learn: cannot write {}: {e}", p.display()));
            }
            if !quiet {
                let wrote = format!("wrote {}", p.display());
                errln!("agentbox learn: {}", crate::scrub::text(&wrote));
            }
        }
        None => out!("{out}"),
    }
    for r in &l.refused {
        // Denied paths and hosts are the agent's doing: printed masked.
        errln!(
            "agentbox learn: WARNING: not granted: {}",
            crate::scrub::text(r)
        );
    }
    if !converged {
        errln!(
            "agentbox learn: still refused after {} rounds; the profile is incomplete",
            args.max_rounds
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

fn tempfile_dir() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let tag = crate::supervise::journal::run_id()?;
    let d = std::env::temp_dir().join(format!("agentbox-learn-{}", &tag[..12]));
    std::fs::DirBuilder::new().mode(0o700).create(&d)?;
    Ok(d)
}
