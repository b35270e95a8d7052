//! Invisible characters inside a token (zero-width spaces and joiners, word joiner, byte-order
//! mark, soft hyphen) do not hide it: the engine removes them from the line and checks it again
//! (see `Engine::scan_invisible`), masking the original bytes.

/// The invisible characters removed (their UTF-8 forms are the engine's keywords).
pub(crate) const INVISIBLE: &[char] = &[
    '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{00AD}', '\u{180E}',
];

/// Engine keywords: each character's UTF-8 bytes.
pub(crate) fn keywords() -> Vec<String> {
    INVISIBLE.iter().map(|c| c.to_string()).collect()
}

/// `text` without invisible characters, and for each byte kept, where it was; `None` when
/// there was none to remove.
pub(crate) fn strip(text: &[u8]) -> Option<(Vec<u8>, Vec<usize>)> {
    let mut out = Vec::with_capacity(text.len());
    let mut pos = Vec::with_capacity(text.len());
    let mut i = 0;
    let mut removed = false;
    while i < text.len() {
        let len = INVISIBLE.iter().find_map(|c| {
            let mut buf = [0u8; 4];
            let enc = c.encode_utf8(&mut buf).as_bytes();
            text[i..].starts_with(enc).then_some(enc.len())
        });
        match len {
            Some(n) => {
                removed = true;
                i += n;
            }
            None => {
                out.push(text[i]);
                pos.push(i);
                i += 1;
            }
        }
    }
    removed.then_some((out, pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_and_maps_back() {
        let text = "ab\u{200B}cd\u{FEFF}e".as_bytes();
        let (out, pos) = strip(text).unwrap();
        assert_eq!(out, b"abcde");
        assert_eq!(pos, [0, 1, 5, 6, 10]);
        assert!(strip(b"plain").is_none());
        assert!(keywords().iter().all(|k| k.len() >= 2));
    }
}
