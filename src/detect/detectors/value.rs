//! Whether a value written after a secret name is a secret, not a placeholder, a reference, a
//! path, a number or a word. No entropy threshold: it would miss short human passwords
//! (`secret-rules.md`, "Pitfalls"); the shape of the value decides instead.

use super::keys::KeyClass;
use crate::detect::allow;

/// How the value was written.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Written {
    /// In quotes.
    pub quoted: bool,
    /// Nothing but a separator or the end of the line follows (not more words of prose).
    pub ended: bool,
    /// The context says it is a credential (the password argument of a known command): a
    /// value of letters only counts whatever its case (`sshpass -p dagZdoOn`).
    pub certain: bool,
}

/// Shortest password counted (shorter ones are examples: `pass`, `123`).
const MIN_PASSWORD: usize = 6;
/// Shortest token counted.
const MIN_TOKEN: usize = 10;
/// Longest value considered (longer is a blob, not one secret).
const MAX_VALUE: usize = 4096;
/// Letters-only passwords this long or longer are counted when they stand alone.
const MIN_WORD_PASSWORD: usize = 8;

/// Values that say something about the secret instead of being it (compared case-blind).
const VALUE_WORDS: &[&str] = &[
    "required",
    "optional",
    "string",
    "text",
    "value",
    "password",
    "passwd",
    "passphrase",
    "secret",
    "secrets",
    "token",
    "apikey",
    "hidden",
    "masked",
    "removed",
    "omitted",
    "filtered",
    "sensitive",
    "protected",
    "private",
    "public",
    "empty",
    "unset",
    "notset",
    "unknown",
    "missing",
    "invalid",
    "expired",
    "revoked",
    "provided",
    "supplied",
    "default",
    "disabled",
    "enabled",
    "bearer",
    "basic",
    "digest",
    "oauth",
    "oauth2",
    "plain",
    "plaintext",
    "test",
    "testing",
    "dummy",
    "fake",
    "sample",
    "admin",
    "root",
    "guest",
    "user",
    "username",
    "login",
    "secure",
    "insecure",
    "encrypted",
    "generated",
    "random",
    "environment",
    "keychain",
    "keyring",
    "prompt",
    "stdin",
    "inline",
    "base64",
    "unavailable",
    "letmein",
];

/// Shannon entropy is not used; this is the shape test instead. True when `v` is made of at
/// least two of: lowercase, uppercase, digits, symbols.
fn mixed(v: &[u8]) -> bool {
    let classes = [
        v.iter().any(u8::is_ascii_lowercase),
        v.iter().any(u8::is_ascii_uppercase),
        v.iter().any(u8::is_ascii_digit),
        v.iter().any(|b| !b.is_ascii_alphanumeric()),
    ];
    classes.iter().filter(|&&c| c).count() >= 2
}

/// Not a name or a word, and of two character classes or more (`Xk93pQ7z`, not
/// `mismatch` or `incorrect`).
pub(crate) fn random_looking(v: &[u8]) -> bool {
    !reads_as_name(v) && mixed(v) && !is_number(v) && !is_path(v) && !is_url(v)
}

/// `PascalCase`, `camelCase`, `snake_case`, `kebab-case`, `dotted.name` or a mostly-one-case
/// run of letters: a name in code or prose, not a secret.
fn reads_as_name(v: &[u8]) -> bool {
    if allow::reads_as_identifier(v) {
        return true;
    }
    if !v
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return false;
    }
    // Dotted references (`os.environ`, `X25519.KeyPair`, `Rails.application.secret`): every
    // part an identifier, the last one words.
    let parts: Vec<&[u8]> = v.split(|&b| b == b'.').collect();
    if parts.len() > 1
        && parts.iter().all(|p| {
            p.first()
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
                && p.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
        })
        && parts
            .last()
            .is_some_and(|l| l.len() >= 3 && (camel_words(l) || allow::reads_as_identifier(l)))
        && parts[..parts.len() - 1].iter().all(|p| {
            camel_words(p)
                || allow::reads_as_identifier(p)
                || (p.len() <= 12 && !all_three_cases(p) && letters_then_digits(p))
        })
    {
        return true;
    }
    camel_words(v)
}

