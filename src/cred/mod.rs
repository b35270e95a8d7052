//! Credential values at launch: read from agentbox's own environment or from the file a profile
//! names, checked, and paired with a placeholder made for this run. The values stay in the
//! supervisor's memory ([`crate::net::inject::Secret`]); the box gets the placeholders.
//!
//! A placeholder has the shape of a real key of its kind (its prefix, then letters and digits)
//! so that clients checking the format accept it, carries `agentbox` after the prefix so a
//! person recognises it, is random per run (getrandom), and is exactly as long as the real
//! value, so that replacing one by the other never changes a `Content-Length`.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::os::unix::ffi::OsStringExt;

use crate::net::inject::{Credential, Secret, Target};
use crate::plan::cred::{CredentialPlan, Scheme, Shape, ValueSource, MIN_VALUE};

/// What makes a placeholder recognisable as agentbox's.
pub const MARKER: &str = "agentbox";

/// Random bytes from getrandom(2); a failure is an error, never a weak value.
pub fn random(buf: &mut [u8]) -> io::Result<()> {
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: the pointer and length describe the unfilled part of `buf`.
        let n = unsafe { libc::getrandom(buf[got..].as_mut_ptr().cast(), buf.len() - got, 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        got += n as usize;
    }
    Ok(())
}

/// A placeholder of `shape`, `len` bytes long.
pub fn placeholder(shape: &Shape, len: usize) -> io::Result<String> {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // At least 16 random characters (95 bits): the prefix and the marker give way first.
    let mut s = String::new();
    if len >= shape.prefix.len() + 16 {
        s.push_str(shape.prefix);
    }
    if len >= s.len() + MARKER.len() + 16 {
        s.push_str(MARKER);
    }
    let mut b = [0u8; 64];
    while s.len() < len {
        random(&mut b)?;
        for &x in &b {
            // 248 = 4 * 62: no bias.
            if x < 248 && s.len() < len {
                s.push(ALNUM[usize::from(x % 62)] as char);
            }
        }
    }
    Ok(s)
}

/// Why a credential's value cannot be used; names the credential and the fix, never the value.
#[derive(Debug)]
pub enum LoadError {
    /// Nothing where the value should be.
    Missing {
        /// Credential.
        name: String,
        /// Where.
        source: String,
    },
    /// Shorter than [`MIN_VALUE`].
    TooShort(String),
    /// Bytes that cannot go in a header (spaces, control characters, non-ASCII).
    NotText(String),
    /// The file could not be read.
    Read {
        /// Credential.
        name: String,
        /// The file.
        source: String,
        /// Why.
        error: io::ErrorKind,
    },
    /// No random bytes.
    Random(io::Error),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Missing { name, source } => write!(
                f,
                "credential {name}: no value in {source}; set it, or leave the credential out of this run"
            ),
            LoadError::TooShort(n) => write!(
                f,
                "credential {n}: the value is shorter than {MIN_VALUE} bytes, too short for a placeholder of its length"
            ),
            LoadError::NotText(n) => write!(
                f,
                "credential {n}: the value has spaces, control or non-ASCII bytes and cannot go in a header"
            ),
            LoadError::Read {
                name,
                source,
                error,
            } => write!(f, "credential {name}: cannot read {source}: {error}"),
            LoadError::Random(e) => write!(f, "no random bytes from getrandom: {e}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// The run's credentials, ready for the proxy.
pub struct Loaded {
    /// For the proxy.
    pub creds: Vec<Credential>,
    /// `(name, placeholder)` for the box's environment.
    pub placeholders: Vec<(String, String)>,
}

impl fmt::Debug for Loaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loaded")
            .field("creds", &self.creds)
            .finish_non_exhaustive()
    }
}

/// Reads every injected credential's value (`var`: agentbox's environment).
pub fn load(
    plan: &CredentialPlan,
    var: impl Fn(&str) -> Option<OsString>,
) -> Result<Loaded, LoadError> {
    let mut out = Loaded {
        creds: Vec::new(),
        placeholders: Vec::new(),
    };
    for c in plan.injected() {
        let source = c.source.to_string();
        let mut raw = match &c.source {
            ValueSource::Env(n) => var(n).map(OsString::into_vec).unwrap_or_default(),
            ValueSource::File(p) => std::fs::read(p).map_err(|e| LoadError::Read {
                name: c.name.clone(),
                source: source.clone(),
                error: e.kind(),
            })?,
        };
        // A file usually ends with a newline.
        while raw.last().is_some_and(|b| b.is_ascii_whitespace()) {
            raw.pop();
        }
        let value = Secret::new(raw);
        if value.is_empty() {
            return Err(LoadError::Missing {
                name: c.name.clone(),
                source,
            });
        }
        if value.len() < MIN_VALUE {
            return Err(LoadError::TooShort(c.name.clone()));
        }
        if !value.bytes().iter().all(|b| (0x21..0x7f).contains(b)) {
            return Err(LoadError::NotText(c.name.clone()));
        }
        let p = loop {
            let p = placeholder(&c.placeholder, value.len()).map_err(LoadError::Random)?;
            if p.as_bytes() != value.bytes() {
                break p;
            }
        };
        out.placeholders.push((c.name.clone(), p.clone()));
        out.creds.push(Credential {
            name: c.name.clone(),
            placeholder: p,
            real: value,
            targets: c
                .hosts
                .iter()
                .map(|h| Target {
                    host: h.host.clone(),
                    port: h.port,
                    cleartext: h.scheme == Scheme::Http,
                })
                .collect(),
            headers: c.substitute.headers.clone(),
            query: c.substitute.query,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_have_the_shape_and_length() {
        let shape = crate::plan::cred::shape("ANTHROPIC_API_KEY", None);
        let a = placeholder(&shape, 108).unwrap();
        let b = placeholder(&shape, 108).unwrap();
        assert_eq!(a.len(), 108);
        assert!(a.starts_with("sk-ant-api03-agentbox"), "{a}");
        assert_ne!(a, b, "random per run");
        let short = placeholder(&shape, 20).unwrap();
        assert_eq!(short.len(), 20);
        assert!(short.chars().all(|c| c.is_ascii_alphanumeric()));
        let g = placeholder(&crate::plan::cred::shape("GEMINI_API_KEY", None), 39).unwrap();
        assert!(g.starts_with("AIzaagentbox") && g.len() == 39, "{g}");
    }
}
