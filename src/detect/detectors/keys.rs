//! Whether a name (the left side of an assignment, a JSON or YAML key, a command-line flag, a
//! header, an XML tag) says that its value is a secret.
//!
//! The name is split into words (`_ . - / :` and camelCase boundaries). The last secret word
//! decides, and only neutral words may follow it: `db_password` and `clientSecret` name
//! secrets, `password_reset_url`, `token_type`, `secretName` and `max_tokens` do not.

/// How strong a value must look for a secret name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyClass {
    /// A password: people choose them, so a short or word-like value still counts.
    Password,
    /// A token, key or secret: machines make them, so the value must look random.
    Token,
    /// An `Authorization` header: the value may start with its scheme.
    Authorization,
}

/// Words that name a password.
const PASSWORD_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASS",
    "PWD",
    "PW",
    "PASSPHRASE",
    "PASSCODE",
    "STOREPASS",
    "KEYPASS",
    // redis.conf's `requirepass` and `masterauth`.
    "REQUIREPASS",
    "MASTERAUTH",
];

/// Words that name a token or secret on their own.
const TOKEN_WORDS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "APIKEY",
    "CREDENTIAL",
    "CREDENTIALS",
    "CREDS",
    "AUTH",
    "AUTHTOKEN",
    "SESSION",
    "SESSIONID",
    "SESSID",
    "PSK",
    // SSSD's `ldap_default_authtok`.
    "AUTHTOK",
];

/// Glued words ending in one of these name a secret too (`accesstoken`, `dbpassword`).
const GLUED_SUFFIXES: &[(&str, KeyClass)] = &[
    ("PASSWORD", KeyClass::Password),
    ("PASSWD", KeyClass::Password),
    ("PASSPHRASE", KeyClass::Password),
    ("TOKEN", KeyClass::Token),
    ("SECRET", KeyClass::Token),
    ("APIKEY", KeyClass::Token),
    ("ACCESSKEY", KeyClass::Token),
    ("SECRETKEY", KeyClass::Token),
    ("PRIVATEKEY", KeyClass::Token),
    ("AUTHKEY", KeyClass::Token),
    // Honeycomb's `writekey`.
    ("WRITEKEY", KeyClass::Token),
    ("STOREPASS", KeyClass::Password),
    ("KEYPASS", KeyClass::Password),
];

/// Words too common in ordinary text to name a secret after a bare `:` (`PASS: 128`, `auth:
/// required`): they need `=`, a quoted key or a flag.
const WEAK_WORDS: &[&str] = &[
    "PASS",
    "PW",
    "PWD",
    "AUTH",
    "SESSION",
    "SESSIONID",
    "SESSID",
    "CREDS",
    "PSK",
];

/// What a secret name says about its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    /// How strong the value must look.
    pub class: KeyClass,
    /// The deciding word is common in ordinary text (see `WEAK_WORDS`).
    pub weak: bool,
    /// An id that is a credential (Vault's AppRole `secret_id`) where others name the secret
    /// instead (AWS's `--secret-id prod/db`): only a random-looking value counts.
    pub id: bool,
}

/// `KEY` names a secret only after one of these (`api_key`, `secret_key`; not `cache_key`).
const KEY_QUALIFIERS: &[&str] = &[
    "API",
    "SECRET",
    "ACCESS",
    "PRIVATE",
    "PRIV",
    "AUTH",
    "MASTER",
    "ENCRYPTION",
    "ENC",
    "SIGNING",
    "CLIENT",
    "ACCOUNT",
    "APP",
    "APPLICATION",
    "LICENSE",
    "SERVICE",
    "SUBSCRIPTION",
    "ADMIN",
    "DEPLOY",
    "WRITE",
    "SESSION",
    "HMAC",
    "SHARED",
    "STORAGE",
    "ROOT",
    "WEBHOOK",
    "INGEST",
    "INGESTION",
    "INTEGRATION",
    "SERVER",
    "PRESHARED",
    "CONSUMER",
    "DEVELOPER",
    "PERSONAL",
    "UNSEAL",
    "JWT",
    // Airflow's and cryptography's `fernet_key`, App Center's `codePushDeploymentKey`,
    // Authorize.net's `transactionKey`.
    "FERNET",
    "DEPLOYMENT",
    "TRANSACTION",
];

