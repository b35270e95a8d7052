//! Secrets stored base64- or hex-encoded: the engine decodes runs of such characters and
//! checks the result again (see `Engine::scan_encoded`), to a bounded depth.
//!
//! A run is only decoded where one of the engine's keywords appears in encoded form: the
//! known prefixes of token families (`ghp_`, `sk-ant-`, `AKIA`...) and the words of secret
//! names (`password`, `token`...), base64-encoded at each of the three byte offsets (the
//! characters that offset alone determines, as GitHub Actions masks them) and hex-encoded. So
//! ordinary base64 (integrity hashes, images) and hex (digests, commit ids) cost a keyword
//! search, not a decode.

/// Shortest run decoded (shorter ones hold no token).
pub(crate) const MIN_RUN: usize = 16;
/// Longest run decoded.
pub(crate) const MAX_RUN: usize = 64 * 1024;
/// Shortest encoded keyword fragment used (shorter ones would fire in any base64).
const MIN_FRAGMENT: usize = 4;

/// The standard base64 alphabet.
pub(crate) const STD: &[u8; 64] = &table(b'+', b'/');
/// The base64url alphabet.
pub(crate) const URL: &[u8; 64] = &table(b'-', b'_');

/// A base64 alphabet (built, not written out: a literal one looks like a secret to scanners).
const fn table(c62: u8, c63: u8) -> [u8; 64] {
    let mut t = [0u8; 64];
    let mut i = 0;
    while i < 26 {
        t[i] = b'A' + i as u8;
        t[26 + i] = b'a' + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[52 + d] = b'0' + d as u8;
        d += 1;
    }
    t[62] = c62;
    t[63] = c63;
    t
}

/// The base64 characters determined by `lit` alone at byte offset `offset` (0..3).
pub(crate) fn fragment(lit: &[u8], offset: usize, alphabet: &[u8; 64]) -> Vec<u8> {
    let mut data = vec![0u8; offset];
    data.extend_from_slice(lit);
    let mut enc = Vec::with_capacity(data.len() * 4 / 3 + 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            enc.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize]);
        }
    }
    let start = (8 * offset).div_ceil(6);
    let end = (8 * data.len()) / 6;
    enc.get(start..end.max(start)).unwrap_or_default().to_vec()
}

/// Keywords that find `lit` encoded: base64 at three offsets (and base64url where it
/// differs) and hex, in lower and in upper case (the table they go in may be case-sensitive).
pub(crate) fn encoded_keywords(lit: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for offset in 0..3 {
        for alphabet in [STD, URL] {
            let f = fragment(lit, offset, alphabet);
            if f.len() >= MIN_FRAGMENT {
                out.push(String::from_utf8_lossy(&f).into_owned());
            }
        }
    }
    out.push(lit.iter().map(|b| format!("{b:02x}")).collect());
    out.push(lit.iter().map(|b| format!("{b:02X}")).collect());
    out.sort();
    out.dedup();
    out
}

fn b64_value(b: u8) -> Option<u32> {
    Some(match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    } as u32)
}

/// Decodes base64 (either alphabet, padding optional); `None` on a character outside it.
#[cfg(test)]
pub(crate) fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    let text = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(text);
    decode(text, false, |_| true)
}

/// Watches bytes as they are decoded and says when [`is_text`] can no longer hold for the
/// whole, so the random bytes of a digest or an integrity hash are dropped after a few.
/// Sound: it only counts bytes that are bad in both of `is_text`'s readings (an ASCII control
/// always; a byte of 0x80 and up once the bytes cannot be UTF-8).
struct Screen {
    /// Length of the whole decoding.
    len: usize,
    /// ASCII controls other than tab, newline and carriage return.
    controls: usize,
    /// Bytes of 0x80 and up.
    high: usize,
    /// Continuation bytes the current UTF-8 sequence still needs.
    pending: u8,
    /// Seen a sequence no UTF-8 text holds.
    invalid: bool,
}

