//! Reading the json-file log back: one line `{"log":"…","stream":"…","time":"…"}`
//! decoded into its stream, bytes and time. The shim writes the fields in that
//! order, so a fast path reads them in place and unescapes only when a
//! backslash occurs; any other well-formed JSON line (a field order of another
//! writer) takes the slow path through `serde_json` (docs/08-logs.md).

use std::borrow::Cow;

use common::stream_frame::Stream;

/// One decoded log line.
pub struct LogLine<'a> {
    pub stream: Stream,
    /// The output as the container wrote it.
    pub bytes: Cow<'a, [u8]>,
    /// RFC 3339 with nanoseconds.
    pub time: Cow<'a, str>,
}

impl LogLine<'_> {
    /// The line's time as nanoseconds since the epoch.
    pub fn nanos(&self) -> Option<i128> {
        common::time::parse_rfc3339(&self.time)
    }
}

/// Decodes one line (without its trailing newline).
pub fn decode(line: &[u8]) -> Option<LogLine<'_>> {
    decode_fast(line).or_else(|| decode_slow(line))
}

fn decode_fast(line: &[u8]) -> Option<LogLine<'_>> {
    let rest = line.strip_prefix(b"{\"log\":\"")?;
    let (end, escaped) = string_end(rest)?;
    let raw = &rest[..end];
    let rest = &rest[end + 1..];
    let (stream, rest) = if let Some(rest) = rest.strip_prefix(b",\"stream\":\"stdout\",\"time\":\"") {
        (Stream::Stdout, rest)
    } else {
        (Stream::Stderr, rest.strip_prefix(b",\"stream\":\"stderr\",\"time\":\"")?)
    };
    let time = rest.strip_suffix(b"\"}")?;
    let time = std::str::from_utf8(time).ok()?;
    let bytes = if escaped { Cow::Owned(unescape(raw)?) } else { Cow::Borrowed(raw) };
    Some(LogLine { stream, bytes, time: Cow::Borrowed(time) })
}

/// Where the JSON string starting at `bytes` ends (the closing quote), and
/// whether it holds escapes.
fn string_end(bytes: &[u8]) -> Option<(usize, bool)> {
    let mut escaped = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Some((i, escaped)),
            b'\\' => {
                escaped = true;
                i += 2;
            }
            _ => i += 1,
        }
    }
    None
}

/// Undoes JSON string escapes, `\uXXXX` (with surrogate pairs) included.
fn unescape(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != b'\\' {
            out.push(raw[i]);
            i += 1;
            continue;
        }
        let kind = *raw.get(i + 1)?;
        i += 2;
        match kind {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'"' | b'\\' | b'/' => out.push(kind),
            b'u' => {
                let mut code = hex4(raw.get(i..i + 4)?)?;
                i += 4;
                if (0xd800..0xdc00).contains(&code) && raw.get(i..i + 2) == Some(b"\\u") {
                    let low = hex4(raw.get(i + 2..i + 6)?)?;
                    code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
                    i += 6;
                }
                let c = char::from_u32(code).unwrap_or('\u{fffd}');
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            }
            _ => return None,
        }
    }
    Some(out)
}

fn hex4(digits: &[u8]) -> Option<u32> {
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

fn decode_slow(line: &[u8]) -> Option<LogLine<'static>> {
    let value: serde_json::Value = serde_json::from_slice(line).ok()?;
    let stream = match value.get("stream")?.as_str()? {
        "stderr" => Stream::Stderr,
        _ => Stream::Stdout,
    };
    Some(LogLine {
        stream,
        bytes: Cow::Owned(value.get("log")?.as_str()?.as_bytes().to_vec()),
        time: Cow::Owned(value.get("time")?.as_str()?.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_and_escapes() {
        let line = br#"{"log":"hello\n","stream":"stdout","time":"2026-11-29T01:05:23.139388753Z"}"#;
        let decoded = decode(line).unwrap();
        assert_eq!((decoded.stream, &decoded.bytes[..]), (Stream::Stdout, &b"hello\n"[..]));
        assert!(matches!(decoded.bytes, Cow::Owned(_)), "\\n is an escape");
        let plain = br#"{"log":"no newline","stream":"stderr","time":"2026-11-29T01:05:23Z"}"#;
        let decoded = decode(plain).unwrap();
        assert!(matches!(decoded.bytes, Cow::Borrowed(b"no newline")));
        assert_eq!(decoded.stream, Stream::Stderr);
        let fancy = br#"{"log":"q\"b\\s\/t\t\u0001\u00e9\ud83d\ude00","stream":"stdout","time":"x"}"#;
        assert_eq!(&decode(fancy).unwrap().bytes[..], "q\"b\\s/t\t\u{1}é😀".as_bytes());
    }

    #[test]
    fn other_field_orders_take_the_slow_path() {
        let line = br#"{"stream":"stderr","time":"2026-11-29T01:05:23Z","log":"x\n"}"#;
        let decoded = decode(line).unwrap();
        assert_eq!((decoded.stream, &decoded.bytes[..]), (Stream::Stderr, &b"x\n"[..]));
        assert!(decode(b"not json").is_none());
    }
}
