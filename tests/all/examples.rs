//! Issue 8: the adoption examples under `examples/` do what they say, against the real binary:
//! the PATH shim of the devcontainer, the shell functions, the devcontainer files and the GitHub
//! Actions workflow. Offline and without Docker: the shim and the shell functions run fake agents
//! that report how they were started.

use crate::common::*;

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The agents with a preset, a shim in the devcontainer and a shell function.
const AGENTS: &[&str] = &["codex", "claude", "gemini"];

/// Arguments that a careless wrapper would mangle.
const TRICKY: &[&str] = &[
    "--version",
    "a b",
    "\"quoted\"",
    "it's",
    "--",
    "",
    "$HOME",
    "*",
    "-p",
    "default",
    "--allow-env=GITHUB_TOKEN",
    "two\nlines",
];

/// A fake agent: reports how it was started, never a secret value.
const FAKE_AGENT: &str = r#"#!/bin/sh
echo "agent=${0##*/}"
echo "AGENTBOX=${AGENTBOX-unset}"
echo "AGENTBOX_PROFILE=${AGENTBOX_PROFILE-unset}"
echo "AGENTBOX_BYPASS=${AGENTBOX_BYPASS-unset}"
if [ -n "${GITHUB_TOKEN:-}" ]; then echo "GITHUB_TOKEN=set"; else echo "GITHUB_TOKEN=unset"; fi
echo "argc=$#"
for a in "$@"; do printf 'arg[%s]\n' "$a"; done
exit "${FAKE_AGENT_EXIT:-0}"
"#;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn read_example(rel: &str) -> String {
    std::fs::read_to_string(examples().join(rel)).unwrap_or_else(|e| panic!("examples/{rel}: {e}"))
}

/// What agent `a` receives for `args` in workspace `ws`: its preset may add arguments first
/// (codex: its own sandbox off and the workspace trusted, see profiles/codex.yaml).
fn expected_for(ws: &Path, a: &str, args: &[&str]) -> String {
    let mut all: Vec<&str> = Vec::new();
    let ws = ws.canonicalize().unwrap();
    let trust = format!(
        "projects={{\"{}\"={{trust_level=\"trusted\"}}}}",
        ws.display()
    );
    if a == "codex" {
        all.extend(["-c", "sandbox_mode=\"danger-full-access\"", "-c", &trust]);
    }
    all.extend_from_slice(args);
    expected_args(&all)
}

fn expected_args(args: &[&str]) -> String {
    let mut s = format!("argc={}\n", args.len());
    for a in args {
        s.push_str(&format!("arg[{a}]\n"));
    }
    s
}

/// A fixture with directories for the PATH:
/// `shims/` (the shim, symlinked per agent), `agents/` (fake agents), `tools/` (agentbox) and
/// `sys/` (what the shim itself uses: head, grep).
struct Lab {
    fx: Fixture,
    root: PathBuf,
    shims: PathBuf,
    agents: PathBuf,
    tools: PathBuf,
    sys: PathBuf,
    /// Presets missing from the binary, replaced by a stand-in user profile of the same name.
    stand_ins: Vec<String>,
}

impl Lab {
    fn new(who: As) -> Lab {
        let fx = Fixture::new(who);
        let root = fx.dir.path().to_path_buf();
        let [shims, agents, tools, sys] = ["shims", "agents", "tools", "sys"].map(|d| root.join(d));
        for d in [&shims, &agents, &tools, &sys] {
            std::fs::create_dir_all(d).unwrap();
        }
        // Installed the way the Dockerfile does it: one file, one relative symlink per agent.
        write_exec(
            &shims.join("agentbox-shim"),
            &read_example("devcontainer/agentbox-shim"),
        );
        for a in AGENTS {
            symlink("agentbox-shim", shims.join(a)).unwrap();
            write_exec(&agents.join(a), FAKE_AGENT);
        }
        symlink(bin(), tools.join("agentbox")).unwrap();
        for t in ["head", "grep"] {
            let p = ["/usr/bin", "/bin"]
                .iter()
                .map(|d| Path::new(d).join(t))
                .find(|p| p.exists())
                .unwrap_or_else(|| panic!("{t} not found"));
            symlink(p, sys.join(t)).unwrap();
        }
        write_exec(
            &root.join("shell-alias.sh"),
            &read_example("shell-alias.sh"),
        );
        let mut lab = Lab {
            fx,
            root,
            shims,
            agents,
            tools,
            sys,
            stand_ins: Vec::new(),
        };
        lab.ensure_presets();
        lab.chown();
        lab
    }