/// Words in camel or Pascal case, optionally joined by `_` or `-`, each of three letters or
/// more with a vowel among them and at most two digits after them (`KeyPair`,
/// `ultraPictureBox1`, `max-retries`). Random text rarely splits that way.
fn camel_words(v: &[u8]) -> bool {
    let mut i = 0;
    let mut words = 0;
    while i < v.len() {
        if matches!(v[i], b'_' | b'-') && i > 0 {
            i += 1;
            continue;
        }
        let start = i;
        if v[i].is_ascii_uppercase() {
            i += 1;
        }
        while i < v.len() && v[i].is_ascii_lowercase() {
            i += 1;
        }
        if i - start < 3 || !v[start..i].iter().any(|b| b"aeiouyAEIOUY".contains(b)) {
            return false;
        }
        let digits = v[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 2 {
            return false;
        }
        i += digits;
        words += 1;
    }
    words >= 1
}

/// Camel case, or every part (split at `_ - .`) in one case or capitalised: how names are
/// written (`my-tls-secret`, `ASIA_PACIFIC`, `Opaque`, `KeyPair`), unlike `yeFqe-ncO`.
fn cased_parts(v: &[u8]) -> bool {
    let cased = |p: &[u8]| {
        let rest = p.get(1..).unwrap_or_default();
        p.iter().all(|b| !b.is_ascii_uppercase())
            || p.iter().all(|b| !b.is_ascii_lowercase())
            || rest.iter().all(|b| !b.is_ascii_uppercase())
    };
    camel_words(v)
        || v.split(|b| b"_-.".contains(b))
            .all(|p| cased(p) || camel_words(p))
}

/// Letters, then digits only (`os`, `v2`, `X25519`), unlike `vl9z`.
fn letters_then_digits(p: &[u8]) -> bool {
    let letters = p.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    p[letters..].iter().all(u8::is_ascii_digit)
}

/// Lowercase, uppercase and digits all in `p` (`Qr5HN`: random text, not a name).
fn all_three_cases(p: &[u8]) -> bool {
    p.iter().any(u8::is_ascii_lowercase)
        && p.iter().any(u8::is_ascii_uppercase)
        && p.iter().any(u8::is_ascii_digit)
}

/// A path, unless one of its parts reads as random text: base64 may start with `/`
/// (`/ZkryLdS0MGGygXhOjVZYbsca6KLiRKB/Ejao…`), a path's parts are names, hashes in one case
/// or temporary names with a dot.
fn is_path(v: &[u8]) -> bool {
    let random_part = |p: &&[u8]| p.len() >= 16 && !p.contains(&b'.') && all_three_cases(p);
    if v.split(|&b| b == b'/').any(|p| random_part(&p)) || v.contains(&b'+') {
        return false;
    }
    v.starts_with(b"/")
        || v.starts_with(b"./")
        || v.starts_with(b"../")
        || v.starts_with(b"~/")
        || v.starts_with(b"file:")
        || (v.len() > 2 && v[0].is_ascii_alphabetic() && v[1] == b':' && v[2] == b'\\')
}

fn is_url(v: &[u8]) -> bool {
    let Some(p) = v.windows(3).position(|w| w == b"://") else {
        return false;
    };
    p > 0
        && v[..p]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"+.-".contains(&b))
}

/// A number or a version (`4096`, `1.2.3`, `v2.0.1-rc1`).
fn is_number(v: &[u8]) -> bool {
    let v = v.strip_prefix(b"v").unwrap_or(v);
    v.first().is_some_and(u8::is_ascii_digit) && v.iter().all(|&b| b.is_ascii_digit() || b == b'.')
}

/// `name-1.2.3`, `jjwt-jackson-0.11.2`, `openssl_3.0`: a name and a version (a package or
/// an artifact), not a secret: the name part reads as words and the version has a dot.
fn is_versioned_name(v: &[u8]) -> bool {
    if !v.contains(&b'.') {
        return false;
    }
    let Some(cut) = v.iter().rposition(|b| matches!(b, b'-' | b'_' | b'@')) else {
        return false;
    };
    let (name, version) = (&v[..cut], &v[cut + 1..]);
    !name.is_empty() && version.contains(&b'.') && is_number(version) && reads_as_name(name)
}

