//! `agentbox profile`: list, show, validate and start profiles.

use super::ProfileError;
use crate::report::out::die;
use std::path::PathBuf;
use std::process::ExitCode;

/// What `agentbox profile` was asked to do.
#[derive(Debug, Clone)]
pub enum ProfileAction {
    /// List the profiles with their descriptions.
    List,
    /// Print a profile with `extends` flattened.
    Show {
        /// Name or path.
        name: String,
    },
    /// Check one profile file (and its `extends` chain).
    Validate {
        /// Path to the file.
        file: PathBuf,
    },
    /// Write a commented starter profile.
    Init {
        /// Profile name.
        name: String,
        /// Overwrite an existing file.
        force: bool,
    },
}

/// `agentbox profile ...`.
pub fn run(cmd: ProfileAction) -> ExitCode {
    match cmd {
        ProfileAction::Init { name, force } => {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                || name.starts_with('.')
            {
                return die(format!(
                    "profile name {}: use letters, digits, `-`, `_`, `.`",
                    crate::scrub::quote(&name)
                ));
            }
            let Some(dir) = super::load::user_dir() else {
                return die("no HOME or XDG_CONFIG_HOME to put user profiles in");
            };
            let path = dir.join(format!("{name}.yaml"));
            if path.exists() && !force {
                return die(format!(
                    "{} exists; pass --force to overwrite",
                    path.display()
                ));
            }
            if let Err(e) = std::fs::create_dir_all(&dir)
                .and_then(|_| std::fs::write(&path, super::load::starter(&name)))
            {
                return die(format!("cannot write {}: {e}", path.display()));
            }
            outln!("{}", crate::scrub::text(&path.display().to_string()));
            ExitCode::SUCCESS
        }
        ProfileAction::List => {
            for name in super::load::available() {
                let desc = super::resolve(&name)
                    .map(|r| r.profile.description.unwrap_or_default())
                    .unwrap_or_else(|e| format!("(error: {e})"));
                outln!("{}", crate::scrub::text(&format!("{name:<14} {desc}")));
            }
            ExitCode::SUCCESS
        }
        ProfileAction::Show { name } => match super::resolve(&name) {
            Ok(r) => {
                let chain: Vec<String> = r.chain.iter().map(|s| s.to_string()).collect();
                // Names and values of a profile may be anything: printed masked.
                let head = format!("# resolved profile {} ({})", r.name, chain.join(" -> "));
                outln!("{}", crate::scrub::text(&head));
                let mut p = r.profile.clone();
                p.name = Some(r.name.clone());
                // Names only: `env.set` holds (test) credentials.
                for v in p.env.set.values_mut() {
                    *v = "[value not shown]".into();
                }
                match serde_saphyr::to_string(&p) {
                    Ok(s) => {
                        out!("{}", crate::scrub::text(&s));
                        ExitCode::SUCCESS
                    }
                    Err(e) => die(e),
                }
            }
            Err(e) => die(e),
        },
        ProfileAction::Validate { file } => {
            let f = file.to_string_lossy().into_owned();
            let name = if super::load::looks_like_path(&f) {
                f
            } else {
                format!("./{f}")
            };
            match super::resolve(&name) {
                Ok(r) => {
                    let ok = format!("{}: ok ({} in chain)", file.display(), r.chain.len());
                    outln!("{}", crate::scrub::text(&ok));
                    ExitCode::SUCCESS
                }
                Err(e) => die(match e {
                    ProfileError::Io { .. } | ProfileError::Parse { .. } => e.to_string(),
                    other => other.to_string(),
                }),
            }
        }
    }
}
