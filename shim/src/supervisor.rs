//! The shim's one loop. A single thread `poll`s the child-exit signalfd, the
//! container's stdout and stderr pipes, and the control socket, and reacts to
//! whichever is ready. When the main process exits, everything left of the
//! container is killed; the loop ends once every process is reaped and both
//! pipes are drained, so the log is complete before `exit` is written
//! (SPEC §6 step 5, docs/04-shim.md).

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::AsRawFd;

use common::stream_frame::Stream;
use common::sys::{self, PollFd, Reaped, SignalFd, WaitStatus};
use common::wire::{ShimRequest, SignalScope};

use crate::container_process::ContainerProcess;
use crate::control::ControlSocket;
use crate::log_writer::LogWriter;
use crate::subreaper;

/// Output is read in pieces of this size...
const READ_BUFFER_BYTES: usize = 256 * 1024;
/// ...from pipes grown to this size, so a chatty container is read in few,
/// large pieces (the kernel's default is 64 KiB).
const PIPE_BUFFER_BYTES: usize = 1024 * 1024;

/// What the loop knows about the container.
struct Supervised {
    main_pid: sys::Pid,
    /// Set when the main process has been reaped.
    main_status: Option<WaitStatus>,
    /// True once `waitpid` reports no children at all.
    no_children_left: bool,
    /// The read ends of stdout and stderr, `None` after end-of-file.
    outputs: [Option<File>; 2],
}

/// Runs until the container is over; returns how its main process ended.
pub fn supervise(
    container: ContainerProcess,
    child_exits: SignalFd,
    control: &mut ControlSocket,
    mut log: LogWriter,
) -> Result<WaitStatus, String> {
    let mut state = Supervised {
        main_pid: container.pid,
        main_status: None,
        no_children_left: false,
        outputs: [Some(container.stdout), Some(container.stderr)],
    };
    for output in state.outputs.iter().flatten() {
        sys::set_nonblocking(output.as_raw_fd()).map_err(|e| e.to_string())?;
        let _ = sys::set_pipe_size(output.as_raw_fd(), PIPE_BUFFER_BYTES); // best effort
    }
    let mut buffer = vec![0u8; READ_BUFFER_BYTES];
    // Ends when the main process is reaped, no child is left, and both pipes are at end-of-file.
    while !(state.main_status.is_some()
        && state.no_children_left
        && state.outputs.iter().all(Option::is_none))
    {
        let mut entries: Vec<PollFd> = vec![sys::poll_entry(child_exits.as_raw_fd())];
        for output in state.outputs.iter().flatten() {
            entries.push(sys::poll_entry(output.as_raw_fd()));
        }
        let control_start = entries.len();
        control.poll_entries(&mut entries);
        sys::poll(&mut entries, None).map_err(|e| e.to_string())?;

        // Output first: a process that wrote and exited has its words logged
        // before its exit is acted on.
        let mut index = 1;
        for (slot, stream) in [(0, Stream::Stdout), (1, Stream::Stderr)] {
            if state.outputs[slot].is_none() {
                continue;
            }
            if entries[index].revents != 0
                && drain_output(&mut state.outputs[slot], stream, &mut log, &mut buffer)?
            {
                control.notify_log_grew();
            }
            index += 1;
        }
        if entries[0].revents != 0 {
            while let Ok(Some(_)) = child_exits.take() {}
            reap_children(&mut state);
        }
        let main_pid = state.main_pid;
        let running = state.main_status.is_none();
        control
            .on_ready(&entries[control_start..], &mut |request| handle_request(request, main_pid, running));
    }
    Ok(state.main_status.expect("invariant: the loop ends only after the main process is reaped"))
}

/// Reads what is available on one output pipe into the log; at end-of-file the
/// pipe is closed and the stream's last partial line logged. Returns whether
/// the log grew.
fn drain_output(
    output: &mut Option<File>,
    stream: Stream,
    log: &mut LogWriter,
    buffer: &mut [u8],
) -> Result<bool, String> {
    let Some(pipe) = output.as_mut() else { return Ok(false) };
    loop {
        match pipe.read(buffer) {
            Ok(0) => {
                *output = None;
                return log.finish(stream).map_err(|e| format!("write log: {e}"));
            }
            // One read per poll round keeps stdout from starving stderr and
            // the control socket.
            Ok(count) => return log.append(stream, &buffer[..count]).map_err(|e| format!("write log: {e}")),
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok(false),
            Err(error) => return Err(format!("read container output: {error}")),
        }
    }
}

/// Reaps every child that has ended. When it is the main process, whatever is
/// left of the container is killed: its exit ends the container, as PID 1's
/// exit ends a Docker container's PID namespace.
fn reap_children(state: &mut Supervised) {
    loop {
        match sys::reap_any() {
            Ok(Reaped::Child(pid, status)) if pid == state.main_pid => {
                state.main_status = Some(status);
                subreaper::kill_everything(state.main_pid);
            }
            Ok(Reaped::Child(..)) => {} // an orphan re-parented to us, now reaped
            Ok(Reaped::NoneReady) => return,
            Ok(Reaped::NoChildren) | Err(_) => {
                state.no_children_left = true;
                return;
            }
        }
    }
}

/// Answers one control request. Only the shim signals the container's
/// processes: they are its descendants, so none of these PIDs can have been
/// reused by an unrelated process while the main process is unreaped.
fn handle_request(request: ShimRequest, main_pid: sys::Pid, running: bool) -> Result<(), String> {
    match request {
        ShimRequest::Watch => Ok(()), // handled by the control socket itself
        ShimRequest::Signal { signal, scope } => {
            if !running {
                return Err("container is not running".to_string());
            }
            // The main process leads its own group (pgid == pid).
            sys::killpg(main_pid, signal).map_err(|e| e.to_string())?;
            if scope == SignalScope::All {
                subreaper::signal_descendants(signal);
            }
            Ok(())
        }
    }
}
