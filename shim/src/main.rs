//! `orchestrator-shim DIR`: one per container run. The daemon starts it and
//! from then on it needs nothing from the daemon: it detaches, becomes a
//! subreaper, starts the container process, tells the daemon it is ready, copies
//! output to the log, answers the control socket, and when the main process
//! exits it kills and reaps whatever is left, writes `exit` and leaves
//! (SPEC §6, docs/04-shim.md).
#![forbid(unsafe_code)]

mod container_process;
mod control;
mod exit_file;
mod log_writer;
mod subreaper;
mod supervisor;

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use common::paths::ContainerDir;
use common::shim_lock;
use common::sys::{self, Fork};
use common::wire::{ContainerConfig, ReadyMessage, READY_FD};

fn main() {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: orchestrator-shim CONTAINER_DIR (started by orchestratord, not by hand)");
        std::process::exit(2);
    };
    // The ready pipe the daemon put at fd 3. Taking ownership here closes it
    // when this process exits, so the daemon never waits on a dead shim.
    let ready = open_ready_pipe();
    let container_dir = ContainerDir::at(dir);
    // The lock that says "this container has a live shim" (fd 4, taken by
    // the daemon before the fork). Held until this process is gone.
    let _lock = match shim_lock::inherit_or_take(&container_dir) {
        Ok(lock) => lock,
        Err(error) => {
            eprintln!("orchestrator-shim: {error}");
            std::process::exit(1);
        }
    };
    detach();
    match run(&container_dir, ready) {
        Ok(()) => {}
        Err(message) => {
            eprintln!("orchestrator-shim: {message}");
            std::process::exit(1);
        }
    }
}

/// The shim's algorithm, step by step.
fn run(dir: &ContainerDir, mut ready: Option<File>) -> Result<(), String> {
    clear_previous_run(dir)?;
    sys::set_child_subreaper().map_err(|e| e.to_string())?;
    let config = load_config(dir)?;
    // SIGCHLD is blocked before the container starts, so no exit is missed: it
    // waits in the signalfd until the supervisor loop reads it.
    sys::block_signals(&[libc::SIGCHLD]).map_err(|e| e.to_string())?;
    let child_exits = sys::SignalFd::new(&[libc::SIGCHLD]).map_err(|e| e.to_string())?;

    let container = match container_process::start(&config) {
        Ok(container) => container,
        Err(failure) => {
            let message = ReadyMessage::Failed { message: failure.message, exit_code: failure.exit_code };
            tell_daemon(&mut ready, &message);
            return Ok(());
        }
    };
    let mut control =
        control::ControlSocket::bind(&dir.shim_sock()).map_err(|e| format!("bind shim.sock: {e}"))?;
    write_pid_files(dir, container.pid)?;
    tell_daemon(&mut ready, &ReadyMessage::Started { pid: container.pid });

    let log =
        log_writer::LogWriter::open(dir, &config.log, config.tty).map_err(|e| format!("open log: {e}"))?;
    let status = supervisor::supervise(container, config, child_exits, &mut control, log)?;

    let record = exit_file::record(status);
    let written = exit_file::write(dir, &record).map_err(|e| format!("write exit file: {e}"));
    let _ = std::fs::remove_file(dir.shim_sock());
    // The same record as the last line of every watch connection, so a live
    // daemon learns the exit code even when the file could not be written
    // (a full disk). Closing the connections is how the daemon learns of the
    // exit, so it happens only now, with the exit file in place.
    control.tell_watchers_exit(&record);
    drop(control);
    written
}

/// Takes fd 3 if the daemon passed one (it does; a shim started by hand does not).
fn open_ready_pipe() -> Option<File> {
    sys::take_inherited_fd(READY_FD).map(File::from)
}

/// Leaves the daemon: fork, and let the parent exit at once. The daemon reaps
/// that parent immediately; this child is re-parented to init (or the nearest
/// subreaper), so the daemon never accumulates zombies, and `setsid` puts it in
/// a session of its own, out of reach of the daemon's terminal and signals.
fn detach() {
    match sys::fork() {
        Ok(Fork::Parent(_)) => sys::exit_immediately(0),
        Ok(Fork::Child) => {}
        Err(error) => {
            eprintln!("orchestrator-shim: {error}");
            std::process::exit(1);
        }
    }
    if let Err(error) = sys::setsid() {
        eprintln!("orchestrator-shim: {error}");
        std::process::exit(1);
    }
}

fn load_config(dir: &ContainerDir) -> Result<ContainerConfig, String> {
    let bytes = std::fs::read(dir.meta()).map_err(|e| format!("read meta.json: {e}"))?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("parse meta.json: {e}"))?;
    ContainerConfig::from_json(&value).ok_or_else(|| "meta.json is not a container configuration".to_string())
}

/// Removes what the previous run left (`exit`, the PID files), so the files
/// describe only this run. The shim does it, holding the lock, rather than
/// the daemon before the fork: a daemon killed before the fork then leaves
/// the previous run's exit code in place (docs/13-failure-model.md).
fn clear_previous_run(dir: &ContainerDir) -> Result<(), String> {
    for path in [dir.exit(), dir.shim_pid(), dir.pid()] {
        match std::fs::remove_file(&path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!("remove {}: {error}", path.display()));
            }
            _ => {}
        }
    }
    Ok(())
}

fn write_pid_files(dir: &ContainerDir, pid: i32) -> Result<(), String> {
    use common::atomic_file::write_atomic;
    // `pid` first: once `shim.pid` names this shim, recovery reads `pid`.
    write_atomic(&dir.pid(), format!("{pid}\n").as_bytes())
        .and_then(|()| write_atomic(&dir.shim_pid(), format!("{}\n", sys::getpid()).as_bytes()))
        .map_err(|e| format!("write pid files: {e}"))
}

/// Sends the one ready message and closes the pipe: the daemon's read ends.
fn tell_daemon(ready: &mut Option<File>, message: &ReadyMessage) {
    if let Some(mut pipe) = ready.take() {
        let _ = pipe.write_all(message.to_line().as_bytes());
    }
}