    /// Where a preset is missing from the binary (`require`: a failure under CI), use a
    /// stand-in user profile of that name, so the plumbing (shim -> agentbox -p NAME -> real
    /// binary) is still exercised.
    fn ensure_presets(&mut self) {
        let have = presets(&self.fx);
        for a in AGENTS {
            if !require(
                &format!(
                    "the built-in `{a}` preset (a stand-in user profile `{a}` is used instead)"
                ),
                have.iter().any(|p| p == a),
            ) {
                self.fx.user_profile(
                    a,
                    "description: stand-in for a missing preset (tests/all/examples.rs)\nextends: default\n",
                );
                self.stand_ins.push(a.to_string());
            }
        }
    }

    fn chown(&self) {
        chown_to(&self.root, self.fx.owner);
    }

    fn path(&self, dirs: &[&Path]) -> String {
        let v: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        v.join(":")
    }

    /// The usual PATH: shims first, then the real agents, then agentbox and the basics.
    fn default_path(&self) -> String {
        format!(
            "{}:/usr/bin:/bin",
            self.path(&[&self.shims, &self.agents, &self.tools, &self.sys])
        )
    }

    /// Run `argv` in the workspace with the fake HOME, the fake secrets and PATH.
    fn run(&self, argv: &[&str], path: &str, extra: &[(&str, &str)]) -> Output {
        let mut c = Command::new(argv[0]);
        c.args(&argv[1..]).current_dir(&self.fx.ws).env_clear();
        c.env("PATH", path)
            .env("HOME", &self.fx.home)
            .env("XDG_CONFIG_HOME", self.fx.home.join(".config"))
            .env("TERM", "dumb")
            .env("LANG", "C.UTF-8");
        for (k, v) in secrets() {
            c.env(k, v);
        }
        for (k, v) in extra {
            c.env(k, v);
        }
        as_who(&mut c, self.fx.owner);
        let out = within(c, 60);
        assert_no_secret(&out);
        out
    }
}

/// Names `agentbox profile list` prints (first column).
fn presets(fx: &Fixture) -> Vec<String> {
    let out = fx.agentbox(&["profile", "list"]);
    assert!(out.status.success(), "profile list: {}", stderr(&out));
    stdout(&out)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect()
}

/// The fake agent ran inside agentbox with preset `name`, secrets scrubbed.
fn assert_caged(out: &Output, name: &str, ctx: &str) {
    let o = stdout(out);
    assert!(out.status.success(), "{ctx}: {}", show(out));
    assert!(
        o.contains(&format!("agent={name}\n")),
        "{ctx}: {}",
        show(out)
    );
    assert!(
        o.contains("AGENTBOX=1\n"),
        "{ctx}: not in agentbox\n{}",
        show(out)
    );
    assert!(
        o.contains(&format!("AGENTBOX_PROFILE={name}\n")),
        "{ctx}: wrong preset\n{}",
        show(out)
    );
    assert!(
        o.contains("GITHUB_TOKEN=unset\n"),
        "{ctx}: secret reached the agent\n{}",
        show(out)
    );
}

/// The fake agent ran outside agentbox, after a loud warning.
fn assert_uncaged_loudly(out: &Output, name: &str, ctx: &str) {
    let o = stdout(out);
    assert!(out.status.success(), "{ctx}: {}", show(out));
    assert!(
        o.contains(&format!("agent={name}\n")),
        "{ctx}: {}",
        show(out)
    );
    assert!(o.contains("AGENTBOX=unset\n"), "{ctx}: {}", show(out));
    assert!(o.contains("GITHUB_TOKEN=set\n"), "{ctx}: {}", show(out));
    assert!(
        o.contains("AGENTBOX_BYPASS=unset\n"),
        "{ctx}: the bypass leaks into the agent's children\n{}",
        show(out)
    );
    let e = stderr(out);
    assert!(
        e.contains("WARNING") && e.contains("WITHOUT agentbox") && e.contains(name),
        "{ctx}: no loud warning\n{}",
        show(out)
    );
}