/// Resource names: `arn:aws:iam::aws:policy/X`, `urn:ietf:params:oauth:grant-type:…`.
fn is_resource_name(v: &[u8]) -> bool {
    (v.starts_with(b"arn:") || v.starts_with(b"urn:"))
        && v[4..]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b":/_.-+=,@*".contains(&b))
}

/// Words that stand for a value that was taken out (`DATA+OMITTED` of `kubectl config view`,
/// `REDACTED_TOKEN`, `<hidden-value>`): letters in one case joined by separators, one of them
/// such a word.
fn names_a_removed_value(v: &[u8]) -> bool {
    const REMOVED: &[&str] = &[
        "omitted",
        "redacted",
        "hidden",
        "masked",
        "removed",
        "filtered",
        "sensitive",
    ];
    let parts = || {
        v.split(|b| !b.is_ascii_alphanumeric())
            .filter(|p| !p.is_empty())
    };
    let one_case =
        |p: &[u8]| p.iter().all(u8::is_ascii_uppercase) || p.iter().all(u8::is_ascii_lowercase);
    parts().count() <= 4
        && parts().all(one_case)
        && parts().any(|p| REMOVED.iter().any(|w| p.eq_ignore_ascii_case(w.as_bytes())))
}

/// The value inside quotes written around it once more (`"'$PW'"` of shell quoting).
fn unquoted(mut v: &[u8]) -> &[u8] {
    while v.len() >= 2 && matches!(v[0], b'"' | b'\'') && v[v.len() - 1] == v[0] {
        v = &v[1..v.len() - 1];
    }
    v
}

/// Whether `v`, written after a name of class `class`, is a secret.
pub(crate) fn plausible(v: &[u8], class: KeyClass, how: Written) -> bool {
    let v = unquoted(v);
    let min = match class {
        KeyClass::Password => MIN_PASSWORD,
        KeyClass::Token | KeyClass::Authorization => MIN_TOKEN,
    };
    if v.len() < min || v.len() > MAX_VALUE {
        return false;
    }
    if allow::globally_allowed(v) || is_path(v) || is_url(v) || is_number(v) {
        return false;
    }
    // A file the value is read from (`password=@/tmp/pw` of vault, curl's `-d @body.json`).
    if v[0] == b'@' && is_path(&v[1..]) {
        return false;
    }
    if is_versioned_name(v) || is_resource_name(v) || names_a_removed_value(v) {
        return false;
    }
    // Azure App Service's reference to a Key Vault secret.
    if v.starts_with(b"@Microsoft.KeyVault(") {
        return false;
    }
    if is_store_reference(v) || is_nested_assignment(v) || is_sealed(v) || is_pulumi_cipher(v) {
        return false;
    }
    // Placeholders and references: `(sensitive value)`, `[hidden]`, `<secret>`, `%(pw)s`,
    // `&lt;x&gt;`; and a sign before a name: `#add-password`, `@Value`, `-flag`, `.env`, a
    // YAML tag (`!vault`, `!Ref`).
    if b"([<{".contains(&v[0])
        || v.starts_with(b"%(")
        || v.starts_with(b"&lt;")
        || (b"#%&@-.*\\!?".contains(&v[0]) && (v.len() < 3 || reads_as_name(&v[1..])))
    {
        return false;
    }
    if VALUE_WORDS
        .iter()
        .any(|w| v.eq_ignore_ascii_case(w.as_bytes()))
    {
        return false;
    }
    if class == KeyClass::Password && app_password(v) {
        return true;
    }
    let spaces = v.iter().filter(|b| b.is_ascii_whitespace()).count();
    if spaces > 0 && (class != KeyClass::Password || spaces > 1 || !how.quoted) {
        return false;
    }
    if !reads_as_name(v) {
        return class == KeyClass::Password || mixed(v) || v.len() >= 20;
    }
    // Letters and separators, but not as names are written (`yeFqe-ncO`): a password, once
    // quoted or alone after its name.
    if class == KeyClass::Password
        && (how.quoted || how.ended)
        && v.len() >= MIN_WORD_PASSWORD
        && !cased_parts(v)
    {
        return true;
    }
    // A name-like password counts only alone and long enough, and as one word: people do
    // pick `thisismypassword`; `my-tls-secret`, `user_password` or `Opaque` are names.
    class == KeyClass::Password
        && (how.quoted || how.ended)
        && v.len() >= MIN_WORD_PASSWORD
        && v.iter().all(u8::is_ascii_alphabetic)
        && (how.certain || !v.iter().skip(1).any(u8::is_ascii_uppercase))
}

