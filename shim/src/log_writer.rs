//! The container's log, in Docker's json-file format: one JSON object a line,
//! `{"log":"hello\n","stream":"stdout","time":"2026-…Z"}`. Output is split into
//! lines per stream; a line still being written waits in a buffer until its
//! newline arrives, or until it reaches 16 KiB or the stream ends, when it is
//! written without one, as Docker does. The log is capped: when the live file
//! would pass `max-size` it is rotated (`log` → `log.1` → `log.2` …) and only
//! `max-file` files are kept, so the oldest output goes first (SPEC §3,
//! docs/08-logs.md).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;

use common::paths::ContainerDir;
use common::stream_frame::Stream;
use common::time::now_rfc3339;
use common::wire::LogOptions;

/// A partial line longer than this is written as it is, like Docker's 16 KiB
/// message buffer, so one endless line cannot grow the shim without bound.
pub const MAX_PARTIAL_LINE_BYTES: usize = 16 * 1024;

/// Appends json-file lines to the log and rotates it at its cap.
pub struct LogWriter {
    dir: ContainerDir,
    file: File,
    /// Bytes in the live file.
    size: u64,
    max_size: u64,
    max_files: u32,
    /// The unfinished last line of stdout and of stderr.
    partial: [Vec<u8>; 2],
    /// Reused buffer: all lines of one read go to the file in one write.
    batch: Vec<u8>,
}

impl LogWriter {
    pub fn open(dir: &ContainerDir, options: &LogOptions) -> io::Result<LogWriter> {
        let file = open_live(dir)?;
        // Append: a container's log accumulates across restarts, as Docker's does.
        let size = file.metadata()?.len();
        Ok(LogWriter {
            dir: dir.clone(),
            file,
            size,
            max_size: options.max_size_bytes(),
            max_files: options.max_files(),
            partial: [Vec::new(), Vec::new()],
            batch: Vec::with_capacity(256 * 1024),
        })
    }

    /// Logs `bytes` just read from `stream`: every complete line now, the rest
    /// later. Returns whether anything was written to the file.
    pub fn append(&mut self, stream: Stream, bytes: &[u8]) -> io::Result<bool> {
        let time = now_rfc3339();
        let index = slot(stream);
        let mut rest = bytes;
        while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
            let (line, after) = rest.split_at(newline + 1);
            if self.partial[index].is_empty() {
                self.push(line, stream, &time)?;
            } else {
                let mut whole = std::mem::take(&mut self.partial[index]);
                whole.extend_from_slice(line);
                self.push(&whole, stream, &time)?;
            }
            rest = after;
        }
        self.partial[index].extend_from_slice(rest);
        if self.partial[index].len() >= MAX_PARTIAL_LINE_BYTES {
            let long = std::mem::take(&mut self.partial[index]);
            self.push(&long, stream, &time)?;
        }
        self.write_batch()
    }

    /// The stream ended: its unfinished last line is logged without a newline.
    pub fn finish(&mut self, stream: Stream) -> io::Result<bool> {
        let last = std::mem::take(&mut self.partial[slot(stream)]);
        if !last.is_empty() {
            self.push(&last, stream, &now_rfc3339())?;
        }
        self.write_batch()
    }

    /// Adds one line to the batch. A line that would take the live file past
    /// its cap starts a new file: what came before it is written, the log
    /// rotated, and the line begins the next batch.
    fn push(&mut self, line: &[u8], stream: Stream, time: &str) -> io::Result<()> {
        let before = self.batch.len();
        push_line(&mut self.batch, line, stream, time);
        let filled = self.size + before as u64;
        if filled > 0 && filled + (self.batch.len() - before) as u64 > self.max_size {
            let line = self.batch.split_off(before);
            self.write_batch()?;
            self.rotate()?;
            self.batch = line;
        }
        Ok(())
    }

    /// Writes the batch. One write per batch: a reader sees whole lines, or a
    /// partial last one that it keeps until the rest arrives.
    fn write_batch(&mut self) -> io::Result<bool> {
        if self.batch.is_empty() {
            return Ok(false);
        }
        let result = self.file.write_all(&self.batch);
        self.size += self.batch.len() as u64;
        self.batch.clear();
        result.map(|()| true)
    }

    /// `log.N-1` → `log.N` … `log` → `log.1` (the oldest falls off the end),
    /// then a fresh live `log`. With one file, the live file is emptied.
    fn rotate(&mut self) -> io::Result<()> {
        for n in (1..self.max_files).rev() {
            let from = self.dir.log_file(n - 1);
            if from.exists() {
                std::fs::rename(&from, self.dir.log_file(n))?;
            }
        }
        if self.max_files == 1 {
            self.file.set_len(0)?;
        } else {
            self.file = open_live(&self.dir)?;
        }
        self.size = 0;
        Ok(())
    }
}

