//! Normalized views of a window: JSON string escapes and percent-encoded delimiters decoded
//! and ANSI escape sequences removed, with a map back to input offsets so a match found in
//! the view masks the exact input bytes (escape sequences included).

/// Bytes that make a window worth normalizing: an escape sequence (a backslash before
/// anything but a line end, which continues a shell line), ESC, or a percent-encoded
/// delimiter.
pub(crate) fn needs_normalizing(window: &[u8]) -> bool {
    window.iter().enumerate().any(|(i, &b)| {
        b == 0x1b
            || (b == b'\\' && !matches!(window.get(i + 1), Some(b'\n' | b'\r') | None))
            || (b == b'%' && percent_delimiter(&window[i + 1..]).is_some())
    })
}

/// The delimiter that `%XX` at the start of `b` encodes: only those that give a URL, a query
/// or an assignment its shape (`%3A%2F%2F`, `%40`, `%3D`), so a redirect URL's parameters and
/// an encoded connection string read as written. Other escapes (`%20`, a printf `%2d`) stay.
fn percent_delimiter(b: &[u8]) -> Option<u8> {
    let hex = |c: u8| char::from(c).to_digit(16);
    let v = hex(*b.first()?)? * 16 + hex(*b.get(1)?)?;
    let c = u8::try_from(v).ok()?;
    b":/?#@&=+,;\"'".contains(&c).then_some(c)
}

/// A decoded copy of a window plus, for every output byte, the input span it came from.
pub(crate) struct Normalized {
    /// The decoded bytes.
    pub text: Vec<u8>,
    starts: Vec<u32>,
    ends: Vec<u32>,
}

impl Normalized {
    /// Input span (relative to the window) of the output span `[start, end)`.
    pub fn input_span(&self, start: usize, end: usize) -> (usize, usize) {
        if start >= end || end > self.text.len() {
            // Empty spans never become findings; keep the map total anyway.
            let at = self.starts.get(start).copied().unwrap_or(0) as usize;
            return (at, at);
        }
        (self.starts[start] as usize, self.ends[end - 1] as usize)
    }

    fn push(&mut self, byte: u8, from: usize, to: usize) {
        self.text.push(byte);
        // Windows are far below 4 GiB (bounded by MAX_WINDOW and the line cap).
        self.starts.push(from as u32);
        self.ends.push(to as u32);
    }
}

fn hex4(b: &[u8]) -> Option<u32> {
    if b.len() < 4 {
        return None;
    }
    let mut v = 0u32;
    for &c in &b[..4] {
        v = v * 16 + char::from(c).to_digit(16)?;
    }
    Some(v)
}

/// Decodes JSON escapes (`\"`, `\\`, `\/`, `\n`, `\uXXXX` incl. surrogate pairs) and drops
/// ANSI CSI/OSC sequences. Anything else is copied unchanged.
pub(crate) fn normalize(input: &[u8]) -> Normalized {
    let mut n = Normalized {
        text: Vec::with_capacity(input.len()),
        starts: Vec::with_capacity(input.len()),
        ends: Vec::with_capacity(input.len()),
    };
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'\\' && i + 1 < input.len() {
            let simple = match input[i + 1] {
                b'"' => Some(b'"'),
                b'\\' => Some(b'\\'),
                b'/' => Some(b'/'),
                b'n' => Some(b'\n'),
                b'r' => Some(b'\r'),
                b't' => Some(b'\t'),
                b'b' => Some(0x08),
                b'f' => Some(0x0c),
                _ => None,
            };
            if let Some(c) = simple {
                n.push(c, i, i + 2);
                i += 2;
                continue;
            }
            if input[i + 1] == b'u' {
                if let Some(cp) = hex4(&input[i + 2..]) {
                    let (ch, len) = if (0xD800..0xDC00).contains(&cp) {
                        // High surrogate: only meaningful with a following low surrogate.
                        let low = if input.get(i + 6) == Some(&b'\\')
                            && input.get(i + 7) == Some(&b'u')
                        {
                            hex4(&input[i + 8..]).filter(|l| (0xDC00..0xE000).contains(l))
                        } else {
                            None
                        };
                        match low {
                            Some(l) => (
                                char::from_u32(0x10000 + ((cp - 0xD800) << 10) + (l - 0xDC00)),
                                12,
                            ),
                            None => (None, 6),
                        }
                    } else {
                        (char::from_u32(cp), 6)
                    };
                    if let Some(ch) = ch {
                        let mut buf = [0u8; 4];
                        for &byte in ch.encode_utf8(&mut buf).as_bytes() {
                            n.push(byte, i, i + len);
                        }
                        i += len;
                        continue;
                    }
                }
            }
            n.push(b, i, i + 1);
            i += 1;
            continue;
        }
        if b == b'%' {
            if let Some(c) = percent_delimiter(&input[i + 1..]) {
                n.push(c, i, i + 3);
                i += 3;
                continue;
            }
        }
        if b == 0x1b {
            let end = ansi_end(input, i);
            if end > i + 1 {
                i = end;
                continue;
            }
        }
        n.push(b, i, i + 1);
        i += 1;
    }
    n
}

