//! The boundary after the run. Everything that must happen once the box is gone is prepared
//! before the launch and runs in a fixed order when every process of the box is dead:
//!
//! 1. the box's cgroup (without namespaces) is killed and removed;
//! 2. the private git views are merged back by rule (`gitmeta::merge`);
//! 3. agents' configuration files are judged key by key (`agentconf`), then protected paths
//!    are restored from their snapshot (`guard`);
//! 4. every other repository in the workspace is audited (`gitmeta::audit`);
//! 5. the box's host temp dir (without namespaces) is removed.
//!
//! Nothing is deleted: what is not kept moves to the run's quarantine, named in the summary.
//! It happens on the normal path, when agentbox unwinds from a panic (`Drop`), and, after a
//! `kill -9` or a crash, in the next agentbox command in that workspace (the journal written
//! before the launch: `recover`).

use crate::gitmeta::{audit, merge};
use crate::supervise::cgroup::BoxCgroup;
use crate::supervise::guard::Guard;
use crate::supervise::journal::{self, Journal, JournalEntry};
use crate::supervise::quarantine::Quarantine;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What the post-run work did, for the summary and the report.
#[derive(Debug, Default)]
pub struct Summary {
    /// One line per thing not kept or put back (paths and names, never content).
    pub lines: Vec<String>,
    /// Where the run's quarantine is, when anything went there.
    pub quarantine: Option<PathBuf>,
    /// Things that could not be restored: the person must look.
    pub not_restored: usize,
}

/// The post-run work of one launch.
pub struct AfterRun {
    run_id: String,
    state_dir: PathBuf,
    workspace: PathBuf,
    guard: Guard,
    git: merge::Session,
    git_covered: Vec<PathBuf>,
    /// Without namespaces: the git directories' configs (judged key by key after the run).
    snapshot_configs: Vec<PathBuf>,
    /// Agents' configuration files (judged key by key after the run).
    agent_config: Vec<crate::plan::fs::AgentConfigFile>,
    writable: Vec<PathBuf>,
    since_ns: i128,
    host_tmp: Option<PathBuf>,
    cgroup: Option<BoxCgroup>,
    journal: Option<Journal>,
    done: bool,
    /// The supervisor's pid: a forked child never runs the post-run work.
    owner: u32,
}

impl AfterRun {
    /// Snapshot what the run may change, make the cgroup, write the journal: before the launch.
    pub fn begin(
        plan: &crate::plan::Plan,
        home: &Path,
        host_tmp: Option<PathBuf>,
    ) -> anyhow::Result<AfterRun> {
        let run_id = journal::run_id()
            .map_err(|e| anyhow::anyhow!("no random run id from getrandom: {e}"))?;
        let state_dir = journal::state_dir(home);
        let guarded: Vec<PathBuf> = plan
            .filesystem
            .protect
            .iter()
            .chain(&plan.filesystem.protect_missing)
            .cloned()
            .chain(plan.filesystem.agent_config.iter().map(|c| c.path.clone()))
            .collect();
        let guard = Guard::take(&plan.workspace, &guarded).map_err(|e| {
            anyhow::anyhow!(
                "cannot open the workspace {}: {e}",
                plan.workspace.display()
            )
        })?;
        let git = merge::Session::before_launch(&plan.git.views)
            .map_err(|e| anyhow::anyhow!("git views: {e}"))?;
        let cgroup = if plan.namespaces.enabled {
            None
        } else {
            match BoxCgroup::create(&run_id) {
                Ok(c) => Some(c),
                Err(why) => {
                    tracing::info!("no cgroup for the box ({why})");
                    None
                }
            }
        };
        let snapshot = journal::snapshot_path(&state_dir, &run_id);
        let mut entry = JournalEntry::for_this_process(
            &run_id,
            &plan.workspace,
            host_tmp.as_deref(),
            Some(&snapshot),
        )?;
        entry.cgroup = cgroup.as_ref().map(|c| c.path().to_path_buf());
        entry.git_covered = plan.git.covered();
        let since_ns = entry.since_ns;
        // The snapshot first, then the entry naming it: a crash in between leaves nothing to do.
        let journal = match std::fs::create_dir_all(state_dir.join("runs"))
            .and_then(|_| guard.persist(&snapshot))
            .and_then(|_| Journal::begin(&state_dir, entry))
        {
            Ok(j) => Some(j),
            Err(e) => {
                // Without a journal a kill -9 leaves the restore undone: say so, but run.
                errln!(
                    "agentbox: WARNING: cannot write the crash journal in {} ({e}); if agentbox is killed, the post-run restore will not be finished later",
                    state_dir.display()
                );
                None
            }
        };
        let writable = plan
            .filesystem
            .rules
            .iter()
            .filter(|r| r.access == crate::plan::fs::Grant::Write)
            .map(|r| r.path.clone())
            .collect();
        Ok(AfterRun {
            run_id,
            state_dir,
            workspace: plan.workspace.clone(),
            guard,
            git,
            git_covered: plan.git.covered(),
            snapshot_configs: if plan.git.mode == crate::gitmeta::GitMode::Snapshot {
                plan.git
                    .covered()
                    .iter()
                    .map(|g| g.join("config"))
                    .collect()
            } else {
                Vec::new()
            },
            agent_config: plan.filesystem.agent_config.clone(),
            writable,
            since_ns,
            host_tmp,
            cgroup,
            journal,
            done: false,
            owner: std::process::id(),
        })
    }