/// An app-specific password as Apple and Google show it: four groups of four lowercase
/// letters, joined by dashes or spaces (`abcd-efgh-ijkl-mnop`). Words joined the same way
/// would read as a name, so the shape is taken as it is.
fn app_password(v: &[u8]) -> bool {
    v.len() == 19
        && matches!(v[4], b'-' | b' ')
        && v.chunks(5)
            .all(|g| g[..4].iter().all(u8::is_ascii_lowercase) && (g.len() == 4 || g[4] == v[4]))
}

/// A reference to a secret kept elsewhere: a secret store's scheme, then a path
/// (`vault:transit/keys/release`, `ssm:/prod/db/password`, `op://vault/item/field`).
fn is_store_reference(v: &[u8]) -> bool {
    const SCHEMES: [&[u8]; 12] = [
        b"vault",
        b"ssm",
        b"awssm",
        b"secretsmanager",
        b"gcpsm",
        b"azkv",
        b"kms",
        b"sops",
        b"op",
        b"ref+vault",
        b"ref+awssm",
        b"doppler",
    ];
    let Some(colon) = v.iter().position(|&b| b == b':') else {
        return false;
    };
    let (scheme, path) = (&v[..colon], &v[colon + 1..]);
    SCHEMES.iter().any(|s| scheme.eq_ignore_ascii_case(s))
        && path.contains(&b'/')
        && path
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"/_.-#".contains(&b))
}

/// Shortest value taken for a Sealed Secrets ciphertext.
const MIN_SEALED: usize = 256;

/// A Bitnami Sealed Secrets ciphertext (`encryptedData:` of a `SealedSecret`, made to be
/// committed): base64 that starts with the 16-bit length of its RSA-wrapped session key (two
/// bytes `02 00` for a 4096-bit key: `Ag`), longer than passwords and most tokens are.
fn is_sealed(v: &[u8]) -> bool {
    v.len() >= MIN_SEALED
        && v.starts_with(b"Ag")
        && v.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
}

/// A Pulumi secret encrypted by its passphrase provider (`secure: v1:NONCE:CIPHERTEXT`,
/// made to be committed).
fn is_pulumi_cipher(v: &[u8]) -> bool {
    let Some(rest) = v.strip_prefix(b"v1:") else {
        return false;
    };
    let mut parts = rest.split(|&b| b == b':');
    let b64 = |p: &[u8]| {
        p.len() >= 8
            && p.iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
    };
    matches!((parts.next(), parts.next(), parts.next()), (Some(n), Some(c), None) if b64(n) && b64(c))
}

