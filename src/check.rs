//! `agentbox check`: the preflight checklist before an agent starts. Each item is pass, warn
//! or fail with a one-line fix; names and locations only, never a value.

use crate::detect;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// `agentbox check` arguments.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Profile the agent will run with.
    pub profile: String,
    /// Workspace [default: the git top level of the current directory].
    pub workspace: Option<PathBuf>,
    /// Print the results as JSON.
    pub json: bool,
}

/// Result of one item.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Fine.
    Pass,
    /// Worth a look.
    Warn,
    /// Fix before starting an agent.
    Fail,
}

/// One checklist item.
#[derive(Debug, Serialize)]
pub struct Item {
    /// Stable id.
    pub id: &'static str,
    /// pass, warn or fail.
    pub level: Level,
    /// What was found (names and locations only).
    pub detail: String,
    /// How to fix it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fix: String,
}

fn item(id: &'static str, level: Level, detail: impl Into<String>, fix: impl Into<String>) -> Item {
    Item {
        id,
        level,
        detail: detail.into(),
        fix: fix.into(),
    }
}

/// Fail listing `found` (names only), or pass.
fn found_or_pass(id: &'static str, found: &[&str], what: &str, fix: &str, pass: &str) -> Item {
    if found.is_empty() {
        item(id, Level::Pass, pass, "")
    } else {
        item(
            id,
            Level::Fail,
            format!("{what}: {}", found.join(", ")),
            fix,
        )
    }
}

fn git(ws: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(ws)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn git_bytes(ws: &Path, args: &[&str]) -> Option<Vec<u8>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(ws)
        .args(args)
        .output()
        .ok()?;
    out.status.success().then_some(out.stdout)
}

fn branch_items(ws: &Path, out: &mut Vec<Item>) {
    if git(ws, &["rev-parse", "--git-dir"]).is_none() {
        out.push(item("git-branch", Level::Fail, format!("{} is not a git repository", ws.display()), "run the agent in a git checkout on its own branch (git init; git switch -c agent/task)"));
        return;
    }
    let branch =
        git(ws, &["symbolic-ref", "--quiet", "--short", "HEAD"]).map(|s| s.trim().to_string());
    let mut protected = vec!["main".to_string(), "master".to_string()];
    if let Some(d) = git(ws, &["config", "init.defaultBranch"]) {
        protected.push(d.trim().to_string());
    }
    if let Some(o) = git(
        ws,
        &[
            "symbolic-ref",
            "--quiet",
            "--short",
            "refs/remotes/origin/HEAD",
        ],
    ) {
        if let Some(b) = o.trim().strip_prefix("origin/") {
            protected.push(b.to_string());
        }
    }
    match branch {
        Some(b) if protected.contains(&b) => out.push(item(
            "git-branch",
            Level::Fail,
            format!("on the default branch `{b}`"),
            "git switch -c agent/<task> before starting the agent",
        )),
        Some(b) => out.push(item(
            "git-branch",
            Level::Pass,
            format!("on branch `{b}`"),
            "",
        )),
        None => out.push(item(
            "git-branch",
            Level::Warn,
            "detached HEAD",
            "git switch -c agent/<task>",
        )),
    }
    let status = git(ws, &["status", "--porcelain"]).unwrap_or_default();
    let n = status.lines().count();
    if n == 0 {
        out.push(item("git-worktree", Level::Pass, "worktree clean", ""));
    } else {
        out.push(item(
            "git-worktree",
            Level::Warn,
            format!("{n} changed or untracked files"),
            "commit or stash first, so the agent's changes are easy to review",
        ));
    }
}

fn env_items(profile: &crate::profile::Profile, out: &mut Vec<Item>) {
    let mut names = Vec::new();
    for (k, v) in std::env::vars_os() {
        let (Some(k), v) = (k.to_str(), v.to_string_lossy()) else {
            continue;
        };
        if profile
            .env
            .allow
            .iter()
            .any(|a| crate::plan::fs::glob_match(a, k))
        {
            continue;
        }
        if let Some(r) = detect::classify_env(k, &v) {
            names.push(format!("{k} ({})", r.detail));
        }
    }
    names.sort();
    if names.is_empty() {
        out.push(item(
            "shell-secrets",
            Level::Pass,
            "no secret-like variables in this shell",
            "",
        ));
    } else {
        out.push(item(
            "shell-secrets",
            Level::Fail,
            format!("{} secret-like variables in this shell: {}", names.len(), names.join(", ")),
            "start agents from a shell without production credentials (agentbox run removes these names anyway)",
        ));
    }
}

