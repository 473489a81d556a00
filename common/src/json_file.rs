//! Docker's json-file log line, both ways: the shim writes one object a line,
//! `{"log":"hello\n","stream":"stdout","time":"2026-…Z"}`, and the daemon reads
//! them back. Both sides are hot loops (100 MB of output is 1.25 million lines),
//! so the scans for newlines and for bytes JSON must escape look at eight bytes
//! at a time ("SWAR": SIMD within a register) instead of one (docs/08-logs.md).

use crate::stream_frame::Stream;

/// Appends the json-file line for `line` (one piece of output, usually ending
/// in `\n`) to `out`. Bytes that are not UTF-8 become U+FFFD, as Go's JSON
/// encoder does in Docker.
pub fn push_line(out: &mut Vec<u8>, line: &[u8], stream: Stream, time: &str) {
    out.extend_from_slice(b"{\"log\":\"");
    match std::str::from_utf8(line) {
        Ok(text) => push_escaped(out, text.as_bytes()),
        Err(_) => push_escaped(out, String::from_utf8_lossy(line).as_bytes()),
    }
    out.extend_from_slice(b"\",\"stream\":\"");
    out.extend_from_slice(stream.name().as_bytes());
    out.extend_from_slice(b"\",\"time\":\"");
    out.extend_from_slice(time.as_bytes());
    out.extend_from_slice(b"\"}\n");
}

/// Appends a json-file line for each complete line (ending in `\n`) of
/// `bytes` and returns the unfinished rest. One scan per line finds both the
/// bytes to escape and the newline that ends it: the hot loop of ingestion.
pub fn push_lines<'a>(out: &mut Vec<u8>, bytes: &'a [u8], stream: Stream, time: &str) -> &'a [u8] {
    let mut rest = bytes;
    loop {
        let line_start = out.len();
        out.extend_from_slice(b"{\"log\":\"");
        let mut done = 0;
        // Ends at this line's newline, or — with no newline left — at the
        // unfinished rest, which is handed back.
        let newline = loop {
            let Some(found) = find_special(&rest[done..]) else {
                out.truncate(line_start);
                return rest;
            };
            let at = done + found;
            out.extend_from_slice(&rest[done..at]);
            done = at + 1;
            match rest[at] {
                b'\n' => break at,
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                control => out.extend_from_slice(format!("\\u{control:04x}").as_bytes()),
            }
        };
        let line = &rest[..=newline];
        if std::str::from_utf8(line).is_ok() {
            out.extend_from_slice(b"\\n\",\"stream\":\"");
            out.extend_from_slice(stream.name().as_bytes());
            out.extend_from_slice(b"\",\"time\":\"");
            out.extend_from_slice(time.as_bytes());
            out.extend_from_slice(b"\"}\n");
        } else {
            out.truncate(line_start);
            push_line(out, line, stream, time);
        }
        rest = &rest[newline + 1..];
    }
}

/// JSON string escaping of UTF-8 text: the runs between special bytes are
/// copied whole.
fn push_escaped(out: &mut Vec<u8>, text: &[u8]) {
    let mut rest = text;
    while let Some(at) = find_special(rest) {
        out.extend_from_slice(&rest[..at]);
        match rest[at] {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            control => out.extend_from_slice(format!("\\u{control:04x}").as_bytes()),
        }
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
}

/// One line read back: which stream, the text, and the time it was logged.
pub struct LogLine<'a> {
    pub stream: Stream,
    pub text: Text<'a>,
    /// RFC 3339 with nanoseconds.
    pub time: std::borrow::Cow<'a, str>,
}

/// The logged text: still JSON-escaped in the file (unescaped on the way
/// out, without an allocation), or already decoded by the slow path.
pub enum Text<'a> {
    Escaped(&'a [u8]),
    Decoded(Vec<u8>),
}

impl LogLine<'_> {
    /// Appends the text as the container wrote it.
    pub fn write_text(&self, out: &mut Vec<u8>) -> Option<()> {
        match &self.text {
            Text::Escaped(raw) => unescape_into(raw, out),
            Text::Decoded(bytes) => {
                out.extend_from_slice(bytes);
                Some(())
            }
        }
    }

    /// The line's time as nanoseconds since the epoch.
    pub fn nanos(&self) -> Option<i128> {
        crate::time::parse_rfc3339(&self.time)
    }
}