/// A value that is itself a list of assignments (`--secret id=npm_token,src=...`,
/// `--mount type=secret,id=x`): each of its names is judged on its own.
fn is_nested_assignment(v: &[u8]) -> bool {
    let name = v
        .iter()
        .take_while(|&&b| b.is_ascii_lowercase() || b == b'_')
        .count();
    (1..=16).contains(&name) && v.get(name) == Some(&b'=')
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALONE: Written = Written {
        quoted: false,
        ended: true,
        certain: false,
    };

    fn random(n: usize, seed: u64) -> String {
        crate::detect::rules::expand_template(&format!("@{{alnum:{n}}}"), seed).unwrap()
    }

    #[test]
    fn secrets() {
        let r = random(24, 1);
        for v in [
            r.as_str(),
            "hunter2x",
            "P4ssw0rd!",
            "thisismypassword",
            "s3cr3t$value",
        ] {
            assert!(
                plausible(v.as_bytes(), KeyClass::Password, ALONE),
                "case {}",
                v.len()
            );
        }
        for v in [
            r.as_str(),
            "3fea6af1349166ea",
            "c4ed6c21-9dd5-4a05-8e3f-c56d1151cce8",
            "Sk94HG7f6KBx",
            "/ZkryLdS0MGGygXhOjVZYbsca6KLiRKB/EjaocGUL4lk14+Jt",
        ] {
            assert!(
                plausible(v.as_bytes(), KeyClass::Token, ALONE),
                "case {}",
                v.len()
            );
        }
        let phrase = Written {
            quoted: true,
            ended: true,
            certain: false,
        };
        assert!(plausible(b"open sesame", KeyClass::Password, phrase));
        let argument = Written {
            certain: true,
            ..ALONE
        };
        assert!(plausible(b"dagZdoOn", KeyClass::Password, argument));
        assert!(plausible(b"-Qr5HN.g_qEb", KeyClass::Password, argument));
        assert!(plausible(b"yeFqe-ncO", KeyClass::Password, ALONE));
        assert!(plausible(b"vl9z.Wyiande", KeyClass::Password, ALONE));
        assert!(!plausible(b"changeme", KeyClass::Password, argument));
        // Apple's and Google's app-specific passwords.
        assert!(plausible(b"xacc-fqxg-ipve-ygqg", KeyClass::Password, ALONE));
        assert!(plausible(
            b"ditw rylt munw ouvv",
            KeyClass::Password,
            phrase
        ));
        assert!(!plausible(b"xacc-fqxg-ipve-ygqg", KeyClass::Token, ALONE));
        assert!(!plausible(
            b"v1:qs4mcNbCrDtwM2jN:yI2FTid4hZDwR1w8hxXC4ePlIPy408qS6NtnZnDOU3B+brQ0AOU5nThJsPQI",
            KeyClass::Token,
            ALONE
        ));
        // Not a sealed ciphertext: short, or another start.
        let (sealed_short, other) = (
            format!("Ag{}", random(60, 3)),
            format!("Bg{}", random(300, 3)),
        );
        assert!(plausible(sealed_short.as_bytes(), KeyClass::Token, ALONE));
        assert!(plausible(other.as_bytes(), KeyClass::Token, ALONE));
    }

    #[test]
    fn not_secrets() {
        for v in [
            "required",
            "string",
            "********",
            "<redacted>",
            "(sensitive value)",
            "[hidden]",
            "${DB_PASSWORD}",
            "$(cat /run/secrets/pw)",
            "/etc/ssl/private/server.key",
            "/tmp/tmp.X8fj2kLq9Zp3Wd7Q/token",
            "/var/lib/docker/overlay2/0a1b2c3d4e5f60718293a4b5c6d7e8f9/diff",
            "https://example.org/reset",
            "4096",
            "1.2.3",
            "changeme",
            "my-tls-secret",
            "user_password",
            "os.environ",
            "Rails.application.credentials.secret_key_base",
            "X25519.KeyPair",
            "Opaque",
            "KeyPair",
            "ultraPictureBox1",
            "#add-password",
            "!vault",
            "&lt;YOURPASSWROD&gt;",
            "pass",
            "is too short (minimum is 8 characters)",
            "jjwt-jackson-0.11.2",
            "arn:aws:iam::aws:policy/IAMUserChangePassword",
            "DATA+OMITTED",
            "'$PRECOMPILE_PASSWORD'",
            format!("Ag{}==", random(300, 2)).as_str(),
        ] {
            for class in [KeyClass::Password, KeyClass::Token] {
                assert!(!plausible(v.as_bytes(), class, ALONE), "{v} as {class:?}");
            }
        }
        // Words followed by more words are prose.
        let prose = Written::default();
        assert!(!plausible(b"authentication", KeyClass::Password, prose));
        assert!(!plausible(b"hunter", KeyClass::Password, ALONE));
    }
}
