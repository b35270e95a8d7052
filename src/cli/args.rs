//! Subcommand arguments as clap sees them, converted to the commands' own option structs (the
//! commands know nothing of clap).

use std::path::PathBuf;

/// Arguments of `agentbox redact`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RedactArgs {
    /// Files to filter in turn; `-` is standard input (the default when none is given).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Also mask the exact values (and their base64/percent/JSON encodings) of the
    /// environment variables that `agentbox run` would remove (capability variables such
    /// as SSH_AUTH_SOCK excepted: their value is a path, the secret is what it points to).
    #[arg(long)]
    pub values_from_env: bool,
    /// Print no redacted output; exit 1 if any secret is found, 0 if none.
    #[arg(long)]
    pub check: bool,
    /// Print findings (rule_id, file, line, column; never values) as JSON: to stdout with
    /// --check, to stderr otherwise.
    #[arg(long)]
    pub json: bool,
    /// Extra rules file (YAML, same format as the built-in rules); a rule with a built-in id
    /// replaces the built-in one.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
}

impl From<RedactArgs> for crate::redact::RedactOptions {
    fn from(a: RedactArgs) -> Self {
        crate::redact::RedactOptions {
            files: a.files,
            values_from_env: a.values_from_env,
            check: a.check,
            json: a.json,
            rules: a.rules,
        }
    }
}

/// `agentbox check` arguments.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Profile the agent will run with.
    #[arg(short, long, default_value = "default", value_name = "NAME|PATH")]
    pub profile: String,
    /// Workspace [default: the git top level of the current directory].
    #[arg(short, long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

impl From<CheckArgs> for crate::check::CheckOptions {
    fn from(a: CheckArgs) -> Self {
        crate::check::CheckOptions {
            profile: a.profile,
            workspace: a.workspace,
            json: a.json,
        }
    }
}

/// `agentbox learn` arguments.
#[derive(clap::Args, Debug)]
pub struct LearnArgs {
    /// Write the learned profile here (default: stdout).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The profile to extend.
    #[arg(short, long, default_value = "default", value_name = "NAME|PATH")]
    pub profile: String,
    /// Workspace directory (as for `run`).
    #[arg(short, long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Give up after this many rounds.
    #[arg(long, default_value_t = 6)]
    pub max_rounds: u32,
    /// The trusted command to learn from.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<std::ffi::OsString>,
}

impl From<LearnArgs> for crate::learn::LearnOptions {
    fn from(a: LearnArgs) -> Self {
        crate::learn::LearnOptions {
            output: a.output,
            profile: a.profile,
            workspace: a.workspace,
            max_rounds: a.max_rounds,
            command: a.command,
        }
    }
}
