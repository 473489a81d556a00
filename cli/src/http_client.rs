//! The CLI's HTTP/1.1 client over the daemon's Unix socket: a request is
//! written by hand, the response head is parsed with `httparse`, and the body
//! is read by `Content-Length`, chunks, or to the end. One connection per
//! invocation, reused across its requests (keep-alive); a streamed response
//! (wait, logs) is read as it arrives (docs/02-unix-socket-http.md).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use serde_json::Value;

use common::chunked::ChunkedReader;

/// The version prefix of every request path: the API this CLI was written for.
pub const API_PREFIX: &str = "/v1.41";
/// A response head larger than this is refused.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// A connection to the daemon.
pub struct Client {
    socket: PathBuf,
    connection: Option<BufReader<UnixStream>>,
    /// The last request said `Connection: close`: the next one reconnects.
    closing: bool,
}

/// What a request says about its connection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Connection {
    /// More requests may follow on it.
    KeepAlive,
    /// The last one: `Connection: close`.
    Close,
    /// Switch to a raw stream: `Connection: Upgrade`, `Upgrade: tcp`.
    Upgrade,
}

/// A response whose body has not been read yet.
pub struct Response<'a> {
    pub status: u16,
    pub content_type: String,
    body: Body<'a>,
}

enum Body<'a> {
    Empty,
    Sized(io::Take<&'a mut BufReader<UnixStream>>),
    Chunked(ChunkedReader<&'a mut BufReader<UnixStream>>),
    /// Until the daemon closes the connection.
    UntilClose(&'a mut BufReader<UnixStream>),
}

impl Client {
    pub fn new(socket: &Path) -> Client {
        Client { socket: socket.to_path_buf(), connection: None, closing: false }
    }

    /// Opens a second, independent connection to the same daemon (for a
    /// `wait` that must be listening before `start` is sent).
    pub fn another(&self) -> Client {
        Client::new(&self.socket)
    }

    /// Sends one request; `body` is JSON when present.
    pub fn request(&mut self, method: &str, path: &str, body: Option<&Value>) -> io::Result<Response<'_>> {
        self.send(method, path, body, Connection::KeepAlive)
    }

    /// Sends the last request of this connection, with `Connection: close`:
    /// for responses that stream for long (`logs -f`, `events`, `wait`). The
    /// daemon's HTTP layer then frees the connection's reader thread at once
    /// instead of keeping it for a next request (docs/06-daemon-threads.md).
    pub fn request_last(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> io::Result<Response<'_>> {
        self.send(method, path, body, Connection::Close)
    }

    /// Asks the daemon to switch this connection to a raw stream (`Connection:
    /// Upgrade`, `Upgrade: tcp`), as `attach` does. On `101` the response's
    /// body is that stream, read until the daemon closes it; the connection is
    /// not HTTP any more (docs/09-attach.md).
    pub fn request_upgrade(&mut self, path: &str, body: Option<&Value>) -> io::Result<Response<'_>> {
        self.send("POST", path, body, Connection::Upgrade)
    }

    fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        connection_header: Connection,
    ) -> io::Result<Response<'_>> {
        if std::mem::replace(&mut self.closing, connection_header != Connection::KeepAlive) {
            self.connection = None;
        }
        if self.connection.is_none() {
            let stream = UnixStream::connect(&self.socket).map_err(|error| {
                io::Error::new(
                    error.kind(),
                    format!(
                        "Cannot connect to the orchestrator daemon at unix://{}. Is the daemon running? ({error})",
                        self.socket.display()
                    ),
                )
            })?;
            self.connection = Some(BufReader::with_capacity(64 * 1024, stream));
        }
        let connection = self.connection.as_mut().expect("invariant: connected just above");
        let payload = body.map(|value| value.to_string()).unwrap_or_default();
        let mut head = format!(
            "{method} {API_PREFIX}{path} HTTP/1.1\r\nHost: orchestrator\r\nUser-Agent: orchestrate\r\n"
        );
        match connection_header {
            Connection::KeepAlive => {}
            Connection::Close => head.push_str("Connection: close\r\n"),
            Connection::Upgrade => head.push_str("Connection: Upgrade\r\nUpgrade: tcp\r\n"),
        }
        if body.is_some() {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                payload.len()
            ));
        } else if (method == "POST" || method == "DELETE") && connection_header != Connection::Upgrade {
            head.push_str("Content-Length: 0\r\n");
        }
        head.push_str("\r\n");
        let stream = connection.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(payload.as_bytes())?;
        read_response(connection, method == "HEAD")
    }

    /// Sends a request and reads its whole body.
    pub fn call(&mut self, method: &str, path: &str, body: Option<&Value>) -> io::Result<(u16, Vec<u8>)> {
        let mut response = self.request(method, path, body)?;
        let mut bytes = Vec::new();
        response.read_to_end(&mut bytes)?;
        Ok((response.status, bytes))
    }
}

fn read_response(connection: &mut BufReader<UnixStream>, head_only: bool) -> io::Result<Response<'_>> {
    let mut head = Vec::new();
    // Read until the blank line that ends the head; BufReader keeps the rest.
    while !head.ends_with(b"\r\n\r\n") {
        let read = connection.read_until(b'\n', &mut head)?;
        if read == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the daemon closed the connection"));
        }
        if head.len() > MAX_HEAD_BYTES {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "response head too large"));
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Response::new(&mut headers);
    parsed
        .parse(&head)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("bad response: {e}")))?;
    let status = parsed.code.unwrap_or(0);
    let header = |name: &str| {
        parsed
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
    };
    let content_type = header("Content-Type").unwrap_or_default();
    let chunked = header("Transfer-Encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let length = header("Content-Length").and_then(|v| v.parse::<u64>().ok());
    let body = if status == 101 {
        // Switched protocols: the rest of the connection is the raw stream.
        Body::UntilClose(connection)
    } else if head_only || status == 204 || status == 304 {
        Body::Empty
    } else if chunked {
        Body::Chunked(ChunkedReader::new(connection))
    } else if let Some(length) = length {
        Body::Sized(connection.take(length))
    } else {
        Body::UntilClose(connection)
    };
    Ok(Response { status, content_type, body })
}

impl Response<'_> {
    /// A second handle on the connection, for writing to an upgraded stream
    /// while this response reads from it (attach and exec with stdin).
    pub fn writer(&self) -> io::Result<UnixStream> {
        match &self.body {
            Body::UntilClose(reader) => reader.get_ref().try_clone(),
            _ => Err(io::Error::other("not an upgraded connection")),
        }
    }
}

impl Read for Response<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        match &mut self.body {
            Body::Empty => Ok(0),
            Body::Sized(reader) => reader.read(buffer),
            Body::Chunked(reader) => reader.read(buffer),
            Body::UntilClose(reader) => reader.read(buffer),
        }
    }
}

/// Percent-encodes a query value (names, filters JSON, times).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