/// Words before an environment-style `_KEY` (`CACHE_KEY`, `SORT_KEY`) that make it no
/// secret: any other word names a service's key (`OPENWEATHER_KEY`, `COSMOS_KEY`).
const NOT_SECRET_KEY_PREFIXES: &[&str] = &[
    "CACHE",
    "SORT",
    "PRIMARY",
    "FOREIGN",
    "PARTITION",
    "IDEMPOTENCY",
    "LOOKUP",
    "HASH",
    "MAP",
    "GROUP",
    "PUBLIC",
    "PUBLISHABLE",
    "OBJECT",
    "S3",
    "ROW",
    "INDEX",
    "DEDUP",
    "DEDUPE",
    "SHARD",
    "UNIQUE",
    "SEARCH",
    "CONFIG",
    "REDIS",
    "LOCK",
    "QUEUE",
    "STREAM",
    "BUCKET",
    "TABLE",
    "CURSOR",
    "ORDER",
    "MESSAGE",
    "EVENT",
    "HOT",
    "SHORTCUT",
    "KEY",
    // Fingerprints and public host keys (`ENV GPG_KEY 0D96DF4D...` of Docker's images).
    "GPG",
    "PGP",
    "HOST",
    "TRANSLATION",
    "I18N",
    "LABEL",
    "FEATURE",
    "FLAG",
    "NAMESPACE",
];

/// `PAT` names a personal access token only after one of these.
const PAT_QUALIFIERS: &[&str] = &[
    "GITHUB",
    "GH",
    "GITLAB",
    "GL",
    "DEVOPS",
    "ADO",
    "AZDO",
    "AZURE",
    "EXT",
    "VSTS",
    "TFS",
    "BITBUCKET",
    "GITEA",
    "FORGEJO",
    "CODEBERG",
    "HF",
    "HUGGINGFACE",
    "PERSONAL",
    "ACCESS",
    "API",
    "CI",
    "DEPLOY",
    "BOT",
    "USER",
    "NPM",
    "DOCKER",
    "DOCKERHUB",
    "ATLASSIAN",
    "JIRA",
    "CONFLUENCE",
    "AIRTABLE",
    "FIGMA",
    "SONAR",
    "GIT",
];

/// Words before `TOKEN` that make it something else (pagination, CSRF, counts).
const NOT_SECRET_TOKEN_PREFIXES: &[&str] = &[
    "CSRF",
    "XSRF",
    "PAGE",
    "NEXT",
    "PREV",
    "CONTINUATION",
    "PAGINATION",
    "SYNC",
    "CURSOR",
    "RESUME",
    "CANCELLATION",
    "MAX",
    "MIN",
    "NUM",
    "TOTAL",
    "INPUT",
    "OUTPUT",
    "PROMPT",
    "COMPLETION",
    "CACHED",
    "REASONING",
    "PUBLIC",
    "PUBLISHABLE",
    "REQUEST",
    "IDEMPOTENCY",
    // The `io.jsonwebtoken` library (`jjwt`), not a token.
    "JSONWEB",
];

/// Names of keys that vendors make to be shipped in web pages and apps (ending a name:
/// `NEXT_PUBLIC_ALGOLIA_SEARCH_ONLY_KEY`): Algolia's search-only key, Mixpanel's project token,
/// Pusher's app key, Amplitude's API key, Adyen's client key, Paddle's client token. Their
/// secret halves have other names. (Not Segment's write key: it lets anyone send data to the
/// source, and two of three corpus writers labelled it a secret.)
const PUBLIC_BY_DESIGN: &[&[&str]] = &[
    &["SEARCH", "ONLY", "KEY"],
    &["ALGOLIA", "SEARCH", "KEY"],
    &["MIXPANEL", "TOKEN"],
    &["MIXPANEL", "PROJECT", "TOKEN"],
    &["PUSHER", "KEY"],
    &["PUSHER", "APP", "KEY"],
    &["AMPLITUDE", "API", "KEY"],
    &["ADYEN", "CLIENT", "KEY"],
    &["PADDLE", "CLIENT", "TOKEN"],
];

