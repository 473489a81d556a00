//! The layout of the state directory (SPEC §3): one directory per container,
//! named by its full ID, holding the files the daemon and the shim share. This is
//! the only durable state; every path is made here and nowhere else.

use std::path::{Path, PathBuf};

use crate::ids;

/// Default `--root` of the daemon.
pub const DEFAULT_ROOT: &str = "/tmp/orchestrator-shims";
/// Default `--socket` of the daemon and the CLI.
pub const DEFAULT_SOCKET: &str = "/tmp/orchestrator.sock";
/// A Unix socket path must fit in `sun_path` (108 bytes with its NUL).
pub const MAX_SOCKET_PATH: usize = 107;

/// The files of one container's directory.
#[derive(Debug, Clone)]
pub struct ContainerDir {
    dir: PathBuf,
}

impl ContainerDir {
    /// The directory of container `id` under `root`. Only a full 64-hex ID may
    /// name a directory; anything else is a bug in the caller.
    pub fn new(root: &Path, id: &str) -> ContainerDir {
        assert!(ids::is_full_id(id), "invariant: container directories are named by full IDs");
        ContainerDir { dir: root.join(id) }
    }

    /// Wraps an existing directory (the shim is given its directory by path).
    pub fn at(dir: PathBuf) -> ContainerDir {
        ContainerDir { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// The container's configuration, written by the daemon.
    pub fn meta(&self) -> PathBuf {
        self.dir.join("meta.json")
    }
    /// PID of the shim: the liveness sentinel.
    pub fn shim_pid(&self) -> PathBuf {
        self.dir.join("shim.pid")
    }
    /// PID of the container's main process.
    pub fn pid(&self) -> PathBuf {
        self.dir.join("pid")
    }
    /// The json-file log of the container's output: the live file.
    pub fn log(&self) -> PathBuf {
        self.dir.join("log")
    }
    /// Log file number `n`: 0 is the live `log`, 1 the most recently rotated
    /// `log.1`, and so on; higher numbers are older.
    pub fn log_file(&self, n: u32) -> PathBuf {
        if n == 0 {
            self.log()
        } else {
            self.dir.join(format!("log.{n}"))
        }
    }
    /// Exit code and finish time, written once after every process is gone.
    pub fn exit(&self) -> PathBuf {
        self.dir.join("exit")
    }
    /// The shim's control socket.
    pub fn shim_sock(&self) -> PathBuf {
        self.dir.join("shim.sock")
    }
}
