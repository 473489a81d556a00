//! The read timeout SPEC §7 asks for — a client that stalls before its
//! request is complete (or in the middle of its body) is cut off — which
//! tiny_http 0.12 cannot give: it never lets us at an accepted socket to set
//! `SO_RCVTIMEO`. So a sweeper looks at what the daemon's threads are blocked
//! on, as `upgrade.rs` does (`/proc/self/task/TID/syscall`): a thread that was
//! blocked reading the same API connection at two sweeps in a row, without
//! waking once in between, has had nothing from its client for at least one
//! sweep's time, and that connection is shut down. The thread's read then
//! returns end-of-file and the connection closes the usual way.
//!
//! What is cut: a request head or body that stalls, and a keep-alive
//! connection idle between requests (HTTP clients expect that). What is not:
//! the input side of an attach (`client-input` threads: a terminal may be
//! quiet for hours), and every socket that is not an API connection (shim
//! connections). Responses being written are never affected: a thread
//! writing to a client is not reading.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::sys::{self, Pid};

/// How often the sweeper looks: a stalled client is cut off after between
/// one and two of these.
pub const SWEEP: Duration = Duration::from_secs(10);

/// Threads whose reads of an API connection may wait for ever.
const PATIENT_THREADS: [&str; 1] = ["client-input"];

/// A thread blocked reading a descriptor, and how often it had slept so far.
#[derive(Clone, Copy, PartialEq, Eq)]
struct BlockedRead {
    fd: i32,
    sleeps: u64,
}

/// Starts the sweeper for connections accepted on `api_socket`.
pub fn start(api_socket: PathBuf) {
    let spawned =
        std::thread::Builder::new().name("read-timeout".into()).stack_size(64 * 1024).spawn(move || {
            let mut before: HashMap<Pid, BlockedRead> = HashMap::new();
            loop {
                std::thread::sleep(SWEEP);
                let now = blocked_reads(&api_socket);
                for (tid, read) in &now {
                    if before.get(tid) == Some(read) {
                        let _ = sys::shutdown_socket(read.fd);
                    }
                }
                before = now;
            }
        });
    spawned.expect("invariant: the daemon can start a thread");
}

/// The threads of this process blocked right now reading an API connection.
fn blocked_reads(api_socket: &Path) -> HashMap<Pid, BlockedRead> {
    let mut found = HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return found };
    for task in tasks.flatten() {
        let Some(tid) = task.file_name().to_str().and_then(|name| name.parse::<Pid>().ok()) else { continue };
        let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if PATIENT_THREADS.contains(&name.trim()) {
            continue;
        }
        let Some(fd) = crate::upgrade::blocked_reading(tid) else { continue };
        if sys::socket_path(fd).as_deref() != Some(api_socket) {
            continue;
        }
        if let Some(sleeps) = voluntary_sleeps(tid) {
            found.insert(tid, BlockedRead { fd, sleeps });
        }
    }
    found
}

/// How many times the thread has gone to sleep (`voluntary_ctxt_switches`
/// in `/proc/self/task/TID/status`): unchanged means it never woke.
fn voluntary_sleeps(tid: Pid) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).ok()?;
    status.lines().find_map(|line| line.strip_prefix("voluntary_ctxt_switches:")?.trim().parse().ok())
}