/// Words that may follow the secret word without changing what the value is.
const NEUTRAL_SUFFIXES: &[&str] = &[
    "VALUE",
    "VAL",
    "STR",
    "STRING",
    "DATA",
    // `B64`, whose digits `words` drops.
    "B",
    "BASE64",
    "ENCODED",
    "RAW",
    "PLAIN",
    "PLAINTEXT",
    "TEXT",
    "OLD",
    "NEW",
    "CURRENT",
    "CUR",
    "PRIMARY",
    "SECONDARY",
    "PROD",
    "PRODUCTION",
    "STAGING",
    "DEV",
    "LIVE",
    "TEST",
    "BASIC",
    "BEARER",
    "BASE",
    // A version (`ses_smtp_password_v4`: digits are dropped from words).
    "V",
    "HEX",
    // Mailjet's `MJ_APIKEY_PRIVATE`.
    "PRIVATE",
];

/// Longest name considered (longer runs of identifier characters are not names).
const MAX_KEY: usize = 80;

/// Splits a name into uppercase words: on `_ . - / : $ @ [ ]` and camelCase boundaries
/// (`APIKey` gives `API`, `KEY`); trailing digits are dropped from each word (`PASS2`).
fn words(key: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        let w = cur.trim_end_matches(|c: char| c.is_ascii_digit());
        if !w.is_empty() {
            out.push(w.to_ascii_uppercase());
        }
        cur.clear();
    };
    for (i, &b) in key.iter().enumerate() {
        if !b.is_ascii_alphanumeric() {
            flush(&mut cur, &mut out);
            continue;
        }
        let prev = i.checked_sub(1).map(|p| key[p]);
        let next = key.get(i + 1).copied();
        let boundary = b.is_ascii_uppercase()
            && prev.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
            });
        if boundary {
            flush(&mut cur, &mut out);
        }
        cur.push(char::from(b));
    }
    flush(&mut cur, &mut out);
    out
}

/// What the word at `i` of `w` names, if a secret; `screaming` when the name is written as
/// environment variables are (`OPENWEATHER_KEY`).
fn word_class(w: &[String], i: usize, screaming: bool) -> Option<KeyClass> {
    let word = w[i].as_str();
    let prev = i.checked_sub(1).map(|p| w[p].as_str());
    if word == "AUTHORIZATION" {
        return Some(KeyClass::Authorization);
    }
    // `pass_phrase` (OCI's config): a passphrase written as two words.
    if PASSWORD_WORDS.contains(&word) || (word == "PHRASE" && prev == Some("PASS")) {
        return Some(KeyClass::Password);
    }
    // `secret_id` (Vault AppRole's credential); the caller keeps out names (`SecretId`).
    if word == "ID" && prev == Some("SECRET") {
        return Some(KeyClass::Token);
    }
    // A key's content (`OCI_CLI_KEY_CONTENT`, `key_material`), and a one-time-password seed.
    if matches!(word, "CONTENT" | "CONTENTS" | "MATERIAL") && prev == Some("KEY") {
        return Some(KeyClass::Token);
    }
    // NATS's `NKEYS_SEED` is its private key.
    if word == "SEED"
        && prev.is_some_and(|p| matches!(p, "TOTP" | "OTP" | "HOTP" | "MFA" | "NKEY" | "NKEYS"))
    {
        return Some(KeyClass::Token);
    }
    // RabbitMQ's `RABBITMQ_ERLANG_COOKIE` lets any node join the cluster; Joken's
    // `default_signer` is its HMAC key.
    if (word == "COOKIE" && prev == Some("ERLANG")) || (word == "SIGNER" && prev == Some("DEFAULT"))
    {
        return Some(KeyClass::Token);
    }
    // `APP_KEYS` (Strapi): a list of keys.
    if word == "KEY" || word == "KEYS" {
        // Keys made to be shown: Next.js's `NEXT_PUBLIC_*`, reCAPTCHA's site key.
        let public = w[..i]
            .iter()
            .any(|x| matches!(x.as_str(), "PUBLIC" | "PUBLISHABLE" | "SITE"));
        let qualified = prev.is_some_and(|p| {
            KEY_QUALIFIERS.contains(&p)
                || (screaming && !public && !NOT_SECRET_KEY_PREFIXES.contains(&p) && p.len() >= 2)
        });
        return qualified.then_some(KeyClass::Token);
    }
    // WireGuard's preshared key, written without `KEY` (`WG_PRESHARED`).
    if word == "PRESHARED" && i + 1 == w.len() {
        return Some(KeyClass::Token);
    }
    // A personal access token (`AZURE_DEVOPS_EXT_PAT`, `GITLAB_PAT`): after the name of a
    // service that issues them only, as `pat` is also a pattern in code (`GLOB_PAT`).
    if word == "PAT" {
        return prev
            .is_some_and(|p| PAT_QUALIFIERS.contains(&p))
            .then_some(KeyClass::Token);
    }
    // systemd's `LoadCredential=NAME:PATH` and `ImportCredential=GLOB` name where a
    // credential comes from (`SetCredential=` holds one).
    if word == "CREDENTIAL" && matches!(prev, Some("LOAD" | "IMPORT")) {
        return None;
    }
    if TOKEN_WORDS.contains(&word) {
        if word == "TOKEN" && prev.is_some_and(|p| NOT_SECRET_TOKEN_PREFIXES.contains(&p)) {
            return None;
        }
        return Some(KeyClass::Token);
    }
    let (suffix, class) = GLUED_SUFFIXES.iter().find(|(s, _)| word.ends_with(s))?;
    let head = &word[..word.len() - suffix.len()];
    if NOT_SECRET_TOKEN_PREFIXES.contains(&head) || head.ends_with("ASK") {
        return None;
    }
    Some(*class)
}

