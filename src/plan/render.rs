//! The plan as text: the status line at launch and the `--dry-run` listing.

use super::layers::Status;
use super::net::mode_name;
use super::Plan;
use crate::gitmeta::GitMode;
use std::fmt::Write;

impl Plan {
    /// One line for stderr at launch: profile, layers, removed count.
    pub fn status_line(&self) -> String {
        let names = |st: Status| -> Vec<&str> {
            self.layers
                .iter()
                .filter(|l| l.status == st)
                .map(|l| l.id.as_str())
                .collect()
        };
        let (on, off) = (names(Status::Applied), names(Status::Skipped));
        let mut s = format!(
            "agentbox: profile {}{} | network {} | layers: {} | {} variable{} removed",
            self.profile,
            self.choice_note(),
            mode_name(self.network.mode),
            on.join(", "),
            self.env.removed.len(),
            if self.env.removed.len() == 1 { "" } else { "s" }
        );
        if !off.is_empty() {
            s.push_str(&format!(" | SKIPPED: {}", off.join(", ")));
        }
        if !self.git.repository {
            s.push_str(" | workspace not a git repository");
        }
        for c in self.credentials.status() {
            s.push_str(&format!(" | {c}"));
        }
        if let Some(sim) = &self.kernel.simulated {
            s.push_str(&format!(" | {sim}"));
        }
        s
    }

    /// Why this profile, when `-p` did not name it: ` (the codex preset: codex is installed at
    /// /usr/bin/codex; -p default to opt out)`, or why an agent did not get its preset.
    fn choice_note(&self) -> String {
        use super::command::{NoPreset, ProfileChoice};
        match &self.profile_choice {
            ProfileChoice::Given
            | ProfileChoice::Default {
                why: NoPreset::NotAnAgent,
            } => String::new(),
            ProfileChoice::AgentPreset { agent, reach } => format!(
                " (chosen for {}, installed at {}; -p default to opt out)",
                agent.name(),
                reach.found.display()
            ),
            ProfileChoice::Default {
                why: NoPreset::InWorkspace { path },
            } => format!(
                " (not the agent's preset: {} is inside the workspace)",
                path.display()
            ),
            ProfileChoice::Default {
                why: NoPreset::NotFound,
            } => String::new(),
        }
    }

    /// The human-readable plan for `--dry-run`.
    pub fn render(&self, verbose: u8) -> String {
        let mut o = String::new();
        self.render_head(&mut o);
        self.render_layers(&mut o);
        self.render_network(&mut o);
        self.render_credentials(&mut o);
        self.render_fs(&mut o, verbose);
        self.render_views(&mut o);
        self.render_git(&mut o);
        self.render_env(&mut o);
        for w in &self.widened {
            if matches!(w, super::Widening::AddedArguments { .. }) {
                let _ = writeln!(o, "{w}");
            } else {
                let _ = writeln!(o, "widened for this run: {w}");
            }
        }
        for r in &self.refusals {
            let _ = writeln!(o, "REFUSED: {r}");
        }
        o
    }

    fn render_head(&self, o: &mut String) {
        let yes = |b: bool| if b { "yes" } else { "no" };
        let _ = writeln!(o, "profile:   {}{}", self.profile, self.choice_note());
        let chain: Vec<String> = self.chain.iter().map(|s| s.to_string()).collect();
        let _ = writeln!(o, "chain:     {}", chain.join(" -> "));
        let _ = writeln!(o, "workspace: {}", self.workspace.display());
        let _ = writeln!(o, "command:   {}", self.command.join(" "));
        if let Some(e) = &self.executable {
            let _ = writeln!(o, "resolves:  {}", e.display());
        }
        let _ = writeln!(
            o,
            "tmpdir:    {} (private, removed afterwards)",
            self.tmpdir.display()
        );
        let k = &self.kernel;
        let _ = writeln!(
            o,
            "kernel:    Landlock ABI {}, user namespaces {}, seccomp {}, seccomp user notification {}",
            k.landlock_abi,
            yes(k.user_namespaces),
            yes(k.seccomp),
            yes(k.seccomp_notify)
        );
        if let Some(sim) = &k.simulated {
            let _ = writeln!(
                o,
                "WARNING:   {sim} (real Landlock ABI {})",
                k.real_landlock_abi
            );
        }
        if self.best_effort {
            let _ = writeln!(
                o,
                "mode:      --best-effort: skipped layers do not refuse the launch"
            );
        }
    }

    fn render_layers(&self, o: &mut String) {
        let _ = writeln!(o, "layers:");
        for l in &self.layers {
            let st = match l.status {
                Status::Applied => "applied",
                Status::Skipped if l.required => "MISSING",
                Status::Skipped => "skipped",
            };
            let _ = writeln!(o, "  {:<20} {:<8} {}", l.id.as_str(), st, l.detail);
        }
    }

