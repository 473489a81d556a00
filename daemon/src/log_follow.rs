//! A reader's position in a container's log, which may be spread over rotated
//! files (`log.4` oldest … `log.1`, then the live `log`). A cursor reads whole
//! lines in order across those files and, when the shim rotates under its feet,
//! notices it (the live file is no longer the one it has open), finishes the
//! file it holds — an open file stays readable after a rename — and moves on
//! to the next one by inode. Followers wait on the container's `Condvar` for
//! `log_generation` to change between reads; nothing here sleeps or polls
//! (docs/08-logs.md).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use common::json_file::find_newline;
use common::paths::ContainerDir;

/// Bytes read from a log file at a time.
const READ_BYTES: usize = 256 * 1024;
/// More rotated files than any `max-file` allows: where probing stops.
const MAX_PROBED_FILES: u32 = 1000;

/// A position in the log: an open file and the unfinished line read from it.
pub struct LogCursor {
    dir: ContainerDir,
    /// The file being read and its inode, or `None` before any log exists.
    current: Option<(File, u64)>,
    /// Bytes read after the last complete line.
    pending: Vec<u8>,
    buffer: Vec<u8>,
}

impl LogCursor {
    /// At the oldest line still kept.
    pub fn at_start(dir: &ContainerDir) -> LogCursor {
        let current = files_oldest_first(dir).first().and_then(|path| open(path, 0));
        LogCursor::new(dir, current)
    }

    /// At the first of the last `lines` lines (`tail`).
    pub fn at_last_lines(dir: &ContainerDir, lines: usize) -> LogCursor {
        let files = files_oldest_first(dir);
        let mut remaining = lines;
        for (index, path) in files.iter().enumerate().rev() {
            let Ok(mut file) = File::open(path) else { continue };
            match start_of_last_lines(&mut file, remaining) {
                Ok(Found::At(offset)) => return LogCursor::new(dir, open(path, offset)),
                Ok(Found::Short(count)) if index > 0 => remaining -= count,
                _ => return LogCursor::new(dir, open(path, 0)),
            }
        }
        LogCursor::at_start(dir)
    }

    fn new(dir: &ContainerDir, current: Option<(File, u64)>) -> LogCursor {
        LogCursor { dir: dir.clone(), current, pending: Vec::new(), buffer: vec![0; READ_BYTES] }
    }

    /// Hands every complete line available now to `each` (without its
    /// newline), crossing rotations, until the end of the live file.
    /// `live_inode` is the live file's inode as the daemon last saw it (0:
    /// unknown, look): a hundred followers then need no `stat` of their own.
    pub fn read_available(
        &mut self,
        each: &mut dyn FnMut(&[u8]) -> io::Result<()>,
        live_inode: u64,
    ) -> io::Result<()> {
        loop {
            let Some((file, inode)) = self.current.as_mut() else {
                // No log yet: it appears when the container first writes.
                self.current = open(&self.dir.log(), 0);
                if self.current.is_none() {
                    return Ok(());
                }
                continue;
            };
            let count = file.read(&mut self.buffer)?;
            if count > 0 {
                self.pending.extend_from_slice(&self.buffer[..count]);
                let mut done = 0;
                while let Some(newline) = find_newline(&self.pending[done..]) {
                    if newline > 0 {
                        each(&self.pending[done..done + newline])?;
                    }
                    done += newline + 1;
                }
                self.pending.drain(..done);
                // A short read from a regular file means its end was reached:
                // no second read just to be told so (a follower wakes for
                // every line, so every system call counts).
                if count == self.buffer.len() {
                    continue;
                }
            }
            // End of this file. If it is still the live log, we are caught up.
            let inode = *inode;
            if live_inode == inode {
                return Ok(());
            }
            match std::fs::metadata(self.dir.log()) {
                Ok(live) if live.ino() == inode => return Ok(()),
                Err(_) => return Ok(()),
                Ok(_) => {}
            }
            // Rotated under our feet: continue with the file that came after
            // ours, or with the oldest kept if ours has been dropped already.
            self.pending.clear();
            let files = files_oldest_first(&self.dir);
            let inodes: Vec<Option<u64>> =
                files.iter().map(|p| std::fs::metadata(p).ok().map(|m| m.ino())).collect();
            let next = match inodes.iter().position(|&i| i == Some(inode)) {
                Some(position) => files.get(position + 1),
                None => files.first(),
            };
            self.current = next.and_then(|path| open(path, 0));
            if self.current.is_none() {
                return Ok(());
            }
        }
    }
}

/// The log files that exist, oldest first: `log.N` … `log.1`, `log`.
pub fn files_oldest_first(dir: &ContainerDir) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        (1..MAX_PROBED_FILES).map(|n| dir.log_file(n)).take_while(|path| path.exists()).collect();
    files.reverse();
    if dir.log().exists() {
        files.push(dir.log());
    }
    files
}

fn open(path: &std::path::Path, offset: u64) -> Option<(File, u64)> {
    let mut file = File::open(path).ok()?;
    let inode = file.metadata().ok()?.ino();
    file.seek(SeekFrom::Start(offset)).ok()?;
    Some((file, inode))
}

enum Found {
    /// The last lines start at this offset.
    At(u64),
    /// The file has only this many lines: keep looking in older files.
    Short(usize),
}

/// Scans a file backwards for the start of its last `lines` lines.
fn start_of_last_lines(file: &mut File, lines: usize) -> io::Result<Found> {
    let size = file.metadata()?.len();
    let mut end = size;
    let mut block = vec![0u8; 64 * 1024];
    let mut newlines = 0;
    // The file's last newline ends its last line; the one before that line
    // is the (lines + 1)-th newline counted from the end.
    while end > 0 {
        let start = end.saturating_sub(block.len() as u64);
        let length = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut block[..length])?;
        for i in (0..length).rev() {
            if block[i] == b'\n' {
                newlines += 1;
                if newlines == lines + 1 {
                    return Ok(Found::At(start + i as u64 + 1));
                }
            }
        }
        end = start;
    }
    Ok(Found::Short(newlines))
}
