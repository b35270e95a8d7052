//! The private view of a git directory (namespace layer). The box sees each git directory it
//! can write through a private tmpfs holding copies of its top-level files (HEAD, index, config,
//! packed-refs...) and of its small metadata directories (info, worktrees, rebase state), with
//! the real object and ref stores bound in writable and the hooks bound in read-only. Nothing
//! the box creates at the top level (a `commondir`, a `config.worktree`, a hook where there was
//! none) reaches the host while it runs; after the run the supervisor merges back what git is
//! allowed to change and quarantines the rest (see `merge`). Commits are visible on the host at
//! once (objects and refs are the real ones); the branch checked out and the index follow at
//! the end of the run.

use std::path::Path;

/// Directories bound writable: git's stores, which hold data, never code or redirections that
/// run code (refs and objects are content; `objects/info/alternates` is audited after the run).
pub const WRITE_THROUGH: &[&str] = &["objects", "refs", "logs", "lfs", "rr-cache", "reftable"];
/// Entries bound read-only: hooks, and the legacy remote definitions (where fetch and push go).
pub const READ_ONLY: &[&str] = &["hooks", "branches", "remotes"];
/// Directories copied into the view and merged back by rule after the run.
pub const COPIED_DIRS: &[&str] = &[
    "info",
    "worktrees",
    "rebase-merge",
    "rebase-apply",
    "sequencer",
];
pub use crate::sandbox::spec::{GitView as Shadow, Treatment, ViewItem as Item, PACKED_REFS};

/// How a top-level entry of a git directory is treated, from its name and type.
pub fn treatment(name: &str, is_dir: bool) -> Treatment {
    if READ_ONLY.contains(&name) {
        Treatment::ReadOnly
    } else if name == "modules" && is_dir {
        Treatment::Modules
    } else if COPIED_DIRS.contains(&name) || !is_dir {
        Treatment::Copied
    } else if WRITE_THROUGH.contains(&name) {
        Treatment::WriteThrough
    } else {
        // Other directories (git-annex's, git-svn's, tools' caches) hold data git itself does
        // not read config or hooks from.
        Treatment::WriteThrough
    }
}

/// The view of `gitdir` as it is now, with `modules` (from discovery) nested inside.
pub fn plan(gitdir: &Path, modules: &[super::discover::GitDir]) -> Shadow {
    let mut items = Vec::new();
    if let Ok(rd) = std::fs::read_dir(gitdir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            // Never copy a lock someone holds right now; git would see a stale one inside.
            if name.ends_with(".lock") {
                continue;
            }
            let Ok(ft) = e.file_type() else { continue };
            items.push(Item {
                treatment: treatment(&name, ft.is_dir()),
                name,
            });
        }
    }
    items.sort_by(|a, b| a.name.cmp(&b.name));
    let modules = modules
        .iter()
        .filter_map(|m| {
            let rel = m.path.strip_prefix(gitdir).ok()?.to_path_buf();
            Some((rel, plan(&m.path, &m.modules)))
        })
        .collect();
    Shadow {
        path: gitdir.to_path_buf(),
        items,
        modules,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn treatments() {
        assert_eq!(treatment("objects", true), Treatment::WriteThrough);
        assert_eq!(treatment("refs", true), Treatment::WriteThrough);
        assert_eq!(treatment("hooks", true), Treatment::ReadOnly);
        assert_eq!(treatment("config", false), Treatment::Copied);
        assert_eq!(treatment("index", false), Treatment::Copied);
        assert_eq!(treatment("worktrees", true), Treatment::Copied);
        assert_eq!(treatment("info", true), Treatment::Copied);
        assert_eq!(treatment("modules", true), Treatment::Modules);
        assert_eq!(treatment("annex", true), Treatment::WriteThrough);
    }
}