/// What a name says about its value, or `None` when it names no secret.
pub(crate) fn classify_key(key: &[u8]) -> Option<Key> {
    if key.is_empty() || key.len() > MAX_KEY {
        return None;
    }
    let w = words(key);
    let screaming = key.contains(&b'_')
        && key
            .iter()
            .all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    // `--no-password`, `--password-stdin`: flags about the secret, not holding it; a
    // `hashed_secret` (detect-secrets' baseline) holds a digest.
    if w.first()
        .is_some_and(|f| f == "NO" || f == "SKIP" || f == "ASK" || f == "HASHED")
    {
        return None;
    }
    let ends_with = |p: &[&str]| {
        w.len() >= p.len() && w[w.len() - p.len()..].iter().zip(p).all(|(a, b)| a == b)
    };
    if PUBLIC_BY_DESIGN.iter().any(|p| ends_with(p)) {
        return None;
    }
    // 1Password's `OP_SESSION_<account>`: the account follows the secret word.
    if w.len() >= 2 && w[0] == "OP" && w[1] == "SESSION" {
        return Some(Key {
            class: KeyClass::Token,
            weak: false,
            id: false,
        });
    }
    let last_secret = (0..w.len())
        .rev()
        .find(|&i| word_class(&w, i, screaming).is_some())?;
    if !w[last_secret + 1..]
        .iter()
        .all(|s| NEUTRAL_SUFFIXES.contains(&s.as_str()))
    {
        return None;
    }
    let class = word_class(&w, last_secret, screaming)?;
    let word = w[last_secret].as_str();
    // A password word after a qualifier (`ansible_become_pass`, `db_pwd`) names a password
    // even after a bare colon; alone (`PASS: 128`) it is a test count.
    let qualified_password = last_secret > 0 && matches!(word, "PASS" | "PW" | "PWD" | "PSK");
    Some(Key {
        class,
        weak: WEAK_WORDS.contains(&word) && !qualified_password,
        id: word == "ID",
    })
}

