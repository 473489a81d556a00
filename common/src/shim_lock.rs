//! The shim's lock: how anyone can tell, from the state directory alone and
//! with no race, whether a container has a live shim.
//!
//! The lock is `flock(2)` on the container's directory. The daemon takes it
//! *before* it forks the shim, on a descriptor that the child gets at
//! [`LOCK_FD`]; the shim keeps that descriptor open for its whole life and
//! never passes it on. A `flock` lock belongs to the open file, not to a
//! process, so from the fork on it is held by the shim's copy, and the kernel
//! releases it when the shim's last descriptor closes — when the shim exits
//! or is killed, after it wrote `exit` or without. Hence:
//!
//! - **held** means a shim of this container is alive, or is about to be
//!   (forked, not yet at `shim.pid`): recovery waits for its `shim.pid`
//!   instead of calling the container `created`;
//! - **free** means no shim is alive and none is starting, so `shim.pid` and
//!   `exit` tell the whole story;
//! - **two shims are impossible**: a launch that cannot take the lock fails.
//!
//! `shim.pid` stays the way to find the shim's PID; the lock only answers
//! "alive?" (docs/07-recovery.md, "The shim's lock").

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use crate::paths::ContainerDir;
use crate::sys;

/// The descriptor at which the shim finds the lock the daemon took for it.
pub const LOCK_FD: RawFd = 4;

/// Why the lock could not be taken.
#[derive(Debug)]
pub enum LockError {
    /// A live shim (or one being started) holds it.
    Held,
    /// The directory could not be opened or locked.
    Io(std::io::Error),
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Held => f.write_str("a shim of this container is still running"),
            LockError::Io(error) => write!(f, "lock the container directory: {error}"),
        }
    }
}

/// Takes the lock of `dir` for a shim about to be started. The descriptor is
/// close-on-exec: the caller maps it to [`LOCK_FD`] in the shim only.
pub fn take(dir: &ContainerDir) -> Result<OwnedFd, LockError> {
    let directory = File::open(dir.dir()).map_err(LockError::Io)?;
    match sys::try_lock_exclusive(directory.as_raw_fd()) {
        Ok(true) => Ok(directory.into()),
        Ok(false) => Err(LockError::Held),
        Err(error) => Err(LockError::Io(error.into())),
    }
}

/// True if a shim holds the lock of `dir`. Testing takes the lock for an
/// instant when it is free, so a `take` at that instant would fail: only
/// code that no launch of this container can overlap asks this (recovery,
/// which launches nothing meanwhile, and the watcher of a run, which the
/// next launch waits for).
pub fn is_held(dir: &ContainerDir) -> bool {
    matches!(take(dir), Err(LockError::Held))
}

/// The shim's side: the lock the daemon took for it at [`LOCK_FD`], made
/// close-on-exec so that no process the shim starts holds it; or, for a shim
/// started by hand, the lock taken now, which fails if another shim lives.
pub fn inherit_or_take(dir: &ContainerDir) -> Result<OwnedFd, LockError> {
    match sys::take_inherited_fd(LOCK_FD) {
        Some(fd) => Ok(fd),
        None => take(dir),
    }
}