fn open_live(dir: &ContainerDir) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).mode(0o600).open(dir.log())
}

fn slot(stream: Stream) -> usize {
    usize::from(stream == Stream::Stderr)
}

/// Appends one json-file line for `line` to `out`.
fn push_line(out: &mut Vec<u8>, line: &[u8], stream: Stream, time: &str) {
    out.extend_from_slice(b"{\"log\":\"");
    match std::str::from_utf8(line) {
        Ok(text) => push_escaped(out, text.as_bytes()),
        // Bytes that are not UTF-8 become U+FFFD, as Go's JSON encoder does in Docker.
        Err(_) => push_escaped(out, String::from_utf8_lossy(line).as_bytes()),
    }
    out.extend_from_slice(b"\",\"stream\":\"");
    out.extend_from_slice(stream.name().as_bytes());
    out.extend_from_slice(b"\",\"time\":\"");
    out.extend_from_slice(time.as_bytes());
    out.extend_from_slice(b"\"}\n");
}

/// JSON string escaping of UTF-8 text, copying the runs between special
/// characters whole: the hot loop of log ingestion.
fn push_escaped(out: &mut Vec<u8>, text: &[u8]) {
    let mut start = 0;
    for (i, &byte) in text.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&text[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(format!("\\u{byte:04x}").as_bytes());
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&text[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(bytes: &[u8]) -> Vec<serde_json::Value> {
        bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    }

    fn temp_dir(name: &str) -> ContainerDir {
        let dir = std::env::temp_dir().join(format!("log-writer-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        ContainerDir::at(dir)
    }

    #[test]
    fn splits_lines_per_stream_and_keeps_partials() {
        let dir = temp_dir("split");
        let mut writer = LogWriter::open(&dir, &LogOptions::default()).unwrap();
        writer.append(Stream::Stdout, b"one\ntw").unwrap();
        writer.append(Stream::Stderr, b"e\"r\\r\t\x01\n").unwrap();
        writer.append(Stream::Stdout, b"o\nthree").unwrap();
        writer.finish(Stream::Stdout).unwrap();
        let logged = lines(&std::fs::read(dir.log()).unwrap());
        let texts: Vec<(&str, &str)> =
            logged.iter().map(|l| (l["stream"].as_str().unwrap(), l["log"].as_str().unwrap())).collect();
        assert_eq!(
            texts,
            [("stdout", "one\n"), ("stderr", "e\"r\\r\t\u{1}\n"), ("stdout", "two\n"), ("stdout", "three")]
        );
        assert!(logged[0]["time"].as_str().unwrap().ends_with('Z'));
        std::fs::remove_dir_all(dir.dir()).unwrap();
    }

    #[test]
    fn rotates_at_the_cap_and_keeps_the_newest() {
        let dir = temp_dir("rotate");
        let options = LogOptions { max_size: "1k".into(), max_file: "3".into() };
        let mut writer = LogWriter::open(&dir, &options).unwrap();
        for n in 0..100 {
            writer.append(Stream::Stdout, format!("line {n}\n").as_bytes()).unwrap();
        }
        assert!(dir.log_file(2).exists() && !dir.log_file(3).exists());
        let total: u64 = (0..3).map(|n| std::fs::metadata(dir.log_file(n)).unwrap().len()).sum();
        assert!(total <= 3 * 1024, "{total}");
        let newest = lines(&std::fs::read(dir.log()).unwrap());
        assert_eq!(newest.last().unwrap()["log"], "line 99\n");
        let oldest = lines(&std::fs::read(dir.log_file(2)).unwrap());
        let first: usize = oldest[0]["log"].as_str().unwrap()[5..].trim().parse().unwrap();
        assert!(first > 0, "the oldest lines went first");
        std::fs::remove_dir_all(dir.dir()).unwrap();
    }
}
