//! The `exit` file: how the container's main process ended, written once and
//! atomically after every process of the container is gone and its output is in
//! the log. Its presence is what tells the daemon, live or restarted, that the
//! container has exited and with which code (SPEC §3, docs/04-shim.md).

use common::atomic_file::write_atomic;
use common::paths::ContainerDir;
use common::sys::WaitStatus;
use common::time::now_rfc3339;
use common::wire::ExitRecord;

/// The record of the main process's end: its exit code (128 + signal if
/// killed) and the time.
pub fn record(status: WaitStatus) -> ExitRecord {
    ExitRecord { exit_code: status.exit_code(), finished_at: now_rfc3339() }
}

/// Writes `exit` with that record.
pub fn write(dir: &ContainerDir, record: &ExitRecord) -> std::io::Result<()> {
    write_atomic(&dir.exit(), &record.to_bytes())
}
