//! The HTTP plumbing of the daemon on top of `tiny_http`: Docker's response
//! headers, JSON and error replies, bounded request bodies, query strings, the
//! `/vX.Y` API-version prefix, and responses whose body comes later. Those are
//! written by hand through `into_writer()` as chunked HTTP with a flush per
//! chunk, because tiny_http holds a streamed body (and even its headers) until
//! 8 KiB accumulate (tiny_http-notes.md, docs/02-unix-socket-http.md).

use std::collections::BTreeMap;
use std::io::{Read, Write};

use serde_json::{json, Value};
use tiny_http::{Header, Request, Response};

use common::chunked::ChunkedWriter;

use crate::api_error::ApiError;

/// The Engine API version this daemon speaks (SPEC §5).
pub const API_VERSION: &str = "1.41";
/// The oldest version a client may ask for, as dockerd 20.10.
pub const MIN_API_VERSION: &str = "1.12";
/// Bodies larger than this get 413 (SPEC §7).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// A refused body up to this size is drained by tiny_http as usual, so the
/// client can finish sending it and read the 413; past it, the connection is
/// given up instead (`refuse_oversized_body`).
pub const MAX_DRAINED_BODY_BYTES: usize = 16 * 1024 * 1024;
pub const SERVER: &str = concat!("orchestrator/", env!("CARGO_PKG_VERSION"), " (linux)");

/// A streamed response body: chunks flushed to the client as they are written.
pub type BodyStream = ChunkedWriter<Box<dyn Write + Send>>;

/// The headers every response carries, as dockerd sends them.
pub fn docker_headers() -> [(&'static str, &'static str); 4] {
    [("Api-Version", API_VERSION), ("Docker-Experimental", "false"), ("Ostype", "linux"), ("Server", SERVER)]
}

pub fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes())
        .expect("invariant: header names and values are ASCII")
}

/// Sends a complete response. A failed write means the client went away,
/// which ends this request and nothing else.
pub fn respond(request: Request, status: u16, content_type: Option<&str>, body: Vec<u8>) {
    let mut response = Response::from_data(body).with_status_code(status);
    for (name, value) in docker_headers() {
        response.add_header(header(name, value));
    }
    if let Some(content_type) = content_type {
        response.add_header(header("Content-Type", content_type));
    }
    let _ = request.respond(response);
}

/// `status` with a JSON body (and Docker's trailing newline).
pub fn respond_json(request: Request, status: u16, value: &Value) {
    let mut body = serde_json::to_vec(value).expect("invariant: a JSON value serializes");
    body.push(b'\n');
    respond(request, status, Some("application/json"), body);
}

/// `status` with no body (204, 304).
pub fn respond_empty(request: Request, status: u16) {
    respond(request, status, None, Vec::new());
}

/// The error's status and `{"message": …}`; 304 has no body at all.
pub fn respond_error(request: Request, error: &ApiError) {
    match error {
        ApiError::NotModified => respond_empty(request, 304),
        _ => respond_json(request, error.status(), &json!({ "message": error.message() })),
    }
}

/// Sends the status line and headers of a chunked response at once and
/// returns the body stream. Nothing is buffered: the client sees the headers
/// now (the docker CLI waits for `wait`'s headers before it sends `start`).
pub fn start_stream(request: Request, content_type: &str) -> std::io::Result<BodyStream> {
    let mut writer = request.into_writer();
    let mut head = String::from("HTTP/1.1 200 OK\r\n");
    for (name, value) in docker_headers() {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"));
    writer.write_all(head.as_bytes())?;
    writer.flush()?;
    Ok(ChunkedWriter::new(writer))
}

/// Reads the request body, refusing more than `MAX_BODY_BYTES` (413).
pub fn read_body(request: &mut Request) -> Result<Vec<u8>, ApiError> {
    if request.body_length().is_some_and(|length| length > MAX_BODY_BYTES) {
        return Err(ApiError::BodyTooLarge);
    }
    // An upgrade request's body reader is the whole socket (tiny_http-notes.md
    // fact 2): read only the length it declared, which may be none.
    let limit = if is_upgrade(request) { request.body_length().unwrap_or(0) } else { MAX_BODY_BYTES + 1 };
    let mut body = Vec::new();
    request.as_reader().take(limit as u64).read_to_end(&mut body).map_err(|error| {
        // A chunk size that is not hex, a chunk not ended by CRLF: the client's fault.
        ApiError::BadRequest(format!("malformed request body: {error}"))
    })?;
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::BodyTooLarge);
    }
    // tiny_http reports a body cut short as a normal end: a client that went
    // away mid-body must not create half of what it meant.
    if request.body_length().is_some_and(|length| body.len() < length) {
        return Err(ApiError::BadRequest("the request body ended before its Content-Length".to_string()));
    }
    Ok(body)
}

