//! The container's log, in Docker's json-file format (`common::json_file`):
//! one JSON object a line. Output is split into
//! lines per stream; a line still being written waits in a buffer until its
//! newline arrives, or until it reaches 16 KiB or the stream ends, when it is
//! written without one, as Docker does. The log is capped: when the live file
//! would pass `max-size` it is rotated (`log` → `log.1` → `log.2` …) and only
//! `max-file` files are kept, so the oldest output goes first (SPEC §3,
//! docs/08-logs.md).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;

use common::json_file::{find_newline, push_line, push_lines};
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
    /// The output comes from a terminal: it is a stream of keystrokes' echoes
    /// and prompts, not of lines, so each read is logged at once, newline or
    /// not. A shell's prompt then reaches an attached client (which follows
    /// the log) as soon as it is printed.
    terminal: bool,
}

impl LogWriter {
    pub fn open(dir: &ContainerDir, options: &LogOptions, terminal: bool) -> io::Result<LogWriter> {
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
            terminal,
        })
    }

    /// Logs `bytes` just read from `stream`: every complete line now, the rest
    /// later. Returns whether anything was written to the file.
    pub fn append(&mut self, stream: Stream, bytes: &[u8]) -> io::Result<bool> {
        let time = now_rfc3339();
        let index = slot(stream);
        let mut rest = bytes;
        if !self.partial[index].is_empty() {
            // The line begun in an earlier read: complete it first.
            let Some(newline) = find_newline(rest) else {
                self.partial[index].extend_from_slice(rest);
                return self.flush_long_partial(stream, &time);
            };
            let mut whole = std::mem::take(&mut self.partial[index]);
            whole.extend_from_slice(&rest[..=newline]);
            push_line(&mut self.batch, &whole, stream, &time);
            rest = &rest[newline + 1..];
        }
        let unfinished = push_lines(&mut self.batch, rest, stream, &time);
        self.partial[index].extend_from_slice(unfinished);
        if self.terminal {
            return self.finish(stream);
        }
        self.flush_long_partial(stream, &time)
    }

    /// The stream ended: its unfinished last line is logged without a newline.
    pub fn finish(&mut self, stream: Stream) -> io::Result<bool> {
        let last = std::mem::take(&mut self.partial[slot(stream)]);
        if !last.is_empty() {
            push_line(&mut self.batch, &last, stream, &now_rfc3339());
        }
        self.write_batch()
    }

    /// Logs a partial line that reached 16 KiB in pieces of exactly 16 KiB, as
    /// Docker does, then writes the batch.
    fn flush_long_partial(&mut self, stream: Stream, time: &str) -> io::Result<bool> {
        let index = slot(stream);
        if self.partial[index].len() >= MAX_PARTIAL_LINE_BYTES {
            let long = std::mem::take(&mut self.partial[index]);
            let mut pieces = long.chunks(MAX_PARTIAL_LINE_BYTES);
            let tail =
                if long.len().is_multiple_of(MAX_PARTIAL_LINE_BYTES) { None } else { pieces.next_back() };
            for piece in pieces {
                push_line(&mut self.batch, piece, stream, time);
            }
            // Less than 16 KiB left over: it waits for its newline.
            self.partial[index] = tail.map(<[u8]>::to_vec).unwrap_or_default();
        }
        self.write_batch()
    }

    /// Writes the batch, rotating wherever a whole line would take the live
    /// file past its cap. Each piece goes out in one write: a reader sees
    /// whole lines, or a partial last one that it keeps until the rest
    /// arrives. Returns whether anything was written.
    fn write_batch(&mut self) -> io::Result<bool> {
        if self.batch.is_empty() {
            return Ok(false);
        }
        let batch = std::mem::take(&mut self.batch);
        let mut start = 0;
        while start < batch.len() {
            let rest = &batch[start..];
            let room = self.max_size.saturating_sub(self.size) as usize;
            if rest.len() <= room {
                self.write_piece(rest)?;
                break;
            }
            // The most whole lines that still fit in this file.
            match rest[..room].iter().rposition(|&b| b == b'\n') {
                Some(end) => {
                    self.write_piece(&rest[..=end])?;
                    start += end + 1;
                    self.rotate()?;
                }
                None if self.size > 0 => self.rotate()?,
                None => {
                    // One line longer than the cap: it gets a file of its own.
                    let end = find_newline(rest).map_or(rest.len(), |i| i + 1);
                    self.write_piece(&rest[..end])?;
                    start += end;
                }
            }
        }
        self.batch = batch;
        self.batch.clear();
        Ok(true)
    }

    fn write_piece(&mut self, piece: &[u8]) -> io::Result<()> {
        if let Err(error) = self.file.write_all(piece) {
            // A full disk, most likely: cut the file back to its last whole
            // line, so what is written next is not glued to half a line.
            let _ = self.file.set_len(self.size);
            return Err(error);
        }
        self.size += piece.len() as u64;
        Ok(())
    }

    /// `log.N-1` → `log.N` … `log` → `log.1` (the oldest falls off the end),
    /// then a fresh live `log`. With one file, the old one is deleted instead.
    fn rotate(&mut self) -> io::Result<()> {
        for n in (1..self.max_files).rev() {
            let from = self.dir.log_file(n - 1);
            if from.exists() {
                std::fs::rename(&from, self.dir.log_file(n))?;
            }
        }
        if self.max_files == 1 {
            // A new file rather than truncating in place: a follower notices
            // rotation by the inode changing, and finishes the old file first.
            std::fs::remove_file(self.dir.log())?;
        }
        self.file = open_live(&self.dir)?;
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
        let mut writer = LogWriter::open(&dir, &LogOptions::default(), false).unwrap();
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
        let mut writer = LogWriter::open(&dir, &options, false).unwrap();
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

    #[test]
    fn one_file_is_replaced_not_truncated_in_place() {
        use std::os::unix::fs::MetadataExt;
        let dir = temp_dir("one");
        let options = LogOptions { max_size: "1k".into(), max_file: "1".into() };
        let mut writer = LogWriter::open(&dir, &options, false).unwrap();
        writer.append(Stream::Stdout, b"first\n").unwrap();
        let inode = std::fs::metadata(dir.log()).unwrap().ino();
        for n in 0..50 {
            writer.append(Stream::Stdout, format!("line {n}\n").as_bytes()).unwrap();
        }
        assert_ne!(std::fs::metadata(dir.log()).unwrap().ino(), inode, "followers see a new file");
        assert!(!dir.log_file(1).exists());
        assert!(std::fs::metadata(dir.log()).unwrap().len() <= 1024);
        std::fs::remove_dir_all(dir.dir()).unwrap();
    }

    #[test]
    fn an_endless_line_is_logged_in_16_kib_pieces() {
        let dir = temp_dir("long");
        let mut writer = LogWriter::open(&dir, &LogOptions::default(), false).unwrap();
        writer.append(Stream::Stdout, &vec![b'x'; 40 * 1024]).unwrap();
        writer.append(Stream::Stdout, b"end\n").unwrap();
        let logged = lines(&std::fs::read(dir.log()).unwrap());
        let sizes: Vec<usize> = logged.iter().map(|l| l["log"].as_str().unwrap().len()).collect();
        assert_eq!(sizes, [16 * 1024, 16 * 1024, 8 * 1024 + 4]);
        std::fs::remove_dir_all(dir.dir()).unwrap();
    }

    #[test]
    fn a_terminal_prompt_is_logged_without_waiting_for_a_newline() {
        let dir = temp_dir("tty");
        let mut writer = LogWriter::open(&dir, &LogOptions::default(), true).unwrap();
        assert!(writer.append(Stream::Stdout, b"line\r\n$ ").unwrap());
        let logged = lines(&std::fs::read(dir.log()).unwrap());
        let texts: Vec<&str> = logged.iter().map(|l| l["log"].as_str().unwrap()).collect();
        assert_eq!(texts, ["line\r\n", "$ "]);
        std::fs::remove_dir_all(dir.dir()).unwrap();
    }
}