// ---------------------------------------------------------------------------------------------
// The devcontainer shim.

#[test]
fn shim_runs_each_agent_in_its_preset_with_arguments_intact() {
    for who in who() {
        let lab = Lab::new(who);
        let path = lab.default_path();
        for a in AGENTS {
            let shim = lab.shims.join(a);
            let mut argv = vec![shim.to_str().unwrap()];
            argv.extend(TRICKY);
            let out = lab.run(&argv, &path, &[]);
            let ctx = format!("[{who:?}] shim {a}");
            assert_caged(&out, a, &ctx);
            assert!(
                stdout(&out).contains(&expected_for(&lab.fx.ws, a, TRICKY)),
                "{ctx}: arguments changed\n{}",
                show(&out)
            );
        }
        // Called by bare name through PATH, as a terminal would; the agent's status comes back.
        let out = lab.run(&["sh", "-c", "codex --version"], &path, &[]);
        assert_caged(&out, "codex", &format!("[{who:?}] codex via PATH"));
        assert!(stdout(&out).contains(&expected_for(&lab.fx.ws, "codex", &["--version"])));
        let out = lab.run(&["codex"], &path, &[("FAKE_AGENT_EXIT", "3")]);
        assert_eq!(out.status.code(), Some(3), "[{who:?}] {}", show(&out));
    }
}

#[test]
fn shim_bypass_is_loud_and_uncaged() {
    let lab = Lab::new(As::Me);
    let path = lab.default_path();
    let shim = lab.shims.join("codex");
    let mut argv = vec![shim.to_str().unwrap()];
    argv.extend(TRICKY);
    let out = lab.run(&argv, &path, &[("AGENTBOX_BYPASS", "1")]);
    assert_uncaged_loudly(&out, "codex", "AGENTBOX_BYPASS=1 codex");
    assert!(
        stdout(&out).contains(&expected_args(TRICKY)),
        "{}",
        show(&out)
    );
    // Anything but 1 is no bypass.
    let out = lab.run(&["codex"], &path, &[("AGENTBOX_BYPASS", "yes")]);
    assert_caged(&out, "codex", "AGENTBOX_BYPASS=yes");
}

#[test]
fn shim_alone_on_path_fails_cleanly_instead_of_looping() {
    let lab = Lab::new(As::Me);
    // Only the shim is called codex.
    let path = lab.path(&[&lab.shims, &lab.tools, &lab.sys]);
    let out = lab.run(&["codex", "--version"], &path, &[]);
    assert_eq!(out.status.code(), Some(127), "{}", show(&out));
    assert!(stderr(&out).contains("command not found"), "{}", show(&out));
    assert!(!stdout(&out).contains("agent="), "{}", show(&out));

    // A second copy of the shim in another directory, and a symlink to it elsewhere: still
    // recognised as the shim, not taken for the real binary.
    let other = lab.root.join("other-shims");
    let linked = lab.root.join("linked");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::create_dir_all(&linked).unwrap();
    write_exec(
        &other.join("codex"),
        &read_example("devcontainer/agentbox-shim"),
    );
    symlink(lab.shims.join("agentbox-shim"), linked.join("codex")).unwrap();
    let path = lab.path(&[&lab.shims, &other, &linked, &lab.tools, &lab.sys]);
    let out = lab.run(&["codex"], &path, &[]);
    assert_eq!(out.status.code(), Some(127), "{}", show(&out));
    let out = lab.run(&["codex"], &path, &[("AGENTBOX_BYPASS", "1")]);
    assert_eq!(out.status.code(), Some(127), "bypass: {}", show(&out));

    // Called by its own name it cannot know the preset.
    let out = lab.run(&["agentbox-shim"], &lab.default_path(), &[]);
    assert_eq!(out.status.code(), Some(125), "{}", show(&out));
}