/// The `101 Switching Protocols` answer of an attach or exec start, with
/// Docker's headers and `extra` ones; tiny_http adds `Connection: upgrade`
/// and the `Upgrade:` protocol when it sends it (`Request::upgrade`).
pub fn switching_protocols(extra: &[(&str, &str)]) -> Response<std::io::Empty> {
    let mut response = Response::empty(101);
    for (name, value) in docker_headers().iter().chain(extra) {
        response.add_header(header(name, value));
    }
    response
}

/// Answers 413 to a request that declares an absurd body, without
/// ever dropping or draining tiny_http 0.12's reader of that body: dropped
/// unread, or read to its end, it allocates a buffer of the whole declared
/// length (`EqualReader`'s drop), so `Content-Length: 99999999999999` on any
/// request would abort the daemon. `upgrade` hands the connection over with
/// the reader inside, after writing an interim `100 Continue` head, which
/// clients skip; the real answer follows, whole, with `Connection: close`,
/// and the connection is forgotten rather than dropped — its descriptors
/// and one tiny_http thread leak. An error path for broken clients; the
/// alternative is a crash (docs/06-daemon-threads.md, tiny_http's limits).
pub fn refuse_oversized_body(request: Request) {
    let body = format!("{}\n", json!({ "message": ApiError::BodyTooLarge.message() }));
    let mut answer = "HTTP/1.1 413 Payload Too Large\r\n".to_string();
    for (name, value) in docker_headers() {
        answer.push_str(&format!("{name}: {value}\r\n"));
    }
    answer.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    let mut connection = request.upgrade("none", Response::empty(100));
    let _ = connection.write_all(answer.as_bytes()).and_then(|()| connection.flush());
    std::mem::forget(connection);
}

/// True for a request that asks to upgrade its connection (attach, exec start).
pub fn is_upgrade(request: &Request) -> bool {
    header_value(request, "Connection").is_some_and(|value| value.to_ascii_lowercase().contains("upgrade"))
}

/// The value of a request header, if present.
pub fn header_value<'a>(request: &'a Request, name: &'static str) -> Option<&'a str> {
    request.headers().iter().find(|h| h.field.equiv(name)).map(|h| h.value.as_str())
}

/// Splits `/v1.41/containers/json?all=1` into the path without its version
/// prefix (still percent-encoded: decode each segment) and the query; a version this daemon cannot speak is refused as
/// dockerd refuses it.
pub fn split_url(url: &str) -> Result<(String, Query), ApiError> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let mut rest = path;
    if let Some(after) = rest.strip_prefix("/v") {
        if let Some(slash) = after.find('/') {
            let version = &after[..slash];
            if let Some(requested) = parse_version(version) {
                if requested > parse_version(API_VERSION).expect("invariant: a valid constant") {
                    return Err(ApiError::BadRequest(format!(
                        "client version {version} is too new. Maximum supported API version is {API_VERSION}"
                    )));
                }
                if requested < parse_version(MIN_API_VERSION).expect("invariant: a valid constant") {
                    return Err(ApiError::BadRequest(format!(
                        "client version {version} is too old. Minimum supported API version is {MIN_API_VERSION}, \
                         please upgrade your client to a newer version"
                    )));
                }
                rest = &after[slash..];
            }
        }
    }
    Ok((rest.to_string(), Query::parse(query)))
}

