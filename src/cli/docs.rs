//! Generated documentation: man pages (one per command, from the clap definitions) and shell
//! completions that offer profile names after `-p`.

use super::Cli;
use clap::CommandFactory;
use std::path::Path;

/// The command tree as the pages describe it: built (subcommands named `agentbox-run`...),
/// without clap's `help` subcommand.
fn tree() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// One page as roff, `.TH` first: clap_mangen defines a quote string before the title, but
/// man pages conventionally start with `.TH` and a definition only has to precede its use.
fn page(cmd: clap::Command) -> Result<String, String> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut buf)
        .map_err(|e| format!("man: {e}"))?;
    let text = String::from_utf8_lossy(&buf);
    let (th, rest): (Vec<&str>, Vec<&str>) = text.lines().partition(|l| l.starts_with(".TH "));
    Ok(th
        .iter()
        .chain(rest.iter())
        .fold(String::new(), |mut o, l| {
            o.push_str(l);
            o.push('\n');
            o
        }))
}

/// The page of `agentbox` or of one of its commands (`["profile", "list"]` is
/// agentbox-profile-list(1)).
pub fn man_page(command: &[String]) -> Result<String, String> {
    let mut cmd = tree();
    for name in command {
        let known: Vec<String> = cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| s.get_name().to_string())
            .collect();
        cmd = match cmd.find_subcommand(name) {
            Some(c) if !c.is_hide_set() => c.clone(),
            _ => {
                return Err(format!(
                    "man: no command `{}` here; commands: {}",
                    crate::scrub::shown(name),
                    known.join(", ")
                ))
            }
        };
    }
    page(cmd)
}

/// Every page (agentbox.1, agentbox-run.1, ...) into `dir`; returns the files written.
pub fn man_pages_to(dir: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    fn walk(
        cmd: clap::Command,
        dir: &Path,
        out: &mut Vec<std::path::PathBuf>,
    ) -> Result<(), String> {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub.clone(), dir, out)?;
        }
        let name = cmd.get_display_name().unwrap_or(cmd.get_name()).to_string();
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, page(cmd)?)
            .map_err(|e| format!("man: cannot write {}: {e}", path.display()))?;
        out.push(path);
        Ok(())
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("man: {}: {e}", dir.display()))?;
    let mut out = Vec::new();
    walk(tree(), dir, &mut out)?;
    out.sort();
    Ok(out)
}

/// Profile names a completion script may offer: the built-in ones and the person's, those
/// whose name is plain (a file name in the profiles directory lands in shell code).
fn profile_names() -> Vec<&'static str> {
    crate::profile::load::available()
        .into_iter()
        .filter(|n| {
            !n.is_empty()
                && n.len() <= 64
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        })
        // Clap keeps value names for the life of the command: a completion run is short.
        .map(|n| &*Box::leak(n.into_boxed_str()))
        .collect()
}

/// The completion script for `shell`: profile names after `-p` (and for `profile show`), as
/// they are when it is generated (`source <(agentbox completions bash)` in a shell's rc file
/// keeps them current).
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let names = profile_names();
    let values = || clap::builder::PossibleValuesParser::new(names.clone());
    let mut cmd = Cli::command();
    for sub in ["run", "check", "learn"] {
        cmd = cmd.mut_subcommand(sub, |c| c.mut_arg("profile", |a| a.value_parser(values())));
    }
    cmd = cmd.mut_subcommand("profile", |p| {
        p.mut_subcommand("show", |s| s.mut_arg("name", |a| a.value_parser(values())))
    });
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "agentbox", &mut buf);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_its_page() {
        let dir = tempfile::tempdir().unwrap();
        let files = man_pages_to(dir.path()).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for want in [
            "agentbox.1",
            "agentbox-run.1",
            "agentbox-check.1",
            "agentbox-learn.1",
            "agentbox-redact.1",
            "agentbox-profile.1",
            "agentbox-profile-list.1",
            "agentbox-man.1",
            "agentbox-completions.1",
        ] {
            assert!(names.contains(&want.to_string()), "{want} in {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
        // The top page names the others, and each of those exists.
        let top = man_page(&[]).unwrap();
        assert!(top.starts_with(".TH agentbox 1"), "{}", &top[..40]);
        assert!(
            top.contains("agentbox\\-run(1)"),
            "top page lists agentbox-run(1)"
        );
        let run = man_page(&["run".into()]).unwrap();
        assert!(run.starts_with(".TH agentbox-run 1"), "{}", &run[..40]);
        assert!(run.contains("allow\\-write"));
        let list = man_page(&["profile".into(), "list".into()]).unwrap();
        assert!(list.starts_with(".TH agentbox-profile-list 1"));
        let e = man_page(&["nope".into()]).unwrap_err();
        assert!(e.contains("no command `nope`") && e.contains("run"), "{e}");
    }

    #[test]
    fn completions_offer_profile_names_after_p() {
        let bash = String::from_utf8(completions(clap_complete::Shell::Bash)).unwrap();
        assert!(
            bash.contains("compgen -W \"aider claude codex default docs"),
            "bash"
        );
        let fish = String::from_utf8(completions(clap_complete::Shell::Fish)).unwrap();
        assert!(
            fish.lines()
                .any(|l| l.contains("-l profile") && l.contains("-r -f -a \"aider")),
            "fish"
        );
        let zsh = String::from_utf8(completions(clap_complete::Shell::Zsh)).unwrap();
        assert!(zsh.contains("(aider claude codex default"), "zsh");
    }
}
