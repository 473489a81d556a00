//! The container's log, in Docker's json-file format: one JSON object a line,
//! `{"log":"hello\n","stream":"stdout","time":"2026-…Z"}`. Output is split into
//! lines per stream; a line still being written waits in a buffer until its
//! newline arrives, or until it reaches 16 KiB or the stream ends, when it is
//! written without one, as Docker does (SPEC §3, docs/04-shim.md).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use common::stream_frame::Stream;
use common::time::now_rfc3339;

/// A partial line longer than this is written as it is, like Docker's 16 KiB
/// message buffer, so one endless line cannot grow the shim without bound.
pub const MAX_PARTIAL_LINE_BYTES: usize = 16 * 1024;

/// Appends json-file lines to the log.
pub struct LogWriter {
    file: File,
    /// The unfinished last line of stdout and of stderr.
    partial: [Vec<u8>; 2],
    /// Reused buffer: all lines of one read go to the file in one write.
    batch: Vec<u8>,
}

impl LogWriter {
    pub fn open(path: &Path) -> io::Result<LogWriter> {
        // Append: a container's log accumulates across restarts, as Docker's does.
        let file = OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
        Ok(LogWriter { file, partial: [Vec::new(), Vec::new()], batch: Vec::with_capacity(64 * 1024) })
    }

    /// Logs `bytes` just read from `stream`: every complete line now, the rest later.
    pub fn append(&mut self, stream: Stream, bytes: &[u8]) -> io::Result<()> {
        let time = now_rfc3339();
        let index = slot(stream);
        let mut rest = bytes;
        while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
            let (line, after) = rest.split_at(newline + 1);
            if self.partial[index].is_empty() {
                push_line(&mut self.batch, line, stream, &time);
            } else {
                let mut whole = std::mem::take(&mut self.partial[index]);
                whole.extend_from_slice(line);
                push_line(&mut self.batch, &whole, stream, &time);
            }
            rest = after;
        }
        self.partial[index].extend_from_slice(rest);
        if self.partial[index].len() >= MAX_PARTIAL_LINE_BYTES {
            let long = std::mem::take(&mut self.partial[index]);
            push_line(&mut self.batch, &long, stream, &time);
        }
        self.write_batch()
    }

    /// The stream ended: its unfinished last line is logged without a newline.
    pub fn finish(&mut self, stream: Stream) -> io::Result<()> {
        let last = std::mem::take(&mut self.partial[slot(stream)]);
        if !last.is_empty() {
            push_line(&mut self.batch, &last, stream, &now_rfc3339());
        }
        self.write_batch()
    }

    fn write_batch(&mut self) -> io::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&self.batch);
        self.batch.clear();
        result
    }
}

fn slot(stream: Stream) -> usize {
    usize::from(stream == Stream::Stderr)
}

/// Appends one json-file line for `line` to `out`. Bytes that are not UTF-8
/// become U+FFFD, as Go's JSON encoder does in Docker.
fn push_line(out: &mut Vec<u8>, line: &[u8], stream: Stream, time: &str) {
    out.extend_from_slice(b"{\"log\":");
    let text = String::from_utf8_lossy(line);
    serde_json::to_writer(&mut *out, text.as_ref()).expect("invariant: writing JSON to a Vec cannot fail");
    out.extend_from_slice(b",\"stream\":\"");
    out.extend_from_slice(stream.name().as_bytes());
    out.extend_from_slice(b"\",\"time\":\"");
    out.extend_from_slice(time.as_bytes());
    out.extend_from_slice(b"\"}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(writer_output: &[u8]) -> Vec<serde_json::Value> {
        writer_output
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    }

    #[test]
    fn splits_lines_per_stream_and_keeps_partials() {
        let path = std::env::temp_dir().join(format!("log-writer-test-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let mut writer = LogWriter::open(&path).unwrap();
        writer.append(Stream::Stdout, b"one\ntw").unwrap();
        writer.append(Stream::Stderr, b"err\n").unwrap();
        writer.append(Stream::Stdout, b"o\nthree").unwrap();
        writer.finish(Stream::Stdout).unwrap();
        let logged = lines(&std::fs::read(&path).unwrap());
        let texts: Vec<(&str, &str)> =
            logged.iter().map(|l| (l["stream"].as_str().unwrap(), l["log"].as_str().unwrap())).collect();
        assert_eq!(
            texts,
            [("stdout", "one\n"), ("stderr", "err\n"), ("stdout", "two\n"), ("stdout", "three")]
        );
        assert!(logged[0]["time"].as_str().unwrap().ends_with('Z'));
        std::fs::remove_file(&path).unwrap();
    }
}