#[test]
fn shim_refuses_without_agentbox_and_ignores_relative_path_entries() {
    let lab = Lab::new(As::Me);
    // No agentbox on PATH: refuse rather than run the agent uncaged.
    let path = lab.path(&[&lab.shims, &lab.agents, &lab.sys]);
    let out = lab.run(&["codex"], &path, &[]);
    assert_eq!(out.status.code(), Some(127), "{}", show(&out));
    assert!(
        stderr(&out).contains("agentbox not found"),
        "{}",
        show(&out)
    );
    assert!(!stdout(&out).contains("agent="), "{}", show(&out));

    // A `codex` planted in the workspace is never the real binary, even with `.` or an empty
    // entry on PATH ahead of the real one.
    write_exec(&lab.fx.ws.join("codex"), "#!/bin/sh\necho PLANTED\n");
    lab.chown();
    let path = format!(
        "{}::.:{}",
        lab.shims.display(),
        lab.path(&[&lab.agents, &lab.tools, &lab.sys])
    );
    let out = lab.run(&["codex"], &path, &[]);
    assert_caged(&out, "codex", "relative PATH entries");
    assert!(!stdout(&out).contains("PLANTED"), "{}", show(&out));
}

// ---------------------------------------------------------------------------------------------
// examples/shell-alias.sh

/// The shells to source the functions in: bash, POSIX sh and zsh (`.ci/run` installs it).
fn shells() -> Vec<String> {
    let mut v = vec![which("bash").expect("bash"), which("sh").expect("sh")];
    let zsh = which("zsh");
    if require(
        "zsh (shell-alias.sh checked with bash and sh only)",
        zsh.is_some(),
    ) {
        v.extend(zsh);
    }
    v
}

#[test]
fn shell_functions_cage_the_agents_with_their_presets() {
    for who in who() {
        let lab = Lab::new(who);
        // Plain PATH: no shims, the functions do the caging.
        let path = format!(
            "{}:/usr/bin:/bin",
            lab.path(&[&lab.agents, &lab.tools, &lab.sys])
        );
        let alias = lab.root.join("shell-alias.sh");
        for sh in shells() {
            for a in AGENTS {
                let script = format!(". \"$1\" && shift && {a} \"$@\"");
                let mut argv = vec![sh.as_str(), "-c", &script, "sh", alias.to_str().unwrap()];
                argv.extend(TRICKY);
                let out = lab.run(&argv, &path, &[]);
                let ctx = format!("[{who:?}] {sh}: {a}");
                assert_caged(&out, a, &ctx);
                assert!(
                    stdout(&out).contains(&expected_for(&lab.fx.ws, a, TRICKY)),
                    "{ctx}: arguments changed\n{}",
                    show(&out)
                );
            }
        }
    }
}

#[test]
fn shell_functions_bypass_is_loud_and_one_call_only() {
    let lab = Lab::new(As::Me);
    let path = format!(
        "{}:/usr/bin:/bin",
        lab.path(&[&lab.agents, &lab.tools, &lab.sys])
    );
    let alias = lab.root.join("shell-alias.sh");
    let alias = alias.to_str().unwrap();
    for sh in &shells() {
        let sh = sh.as_str();
        for (how, call) in [
            ("AGENTBOX_BYPASS=1", "AGENTBOX_BYPASS=1 codex 'a b'"),
            ("unboxed", "unboxed codex 'a b'"),
        ] {
            let script = format!(". \"$1\" && {call}");
            let out = lab.run(&[sh, "-c", &script, "sh", alias], &path, &[]);
            let ctx = format!("{sh}: {how}");
            assert_uncaged_loudly(&out, "codex", &ctx);
            assert!(stdout(&out).contains(&expected_args(&["a b"])), "{ctx}");
            // The next call in the same shell is caged again.
            let script = format!(". \"$1\" && {call} >/dev/null 2>&1; codex");
            let out = lab.run(&[sh, "-c", &script, "sh", alias], &path, &[]);
            assert_caged(&out, "codex", &format!("{ctx}, then codex"));
        }
        // Without agentbox the functions refuse instead of running the agent uncaged.
        let bare = lab.path(&[&lab.agents, &lab.sys]);
        let out = lab.run(&[sh, "-c", ". \"$1\" && codex", "sh", alias], &bare, &[]);
        assert_eq!(out.status.code(), Some(127), "{sh}: {}", show(&out));
        assert!(stderr(&out).contains("refusing"), "{sh}: {}", show(&out));
        assert!(!stdout(&out).contains("agent="), "{}", show(&out));
    }
}

