//! Atomic file writes: write to a temporary name in the same directory, then
//! `rename` it into place. A reader (the shim, a restarted daemon) sees either
//! the old content or the new, never half a file, whatever moment a process is
//! killed at (rename(2)). No fsync: the failure model is a killed process, not a
//! lost machine, and an fsync would cost milliseconds on every `run`
//! (docs/07-recovery.md).

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `bytes` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    // Unique per process and call, so two writers never share a temporary file.
    let temporary = path.with_file_name(format!(
        ".{name}.tmp.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = fs::File::create(&temporary)
        .and_then(|mut file| file.write_all(bytes))
        .and_then(|()| fs::rename(&temporary, path));
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}

/// Reads a small file that holds one decimal number (`shim.pid`, `pid`).
pub fn read_number(path: &Path) -> Option<i32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("atomic-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pid");
        write_atomic(&path, b"12").unwrap();
        write_atomic(&path, b"34\n").unwrap();
        assert_eq!(read_number(&path), Some(34));
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}