fn parse_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// A decoded query string.
#[derive(Debug)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(text: &str) -> Query {
        let pairs = text
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(key), percent_decode(value))
            })
            .collect();
        Query { pairs }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Docker's boolean parameters: `1`/`true`/`True` are true, absent, empty,
    /// `0` and `false` are false; anything else is a 400.
    pub fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.get(key) {
            None | Some("" | "0" | "false" | "False" | "FALSE") => Ok(false),
            Some("1" | "true" | "True" | "TRUE") => Ok(true),
            Some(other) => {
                Err(ApiError::BadRequest(format!("invalid value for {key}: {other:?} is not a boolean")))
            }
        }
    }

    /// A time as the API sends it (`since`, `until`): Unix seconds with
    /// optional decimals (`1577836800.000000000`); `0` means "no limit".
    pub fn unix_nanos(&self, key: &str) -> Result<Option<i128>, ApiError> {
        let Some(text) = self.get(key).filter(|t| !t.is_empty()) else { return Ok(None) };
        let bad = || ApiError::BadRequest(format!("invalid value for {key}: {text:?}"));
        let (seconds, fraction) = text.split_once('.').unwrap_or((text, ""));
        let seconds: i128 = seconds.parse().map_err(|_| bad())?;
        let digits = fraction.len().min(9);
        let fraction: i128 = if digits == 0 {
            0
        } else {
            format!("{:0<9}", &fraction[..digits]).parse().map_err(|_| bad())?
        };
        let nanos = seconds * 1_000_000_000 + fraction;
        Ok((nanos != 0).then_some(nanos))
    }

    /// Docker's `filters` parameter: URL-encoded JSON `{"key":{"value":true}}`
    /// (or the older `{"key":["value"]}`), as key → values. A key not in
    /// `allowed` is a 400, as dockerd answers.
    pub fn filters(&self, allowed: &[&str]) -> Result<BTreeMap<String, Vec<String>>, ApiError> {
        let mut by_key = BTreeMap::new();
        let Some(text) = self.get("filters").filter(|t| !t.is_empty()) else { return Ok(by_key) };
        let bad = |message: String| ApiError::BadRequest(format!("invalid filters: {message}"));
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let object = value.as_object().ok_or_else(|| bad("not an object".to_string()))?;
        for (key, values) in object {
            if !allowed.contains(&key.as_str()) {
                return Err(ApiError::BadRequest(format!("invalid filter '{key}'")));
            }
            let list = match values {
                serde_json::Value::Object(map) => map.keys().cloned().collect(),
                serde_json::Value::Array(items) => {
                    items.iter().filter_map(serde_json::Value::as_str).map(str::to_string).collect()
                }
                _ => return Err(ApiError::BadRequest(format!("invalid filter '{key}'"))),
            };
            by_key.insert(key.clone(), list);
        }
        Ok(by_key)
    }

    /// An integer parameter, or a 400 naming it.
    pub fn integer(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| {
                ApiError::BadRequest(format!("invalid value for {key}: {text:?} is not an integer"))
            }),
        }
    }
}

/// Decodes `%2F`-style escapes and `+` (a space in query strings).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_prefix_and_query() {
        let (path, query) = split_url("/v1.41/containers/json?all=1&filters=%7B%22a%22%3A1%7D").unwrap();
        assert_eq!(path, "/containers/json");
        assert_eq!(query.get("filters"), Some("{\"a\":1}"));
        assert!(query.flag("all").unwrap());
        assert!(split_url("/v1.99/_ping").unwrap_err().message().contains("too new"));
        assert!(split_url("/v1.11/_ping").unwrap_err().message().contains("too old"));
        assert_eq!(split_url("/_ping").unwrap().0, "/_ping");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("a+b%20c"), "a b c");
    }
}
