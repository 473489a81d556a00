//! `POST /containers/{id}/attach` with `Upgrade: tcp`: the HTTP 101 upgrade.
//! The daemon answers `101` at once and the connection stops being HTTP: from
//! then on it carries the container's output to the client as Docker's
//! multiplexed frames (raw bytes with a TTY) until the container stops, when
//! the daemon closes it; and, with `stdin=1`, the client's bytes the other way,
//! into the container's stdin, until the client half-closes its side.
//!
//! The output is the log followed live, from where it ended when the client
//! attached — so an attach made before `start`, as `docker run` makes it, sees
//! every byte of the run. The input goes straight into the container's stdin
//! pipe (or its terminal), a copy of which the shim passes over `shim.sock`
//! (docs/09-attach.md, tiny_http-notes.md facts 2 and 3).

use std::io::{Read, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tiny_http::Request;

use common::detach_keys::{self, DetachKeys};
use common::state::{decide, Action, Decision};
use common::wire::ShimRequest;

use crate::api_error::ApiError;
use crate::container::Container;
use crate::engine::Engine;
use crate::http_io::{respond_error, switching_protocols, Query};
use crate::log_follow::LogCursor;
use crate::logs::{self, Destination, FrameSink, LogQuery};
use crate::shim_link;
use crate::upgrade::{self, ClientInput};

/// What the client asked for.
pub struct AttachOptions {
    pub stdout: bool,
    pub stderr: bool,
    /// Replay the log first (`logs=1`).
    pub past_output: bool,
    /// Forward the client's input (`stdin=1` on a container with `OpenStdin`).
    pub stdin: bool,
    pub detach_keys: DetachKeys,
}

/// An attach about to begin (HTTP or WebSocket): the container, what the
/// client asked for, and what was fixed before the 101 — the run it attached
/// in and the log position it starts from — so nothing written from then on
/// can be missed.
pub struct Attachment {
    pub container: Arc<Container>,
    pub options: AttachOptions,
    pub run_at_attach: u64,
    pub tty: bool,
    pub stdin_once: bool,
    pub cursor: LogCursor,
}

/// Checks an attach request and fixes where its output starts.
pub fn prepare(engine: &Engine, reference: &str, query: &Query) -> Result<Attachment, ApiError> {
    let container = engine.find(reference)?;
    let keys = query.get("detachKeys").filter(|keys| !keys.is_empty()).unwrap_or(detach_keys::DEFAULT);
    let options = AttachOptions {
        stdout: query.flag("stdout")?,
        stderr: query.flag("stderr")?,
        past_output: query.flag("logs")?,
        // Docker ignores `stdin=1` for a container created without -i.
        stdin: query.flag("stdin")? && container.lock().config.open_stdin,
        detach_keys: DetachKeys::parse(keys).map_err(ApiError::BadRequest)?,
    };
    if decide(Action::Attach, container.status()) != Decision::Allowed {
        return Err(crate::lifecycle::wrong_state(Action::Attach, &container, reference));
    }
    let (run_at_attach, tty, stdin_once) = {
        let state = container.lock();
        (state.run, state.config.tty, state.config.stdin_once)
    };
    let cursor = if options.past_output {
        LogCursor::at_start(&container.dir)
    } else {
        LogCursor::at_last_lines(&container.dir, 0)
    };
    Ok(Attachment { container, options, run_at_attach, tty, stdin_once, cursor })
}

pub fn handle(engine: &Arc<Engine>, request: Request, reference: &str, query: &Query) {
    let Attachment { container, options, run_at_attach, tty, stdin_once, cursor } =
        match prepare(engine, reference, query) {
            Ok(prepared) => prepared,
            Err(error) => return respond_error(request, &error),
        };
    // The request's body is the whole socket now: never read it before the
    // upgrade (tiny_http-notes.md fact 2). `upgrade` sends the 101 at once.
    let response = switching_protocols(&[("Content-Type", "application/vnd.docker.raw-stream")]);
    let connection = request.upgrade("tcp", response);
    let output_options = LogQuery::attached(options.stdout, options.stderr);

    if !options.stdin {
        // One direction only: the connection is the output. (The docker CLI
        // half-closes its side at once; that is not a detach.)
        wait_for_run(&container, run_at_attach);
        let mut sink = FrameSink::new(Destination::Raw(Box::new(connection)), tty);
        // An error means the client went away; dropping the stream closes it.
        let _ = logs::send_log(&container, cursor, &output_options, &mut sink);
        return;
    }

    // Both directions: the input on a thread of its own.
    let cancel_output: Arc<std::sync::atomic::AtomicBool> = Arc::default();
    let cancel = Arc::clone(&cancel_output);
    let for_input = Arc::clone(&container);
    let mut detach_keys = options.detach_keys.for_terminal(tty);
    let duplex = upgrade::split(connection, move |client| {
        let detached = forward_stdin(&for_input, run_at_attach, client, &mut detach_keys, stdin_once);
        if detached {
            // End the output too: the follower wakes, sees this, and stops.
            cancel.store(true, Ordering::Relaxed);
            for_input.update(|_| ());
            client.hang_up();
        }
    });
    wait_for_run(&container, run_at_attach);
    if let Ok(output) = duplex.output() {
        let mut sink = FrameSink::new(Destination::Raw(Box::new(output)), tty);
        sink.cancelled = cancel_output;
        let _ = logs::send_log(&container, cursor, &output_options, &mut sink);
    }
    duplex.finish();
}

/// Waits for the output to attach to: the run going on now, or the next one
/// to start (Docker keeps an attach to a stopped container open for that).
pub fn wait_for_run(container: &Container, run_at_attach: u64) {
    container
        .wait_until(None, |state| state.status.has_processes() || state.run > run_at_attach || state.removed);
}

/// Copies the client's input into the container's stdin until the client
/// half-closes (then, with `StdinOnce`, the container's stdin is closed too)
/// or types the detach keys. Returns true for a detach.
fn forward_stdin(
    container: &Container,
    run_at_attach: u64,
    client: &mut ClientInput,
    detach_keys: &mut DetachKeys,
    stdin_once: bool,
) -> bool {
    // `docker run -i` attaches, and may send all its input, before `start`.
    wait_for_run(container, run_at_attach);
    match copy_input(client, shim_link::stdin(&container.dir).ok(), detach_keys) {
        InputEnd::Detached => true,
        InputEnd::Closed(stdin) => {
            // The client half-closed its side: its input is over.
            if let Some(stdin) = stdin {
                end_of_input(container, stdin, stdin_once);
            }
            false
        }
    }
}

/// How a client's input ended.
pub enum InputEnd {
    /// It typed the detach keys; what followed them was dropped.
    Detached,
    /// It half-closed its side (or went away). The process's stdin comes
    /// back, unless the process had closed it for good.
    Closed(Option<std::fs::File>),
}

/// Copies what the client sends into a process's stdin — a container's
/// (attach) or an exec's — watching for the detach keys, until the client's
/// input ends. A process that closed its stdin for good (EPIPE) gets nothing
/// more, but the client's bytes are still read, and dropped, until it ends.
pub fn copy_input(
    client: &mut ClientInput,
    mut stdin: Option<std::fs::File>,
    detach_keys: &mut DetachKeys,
) -> InputEnd {
    let mut forwarded = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let count = match client.read(&mut buffer) {
            Ok(0) | Err(_) => return InputEnd::Closed(stdin),
            Ok(count) => count,
        };
        forwarded.clear();
        let detached = detach_keys.filter(&buffer[..count], &mut forwarded);
        if stdin.as_mut().is_some_and(|pipe| write_input(pipe, &forwarded).is_err()) {
            stdin = None;
        }
        if detached {
            return InputEnd::Detached;
        }
    }
}

/// Writes into a process's stdin: a pipe, or a terminal's master side, which
/// the shim reads without blocking — a flag its copy shares with ours, so a
/// full terminal buffer says "try again" (EAGAIN) here: wait until it has room.
pub fn write_input(stdin: &mut std::fs::File, mut bytes: &[u8]) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    while !bytes.is_empty() {
        match stdin.write(bytes) {
            Ok(written) => bytes = &bytes[written..],
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                let mut entries = [common::sys::poll_entry_for_writing(stdin.as_raw_fd())];
                common::sys::poll(&mut entries, None)?;
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// The client's input is over: our copy of the container's stdin closes and,
/// with `StdinOnce`, the shim's too — the container reads end-of-file.
pub fn end_of_input(container: &Container, stdin: std::fs::File, stdin_once: bool) {
    drop(stdin);
    if stdin_once {
        let _ = shim_link::request(&container.dir, &ShimRequest::CloseStdin);
    }
}