fn dotenv_items(ws: &Path, out: &mut Vec<Item>) {
    let tracked = git(ws, &["ls-files"]).unwrap_or_default();
    let is_env = |p: &str| {
        let name = p.rsplit('/').next().unwrap_or(p);
        name == ".env"
            || (name.starts_with(".env.")
                && !name.ends_with(".example")
                && !name.ends_with(".sample")
                && !name.ends_with(".template"))
    };
    let tracked_env: Vec<&str> = tracked.lines().filter(|p| is_env(p)).collect();
    out.push(found_or_pass(
        "dotenv-tracked",
        &tracked_env,
        "tracked",
        "git rm --cached <file>; add it to .gitignore; rotate what it held",
        "no .env file is tracked",
    ));
    let untracked = git(ws, &["ls-files", "--others", "--exclude-standard"]).unwrap_or_default();
    // Tracked ones are not "ignored" either: ask the ignore rules themselves, not the index.
    let mut unignored: Vec<&str> = untracked.lines().filter(|p| is_env(p)).collect();
    unignored.extend(tracked_env.iter().filter(|p| !ignored(ws, p)));
    unignored.sort();
    unignored.dedup();
    if !unignored.is_empty() {
        out.push(found_or_pass(
            "dotenv-ignored",
            &unignored,
            "not ignored",
            "add `.env` and `.env.*` to .gitignore",
            "",
        ));
    } else if !ignored(ws, ".env") {
        out.push(item(
            "dotenv-ignored",
            Level::Warn,
            "no ignore rule covers .env: one created later could be committed",
            "add `.env` and `.env.*` to .gitignore",
        ));
    } else {
        out.push(item(
            "dotenv-ignored",
            Level::Pass,
            ".env files are ignored",
            "",
        ));
    }
}