    fn render_network(&self, o: &mut String) {
        let n = &self.network;
        let _ = writeln!(o, "network:   {} ({})", mode_name(n.mode), n.enforcement);
        if let Some(p) = &n.proxy {
            let _ = writeln!(o, "  proxy {p}");
        }
        for h in &n.allow {
            let _ = writeln!(o, "  allow {h}");
        }
        for l in &n.local {
            let _ = writeln!(o, "  local service {l}");
        }
        for l in &n.listen {
            let _ = writeln!(o, "  listen 127.0.0.1:{l}");
        }
        let dns = match &n.dns {
            super::net::Dns::Stub {
                address,
                resolv_conf,
            } => format!(
                "stub resolver at {address} in the box's network namespace ({}): every name NXDOMAIN at once, the names asked listed at exit",
                match resolv_conf {
                    Some(p) => format!("a private resolv.conf at {}", p.display()),
                    None => "no resolv.conf on this host: the C library asks 127.0.0.1".into(),
                }
            ),
            super::net::Dns::Host => "the host's resolvers".into(),
            super::net::Dns::Unrecorded => "lookups fail at once (no UDP socket); the names asked cannot be recorded without a network namespace".into(),
            super::net::Dns::PortTaken => "no stub resolver: the box or a local service takes port 53 in the box's network namespace; the names asked are not recorded".into(),
        };
        let _ = writeln!(o, "  dns {dns}");
        for l in &n.limits {
            let _ = writeln!(o, "  limit: {l}");
        }
    }

    fn render_credentials(&self, o: &mut String) {
        use super::cred::CredState;
        let c = &self.credentials;
        if c.credentials.is_empty() {
            return;
        }
        let _ = writeln!(
            o,
            "credentials: placeholders in the box, real values added by the proxy"
        );
        for x in &c.credentials {
            let hosts: Vec<String> = x.hosts.iter().map(|h| h.to_string()).collect();
            let state = match &x.state {
                CredState::Injected => format!("placeholder, injected for {}", hosts.join(", ")),
                CredState::Absent(why) => why.clone(),
                CredState::NotNamed => {
                    "declared, not named for this run (--credential NAME)".into()
                }
                CredState::PassedThrough => {
                    "the REAL value is passed into the box (--allow-env)".into()
                }
            };
            let _ = writeln!(o, "  {:<24} {state}", x.name);
            if x.state == CredState::Injected {
                let mut wher = x.substitute.headers.join(", ");
                if x.substitute.query {
                    wher.push_str(", query string");
                }
                let _ = writeln!(
                    o,
                    "  {:<24} from {}; replaced in {wher}; placeholder {}{}..., as long as the value ({})",
                    "",
                    x.source,
                    x.placeholder.prefix,
                    crate::cred::MARKER,
                    x.placeholder.kind,
                );
            }
        }
        if let Some(i) = &c.interception {
            let _ = writeln!(
                o,
                "  TLS intercepted for {} (per-run CA, key in memory only); every other host stays an end-to-end tunnel",
                i.hosts.join(", ")
            );
            let _ = writeln!(
                o,
                "  the box trusts {} ({})",
                i.ca_bundle.display(),
                i.trust_variables.join(", ")
            );
        }
    }

    fn render_fs(&self, o: &mut String, verbose: u8) {
        use super::fs::Origin;
        let f = &self.filesystem;
        let _ = writeln!(o, "filesystem:");
        for r in &f.rules {
            if matches!(r.origin, Origin::Split { .. }) && verbose == 0 {
                continue;
            }
            let origin = match r.origin {
                Origin::Profile => String::new(),
                ref other => format!("  ({other})"),
            };
            let access = format!("{:?}", r.access).to_lowercase();
            let _ = writeln!(o, "  {access:<7} {}{origin}", r.path.display());
        }
        for s in &f.splits {
            let denied: Vec<String> = s.denied.iter().map(|d| d.display().to_string()).collect();
            let _ = writeln!(
                o,
                "  split   {} into {} rules to leave out {}",
                s.tree.display(),
                s.rules,
                denied.join(", ")
            );
        }
        for d in &f.create {
            let _ = writeln!(
                o,
                "  create  {} (the agent's state directory, missing: created at launch)",
                d.display()
            );
        }
        for d in &f.create_for_run {
            let _ = writeln!(
                o,
                "  create  {} (--allow-write, missing: created for this run, removed afterwards if left empty)",
                d.display()
            );
        }
        let ns = self.namespaces.enabled;
        for d in &f.hidden {
            let how = if ns {
                "namespace layer"
            } else {
                "Landlock split: no new entries in its directory"
            };
            let _ = writeln!(o, "  hidden  {} ({how})", d.display());
        }
        for d in &f.protect {
            let how = if ns {
                "namespace layer"
            } else {
                "restored after the run if changed"
            };
            let _ = writeln!(o, "  ro      {} ({how})", d.display());
        }
        for d in &f.toolchains_read_only {
            let how = if ns {
                "a toolchain inside a writable tree: namespace layer"
            } else {
                "a toolchain inside a writable tree: Landlock split, no new entries in that tree"
            };
            let _ = writeln!(o, "  ro      {} ({how})", d.display());
        }
        for d in &f.protect_missing {
            let _ = writeln!(
                o,
                "  ro      {} (does not exist; moved to the quarantine after the run if created)",
                d.display()
            );
        }
        for m in &self.namespaces.masked {
            let _ = writeln!(o, "  masked  {} (empty tmpfs)", m.display());
        }
        for l in &f.limits {
            let _ = writeln!(o, "  limit: {l}");
        }
        if verbose > 0 {
            for m in &f.missing {
                let _ = writeln!(o, "  missing {m} (skipped)");
            }
        }
    }