    /// The box's cgroup's `cgroup.procs`, for the child to move itself in.
    pub fn cgroup_procs(&self) -> Option<i32> {
        self.cgroup.as_ref().map(|c| c.procs_fd())
    }

    /// The git views' merge state (the launch hands the views over to it).
    pub fn git(&mut self) -> &mut merge::Session {
        &mut self.git
    }

    /// Do the post-run work now (every process of the box is dead).
    pub fn finish(mut self) -> Summary {
        self.work()
    }

    fn work(&mut self) -> Summary {
        self.done = true;
        let mut s = Summary::default();
        if let Some(c) = self.cgroup.take() {
            if let Err(e) = c.kill_and_remove() {
                tracing::warn!("the box's cgroup: {e}");
            }
        }
        let mut q = Quarantine::new(&self.state_dir, &self.run_id, &self.workspace);
        let ctx = merge::Context {
            workspace: &self.workspace,
            writable: &self.writable,
        };
        for a in self.git.merge(&mut q, &ctx) {
            match &a.what {
                merge::GitActionKind::Applied => tracing::info!("git: {a}"),
                _ => s.lines.push(format!("git: {}", self.rel(&a.to_string()))),
            }
        }
        // Without namespaces git wrote the real configs: keep what git writes for ordinary
        // commands (a tracking branch, a submodule's url), undo the rest and name it.
        for cfg in &self.snapshot_configs {
            let (Some(before), Some(now)) = (
                self.guard.launch_file(cfg).map(<[u8]>::to_vec),
                self.guard.current_file(cfg),
            ) else {
                continue;
            };
            if before == now {
                continue;
            }
            match merge::config_verdict(&before, &now, &ctx) {
                Ok(()) => {
                    self.guard.accept_current(cfg);
                }
                Err(keys) => s.lines.push(self.rel(&format!(
                    "git: {}: changes only you may make, undone: {}; to keep one, run its `git config` outside the box",
                    cfg.display(),
                    keys.join(", ")
                ))),
            }
        }
        self.judge_agent_config(&mut s);
        for a in self.guard.restore(&mut q) {
            if matches!(
                a.what,
                crate::supervise::guard::ActionKind::NotRestored { .. }
            ) {
                s.not_restored += 1;
            }
            s.lines.push(self.rel(&a.to_string()));
        }
        let scope = audit::Scope {
            covered: &self.git_covered,
            since_ns: self.since_ns,
        };
        let rep = audit::run(&self.workspace, &scope, &mut q);
        for f in &rep.findings {
            s.lines
                .push(format!("git audit: {}", self.rel(&f.to_string())));
        }
        if rep.truncated {
            s.lines.push(format!(
                "git audit: stopped after {} entries; repositories deeper in the workspace were not examined",
                audit::AUDIT_WALK_LIMIT
            ));
        }
        if let Some(t) = self.host_tmp.take() {
            if let Err(e) = remove_tmp(&t) {
                tracing::warn!("could not remove {}: {e}", t.display());
            }
        }
        s.quarantine = q.root().map(Path::to_path_buf);
        if let Some(j) = self.journal.take() {
            if let Err(e) = j.finish() {
                tracing::warn!("crash journal: {e}");
            }
        }
        s
    }