/// Whether git's ignore rules cover `rel` (tracked or not, existing or not).
fn ignored(ws: &Path, rel: &str) -> bool {
    Command::new("git")
        .arg("-C")
        .arg(ws)
        .args(["check-ignore", "-q", "--no-index", "--", rel])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn tracked_secret_items(ws: &Path, out: &mut Vec<Item>) {
    let Some(list) = git_bytes(ws, &["ls-files", "-z"]) else {
        return;
    };
    let engine = detect::Engine::builtin();
    let mut hits = Vec::new();
    let mut scanned = 0usize;
    for f in list.split(|&b| b == 0).filter(|f| !f.is_empty()) {
        let rel = String::from_utf8_lossy(f).into_owned();
        let p = ws.join(&rel);
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if !meta.is_file() || meta.len() > 4 << 20 {
            continue;
        }
        let Ok(data) = std::fs::read(&p) else {
            continue;
        };
        if data.iter().take(8000).any(|&b| b == 0) {
            continue; // binary
        }
        scanned += 1;
        for x in engine.find(&data) {
            let line = data[..x.start.min(data.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            hits.push(format!("{rel}:{line} ({})", x.rule_id));
        }
    }
    if hits.is_empty() {
        out.push(item(
            "tracked-secrets",
            Level::Pass,
            format!("{scanned} tracked files scanned, no secrets"),
            "",
        ));
    } else {
        let shown: Vec<String> = hits.iter().take(20).cloned().collect();
        let more = if hits.len() > 20 {
            format!(" and {} more", hits.len() - 20)
        } else {
            String::new()
        };
        out.push(item(
            "tracked-secrets",
            Level::Fail,
            format!("{}{more}", shown.join(", ")),
            "remove them from the repository (and its history) and rotate them",
        ));
    }
}

fn test_credential_items(profile: &crate::profile::Profile, ws: &Path, out: &mut Vec<Item>) {
    if profile.env.files.is_empty() && profile.env.set.is_empty() {
        out.push(item(
            "test-credentials",
            Level::Pass,
            "no test credential file configured",
            "",
        ));
        return;
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let vars = crate::profile::expand::Vars::standard(&home, &ws.to_string_lossy(), "/tmp");
    for raw in &profile.env.files {
        let Ok(Some(p)) = vars.expand(raw) else {
            continue;
        };
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let clear = ["agent", "test", "fake", "dev"]
            .iter()
            .any(|w| name.to_lowercase().contains(w));
        let inside = p.starts_with(ws);
        let ignored = inside
            && Command::new("git")
                .arg("-C")
                .arg(ws)
                .args(["check-ignore", "-q"])
                .arg(&p)
                .status()
                .is_ok_and(|s| s.success());
        let level = if !clear || (inside && !ignored) {
            Level::Fail
        } else {
            Level::Pass
        };
        out.push(item(
            "test-credentials",
            level,
            format!(
                "{} ({}{})",
                p.display(),
                if clear {
                    "clearly named"
                } else {
                    "name does not say test/agent"
                },
                if inside {
                    if ignored {
                        ", ignored"
                    } else {
                        ", NOT ignored"
                    }
                } else {
                    ""
                }
            ),
            if level == Level::Fail {
                "keep test credentials in a git-ignored file named like .env.agent"
            } else {
                ""
            },
        ));
    }
}

fn kernel_items(resolved: &crate::profile::Resolved, ws: &Path, out: &mut Vec<Item>) {
    let k = crate::plan::host::probe(&Default::default(), true);
    out.push(item(
        "kernel",
        if k.landlock_abi >= 1 {
            Level::Pass
        } else {
            Level::Fail
        },
        format!(
            "Landlock ABI {}, user namespaces {}, seccomp {}, connect broker {}",
            k.landlock_abi,
            if k.user_namespaces { "yes" } else { "no" },
            if k.seccomp { "yes" } else { "no" },
            if k.seccomp_notify {
                "yes".to_string()
            } else {
                format!(
                    "no ({})",
                    k.seccomp_notify_reason.as_deref().unwrap_or("unavailable")
                )
            }
        ),
        if k.landlock_abi >= 1 {
            ""
        } else {
            "use a kernel with Landlock enabled (5.13+, lsm=landlock)"
        },
    ));
    let inputs = crate::plan::Inputs {
        workspace: ws.to_path_buf(),
        home: std::env::var("HOME").unwrap_or_else(|_| "/nonexistent".into()),
        command: vec!["true".into()],
        program: "true".into(),
        cwd: ws.to_path_buf(),
        allow_read: vec![],
        allow_write: vec![],
        create_for_run: vec![],
        allow_env: vec![],
        best_effort: false,
        host_tmpdir: PathBuf::from("/tmp/agentbox-check"),
        allow_host: vec![],
        host_proxy: None,
        credentials: vec![],
        profile_choice: crate::plan::command::ProfileChoice::Given,
        // The check plans no real run: a person's allow-list changes nothing it reports.
        personal_allow: Default::default(),
    };
    let facts = crate::plan::HostFacts::gather(k.clone());
    match crate::plan::build(resolved, &facts, &inputs) {
        Ok((plan, _)) => {
            let skipped: Vec<&str> = plan
                .layers
                .iter()
                .filter(|l| l.status == crate::plan::Status::Skipped)
                .map(|l| l.id.as_str())
                .collect();
            if !plan.refusals.is_empty() {
                out.push(item(
                    "layers",
                    Level::Fail,
                    plan.refusals
                        .iter()
                        .map(|r| r.to_string())
                        .collect::<Vec<_>>()
                        .join("; "),
                    "see the refusal for the setting that relaxes it",
                ));
            } else if !skipped.is_empty() {
                out.push(item(
                    "layers",
                    Level::Warn,
                    format!("would be skipped: {}", skipped.join(", ")),
                    "see `agentbox run --dry-run -- true` for the fallbacks",
                ));
            } else {
                out.push(item(
                    "layers",
                    Level::Pass,
                    "every layer of the profile applies",
                    "",
                ));
            }
        }
        Err(e) => out.push(item("layers", Level::Fail, e, "fix the profile")),
    }
}

fn authority_items(resolved: &crate::profile::Resolved, out: &mut Vec<Item>) {
    let p = &resolved.profile;
    let mut found = Vec::new();
    let cred = [
        ".aws",
        ".azure",
        ".config/gcloud",
        ".kube",
        ".docker/config.json",
        ".ssh",
        ".config/gh",
        ".netrc",
        ".oci",
        ".config/doctl",
        ".terraform.d",
    ];
    for g in p
        .filesystem
        .read
        .iter()
        .chain(&p.filesystem.exec)
        .chain(&p.filesystem.write)
    {
        let g2 = g.trim_start_matches("~/").trim_start_matches("${HOME}/");
        if g == "~" || g == "${HOME}" || cred.iter().any(|c| g2.starts_with(c)) {
            found.push(format!("filesystem grant {g}"));
        }
    }
    let deploy = [
        "amazonaws.com",
        "azure.com",
        "googleapis.com",
        "cloud.google.com",
        "heroku.com",
        "vercel.com",
        "fly.io",
        "digitalocean.com",
        "kubernetes",
    ];
    for h in &p.network.allow {
        if deploy.iter().any(|d| h.contains(d)) {
            found.push(format!("network host {h}"));
        }
    }
    if p.network.mode == Some(crate::net::policy::NetMode::Unrestricted) {
        found.push("unrestricted network".into());
    }
    for a in &p.env.allow {
        if [
            "AWS_",
            "AZURE_",
            "GOOGLE_APPLICATION",
            "KUBECONFIG",
            "DATABASE_URL",
        ]
        .iter()
        .any(|x| a.starts_with(x))
        {
            found.push(format!("env.allow {a}"));
        }
    }
    if found.is_empty() {
        out.push(item(
            "production-authority",
            Level::Pass,
            format!("profile `{}` grants no production authority", resolved.name),
            "",
        ));
    } else if p.sandbox.production == Some(true) {
        out.push(item(
            "production-authority",
            Level::Warn,
            format!(
                "granted on purpose (sandbox.production): {}",
                found.join(", ")
            ),
            "",
        ));
    } else {
        out.push(item(
            "production-authority",
            Level::Fail,
            found.join(", "),
            "drop these grants, or write a dedicated profile with `sandbox: {production: true}`",
        ));
    }
}

/// Run the checklist.
pub fn run(args: &CheckOptions) -> ExitCode {
    let resolved = match crate::profile::resolve(&args.profile) {
        Ok(r) => r,
        Err(e) => return crate::report::out::die(e),
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let ws = match &args.workspace {
        Some(w) => std::fs::canonicalize(w).unwrap_or_else(|_| w.clone()),
        None => crate::run::default_workspace(&std::fs::canonicalize(&cwd).unwrap_or(cwd)),
    };
    // What a killed agentbox left undone in this workspace is finished first, and said.
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    crate::supervise::after::print_recovered(&crate::supervise::after::recover(&ws, &home));
    crate::supervise::after::print_recovered(&crate::supervise::after::sweep_tmp_litter());
    let mut items = Vec::new();
    branch_items(&ws, &mut items);
    env_items(&resolved.profile, &mut items);
    dotenv_items(&ws, &mut items);
    tracked_secret_items(&ws, &mut items);
    test_credential_items(&resolved.profile, &ws, &mut items);
    kernel_items(&resolved, &ws, &mut items);
    authority_items(&resolved, &mut items);
    let failed = items.iter().any(|i| i.level == Level::Fail);
    // Items name what they found (profile names, hosts, paths): printed masked all the same.
    let masked = |s: String| crate::scrub::text(&s);
    if args.json {
        outln!(
            "{}",
            masked(serde_json::json!({ "workspace": ws, "profile": resolved.name, "ok": !failed, "items": items }).to_string())
        );
    } else {
        for i in &items {
            let tag = match i.level {
                Level::Pass => "pass",
                Level::Warn => "WARN",
                Level::Fail => "FAIL",
            };
            outln!("{}", masked(format!("{tag:<4}  {:<20} {}", i.id, i.detail)));
            if !i.fix.is_empty() && i.level != Level::Pass {
                outln!("{}", masked(format!("      {:<20} fix: {}", "", i.fix)));
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
