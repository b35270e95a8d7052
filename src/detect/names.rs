//! Environment variable NAME rules (see secret-rules.md, "Environment variable names").
//! A name alone decides `Secret` and `Capability`; `KnownSafe` and `Neutral` names still
//! have their values checked by [`crate::detect::classify_env`].

/// What a variable's name says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameClass {
    /// The name says the value is a secret; the reason names the matching word.
    Secret(&'static str),
    /// The value is a path or address that grants access (socket, credentials file).
    Capability(&'static str),
    /// The name matches a secret word but is a known non-secret (value still checked).
    KnownSafe,
    /// No rule applies (value still checked).
    Neutral,
}

/// Substring words: glued names such as `SYSTEM_ACCESSTOKEN` exist.
const STRONG: &[(&str, &str)] = &[
    ("TOKEN", "name contains TOKEN"),
    ("SECRET", "name contains SECRET"),
    ("PASSWORD", "name contains PASSWORD"),
    ("PASSWD", "name contains PASSWD"),
    ("PASSPHRASE", "name contains PASSPHRASE"),
    ("CREDENTIAL", "name contains CREDENTIAL"),
    ("APIKEY", "name contains APIKEY"),
    ("ACCESSKEY", "name contains ACCESSKEY"),
    ("PRIVATEKEY", "name contains PRIVATEKEY"),
];

/// Whole `_`-separated segments only: as substrings they hit KEYBOARD, PATH, PASSED...
const WEAK: &[(&str, &str)] = &[
    ("KEY", "name has segment KEY"),
    ("PASS", "name has segment PASS"),
    ("PWD", "name has segment PWD"),
    ("PSW", "name has segment PSW"),
    ("AUTH", "name has segment AUTH"),
    ("PAT", "name has segment PAT"),
    ("JWT", "name has segment JWT"),
    ("COOKIE", "name has segment COOKIE"),
    ("DSN", "name has segment DSN"),
];

/// Paths and addresses whose target grants access: the path leaks nothing, the file does.
const CAPABILITIES: &[(&str, &str)] = &[
    ("SSH_AUTH_SOCK", "SSH agent socket"),
    ("GPG_AGENT_INFO", "GPG agent socket"),
    ("DBUS_SESSION_BUS_ADDRESS", "D-Bus session bus"),
    ("XAUTHORITY", "X11 authority file"),
    ("KUBECONFIG", "Kubernetes credentials file"),
    (
        "GOOGLE_APPLICATION_CREDENTIALS",
        "Google service-account credentials file",
    ),
    ("AWS_SHARED_CREDENTIALS_FILE", "AWS credentials file"),
    ("AWS_WEB_IDENTITY_TOKEN_FILE", "AWS web identity token file"),
];

/// Secret without any secret word in the name.
const SECRET_EXACT: &[(&str, &str)] = &[
    (
        "GIT_CONFIG_PARAMETERS",
        "git config from the environment can carry an Authorization header",
    ),
    (
        "DIRENV_DIFF",
        "encoded copy of every variable direnv loaded",
    ),
    ("ACTIONS_RUNTIME_TOKEN", "GitHub Actions runtime token"),
];

const SECRET_PREFIX: &[(&str, &str)] = &[
    (
        "GIT_CONFIG_VALUE_",
        "git config from the environment can carry an Authorization header",
    ),
    (
        "ACTIONS_ID_TOKEN_REQUEST_",
        "GitHub Actions OIDC token request",
    ),
    ("OP_SESSION_", "1Password CLI session"),
];

/// Names that match a word but are not secrets.
const SAFE_EXACT: &[&str] = &[
    "TOKENIZERS_PARALLELISM",
    "MAX_THINKING_TOKENS",
    "AUTHOR",
    "PWD",
    "OLDPWD",
    "SSH_ASKPASS",
    "GIT_ASKPASS",
    "SUDO_ASKPASS",
    "SSH_ASKPASS_REQUIRE",
    "PASSWORD_STORE_DIR",
    "KEYTIMEOUT",
    "SESSION_MANAGER",
];

const SAFE_PREFIX: &[&str] = &["GIT_AUTHOR_", "GNOME_KEYRING_", "XDG_SESSION_"];

const SAFE_SUFFIX: &[&str] = &[
    "_PUBLIC_KEY",
    "_PUBLISHABLE_KEY",
    "_KEY_ID",
    "_FILE",
    "_PATH",
    "_DIR",
    "_DIRECTORY",
    // The name of a header (`API_KEY_HEADER=X-Api-Key`), not its value.
    "_HEADER",
    "_NAME",
    "_TYPE",
    "_LENGTH",
    "_SIZE",
    "_TTL",
    "_TIMEOUT",
    "_SECONDS",
    "_MINUTES",
    "_HOURS",
    "_DAYS",
    // What provides or stores secrets (`AUTH_PROVIDER=oidc`, `SECRET_BACKEND=vault`).
    "_PROVIDER",
    "_BACKEND",
    "_ALGORITHM",
    "_REGION",
    // Endpoints, not credentials (`OAUTH_TOKEN_URL`); their values are still scanned.
    "_TOKEN_URL",
    "_TOKEN_URI",
    "_TOKEN_ENDPOINT",
    "_AUTH_URL",
];

/// Classifies an environment variable by its name (case-insensitively).
pub fn classify_name(name: &str) -> NameClass {
    let upper = name.to_ascii_uppercase();
    let n = upper.as_str();

    // Capabilities first: several of them also contain a strong word or a safe suffix.
    if let Some((_, why)) = CAPABILITIES.iter().find(|(c, _)| *c == n) {
        return NameClass::Capability(why);
    }
    if let Some((_, why)) = SECRET_EXACT.iter().find(|(c, _)| *c == n) {
        return NameClass::Secret(why);
    }
    if let Some((_, why)) = SECRET_PREFIX.iter().find(|(p, _)| n.starts_with(p)) {
        return NameClass::Secret(why);
    }
    if n == "BW_SESSION" {
        return NameClass::Secret("Bitwarden CLI session");
    }
    if is_known_safe(n) {
        return NameClass::KnownSafe;
    }
    if let Some((_, why)) = STRONG.iter().find(|(w, _)| n.contains(w)) {
        return NameClass::Secret(why);
    }
    // Segments compare without trailing digits so DB_PASS2 or KEY_1 still count.
    let segments = || {
        n.split('_')
            .map(|s| s.trim_end_matches(|c: char| c.is_ascii_digit()))
            .filter(|s| !s.is_empty())
    };
    if let Some((_, why)) = WEAK.iter().find(|(w, _)| segments().any(|s| s == *w)) {
        return NameClass::Secret(why);
    }
    NameClass::Neutral
}

fn is_known_safe(n: &str) -> bool {
    if SAFE_EXACT.contains(&n)
        || SAFE_PREFIX.iter().any(|p| n.starts_with(p))
        || SAFE_SUFFIX
            .iter()
            // `TOKEN_ENDPOINT` is `_TOKEN_ENDPOINT` without a prefix; `PATH` stays neutral.
            .any(|s| n.ends_with(s) || (s[1..].contains('_') && n == &s[1..]))
    {
        return true;
    }
    // *_MAX_*TOKENS: OPENAI_MAX_TOKENS, CLAUDE_CODE_MAX_OUTPUT_TOKENS.
    n.ends_with("TOKENS") && (n.starts_with("MAX_") || n.contains("_MAX_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for n in [
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "STRIPE_API_KEY",
            "DEPLOY_PASSWORD",
            "NPM_TOKEN",
            "SYSTEM_ACCESSTOKEN",
            "AWS_SESSION_TOKEN",
            "DB_PASS",
            "DB_PASS2",
            "GH_PAT",
            "SENTRY_DSN",
            "npm_config__auth",
            "GIT_CONFIG_PARAMETERS",
            "GIT_CONFIG_VALUE_0",
            "DIRENV_DIFF",
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "ACTIONS_RUNTIME_TOKEN",
            "OP_SESSION_my",
            "BW_SESSION",
            "SESSION_KEY",
            "MYAPP_JWT",
            "HTTP_COOKIE",
        ] {
            assert!(
                matches!(classify_name(n), NameClass::Secret(_)),
                "{n}: {:?}",
                classify_name(n)
            );
        }
    }

    #[test]
    fn capability_names() {
        for n in [
            "SSH_AUTH_SOCK",
            "GPG_AGENT_INFO",
            "DBUS_SESSION_BUS_ADDRESS",
            "XAUTHORITY",
            "KUBECONFIG",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "AWS_SHARED_CREDENTIALS_FILE",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
        ] {
            assert!(matches!(classify_name(n), NameClass::Capability(_)), "{n}");
        }
    }

    #[test]
    fn safe_and_neutral_names() {
        for n in [
            "TOKENIZERS_PARALLELISM",
            "OPENAI_MAX_TOKENS",
            "MAX_THINKING_TOKENS",
            "CLAUDE_CODE_MAX_OUTPUT_TOKENS",
            "GIT_AUTHOR_NAME",
            "GIT_AUTHOR_EMAIL",
            "PWD",
            "OLDPWD",
            "SSH_ASKPASS",
            "STRIPE_PUBLISHABLE_KEY",
            "AWS_ACCESS_KEY_ID",
            "KEYTIMEOUT",
            "XDG_SESSION_TYPE",
            "XDG_SESSION_ID",
            "PASSWORD_STORE_DIR",
            "GNOME_KEYRING_CONTROL",
            "SESSION_MANAGER",
            "JWT_ALGORITHM",
            "TOKEN_TTL",
            "TOKEN_ENDPOINT",
            "API_KEY_HEADER",
            "CREDENTIALS_DIRECTORY",
            "SECRET_KEY_ROTATION_DAYS",
            "AUTH_PROVIDER",
            "SECRET_BACKEND",
        ] {
            assert_eq!(classify_name(n), NameClass::KnownSafe, "{n}");
        }
        for n in [
            "PATH",
            "HOME",
            "TERM",
            "LANG",
            "LS_COLORS",
            "DATABASE_URL",
            "KEYBOARD_LAYOUT",
            "PATHEXT",
            "XDG_RUNTIME_DIRS",
            "MONKEY",
            "SESSION",
            "AUTHORITY",
        ] {
            assert_eq!(classify_name(n), NameClass::Neutral, "{n}");
        }
    }
}
