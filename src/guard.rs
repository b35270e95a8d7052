//! Post-run guard for protected paths the mount namespace cannot cover: paths that did not
//! exist at launch (nothing to bind read-only, and no placeholder may be left on the host), and
//! every protected path when no user namespace is available. Snapshot before, undo after, warn.

use std::path::{Path, PathBuf};

const MAX_FILES: usize = 4096;
const MAX_BYTES: u64 = 32 << 20;

#[derive(Debug, Clone, PartialEq)]
enum Entry {
    Missing,
    File(Vec<u8>, u32),
    Link(PathBuf),
    Dir(u32),
}

/// True when no component of `p` (from the root) is a symlink: the guard runs outside the box
/// as the person, so it must never be steered by a link the agent planted.
fn no_symlink_in_path(p: &Path) -> bool {
    let mut cur = PathBuf::from("/");
    for c in p.components().skip(1) {
        cur.push(c);
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => return false,
            Ok(_) => {}
            Err(_) => return true,
        }
    }
    true
}

/// The state of the protected paths before the run.
#[derive(Debug, Default)]
pub struct Snapshot {
    entries: Vec<(PathBuf, Entry)>,
    roots: Vec<PathBuf>,
    /// Set when a tree was too large to snapshot whole (then changes are only reported).
    pub truncated: bool,
}

fn read_entry(p: &Path) -> Entry {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::symlink_metadata(p) {
        Err(_) => Entry::Missing,
        Ok(m) if m.file_type().is_symlink() => {
            Entry::Link(std::fs::read_link(p).unwrap_or_default())
        }
        Ok(m) if m.is_dir() => Entry::Dir(m.permissions().mode()),
        Ok(m) => Entry::File(std::fs::read(p).unwrap_or_default(), m.permissions().mode()),
    }
}

fn walk(p: &Path, out: &mut Vec<(PathBuf, Entry)>, bytes: &mut u64, truncated: &mut bool) {
    if out.len() >= MAX_FILES || *bytes > MAX_BYTES {
        *truncated = true;
        return;
    }
    let e = read_entry(p);
    if let Entry::File(b, _) = &e {
        *bytes += b.len() as u64;
    }
    let is_dir = matches!(e, Entry::Dir(_));
    out.push((p.to_path_buf(), e));
    if is_dir {
        if let Ok(rd) = std::fs::read_dir(p) {
            let mut kids: Vec<PathBuf> = rd.flatten().map(|d| d.path()).collect();
            kids.sort();
            for k in kids {
                walk(&k, out, bytes, truncated);
            }
        }
    }
}

/// Record `paths` (existing or not) before the run.
pub fn take(paths: &[PathBuf]) -> Snapshot {
    let mut s = Snapshot::default();
    let mut bytes = 0;
    for p in paths {
        s.roots.push(p.clone());
        walk(p, &mut s.entries, &mut bytes, &mut s.truncated);
    }
    s
}