#[test]
fn scripts_pass_syntax_checks_and_shellcheck() {
    let shim = examples().join("devcontainer/agentbox-shim");
    let alias = examples().join("shell-alias.sh");
    let mode = std::fs::metadata(&shim).unwrap().permissions().mode();
    assert!(mode & 0o111 != 0, "agentbox-shim must be executable");
    let mut checks: Vec<(&str, Vec<&Path>)> =
        vec![("bash", vec![&shim, &alias]), ("sh", vec![&shim, &alias])];
    if require("zsh", which("zsh").is_some()) {
        checks.push(("zsh", vec![&alias]));
    }
    for (sh, files) in checks {
        for f in files {
            let out = Command::new(sh).arg("-n").arg(f).output().unwrap();
            assert!(
                out.status.success(),
                "{sh} -n {}: {}",
                f.display(),
                stderr(&out)
            );
        }
    }
    if require("shellcheck", which("shellcheck").is_some()) {
        let out = Command::new("shellcheck")
            .arg(&shim)
            .arg(&alias)
            .output()
            .unwrap();
        assert!(out.status.success(), "shellcheck:\n{}", stdout(&out));
    }
}

// ---------------------------------------------------------------------------------------------
// examples/devcontainer

/// The npm package of each agent.
fn npm_package(agent: &str) -> &'static str {
    match agent {
        "codex" => "@openai/codex",
        "claude" => "@anthropic-ai/claude-code",
        "gemini" => "@google/gemini-cli",
        other => panic!("no npm package known for {other}"),
    }
}

#[test]
fn devcontainer_is_plain_json_and_unprivileged() {
    let text = read_example("devcontainer/devcontainer.json");
    let v: serde_json::Value =
        serde_json::from_str(&text).expect("devcontainer.json is plain JSON");
    assert_eq!(v["build"]["dockerfile"], "Dockerfile");
    let ctx = v["build"]["context"].as_str().unwrap_or(".");
    assert!(examples()
        .join("devcontainer")
        .join(ctx)
        .join("agentbox-shim")
        .exists());
    for key in ["privileged", "capAdd", "securityOpt"] {
        assert!(v.get(key).is_none(), "devcontainer.json sets {key}");
    }
    let run_args = v["runArgs"].as_array().cloned().unwrap_or_default();
    for a in run_args {
        let a = a.as_str().unwrap_or_default();
        for bad in [
            "--privileged",
            "--cap-add",
            "--security-opt",
            "--userns",
            "--device",
        ] {
            assert!(!a.starts_with(bad), "runArgs has {a}");
        }
    }
    let path = v["remoteEnv"]["PATH"].as_str().unwrap_or_default();
    assert!(
        path.starts_with("/usr/local/agentbox-shims:"),
        "remoteEnv.PATH must start with the shim directory: {path}"
    );
    assert!(!text.to_lowercase().contains("sudo"));
}

