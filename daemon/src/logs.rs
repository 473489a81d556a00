//! `GET /containers/{id}/logs`: the container's json-file log read back and
//! sent as Docker's multiplexed frames (raw bytes for a TTY container), one
//! frame per logged line, with the `stdout`, `stderr`, `tail`, `since`,
//! `until` and `timestamps` options of the Engine API.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::sync::Arc;

use serde_json::Value;
use tiny_http::Request;

use common::stream_frame::{push_frame, Stream};
use common::time::parse_rfc3339;

use crate::api_error::ApiError;
use crate::engine::Engine;
use crate::http_io::{self, respond_error, Query};

/// Frames are gathered into chunks of about this size before each write.
const CHUNK_BYTES: usize = 64 * 1024;

/// What the client asked to see.
struct LogQuery {
    stdout: bool,
    stderr: bool,
    /// Only the last `tail` lines; `None` for all.
    tail: Option<usize>,
    since: Option<i128>,
    until: Option<i128>,
    timestamps: bool,
}

impl LogQuery {
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
            tail,
            since: timestamp_parameter(query, "since")?,
            until: timestamp_parameter(query, "until")?,
            timestamps: query.flag("timestamps")?,
        })
    }

    fn wants(&self, stream: Stream, time: i128) -> bool {
        let stream_wanted = match stream {
            Stream::Stdout => self.stdout,
            Stream::Stderr => self.stderr,
            Stream::Stdin => false,
        };
        stream_wanted
            && self.since.is_none_or(|since| time > since)
            && self.until.is_none_or(|until| time <= until)
    }
}

/// `since`/`until` as the API sends them: Unix seconds with optional decimals
/// (`1577836800.000000000`); `0` means "no limit".
fn timestamp_parameter(query: &Query, key: &str) -> Result<Option<i128>, ApiError> {
    let Some(text) = query.get(key).filter(|t| !t.is_empty()) else { return Ok(None) };
    let bad = || ApiError::BadRequest(format!("invalid value for {key}: {text:?}"));
    let (seconds, fraction) = text.split_once('.').unwrap_or((text, ""));
    let seconds: i128 = seconds.parse().map_err(|_| bad())?;
    let digits = fraction.len().min(9);
    let fraction: i128 =
        if digits == 0 { 0 } else { format!("{:0<9}", &fraction[..digits]).parse().map_err(|_| bad())? };
    let nanos = seconds * 1_000_000_000 + fraction;
    Ok((nanos != 0).then_some(nanos))
}

/// One line of the json-file log, decoded.
struct LogLine {
    stream: Stream,
    text: String,
    time: String,
    nanos: i128,
}

fn decode_line(line: &[u8]) -> Option<LogLine> {
    let value: Value = serde_json::from_slice(line).ok()?;
    let stream = match value.get("stream")?.as_str()? {
        "stderr" => Stream::Stderr,
        _ => Stream::Stdout,
    };
    let time = value.get("time")?.as_str()?.to_string();
    Some(LogLine {
        stream,
        text: value.get("log")?.as_str()?.to_string(),
        nanos: parse_rfc3339(&time)?,
        time,
    })
}

pub fn handle(engine: &Arc<Engine>, request: Request, reference: &str, query: &Query) {
    let prepared = LogQuery::parse(query).and_then(|options| Ok((engine.find(reference)?, options)));
    let (container, options) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => return respond_error(request, &error),
    };
    let tty = container.lock().config.tty;
    let lines = read_lines(&container.dir.log(), &options);
    // The content type tells the client whether to demultiplex (API 1.42 on).
    let content_type =
        if tty { "application/vnd.docker.raw-stream" } else { "application/vnd.docker.multiplexed-stream" };
    let Ok(mut body) = http_io::start_stream(request, content_type) else { return };
    let mut chunk = Vec::with_capacity(CHUNK_BYTES + 1024);
    for line in lines {
        let payload = if options.timestamps { format!("{} {}", line.time, line.text) } else { line.text };
        if tty {
            chunk.extend_from_slice(payload.as_bytes());
        } else {
            push_frame(&mut chunk, line.stream, payload.as_bytes());
        }
        if chunk.len() >= CHUNK_BYTES {
            if body.write_chunk(&chunk).is_err() {
                return;
            }
            chunk.clear();
        }
    }
    if body.write_chunk(&chunk).is_ok() {
        let _ = body.finish();
    }
}

/// The wanted lines of the log, oldest first, keeping only the last `tail`.
fn read_lines(path: &std::path::Path, options: &LogQuery) -> VecDeque<LogLine> {
    let mut kept = VecDeque::new();
    let Ok(file) = File::open(path) else { return kept };
    for line in BufReader::with_capacity(256 * 1024, file).split(b'\n').map_while(Result::ok) {
        let Some(line) = decode_line(&line) else { continue };
        if !options.wants(line.stream, line.nanos) {
            continue;
        }
        if options.tail == Some(0) {
            continue;
        }
        kept.push_back(line);
        if options.tail.is_some_and(|tail| kept.len() > tail) {
            kept.pop_front();
        }
    }
    kept
}
