//! Detectors written in code, for what a regex cannot read well: the context of a value.
//! Each is a rule of `rules.yaml` (`detector: NAME`) with its own id, examples and negative
//! examples, and runs in the engine like a regex rule: only in the window around one of its
//! keywords.

pub(crate) mod assign;
pub(crate) mod cmdline;
pub(crate) mod encoded;
pub(crate) mod invisible;
pub(crate) mod keys;
pub(crate) mod value;

use serde::Deserialize;

/// Which detector a rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum DetectorKind {
    /// Credentials in command lines, read per command ([`cmdline`]).
    CommandLine,
    /// Values of secret-sounding names ([`assign`]).
    Assignment,
    /// Base64 or hex that decodes to a secret ([`encoded`]).
    Encoded,
    /// Tokens with invisible characters inside ([`invisible`]).
    Invisible,
}

impl DetectorKind {
    /// The detector a rules file names (`detector: NAME`).
    pub(crate) fn from_name(name: &str) -> Option<DetectorKind> {
        Some(match name {
            "command-line" => DetectorKind::CommandLine,
            "assignment" => DetectorKind::Assignment,
            "encoded" => DetectorKind::Encoded,
            "invisible" => DetectorKind::Invisible,
            _ => return None,
        })
    }

    /// The detector's own keywords (the engine makes [`DetectorKind::Encoded`]'s).
    pub(crate) fn keywords(self) -> Vec<String> {
        match self {
            DetectorKind::CommandLine => cmdline::keywords(),
            DetectorKind::Assignment => assign::TRIGGERS.iter().map(|s| s.to_string()).collect(),
            // Its keywords are the engine's to make (the encoded forms of every rule's
            // keywords and of [`ENCODED_WORDS`]), when first needed.
            DetectorKind::Encoded => Vec::new(),
            DetectorKind::Invisible => invisible::keywords(),
        }
    }
}

/// Words of secret names looked for in encoded form (`{"password": ...}` in base64). Base64
/// and hex depend on case, so each is written as names are: lower case (JSON, YAML), upper
/// case (a dotenv file, a Kubernetes secret's keys) and capitalised (`accessToken`,
/// `"Password"`). Also the schemes of connection strings, whose password is found in the
/// decoded URL (`DATABASE_URL: cG9zdGdyZXM6Ly9...`).
pub(crate) const ENCODED_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "private_key",
    "\"auth\"",
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "Password",
    "Secret",
    "Token",
    "Key\"",
    "postgres",
    "mysql",
    "mongodb",
    "redis",
    "amqp",
];

/// Where a detector runs: the whole haystack (a command line continued with `\`, or an XML
/// element over three lines, may be read a little past the window) and the window around the
/// keyword hits.
pub(crate) struct Scope<'a> {
    /// Everything being scanned.
    pub hay: &'a [u8],
    /// Start of the window.
    pub start: usize,
    /// End of the window.
    pub end: usize,
    /// Where the keyword pass found the rule's keywords in the window, when it did: every
    /// occurrence lies within, so a detector need not search the rest again.
    pub keywords: Option<(usize, usize)>,
}
