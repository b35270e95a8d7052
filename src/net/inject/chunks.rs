//! A push parser for chunked bodies (RFC 9112 §7.1), strict like `net::http`: CRLF line ends,
//! bounded lines and trailers, hex sizes without overflow. It reports every piece so a caller
//! can pass the body on as it is (requests) or re-frame the data it changed (responses).

use crate::net::http::MAX_HEAD;

/// Longest chunk-size or trailer line.
const MAX_LINE: usize = 4096;

/// One piece of a chunked body, in order.
pub(crate) enum Piece<'a> {
    /// A chunk-size line with data to follow (CRLF included).
    Size(&'a [u8]),
    /// Chunk data.
    Data(&'a [u8]),
    /// The CRLF after a chunk's data (or part of it).
    DataEnd(&'a [u8]),
    /// The last-chunk line (`0`, CRLF included).
    Last(&'a [u8]),
    /// A trailer line, or the empty line that ends the body (CRLF included).
    Trailer(&'a [u8]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Size,
    Data(u64),
    DataEnd(u8),
    Trailer,
    Done,
}

/// Where a chunked body is.
#[derive(Debug)]
pub(crate) struct Chunks {
    state: State,
    line: Vec<u8>,
    trailer_bytes: usize,
}

impl Chunks {
    /// At the start of a body.
    pub fn new() -> Chunks {
        Chunks {
            state: State::Size,
            line: Vec::new(),
            trailer_bytes: 0,
        }
    }

    /// The body has ended (nothing after it belongs to it).
    pub fn done(&self) -> bool {
        self.state == State::Done
    }

    /// Feeds `input`; returns how much of it belongs to the body (all of it, unless the body
    /// ended inside it).
    pub fn feed(
        &mut self,
        input: &[u8],
        mut emit: impl FnMut(Piece<'_>),
    ) -> Result<usize, &'static str> {
        let mut at = 0;
        while at < input.len() {
            match self.state {
                State::Done => break,
                State::Data(n) => {
                    let take = (input.len() - at).min(usize::try_from(n).unwrap_or(usize::MAX));
                    emit(Piece::Data(&input[at..at + take]));
                    at += take;
                    let left = n - take as u64;
                    self.state = if left == 0 {
                        State::DataEnd(0)
                    } else {
                        State::Data(left)
                    };
                }
                State::DataEnd(seen) => {
                    let want: &[u8] = &b"\r\n"[usize::from(seen)..];
                    let take = want.len().min(input.len() - at);
                    if input[at..at + take] != want[..take] {
                        return Err("chunk data not followed by CRLF");
                    }
                    emit(Piece::DataEnd(&input[at..at + take]));
                    at += take;
                    let seen = seen + take as u8;
                    self.state = if seen == 2 {
                        State::Size
                    } else {
                        State::DataEnd(seen)
                    };
                }
                State::Size | State::Trailer => {
                    let (used, complete) = self.take_line(&input[at..])?;
                    at += used;
                    if complete {
                        self.on_line(&mut emit)?;
                    }
                }
            }
        }
        Ok(at)
    }

    /// Collects a line; returns bytes used and whether the line is complete.
    fn take_line(&mut self, input: &[u8]) -> Result<(usize, bool), &'static str> {
        let (take, done) = match input.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (input.len(), false),
        };
        if self.line.len() + take > MAX_LINE {
            return Err("chunk line too long");
        }
        self.line.extend_from_slice(&input[..take]);
        Ok((take, done))
    }

    fn on_line(&mut self, emit: &mut impl FnMut(Piece<'_>)) -> Result<(), &'static str> {
        let line = std::mem::take(&mut self.line);
        let content = line
            .strip_suffix(b"\r\n")
            .ok_or("bare LF in chunked body")?;
        if content
            .iter()
            .any(|&b| b == b'\r' || (b < 0x20 && b != b'\t'))
        {
            return Err("control character in chunk line");
        }
        if self.state == State::Trailer {
            self.trailer_bytes += line.len();
            if self.trailer_bytes > MAX_HEAD {
                return Err("chunked trailers too large");
            }
            emit(Piece::Trailer(&line));
            if content.is_empty() {
                self.state = State::Done;
            }
            return Ok(());
        }
        let size = chunk_size(content)?;
        if size == 0 {
            emit(Piece::Last(&line));
            self.state = State::Trailer;
        } else {
            emit(Piece::Size(&line));
            self.state = State::Data(size);
        }
        Ok(())
    }
}

/// The size of a chunk-size line (extensions after `;` ignored).
fn chunk_size(content: &[u8]) -> Result<u64, &'static str> {
    let end = content
        .iter()
        .position(|&b| b == b';')
        .unwrap_or(content.len());
    let hex = content[..end].trim_ascii();
    if hex.is_empty() || hex.len() > 15 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return Err("invalid chunk size");
    }
    let s = std::str::from_utf8(hex).map_err(|_| "invalid chunk size")?;
    u64::from_str_radix(s, 16).map_err(|_| "invalid chunk size")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(body: &[u8], step: usize) -> (Vec<u8>, Vec<u8>, usize) {
        let mut c = Chunks::new();
        let (mut raw, mut data) = (Vec::new(), Vec::new());
        let mut used = 0;
        for part in body.chunks(step) {
            used += c
                .feed(part, |p| match p {
                    Piece::Data(d) => {
                        raw.extend_from_slice(d);
                        data.extend_from_slice(d);
                    }
                    Piece::Size(l) | Piece::DataEnd(l) | Piece::Last(l) | Piece::Trailer(l) => {
                        raw.extend_from_slice(l)
                    }
                })
                .unwrap();
            if c.done() {
                break;
            }
        }
        (raw, data, used)
    }

    #[test]
    fn parses_in_any_steps() {
        let body = b"5;x=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        for step in 1..body.len() {
            let (raw, data, used) = pieces(body, step);
            assert_eq!(data, b"hello world");
            assert_eq!(raw, &body[..body.len() - 4]);
            assert_eq!(used, body.len() - 4);
        }
    }

    #[test]
    fn refuses_bad_framing() {
        for bad in [
            &b"zz\r\n"[..],
            b"5\r\nhelloXX",
            b"5\nhello\r\n",
            b"1234567890abcdef0\r\n",
        ] {
            let mut c = Chunks::new();
            assert!(c.feed(bad, |_| {}).is_err(), "{bad:?}");
        }
    }
}