#[test]
fn dockerfile_installs_agentbox_agents_and_shims_without_privileges() {
    let text = read_example("devcontainer/Dockerfile");
    let lower = text.to_lowercase();
    for bad in [
        "--privileged",
        "net_admin",
        "sys_admin",
        "cap_",
        "sudo",
        "unshare",
    ] {
        assert!(!lower.contains(bad), "Dockerfile mentions {bad}");
    }
    assert!(
        text.contains("cargo install"),
        "Dockerfile builds agentbox from source"
    );
    assert!(text.contains("/usr/local/bin/agentbox"));
    assert!(text.contains("COPY agentbox-shim /usr/local/agentbox-shims/agentbox-shim"));
    assert!(
        text.lines()
            .any(|l| l.starts_with("ENV PATH=/usr/local/agentbox-shims:")),
        "the shim directory comes first on PATH"
    );
    assert!(
        text.lines().any(|l| l.trim() == "USER node"),
        "runs as a non-root user"
    );
    // Which agents get a shim: every one is an agent with a preset, installed from npm.
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("ARG AGENTBOX_SHIMS="))
        .expect("ARG AGENTBOX_SHIMS=...");
    let mut shimmed: Vec<&str> = line.trim_matches('"').split_whitespace().collect();
    shimmed.sort();
    let mut want = AGENTS.to_vec();
    want.sort();
    assert_eq!(shimmed, want, "shimmed agents");
    let npm = text
        .lines()
        .find(|l| l.contains("npm install -g"))
        .expect("npm install -g");
    for a in &shimmed {
        assert!(npm.contains(npm_package(a)), "{a} not installed by npm");
    }
    let fx = Fixture::new(As::Me);
    let presets = presets(&fx);
    for a in &shimmed {
        require(
            &format!("the built-in `{a}` preset (the Dockerfile shims it)"),
            presets.iter().any(|p| p == a),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// examples/github-actions.yml

const AGENT_BLOCK_START: &str = "# --- agent step:";
const AGENT_BLOCK_END: &str = "# --- end agent step ---";

/// The workflow with the commented agent step uncommented.
fn uncomment_agent_step(text: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for l in text.lines() {
        let t = l.trim_start();
        if t.starts_with(AGENT_BLOCK_START) {
            inside = true;
            continue;
        }
        if t.starts_with(AGENT_BLOCK_END) {
            inside = false;
            continue;
        }
        if inside {
            let indent = l.len() - t.len();
            let body = t.strip_prefix("# ").or(t.strip_prefix('#')).unwrap_or(t);
            out.push_str(&" ".repeat(indent));
            out.push_str(body);
        } else {
            out.push_str(l);
        }
        out.push('\n');
    }
    out
}

/// One `agentbox run` invocation: its options before `--`.
struct Invocation {
    line: String,
    profile: Option<String>,
    allow_env: Vec<String>,
    redact: bool,
    dry_run: bool,
}

fn invocations(run: &str) -> Vec<Invocation> {
    run.lines()
        .filter_map(|l| {
            let i = l.find("agentbox run")?;
            let words: Vec<&str> = l[i + "agentbox run".len()..]
                .split_whitespace()
                .take_while(|w| *w != "--")
                .collect();
            let mut inv = Invocation {
                line: l.trim().to_string(),
                profile: None,
                allow_env: Vec::new(),
                redact: false,
                dry_run: false,
            };
            let mut it = words.iter();
            while let Some(w) = it.next() {
                match *w {
                    "-p" | "--profile" => inv.profile = it.next().map(|s| s.to_string()),
                    "--allow-env" => inv.allow_env.extend(it.next().map(|s| s.to_string())),
                    "--redact-output" => inv.redact = true,
                    "--dry-run" => inv.dry_run = true,
                    w => {
                        if let Some(v) = w.strip_prefix("--profile=") {
                            inv.profile = Some(v.to_string());
                        } else if let Some(v) = w.strip_prefix("--allow-env=") {
                            inv.allow_env.push(v.to_string());
                        }
                    }
                }
            }
            Some(inv)
        })
        .collect()
}

/// Every string in the document that mentions `secrets.`, with its path.
fn secret_refs(
    v: &serde_json::Value,
    path: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, String)>,
) {
    match v {
        serde_json::Value::String(s) if s.contains("secrets.") => {
            out.push((path.clone(), s.clone()))
        }
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                path.push(k.clone());
                secret_refs(v, path, out);
                path.pop();
            }
        }
        serde_json::Value::Array(s) => {
            for (i, v) in s.iter().enumerate() {
                path.push(i.to_string());
                secret_refs(v, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Check the rules; returns the profiles of the (non-dry-run) boxed commands.
fn check_workflow(text: &str, what: &str) -> Vec<String> {
    // YAML 1.2 booleans, so the `on:` key stays a string.
    let options = serde_saphyr::options! { strict_booleans: true };
    let doc: serde_json::Value = serde_saphyr::from_str_with_options(text, options)
        .unwrap_or_else(|e| panic!("{what}: YAML: {e}"));
    assert!(doc.get("on").is_some(), "{what}: no `on:`");
    let jobs = doc["jobs"].as_object().expect("jobs");
    let mut boxed_profiles = Vec::new();
    for (job_id, job) in jobs {
        let steps = job["steps"].as_array().expect("steps");
        for step in steps {
            let Some(run) = step["run"].as_str() else {
                continue;
            };
            for inv in invocations(run) {
                if inv.dry_run {
                    continue;
                }
                assert!(
                    inv.redact,
                    "{what}: job {job_id:?}: `{}` without --redact-output",
                    inv.line
                );
                boxed_profiles.extend(inv.profile.clone());
            }
        }
    }
    // Secrets: only in the `env:` of a step that lets that very name in with --allow-env.
    let mut refs = Vec::new();
    secret_refs(&doc, &mut Vec::new(), &mut refs);
    for (path, value) in refs {
        let ok = match path.as_slice() {
            [jobs, job, steps, i, env, name]
                if jobs == "jobs" && steps == "steps" && env == "env" =>
            {
                let step = &doc["jobs"][job.as_str()]["steps"][i.parse::<usize>().unwrap()];
                let run = step["run"].as_str().unwrap_or_default();
                !run.contains("secrets.")
                    && invocations(run)
                        .iter()
                        .any(|inv| inv.allow_env.iter().any(|n| n == name))
            }
            _ => false,
        };
        assert!(
            ok,
            "{what}: {} = {value}: a secret must only be in the env of a step whose `agentbox run` names it with --allow-env",
            path.join(".")
        );
    }
    boxed_profiles
}

#[test]
fn github_actions_runs_tests_boxed_with_redaction_and_one_allowed_secret() {
    let text = read_example("github-actions.yml");
    let profiles = check_workflow(&text, "github-actions.yml");
    assert!(
        profiles.iter().any(|p| p == "test"),
        "a step runs `agentbox run -p test --redact-output ...`: {profiles:?}"
    );
    let install = text.contains("cargo install") && text.contains("agentbox");
    assert!(install, "the workflow installs agentbox");

    // The commented agent step, once uncommented, is valid and obeys the same rules.
    assert!(text.contains(AGENT_BLOCK_START) && text.contains(AGENT_BLOCK_END));
    let with_agent = uncomment_agent_step(&text);
    let profiles = check_workflow(&with_agent, "github-actions.yml with the agent step");
    assert!(
        profiles.iter().any(|p| AGENTS.contains(&p.as_str())),
        "the agent step runs an agent preset: {profiles:?}"
    );
}

#[test]
fn github_actions_checker_rejects_leaks() {
    // The checker itself: a secret inline, at job level, or not named by --allow-env fails.
    let base = "on: push\njobs:\n  t:\n    runs-on: x\n";
    let leaks = [
        "    steps:\n      - run: agentbox run -p test --redact-output -- make KEY=${{ secrets.K }}\n",
        "    env:\n      K: ${{ secrets.K }}\n    steps:\n      - run: agentbox run -p test --redact-output --allow-env K -- make\n",
        "    steps:\n      - env:\n          K: ${{ secrets.K }}\n        run: agentbox run -p test --redact-output -- make\n",
    ];
    for leak in leaks {
        let doc = format!("{base}{leak}");
        let r = std::panic::catch_unwind(|| check_workflow(&doc, "leak"));
        assert!(r.is_err(), "not caught:\n{doc}");
    }
    let ok = format!(
        "{base}    steps:\n      - env:\n          K: ${{{{ secrets.K }}}}\n        run: agentbox run -p test --redact-output --allow-env K -- make\n"
    );
    assert_eq!(check_workflow(&ok, "ok"), vec!["test".to_string()]);
    let unredacted = format!("{base}    steps:\n      - run: agentbox run -p test -- make\n");
    assert!(std::panic::catch_unwind(|| check_workflow(&unredacted, "x")).is_err());
}