/// Decodes one line (without its trailing newline). The fields in the shim's
/// order are read in place; any other well-formed JSON line takes the slow
/// path through `serde_json`.
pub fn decode(line: &[u8]) -> Option<LogLine<'_>> {
    decode_in_place(line).or_else(|| decode_slow(line))
}

fn decode_in_place(line: &[u8]) -> Option<LogLine<'_>> {
    let rest = line.strip_prefix(b"{\"log\":\"")?;
    let end = string_end(rest)?;
    let (raw, rest) = (&rest[..end], &rest[end + 1..]);
    let (stream, rest) = if let Some(rest) = rest.strip_prefix(b",\"stream\":\"stdout\",\"time\":\"") {
        (Stream::Stdout, rest)
    } else {
        (Stream::Stderr, rest.strip_prefix(b",\"stream\":\"stderr\",\"time\":\"")?)
    };
    let time = std::str::from_utf8(rest.strip_suffix(b"\"}")?).ok()?;
    Some(LogLine { stream, text: Text::Escaped(raw), time: std::borrow::Cow::Borrowed(time) })
}

fn decode_slow(line: &[u8]) -> Option<LogLine<'static>> {
    let value: serde_json::Value = serde_json::from_slice(line).ok()?;
    let stream = match value.get("stream")?.as_str()? {
        "stderr" => Stream::Stderr,
        _ => Stream::Stdout,
    };
    Some(LogLine {
        stream,
        text: Text::Decoded(value.get("log")?.as_str()?.as_bytes().to_vec()),
        time: std::borrow::Cow::Owned(value.get("time")?.as_str()?.to_string()),
    })
}

/// The position of the quote that ends the JSON string starting at `bytes`.
fn string_end(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        at += find_quote_or_backslash(&bytes[at..])?;
        match bytes[at] {
            b'"' => return Some(at),
            _ => at += 2, // a backslash and the byte it escapes
        }
    }
}

/// Undoes JSON string escapes into `out`, `\uXXXX` with surrogate pairs included.
fn unescape_into(raw: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let mut rest = raw;
    while let Some(at) = find_quote_or_backslash(rest) {
        out.extend_from_slice(&rest[..at]);
        let kind = *rest.get(at + 1)?;
        rest = &rest[at + 2..];
        match kind {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'"' | b'\\' | b'/' => out.push(kind),
            b'u' => {
                let mut code = hex4(rest.get(..4)?)?;
                rest = &rest[4..];
                if (0xd800..0xdc00).contains(&code) && rest.starts_with(b"\\u") {
                    let low = hex4(rest.get(2..6)?)?;
                    code = 0x10000 + ((code - 0xd800) << 10) + (low.checked_sub(0xdc00)?);
                    rest = &rest[6..];
                }
                let c = char::from_u32(code).unwrap_or('\u{fffd}');
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            }
            _ => return None,
        }
    }
    out.extend_from_slice(rest);
    Some(())
}

fn hex4(digits: &[u8]) -> Option<u32> {
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

// Eight bytes at a time. For a word `x`, `(x - 0x01…01) & !x & 0x80…80` has a
// high bit set in the lowest byte of `x` that is zero (higher bytes may show
// false positives, which is why a hit is confirmed byte by byte).
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

fn zero_byte(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGHS
}
fn byte_equal(x: u64, byte: u8) -> u64 {
    zero_byte(x ^ (ONES * byte as u64))
}
fn byte_below_0x20(x: u64) -> u64 {
    x.wrapping_sub(ONES * 0x20) & !x & HIGHS
}

/// The first byte for which `is_match` holds, finding candidates eight bytes
/// at a time with `word_hits` and confirming them one by one.
fn find(bytes: &[u8], word_hits: impl Fn(u64) -> u64, is_match: impl Fn(u8) -> bool) -> Option<usize> {
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let word = u64::from_le_bytes(bytes[at..at + 8].try_into().expect("invariant: eight bytes"));
        if word_hits(word) != 0 {
            if let Some(found) = bytes[at..at + 8].iter().position(|&b| is_match(b)) {
                return Some(at + found);
            }
        }
        at += 8;
    }
    bytes[at..].iter().position(|&b| is_match(b)).map(|found| at + found)
}

