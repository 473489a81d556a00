//! `GET /containers/{id}/logs`: the json-file log read back and sent as
//! Docker's multiplexed frames (raw bytes for a TTY container), one frame per
//! logged line, with the `stdout`, `stderr`, `tail`, `since`, `until`,
//! `timestamps` and `follow` options of the Engine API. A follower sends what
//! is there, then sleeps on the container's `Condvar` until the shim reports
//! that the log grew, and ends once the container has stopped and everything
//! is delivered (docs/08-logs.md).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tiny_http::Request;

use common::stream_frame::{push_frame, Stream};

use crate::api_error::ApiError;
use crate::container::Container;
use crate::engine::Engine;
use crate::http_io::{self, respond_error, BodyStream, Query};
use crate::log_follow::LogCursor;

/// Frames are gathered into chunks of about this size before each write.
const CHUNK_BYTES: usize = 64 * 1024;
/// An idle follower sends an empty frame this often, to notice a client that
/// went away (a write to a closed connection fails).
const FOLLOW_HEARTBEAT: Duration = Duration::from_secs(5);

/// What the client asked to see.
pub struct LogQuery {
    stdout: bool,
    stderr: bool,
    follow: bool,
    /// Only the last `tail` lines; `None` for all.
    tail: Option<usize>,
    since: Option<i128>,
    until: Option<i128>,
    timestamps: bool,
}

impl LogQuery {
    /// What an attach shows: the chosen streams, live, until the container stops.
    pub fn attached(stdout: bool, stderr: bool) -> LogQuery {
        LogQuery { stdout, stderr, follow: true, tail: None, since: None, until: None, timestamps: false }
    }

    fn parse(query: &Query) -> Result<LogQuery, ApiError> {
        let (stdout, stderr) = (query.flag("stdout")?, query.flag("stderr")?);
        if !stdout && !stderr {
            return Err(ApiError::BadRequest(
                "Bad parameters: you must choose at least one stream".to_string(),
            ));
        }
        let tail = match query.get("tail") {
            None | Some("" | "all") => None,
            Some(text) => match text.parse::<i64>() {
                Ok(count) if count < 0 => None,
                Ok(count) => Some(count as usize),
                Err(_) => return Err(ApiError::BadRequest(format!("invalid value for tail: {text:?}"))),
            },
        };
        Ok(LogQuery {
            stdout,
            stderr,
            follow: query.flag("follow")?,
            tail,
            since: query.unix_nanos("since")?,
            until: query.unix_nanos("until")?,
            timestamps: query.flag("timestamps")?,
        })
    }

    fn wants(&self, stream: Stream) -> bool {
        match stream {
            Stream::Stdout => self.stdout,
            Stream::Stderr => self.stderr,
            Stream::Stdin => false,
        }
    }
}

pub fn handle(engine: &Arc<Engine>, request: Request, reference: &str, query: &Query) {
    let prepared = LogQuery::parse(query).and_then(|options| Ok((engine.find(reference)?, options)));
    let (container, options) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => return respond_error(request, &error),
    };
    let tty = container.lock().config.tty;
    // The content type tells the client whether to demultiplex (API 1.42 on).
    let content_type =
        if tty { "application/vnd.docker.raw-stream" } else { "application/vnd.docker.multiplexed-stream" };
    let Ok(body) = http_io::start_stream(request, content_type) else { return };
    let mut sink = FrameSink::new(Destination::Chunked(body), tty);
    let cursor = match options.tail {
        Some(lines) => LogCursor::at_last_lines(&container.dir, lines),
        None => LogCursor::at_start(&container.dir),
    };
    // Any error means the client went away: the thread just ends.
    if send_log(&container, cursor, &options, &mut sink).is_ok() {
        if let Destination::Chunked(body) = sink.destination {
            let _ = body.finish();
        }
    }
}