/// End of the ANSI escape sequence starting at `start` (an ESC byte), or `start + 1` if
/// it is not a recognised sequence. Bounded so a stray ESC cannot swallow a line.
fn ansi_end(input: &[u8], start: usize) -> usize {
    const MAX: usize = 64;
    match input.get(start + 1) {
        Some(b'[') => {
            // CSI: parameters and intermediates, then one final byte in 0x40..=0x7e.
            let mut j = start + 2;
            while j < input.len() && j < start + MAX {
                let c = input[j];
                if (0x40..=0x7e).contains(&c) {
                    return j + 1;
                }
                if !(0x20..=0x3f).contains(&c) {
                    break;
                }
                j += 1;
            }
            start + 1
        }
        Some(b']') => {
            // OSC: terminated by BEL or ESC '\'.
            let mut j = start + 2;
            while j < input.len() && j < start + 4 * MAX {
                match input[j] {
                    0x07 => return j + 1,
                    0x1b if input.get(j + 1) == Some(&b'\\') => return j + 2,
                    b'\n' => break,
                    _ => j += 1,
                }
            }
            start + 1
        }
        Some(c) if (0x40..=0x5f).contains(c) => start + 2,
        _ => start + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_decode_and_map_back() {
        let input = br#"{"k":"a\/b\"c\u002bd\n"}"#;
        let n = normalize(input);
        assert_eq!(n.text, b"{\"k\":\"a/b\"c+d\n\"}".to_vec());
        // "a/b" in output maps to "a\/b" in input.
        let pos = n.text.iter().position(|&b| b == b'a').unwrap();
        let (s, e) = n.input_span(pos, pos + 3);
        assert_eq!(&input[s..e], br"a\/b");
        let plus = n.text.iter().position(|&b| b == b'+').unwrap();
        let (s, e) = n.input_span(plus, plus + 1);
        assert_eq!(&input[s..e], br"\u002b");
    }

    #[test]
    fn surrogates_and_bad_escapes() {
        let n = normalize(br"\ud83d\ude00 \ud83d x \q \u12");
        assert_eq!(n.text, "\u{1F600} \\ud83d x \\q \\u12".as_bytes());
    }

    #[test]
    fn percent_encoded_delimiters_decode() {
        let input = b"next=%2Fcb%3Ftoken%3Dv%20x 50%2d";
        let n = normalize(input);
        assert_eq!(n.text, b"next=/cb?token=v%20x 50%2d");
        let q = n.text.iter().position(|&b| b == b'?').unwrap();
        assert_eq!(n.input_span(q, q + 1), (10, 13));
        assert!(!needs_normalizing(b"100% done, %20 and %2d"));
    }

    #[test]
    fn ansi_is_dropped() {
        let input = b"tok\x1b[32men\x1b[0m=\x1b]0;title\x07v";
        let n = normalize(input);
        assert_eq!(n.text, b"token=v");
        let (s, e) = n.input_span(0, n.text.len());
        assert_eq!((s, e), (0, input.len()));
        // A lone ESC is kept.
        assert_eq!(normalize(b"a\x1b").text, b"a\x1b");
    }
}