    /// Each agent configuration file the box changed, judged (`agentconf`): the guard then
    /// leaves what may stay, puts back or rewrites the rest, the box's version quarantined.
    fn judge_agent_config(&mut self, s: &mut Summary) {
        use crate::agentconf::Verdict;
        use crate::supervise::guard::{CurrentState, LaunchState};
        for c in &self.agent_config {
            let (before, mode) = match self.guard.launch_state(&c.path) {
                LaunchState::Missing => (None, 0o600),
                LaunchState::File { data, mode } => (Some(data.to_vec()), mode),
                // A directory, a symlink, too large: the restore puts it back as it was.
                LaunchState::Other => continue,
            };
            let (after, now_mode) = match self.guard.current_state(&c.path) {
                CurrentState::Missing => (None, mode),
                CurrentState::File { data, mode } => (Some(data), mode),
                CurrentState::Other => continue,
            };
            // Writable by others, another user could plant what the judge keeps out.
            let safe_mode = if before.is_some() {
                mode
            } else {
                now_mode & !0o022
            };
            let verdict = crate::agentconf::judge(
                c.kind,
                before.as_deref(),
                after.as_deref(),
                &self.workspace,
            );
            let named = |not_kept: &[crate::agentconf::Change], tail: &str| {
                let keys: Vec<String> = not_kept.iter().map(|k| k.to_string()).collect();
                format!(
                    "{}: changes that would run code or widen permissions outside the box, not kept: {}; {tail}",
                    c.path.display(),
                    keys.join(", ")
                )
            };
            match verdict {
                Verdict::Keep => match after {
                    Some(a) if now_mode & 0o7777 != safe_mode & 0o7777 => {
                        s.lines.push(format!(
                            "{}: its permissions changed during the run: put back",
                            c.path.display()
                        ));
                        self.guard.accept_content(&c.path, a, safe_mode);
                    }
                    Some(_) => {
                        self.guard.accept_current(&c.path);
                    }
                    None => {}
                },
                Verdict::Rewrite { content, not_kept } => {
                    s.lines.push(named(
                        &not_kept,
                        "to keep one, make that change outside the box; the run's other changes kept",
                    ));
                    self.guard.accept_content(&c.path, content, safe_mode);
                }
                Verdict::Revert { not_kept, why } if not_kept.is_empty() => s
                    .lines
                    .push(format!("{}: {why}: not kept", c.path.display())),
                Verdict::Revert { not_kept, why } => s.lines.push(named(
                    &not_kept,
                    &format!("to keep one, make that change outside the box; {why}"),
                )),
            }
        }
    }

    /// Paths in a line relative to the workspace (shorter, and the same on every machine).
    fn rel(&self, line: &str) -> String {
        let ws = format!("{}/", self.workspace.display());
        line.replace(&ws, "")
    }
}

impl Drop for AfterRun {
    fn drop(&mut self) {
        // Reached without `finish` only while unwinding from a panic: the restore still runs.
        if !self.done && std::process::id() == self.owner {
            let s = self.work();
            print(&s, false);
        }
    }
}

/// Remove the box's host temp dir through descriptors (never following a link the box made).
fn remove_tmp(t: &Path) -> std::io::Result<()> {
    let (Some(parent), Some(name)) = (t.parent(), t.file_name()) else {
        return Ok(());
    };
    crate::safefs::Dir::open(parent)?.remove_tree(name)
}