/// Name characters: letters, digits and `_ . -` (flags and headers have dashes, dotted keys
/// such as `spring.datasource.password` have dots).
pub(crate) fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_separators_and_case() {
        assert_eq!(words(b"clientSecret"), ["CLIENT", "SECRET"]);
        assert_eq!(words(b"APIKey"), ["API", "KEY"]);
        assert_eq!(
            words(b"spring.datasource.password"),
            ["SPRING", "DATASOURCE", "PASSWORD"]
        );
        assert_eq!(words(b"DB_PASS2"), ["DB", "PASS"]);
        assert_eq!(words(b"--db-password"), ["DB", "PASSWORD"]);
        assert_eq!(words(b"X-Octopus-ApiKey"), ["X", "OCTOPUS", "API", "KEY"]);
    }

    #[test]
    fn secret_names() {
        let password: &[&str] = &[
            "password",
            "DB_PASSWORD",
            "db_pwd",
            "spring.datasource.password",
            "AdminPassword",
            "--db-password",
            "MYSQL_ROOT_PASSWORD",
            "passwd",
            "-storepass",
            "passwordValue",
            "RABBITMQ_DEFAULT_PASS",
            "keyStorePassword",
            "-srcstorepass",
            "pass_phrase",
            "ses_smtp_password_v4",
        ];
        for k in password {
            assert_eq!(
                classify_key(k.as_bytes()).map(|k| k.class),
                Some(KeyClass::Password),
                "{k}"
            );
        }
        let token: &[&str] = &[
            "OPENWEATHER_KEY",
            "COSMOS_KEY",
            "APP_KEYS",
            "MJ_APIKEY_PRIVATE",
            "NKEYS_SEED",
            "api_key_hex",
            "codePushDeploymentKey",
            "AIRFLOW__CORE__FERNET_KEY",
            "transactionKey",
            "WG_PRESHARED",
            "RABBITMQ_ERLANG_COOKIE",
            "default_signer",
            "api_key",
            "apiKey",
            "X-Api-Key",
            "x-api-key",
            "client_secret",
            "clientSecret",
            "access_token",
            "accessToken",
            "GITHUB_TOKEN",
            "secret",
            "SECRET_KEY_BASE",
            "aws_secret_access_key",
            "private-key",
            "PRIVATE-TOKEN",
            "X-Vault-Token",
            "auth",
            "_authToken",
            "user_auth",
            "credentials",
            "creds",
            "webhook_secret",
            "id_token",
            "refresh_token",
            "mySecretString",
            "some_api_token_123",
            "genericToken",
            "session",
            "X-Octopus-ApiKey",
            "OCI_CLI_KEY_CONTENT",
            "HONEYCOMB_WRITEKEY",
            "OP_SESSION_my",
            "TOTP_SEED",
            "jwtKey",
            "apikey",
            "Api-Token",
            "encryption_key",
            "SESSION_SECRET",
            "JWT_SECRET_KEY",
            "LOGDNA_INGESTION_KEY",
            "FLAGSMITH_SERVER_KEY",
            "PresharedKey",
            "secret_id",
        ];
        for k in token {
            assert_eq!(
                classify_key(k.as_bytes()).map(|k| k.class),
                Some(KeyClass::Token),
                "{k}"
            );
        }
        assert_eq!(
            classify_key(b"Authorization").map(|k| k.class),
            Some(KeyClass::Authorization)
        );
    }

    #[test]
    fn names_that_are_not_secrets() {
        for k in [
            "CACHE_KEY",
            "GPG_KEY",
            "NEXT_PUBLIC_POSTHOG_KEY",
            "ALGOLIA_SEARCH_ONLY_KEY",
            "MIXPANEL_PROJECT_TOKEN",
            "NEXT_PUBLIC_AMPLITUDE_API_KEY",
            "PUSHER_APP_KEY",
            "RECAPTCHA_SITE_KEY",
            "LoadCredential",
            "SORT_KEY",
            "cache_key",
            "SSH_HOST_KEY",
            "routing_key",
            "password_reset_url",
            "token_type",
            "token_endpoint",
            "max_tokens",
            "secretName",
            "secret_name",
            "secretKeyRef",
            "api_key_id",
            "secret_id_ttl",
            "key",
            "cache_key",
            "primaryKey",
            "public_key",
            "keyword",
            "csrf_token",
            "next_page_token",
            "TOKENIZERS_PARALLELISM",
            "password_hash",
            "PASSWORD_MIN_LENGTH",
            "--password-stdin",
            "--no-password",
            "credentialsId",
            "access_token_url",
            "SSH_ASKPASS",
            "GIT_ASKPASS",
            "author",
            "authentication",
            "auth_method",
            "bypass",
            "passed",
            "keySelector",
            "secret_length",
            "issuerKeyHash",
            "XDG_SESSION_ID",
            "publicToken",
            "kms_key_id",
            "key_vault_name",
            "ClientRequestToken",
            "idempotency_token",
            // A message broker's routing key (`orders.created`) is no secret; PagerDuty's
            // Events API key under that name is missed for it (a 32-digit hex value, no prefix).
            "routing_key",
        ] {
            assert_eq!(classify_key(k.as_bytes()), None, "{k}");
        }
    }
}