/// Sends the log from `cursor` on, then — when following — each new piece as
/// it is written, until the container stops. Used by `logs` and by `attach`.
pub fn send_log(
    container: &Container,
    mut cursor: LogCursor,
    options: &LogQuery,
    sink: &mut FrameSink,
) -> std::io::Result<()> {
    // Each round ends when the cursor is at the end of the log; the loop ends
    // when the container is not running (or the client's `until` has passed).
    // Taken before reading: a line written after our read bumps the
    // generation past `seen`, so the wait below cannot miss it.
    let mut snapshot = LogSnapshot::of(&container.lock());
    loop {
        cursor.read_available(&mut |line| sink.push_line(line, options), snapshot.live_inode)?;
        sink.flush()?;
        if !options.follow || !snapshot.running || sink.past_until {
            return Ok(());
        }
        // One lock for the wait and the next snapshot: with a hundred
        // followers woken at once, every lock taken is contended.
        let cancelled = &sink.cancelled;
        snapshot = container
            .wait_then(Some(FOLLOW_HEARTBEAT), |state| {
                let next = LogSnapshot::of(state);
                let news = next.generation != snapshot.generation || !next.running;
                (news || cancelled.load(Ordering::Relaxed)).then_some(next)
            })
            .unwrap_or(snapshot);
        if sink.cancelled.load(Ordering::Relaxed) {
            return Ok(());
        }
        if options.until.is_some_and(|until| common::time::now_nanos() > until) {
            return Ok(());
        }
        // News that the filters dropped writes nothing either: what counts is
        // how long the client has heard nothing.
        if sink.last_write.elapsed() >= FOLLOW_HEARTBEAT {
            sink.heartbeat()?;
        }
    }
}

/// What a follower needs to know, taken under the container's lock before
/// it reads: how far the log has grown, which file is live, whether more
/// can come.
#[derive(Clone, Copy)]
struct LogSnapshot {
    generation: u64,
    live_inode: u64,
    running: bool,
}

impl LogSnapshot {
    fn of(state: &crate::container::ContainerState) -> LogSnapshot {
        LogSnapshot {
            generation: state.log_generation,
            live_inode: state.log_inode,
            running: state.status.has_processes() && !state.removed,
        }
    }
}

/// Where frames go: the chunked body of a `logs` response, or the raw stream
/// of an upgraded `attach` connection, where bytes go as they are.
pub enum Destination {
    Chunked(BodyStream),
    Raw(Box<dyn Write + Send>),
}

impl Destination {
    fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Destination::Chunked(body) => body.write_chunk(bytes),
            Destination::Raw(stream) => {
                stream.write_all(bytes)?;
                stream.flush()
            }
        }
    }
}

/// Frames waiting to be sent, and where they go.
pub struct FrameSink {
    destination: Destination,
    chunk: Vec<u8>,
    tty: bool,
    /// A line later than `until` was seen: the stream is complete.
    past_until: bool,
    /// When the client was last sent anything.
    last_write: std::time::Instant,
    /// Set (and the container's `Condvar` notified) to end a follow early:
    /// an attached client detached.
    pub cancelled: Arc<AtomicBool>,
}

impl FrameSink {
    pub fn new(destination: Destination, tty: bool) -> FrameSink {
        FrameSink {
            destination,
            chunk: Vec::with_capacity(CHUNK_BYTES + 1024),
            tty,
            past_until: false,
            last_write: std::time::Instant::now(),
            cancelled: Arc::default(),
        }
    }

    fn push_line(&mut self, line: &[u8], options: &LogQuery) -> std::io::Result<()> {
        let Some(decoded) = common::json_file::decode(line) else { return Ok(()) };
        if !options.wants(decoded.stream) {
            return Ok(());
        }
        if options.since.is_some() || options.until.is_some() {
            let time = decoded.nanos().unwrap_or(0);
            if options.since.is_some_and(|since| time <= since) {
                return Ok(());
            }
            if options.until.is_some_and(|until| time > until) {
                self.past_until = true;
                return Ok(());
            }
        }
        let start = self.chunk.len();
        if !self.tty {
            self.chunk.extend_from_slice(&[0; 8]); // the header, filled in below
        }
        if options.timestamps {
            self.chunk.extend_from_slice(decoded.time.as_bytes());
            self.chunk.push(b' ');
        }
        if decoded.write_text(&mut self.chunk).is_none() {
            self.chunk.truncate(start); // a line that is not valid JSON is skipped
            return Ok(());
        }
        if !self.tty {
            let length = self.chunk.len() - start - 8;
            let header = common::stream_frame::frame_header(decoded.stream, length);
            self.chunk[start..start + 8].copy_from_slice(&header);
        }
        if self.chunk.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Sends what is gathered as one chunk, now.
    fn flush(&mut self) -> std::io::Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let result = self.destination.send(&self.chunk);
        self.chunk.clear();
        self.last_write = std::time::Instant::now();
        result
    }

    /// An empty stdout frame: harmless to a reader, fatal to a dead connection.
    fn heartbeat(&mut self) -> std::io::Result<()> {
        if self.tty {
            return Ok(());
        }
        push_frame(&mut self.chunk, Stream::Stdout, b"");
        self.flush()
    }
}