/// Compare with the current state and undo every change; returns a line per change undone.
pub fn restore(snap: &Snapshot) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut undone = Vec::new();
    let mut now = Vec::new();
    let mut bytes = 0;
    let mut t = false;
    for r in &snap.roots {
        // A planted symlink above a protected path would make us act outside the workspace.
        if !r.parent().is_some_and(no_symlink_in_path) {
            undone.push(format!(
                "NOT restored {}: a symlink now stands in its path (check it by hand)",
                r.display()
            ));
            continue;
        }
        walk(r, &mut now, &mut bytes, &mut t);
    }
    let before: std::collections::HashMap<&PathBuf, &Entry> =
        snap.entries.iter().map(|(p, e)| (p, e)).collect();
    // Remove what appeared, deepest first.
    let mut appeared: Vec<&PathBuf> = now
        .iter()
        .filter(|(p, e)| {
            *e != Entry::Missing && matches!(before.get(p), None | Some(Entry::Missing))
        })
        .map(|(p, _)| p)
        .collect();
    appeared.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for p in appeared {
        if !p.parent().is_some_and(no_symlink_in_path) {
            continue;
        }
        let r = match std::fs::symlink_metadata(p) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
            Ok(_) => std::fs::remove_file(p),
            Err(_) => continue,
        };
        if r.is_ok() {
            undone.push(format!("removed {} (created inside the box)", p.display()));
        }
    }
    if snap.truncated {
        return undone;
    }
    // Put back what changed or vanished, shallowest first.
    for (p, e) in &snap.entries {
        if !p.parent().is_some_and(no_symlink_in_path) {
            continue;
        }
        let cur = read_entry(p);
        if cur == *e {
            continue;
        }
        let ok = match e {
            Entry::Missing => continue,
            Entry::Dir(mode) => std::fs::create_dir_all(p)
                .and_then(|_| std::fs::set_permissions(p, std::fs::Permissions::from_mode(*mode)))
                .is_ok(),
            Entry::File(b, mode) => {
                if matches!(cur, Entry::Dir(_)) {
                    let _ = std::fs::remove_dir_all(p);
                } else if matches!(cur, Entry::Link(_)) {
                    let _ = std::fs::remove_file(p);
                }
                std::fs::write(p, b)
                    .and_then(|_| {
                        std::fs::set_permissions(p, std::fs::Permissions::from_mode(*mode))
                    })
                    .is_ok()
            }
            Entry::Link(t) => {
                let _ = std::fs::remove_file(p);
                std::os::unix::fs::symlink(t, p).is_ok()
            }
        };
        if ok {
            undone.push(format!("restored {} (changed inside the box)", p.display()));
        }
    }
    undone
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undoes_changes_and_creations() {
        let t = tempfile::tempdir().unwrap();
        let hooks = t.path().join("hooks");
        std::fs::create_dir(&hooks).unwrap();
        std::fs::write(hooks.join("pre-commit.sample"), "sample").unwrap();
        let config = t.path().join("config");
        std::fs::write(&config, "[core]\n").unwrap();
        let envrc = t.path().join(".envrc");
        let snap = take(&[hooks.clone(), config.clone(), envrc.clone()]);
        std::fs::write(hooks.join("pre-commit"), "evil").unwrap();
        std::fs::write(hooks.join("pre-commit.sample"), "changed").unwrap();
        std::fs::write(&config, "[core]\n\thooksPath = /x\n").unwrap();
        std::fs::create_dir(&envrc).unwrap();
        std::fs::write(envrc.join("x"), "y").unwrap();
        let undone = restore(&snap);
        assert!(undone.len() >= 4, "{undone:?}");
        assert!(!hooks.join("pre-commit").exists());
        assert_eq!(
            std::fs::read_to_string(hooks.join("pre-commit.sample")).unwrap(),
            "sample"
        );
        assert_eq!(std::fs::read_to_string(&config).unwrap(), "[core]\n");
        assert!(!envrc.exists());
        assert!(restore(&snap).is_empty());
    }

    #[test]
    fn never_acts_through_a_planted_symlink() {
        let t = tempfile::tempdir().unwrap();
        let ws = t.path().join("ws");
        let victim = t.path().join("victim");
        std::fs::create_dir_all(ws.join(".git")).unwrap();
        std::fs::create_dir_all(victim.join("hooks")).unwrap();
        std::fs::write(victim.join("hooks/keep"), "x").unwrap();
        let snap = take(&[ws.join(".git/hooks")]);
        std::fs::rename(ws.join(".git"), ws.join(".git-real")).unwrap();
        std::os::unix::fs::symlink(&victim, ws.join(".git")).unwrap();
        let undone = restore(&snap);
        assert!(victim.join("hooks/keep").exists());
        assert!(
            undone.iter().any(|u| u.starts_with("NOT restored")),
            "{undone:?}"
        );
    }
}