/// Print the summary on stderr; never fails (a closed stderr must not stop agentbox).
pub fn print(s: &Summary, quiet: bool) {
    let mut e = std::io::stderr().lock();
    // What was not kept is printed even with -q: it changed the person's files.
    if s.lines.is_empty() {
        return;
    }
    let _ = writeln!(
        e,
        "agentbox: after the run, at protected paths (nothing was deleted):"
    );
    for l in &s.lines {
        // Paths come from the box: masked like agentbox's other messages.
        let _ = writeln!(e, "agentbox:   {}", crate::scrub::text(l));
    }
    if let Some(q) = &s.quarantine {
        let _ = writeln!(
            e,
            "agentbox: quarantine: {} (MANIFEST.jsonl there says how to put each item back)",
            q.display()
        );
    }
    if s.not_restored > 0 && !quiet {
        let _ = writeln!(
            e,
            "agentbox: {} path(s) could not be restored: check them by hand",
            s.not_restored
        );
    }
}

/// Finish what interrupted runs (agentbox killed, a crash) left undone: kill their leftover
/// processes, restore their protected paths and audit their repositories when their workspace
/// is `workspace`, and remove temp dirs of dead agentbox processes. Lines to print.
pub fn recover(workspace: &Path, home: &Path) -> Vec<String> {
    let state = journal::state_dir(home);
    let mut lines = Vec::new();
    for (path, e) in journal::interrupted(&state) {
        if let Some(cg) = &e.cgroup {
            if cg.exists() && crate::supervise::cgroup::kill_and_remove(cg).is_ok() {
                lines.push(format!(
                    "killed what the box of an interrupted run (agentbox pid {}) left running",
                    e.pid
                ));
            }
        }
        if e.workspace != workspace {
            lines.push(format!(
                "an interrupted run in {} was not finished: run agentbox check there",
                e.workspace.display()
            ));
            continue;
        }
        lines.push(format!(
            "finishing the restore of an interrupted run (agentbox pid {}, started {})",
            e.pid, e.started
        ));
        let mut q = Quarantine::new(&state, &e.run_id, &e.workspace);
        if let Some(snap) = &e.snapshot {
            match Guard::load(snap) {
                Ok(g) => {
                    for a in g.restore(&mut q) {
                        lines.push(format!("  {a}"));
                    }
                }
                Err(err) => lines.push(format!("  its snapshot cannot be read: {err}")),
            }
        }
        let scope = audit::Scope {
            covered: &e.git_covered,
            since_ns: e.since_ns,
        };
        for f in audit::run(&e.workspace, &scope, &mut q).findings {
            lines.push(format!("  git audit: {f}"));
        }
        if let Some(t) = &e.host_tmp {
            let _ = remove_tmp(t);
        }
        if let Some(r) = q.root() {
            lines.push(format!(
                "  quarantine: {} (MANIFEST.jsonl there says how to put each item back)",
                r.display()
            ));
        }
        if let Err(err) = journal::remove_entry(&path, &e) {
            lines.push(format!("  cannot remove its journal entry: {err}"));
        }
    }
    lines
}

/// Removes the host temp dirs of killed agentbox runs without namespaces (whose journal entry
/// could not be written: `recover` removes the others); what it removed, as lines to print.
/// Only runs without namespaces make such dirs, so only they look (a launch is spared a walk
/// of a busy `/tmp`).
pub fn sweep_tmp_litter() -> Vec<String> {
    let base = std::env::var_os("TMPDIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    journal::sweep_tmp(&base)
        .into_iter()
        .map(|t| {
            format!(
                "removed {} (the temp dir of an agentbox that was killed)",
                t.display()
            )
        })
        .collect()
}

/// Print what `recover` did.
pub fn print_recovered(lines: &[String]) {
    let mut e = std::io::stderr().lock();
    for l in lines {
        let _ = writeln!(e, "agentbox: {}", crate::scrub::text(l));
    }
}