impl Screen {
    fn new(len: usize) -> Screen {
        Screen {
            len,
            controls: 0,
            high: 0,
            pending: 0,
            invalid: false,
        }
    }

    /// Takes the next byte; `false` once the whole cannot be text.
    fn push(&mut self, b: u8) -> bool {
        if b >= 0x80 {
            self.high += 1;
            match (self.pending, b) {
                (1.., 0x80..=0xBF) => self.pending -= 1,
                (0, 0xC2..=0xDF) => self.pending = 1,
                (0, 0xE0..=0xEF) => self.pending = 2,
                (0, 0xF0..=0xF4) => self.pending = 3,
                _ => self.invalid = true,
            }
        } else {
            if self.pending > 0 {
                self.invalid = true;
            }
            if (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7F {
                self.controls += 1;
            }
        }
        let bad = if self.invalid {
            self.controls + self.high
        } else {
            self.controls
        };
        bad * 20 <= self.len
    }
}

fn hex_value(b: u8) -> Option<u8> {
    Some(match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => return None,
    })
}

/// What `core` (hex, or base64 of either alphabet without its padding) decodes to, when that
/// is text ([`is_text`]); decoding stops as soon as it cannot be.
fn text_decoding(core: &[u8], hex: bool) -> Option<Vec<u8>> {
    if hex && !core.len().is_multiple_of(2) {
        return None;
    }
    let len = if hex {
        core.len() / 2
    } else {
        core.len() * 6 / 8
    };
    if len < 8 {
        return None;
    }
    let mut screen = Screen::new(len);
    let out = decode(core, hex, |b| screen.push(b))?;
    is_text(&out).then_some(out)
}

