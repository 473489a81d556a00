//! The shim's one loop. A single thread `poll`s the child-exit signalfd, the
//! container's stdout and stderr pipes (or its terminal), and the control
//! socket, and reacts to whichever is ready. When the main process exits, everything left of the
//! container is killed; the loop ends once every process is reaped and both
//! pipes are drained, so the log is complete before `exit` is written
//! (SPEC §6 step 5, docs/04-shim.md).

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::{AsRawFd, OwnedFd};

use common::stream_frame::Stream;
use common::sys::{self, PollFd, Reaped, SignalFd, WaitStatus};
use common::wire::{ContainerConfig, ExecRequest, ShimRefusal, ShimReply, ShimRequest, SignalScope};

use crate::container_process::{self, ProcessSpec, StartedProcess};
use crate::control::{Answer, ControlSocket};
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
    /// The read ends of stdout and stderr, `None` after end-of-file. With a
    /// TTY, stdout's is a copy of the terminal's master side and stderr has none.
    outputs: [Option<File>; 2],
    /// The master side of the container's terminal (`-t`): what `stdin`
    /// requests get a copy of, and what `resize` sets the size of.
    terminal: Option<OwnedFd>,
    /// The write end of the container's stdin pipe (`-i` without `-t`), kept
    /// open by the shim so the container does not read end-of-file when an
    /// attached client leaves, until `close_stdin`.
    stdin: Option<OwnedFd>,
    config: ContainerConfig,
}

/// Runs until the container is over; returns how its main process ended.
pub fn supervise(
    container: StartedProcess,
    config: ContainerConfig,
    child_exits: SignalFd,
    control: &mut ControlSocket,
    mut log: LogWriter,
) -> Result<WaitStatus, String> {
    let terminal_output = match &container.terminal {
        Some(master) => Some(File::from(master.try_clone().map_err(|e| e.to_string())?)),
        None => None,
    };
    let mut state = Supervised {
        main_pid: container.pid,
        main_status: None,
        no_children_left: false,
        outputs: [terminal_output.or(container.stdout), container.stderr],
        terminal: container.terminal,
        stdin: container.stdin,
        config,
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
            reap_children(&mut state, control);
        }
        control.on_ready(&entries[control_start..], &mut |request| handle_request(request, &mut state));
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
    // Output that cannot be logged (the disk is full) is dropped, as Docker's
    // json-file driver drops it: the container goes on, and never blocks on
    // a pipe nobody drains.
    let logged = |result: std::io::Result<bool>| Ok(result.unwrap_or(false));
    loop {
        match pipe.read(buffer) {
            Ok(0) => {
                *output = None;
                return logged(log.finish(stream));
            }
            // One read per poll round keeps stdout from starving stderr and
            // the control socket.
            Ok(count) => return logged(log.append(stream, &buffer[..count])),
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok(false),
            // A terminal's master reads EIO once no process holds its slave
            // side open any more: that is its end-of-file.
            Err(error) if error.raw_os_error() == Some(libc::EIO) => {
                *output = None;
                return logged(log.finish(stream));
            }
            Err(error) => return Err(format!("read container output: {error}")),
        }
    }
}

/// Reaps every child that has ended. When it is the main process, whatever is
/// left of the container is killed: its exit ends the container, as PID 1's
/// exit ends a Docker container's PID namespace. An exec's exit code goes to
/// the connection that started it.
fn reap_children(state: &mut Supervised, control: &mut ControlSocket) {
    loop {
        match sys::reap_any() {
            Ok(Reaped::Child(pid, status)) if pid == state.main_pid => {
                state.main_status = Some(status);
                subreaper::kill_everything(state.main_pid);
            }
            // An exec, or an orphan re-parented to us: either way reaped now.
            Ok(Reaped::Child(pid, status)) => control.process_exited(pid, status.exit_code()),
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
fn handle_request(request: ShimRequest, state: &mut Supervised) -> Answer {
    let running = state.main_status.is_none();
    match request {
        ShimRequest::Watch => Answer::ok(), // handled by the control socket itself
        ShimRequest::Signal { signal, scope } => {
            if !running {
                return Answer::refused("container is not running");
            }
            // The main process leads its own group (pgid == pid).
            if let Err(error) = sys::killpg(state.main_pid, signal) {
                return Answer::refused(error.to_string());
            }
            if scope == SignalScope::All {
                subreaper::signal_descendants(signal);
            }
            Answer::ok()
        }
        ShimRequest::Stdin => {
            let end = state.terminal.as_ref().or(state.stdin.as_ref());
            match end.map(OwnedFd::try_clone) {
                Some(Ok(copy)) => Answer { fds: vec![copy], ..Answer::ok() },
                Some(Err(error)) => Answer::refused(error.to_string()),
                None => Answer::refused("the container's stdin is closed"),
            }
        }
        ShimRequest::CloseStdin => {
            state.stdin = None;
            Answer::ok()
        }
        ShimRequest::Resize { rows, columns } => match &state.terminal {
            Some(master) => match sys::set_window_size(master.as_raw_fd(), sys::WindowSize { rows, columns })
            {
                Ok(()) => Answer::ok(),
                Err(error) => Answer::refused(error.to_string()),
            },
            None => Answer::refused("the container has no terminal"),
        },
        ShimRequest::Exec(exec) if running => start_exec(&exec, &state.config),
        ShimRequest::Exec(_) => Answer::refused("container is not running"),
    }
}

/// Starts an exec as this shim's child, so it shares the container's fate:
/// killed with it, reaped here. Its stdio travels to the daemon with the reply.
fn start_exec(exec: &ExecRequest, config: &ContainerConfig) -> Answer {
    // The container's environment, with the exec's `-e` entries replacing
    // those of the same name.
    let name = |entry: &String| entry.split('=').next().unwrap_or("").to_string();
    let mut env: Vec<String> =
        config.env.iter().filter(|e| !exec.env.iter().any(|x| name(x) == name(e))).cloned().collect();
    env.extend(exec.env.iter().cloned());
    let cwd = if exec.cwd.is_empty() { &config.cwd } else { &exec.cwd };
    let spec = ProcessSpec {
        argv: &exec.argv,
        env: &env,
        cwd,
        tty: exec.tty && !exec.detach,
        stdin: exec.stdin && !exec.detach,
        discard_output: exec.detach,
    };
    match container_process::start_process(&spec) {
        Ok(started) => {
            let fds: Vec<OwnedFd> = started
                .terminal
                .into_iter()
                .chain(started.stdin)
                .chain(started.stdout.map(OwnedFd::from))
                .chain(started.stderr.map(OwnedFd::from))
                .collect();
            Answer { result: Ok(ShimReply { pid: Some(started.pid) }), fds, waits_for: Some(started.pid) }
        }
        // Docker's wording for an exec that could not start, and its code.
        Err(failure) => Answer {
            result: Err(ShimRefusal {
                message: format!("OCI runtime exec failed: exec failed: {}: unknown", failure.message),
                exit_code: Some(126),
            }),
            ..Answer::ok()
        },
    }
}