/// The first `\n` in `bytes`.
pub fn find_newline(bytes: &[u8]) -> Option<usize> {
    find(bytes, |w| byte_equal(w, b'\n'), |b| b == b'\n')
}

/// The first byte JSON must escape: a control character, `"` or `\`.
fn find_special(bytes: &[u8]) -> Option<usize> {
    find(
        bytes,
        |w| byte_below_0x20(w) | byte_equal(w, b'"') | byte_equal(w, b'\\'),
        |b| b < 0x20 || b == b'"' || b == b'\\',
    )
}

fn find_quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    find(bytes, |w| byte_equal(w, b'"') | byte_equal(w, b'\\'), |b| b == b'"' || b == b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &[u8]) -> Vec<u8> {
        let mut line = Vec::new();
        push_line(&mut line, text, Stream::Stderr, "2026-11-29T01:05:23.139388753Z");
        assert_eq!(line.last(), Some(&b'\n'));
        let parsed: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(parsed["stream"], "stderr");
        let decoded = decode(&line[..line.len() - 1]).unwrap();
        assert!(matches!(decoded.text, Text::Escaped(_)), "our own lines take the fast path");
        let mut out = Vec::new();
        decoded.write_text(&mut out).unwrap();
        out
    }

    #[test]
    fn encode_then_decode_gives_the_bytes_back() {
        for text in [
            &b"hello\n"[..],
            b"",
            b"no newline",
            b"q\"b\\s/t\t\x01\x1f\r\n",
            "é😀 and a long line to cross eight-byte words: 0123456789abcdef\n".as_bytes(),
        ] {
            assert_eq!(round_trip(text), text, "{:?}", String::from_utf8_lossy(text));
        }
        assert_eq!(round_trip(b"bad \xff utf-8"), "bad \u{fffd} utf-8".as_bytes());
    }

    #[test]
    fn push_lines_matches_push_line_and_returns_the_rest() {
        let input = "one\ntw\"o\\\t\n\u{1}é\nbad \u{fffd}\n".as_bytes().to_vec();
        let mut with_invalid = input.clone();
        with_invalid.extend_from_slice(b"x\xff\nunfinished");
        let mut fused = Vec::new();
        let rest = push_lines(&mut fused, &with_invalid, Stream::Stdout, "T");
        assert_eq!(rest, b"unfinished");
        let mut one_by_one = Vec::new();
        for line in with_invalid.split_inclusive(|&b| b == b'\n').filter(|l| l.ends_with(b"\n")) {
            push_line(&mut one_by_one, line, Stream::Stdout, "T");
        }
        assert_eq!(String::from_utf8(fused).unwrap(), String::from_utf8(one_by_one).unwrap());
        let mut nothing = Vec::new();
        assert_eq!(push_lines(&mut nothing, b"no newline at all", Stream::Stdout, "T"), b"no newline at all");
        assert!(nothing.is_empty());
    }

    #[test]
    fn other_writers_take_the_slow_path() {
        let line = br#"{"stream":"stderr","time":"2026-11-29T01:05:23Z","log":"x\u00e9\ud83d\ude00\n"}"#;
        let decoded = decode(line).unwrap();
        let mut out = Vec::new();
        decoded.write_text(&mut out).unwrap();
        assert_eq!((decoded.stream, out.as_slice()), (Stream::Stderr, "xé😀\n".as_bytes()));
        assert!(decode(b"not json").is_none());
        let surrogates = br#"{"log":"\ud83d\ude00\u00e9","stream":"stdout","time":"x"}"#;
        let mut out = Vec::new();
        decode(surrogates).unwrap().write_text(&mut out).unwrap();
        assert_eq!(out, "😀é".as_bytes());
    }

    #[test]
    fn word_scans_agree_with_byte_scans() {
        let sample: Vec<u8> = (0u8..=255).cycle().take(2000).collect();
        for start in 0..64 {
            let slice = &sample[start..];
            assert_eq!(find_newline(slice), slice.iter().position(|&b| b == b'\n'));
            assert_eq!(find_special(slice), slice.iter().position(|&b| b < 0x20 || b == b'"' || b == b'\\'));
            let printable: Vec<u8> = slice.iter().map(|&b| if b < 0x20 { b'a' } else { b }).collect();
            assert_eq!(find_special(&printable), printable.iter().position(|&b| b == b'"' || b == b'\\'));
        }
    }
}