/// Decodes hex (of even length) or base64 (either alphabet, no padding; leftover bits are
/// dropped), handing each byte to `keep` first: `None` on a character outside the alphabet,
/// or as soon as `keep` says no.
fn decode(core: &[u8], hex: bool, mut keep: impl FnMut(u8) -> bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(if hex {
        core.len() / 2
    } else {
        core.len() * 3 / 4
    });
    if hex {
        for p in core.chunks_exact(2) {
            let b = (hex_value(p[0])? << 4) | hex_value(p[1])?;
            if !keep(b) {
                return None;
            }
            out.push(b);
        }
        return Some(out);
    }
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in core {
        acc = (acc << 6) | b64_value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            let b = (acc >> bits) as u8;
            if !keep(b) {
                return None;
            }
            out.push(b);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Decoded bytes worth checking again: text (printable characters, tabs and newlines; UTF-8
/// only when all of it is valid UTF-8) for at least 95 % of it, so random bytes are not
/// scanned.
pub(crate) fn is_text(bytes: &[u8]) -> bool {
    if bytes.len() < 8 {
        return false;
    }
    let printable = |c: char| !c.is_control() || matches!(c, '\t' | '\n' | '\r');
    let (ok, n) = match std::str::from_utf8(bytes) {
        Ok(s) => (
            s.chars().filter(|&c| printable(c)).count(),
            s.chars().count(),
        ),
        Err(_) => (
            bytes
                .iter()
                .filter(|&&b| b < 0x80 && printable(char::from(b)))
                .count(),
            bytes.len(),
        ),
    };
    ok * 20 >= n * 19
}

/// Base64 characters of either alphabet.
const B64_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_');
        b += 1;
    }
    t
};

fn is_b64_byte(b: u8) -> bool {
    B64_BYTES[usize::from(b)]
}

/// Runs of base64 or hex characters in `text` (with trailing `=`), at least [`MIN_RUN`] long.
pub(crate) fn runs(text: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if !is_b64_byte(text[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < text.len() && is_b64_byte(text[i]) {
            i += 1;
        }
        while i < text.len() && text[i] == b'=' && i - start < MAX_RUN {
            i += 1;
        }
        if i - start >= MIN_RUN && i - start <= MAX_RUN {
            out.push((start, i));
        }
    }
    out
}

/// Whether the encoded detector could find anything in `text` (read as it is: escaped text
/// is normalised first, which can make runs): a run that decodes to text, or one too long for
/// a window to hold whole (a window cuts it, and a cut run may decode to text where the whole
/// does not).
pub(crate) fn may_hold_encoded(text: &[u8]) -> bool {
    runs(text)
        .iter()
        .any(|&(s, e)| e - s > CUT_RUN || !decodings(&text[s..e]).is_empty())
}

/// Runs longer than this may be cut by the edge of a window (windows reach at least this far
/// each side of a keyword and stop at a delimiter, which a run holds none of).
const CUT_RUN: usize = 512;

/// The decodings of a run worth checking: hex when it is all hex, else base64 read from each
/// of the four positions a run cut by a window edge may start at.
pub(crate) fn decodings(run: &[u8]) -> Vec<Vec<u8>> {
    let core = run
        .strip_suffix(b"==")
        .or_else(|| run.strip_suffix(b"="))
        .unwrap_or(run);
    if core.iter().all(u8::is_ascii_hexdigit) {
        return text_decoding(core, true).into_iter().collect();
    }
    let mut out = Vec::new();
    for skip in 0..4.min(core.len()) {
        // Leftover bits at the end are dropped, so any length decodes.
        if let Some(d) = text_decoding(&core[skip..], false) {
            out.push(d);
        }
    }
    out
}

/// An environment value that is wholly an encoding, decoded (base64 of either alphabet, with
/// or without padding, or hex).
pub(crate) fn whole_value(value: &[u8]) -> Option<Vec<u8>> {
    let v = value.trim_ascii();
    if v.len() < MIN_RUN || v.len() > MAX_RUN {
        return None;
    }
    let core = v
        .strip_suffix(b"==")
        .or_else(|| v.strip_suffix(b"="))
        .unwrap_or(v);
    if !core.iter().all(|&b| is_b64_byte(b)) {
        return None;
    }
    if core.iter().all(u8::is_ascii_hexdigit) {
        if let Some(d) = text_decoding(core, true) {
            return Some(d);
        }
    }
    text_decoding(core, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(data: &[u8]) -> String {
        let mut s = String::new();
        for c in data.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    s.push(char::from(STD[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    s.push('=');
                }
            }
        }
        s
    }

    #[test]
    fn fragments_are_in_every_encoding_of_the_literal() {
        for prefix in ["", "a", "ab", "abc", "user:"] {
            let data = format!("{prefix}ghp_rest-of-token");
            let enc = b64(data.as_bytes());
            let kws = encoded_keywords(b"ghp_");
            assert!(
                kws.iter().any(|k| enc.contains(k.as_str())),
                "prefix {prefix:?}"
            );
        }
        assert!(encoded_keywords(b"ghp_").contains(&"6768705f".to_string()));
    }

    #[test]
    fn decodes_runs_and_whole_values() {
        let text = "the quick brown fox jumps over the lazy dog";
        let enc = b64(text.as_bytes());
        assert_eq!(decode_base64(enc.as_bytes()).unwrap(), text.as_bytes());
        assert_eq!(whole_value(enc.as_bytes()).unwrap(), text.as_bytes());
        let hex: String = text.bytes().map(|b| format!("{b:02X}")).collect();
        assert_eq!(whole_value(hex.as_bytes()).unwrap(), text.as_bytes());
        // A run cut anywhere still decodes at one of the four starts.
        let line = format!("x={}", &enc[5..]);
        let (s, e) = runs(line.as_bytes())[0];
        let all = decodings(&line.as_bytes()[s..e]);
        assert!(all
            .iter()
            .any(|d| String::from_utf8_lossy(d).contains("lazy dog")));
        // Digests are not text.
        let digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert!(whole_value(digest.as_bytes()).is_none());
        assert!(decodings(digest.as_bytes()).is_empty());
        assert!(whole_value(b"/usr/local/bin").is_none());
    }
}