    fn render_views(&self, o: &mut String) {
        use super::views::Skip;
        let v = &self.views;
        if v.files.is_empty() && v.skipped.is_empty() && v.private_dirs.is_empty() {
            return;
        }
        let _ = writeln!(o, "views:");
        for f in &v.files {
            let what = if f.removed.is_empty() {
                "nothing to remove".to_string()
            } else {
                // A file with thousands of secret lines is named, not listed line by line.
                let mut lines: Vec<String> = f
                    .removed
                    .iter()
                    .take(8)
                    .map(|r| format!("line {} ({})", r.line, r.why))
                    .collect();
                if f.removed.len() > 8 {
                    lines.push(format!("and {} more lines", f.removed.len() - 8));
                }
                format!("removed {}", lines.join(", "))
            };
            let _ = writeln!(o, "  copy    {} (read-only; {what})", f.path.display());
        }
        for s in &v.skipped {
            let why = match &s.why {
                Skip::NoNamespaces => "hidden: a redacted copy needs the namespace layer".into(),
                Skip::HiddenHoldsSecrets => {
                    "hidden: holds a secret, and a redacted copy needs the namespace layer".into()
                }
                Skip::ReadableAsIs => "readable as granted (nothing to remove)".into(),
                Skip::SplitOut { by } => format!(
                    "hidden: holds a secret, split out of the grant of {} (a redacted copy needs the namespace layer)",
                    by.display()
                ),
                Skip::InWorkspace => "in the workspace: as it is".into(),
                Skip::NotCopied { why } => format!("hidden: {why}"),
            };
            let _ = writeln!(o, "  no copy {} ({why})", s.path.display());
        }
        for d in &v.private_dirs {
            let _ = writeln!(
                o,
                "  private {} (writable, empty, ends with the run)",
                d.display()
            );
        }
    }

    fn render_git(&self, o: &mut String) {
        let g = &self.git;
        let how = match (g.repository, g.mode) {
            (false, _) => "the workspace is not a git repository; every repository found in it after the run is examined",
            (true, GitMode::None) => "repository, not writable by the box",
            (true, GitMode::Views) => "private views of git metadata (config, HEAD, index, hooks...), merged back by rule after the run; objects and refs shared",
            (true, GitMode::Snapshot) => "git metadata snapshotted and restored after the run (no namespaces)",
        };
        let _ = writeln!(o, "git:       {how}");
        for v in &g.views {
            let _ = writeln!(o, "  view    {}", v.path.display());
            for (rel, _) in &v.modules {
                let _ = writeln!(o, "  view    {}", v.path.join(rel).display());
            }
        }
        for l in &g.limits {
            let _ = writeln!(o, "  limit: {l}");
        }
    }

    fn render_env(&self, o: &mut String) {
        let e = &self.env;
        let _ = writeln!(o, "environment: inherit {}", e.inherit);
        for r in &e.removed {
            let _ = writeln!(o, "  removed {} ({})", r.name, r.reason);
        }
        for k in &e.kept_on_purpose {
            let _ = writeln!(
                o,
                "  kept    {} (flagged: {}; kept by {})",
                k.name, k.flagged, k.by
            );
        }
        for k in &e.set {
            let _ = writeln!(o, "  set     {k}");
        }
        for f in &e.files {
            let what = if f.missing {
                " (missing, skipped)".to_string()
            } else {
                format!(": {}", f.names.join(", "))
            };
            let _ = writeln!(o, "  file    {}{what}", f.path);
        }
        for k in &e.placeholders {
            let _ = writeln!(o, "  placeholder {k} (the real value stays with agentbox)");
        }
        if e.not_inherited > 0 {
            let _ = writeln!(o, "  {} variables not inherited", e.not_inherited);
        }
        let a = &e.allow_list;
        if let Some(file) = &a.file {
            use super::env::AllowListState as S;
            let _ = match a.state {
                S::Absent => Ok(()),
                S::Applied => writeln!(
                    o,
                    "  allow-list {}: {} values, {} patterns, {} names",
                    file.display(),
                    a.values,
                    a.patterns,
                    a.names
                ),
                S::IgnoredInWorkspace => writeln!(
                    o,
                    "  allow-list {} ignored: it is inside the workspace",
                    file.display()
                ),
            };
        }
    }
}
