//! An attached session, the client side of `attach`, `exec` and the attached
//! `run`/`start`: the upgraded connection's output printed as it comes (on
//! this thread), and — with `-i` — this process's stdin copied the other way
//! (on a thread of its own), ended by a half-close (`shutdown(SHUT_WR)`) so
//! the daemon can tell the container "end of input" while output still flows
//! back. With `-t` the terminal is raw and its size follows the window.
//! Typing the detach keys ends the session and leaves the container running
//! (docs/09-attach.md, docs/12-tty.md).

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::detach_keys::DetachKeys;
use common::sys::WindowSize;

use crate::api::CliError;
use crate::http_client::Response;
use crate::terminal::{self, RawMode};

/// What the session does besides printing the output.
pub struct SessionOptions {
    /// The stream is a terminal's raw bytes, not Docker's frames.
    pub tty: bool,
    /// Send this process's stdin.
    pub stdin: bool,
    pub detach_keys: DetachKeys,
}

/// How a session ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The daemon closed the stream: the process's output is over.
    OutputEnded,
    /// The user typed the detach keys; the container goes on.
    Detached,
}

/// Runs the session over `response` (a 101). `resize` is called with the
/// window size at the start and on every change, when there is a terminal.
pub fn run(
    response: Response<'_>,
    options: SessionOptions,
    resize: impl FnMut(WindowSize) + Send + 'static,
) -> Result<Ended, CliError> {
    let raw = if options.tty && options.stdin { RawMode::enter()? } else { None };
    if options.tty {
        terminal::watch_signals(raw.as_ref().map(RawMode::saved), resize)?;
    }
    let detached = Arc::new(AtomicBool::new(false));
    if options.stdin {
        let connection = response.writer()?;
        let detached = Arc::clone(&detached);
        // A terminal's keystrokes may detach; piped data is passed on whole.
        let keys = options.detach_keys.for_terminal(options.tty);
        std::thread::Builder::new()
            .name("stdin".into())
            .spawn(move || send_input(connection, keys, &detached))?;
    }
    let printed = crate::commands::print_output(response, options.tty, true);
    drop(raw);
    if detached.load(Ordering::Relaxed) {
        return Ok(Ended::Detached);
    }
    printed.map(|()| Ended::OutputEnded)
}

/// Copies stdin to the connection until end-of-file, then half-closes it:
/// the daemon reads end-of-file, and the output keeps coming. The detach
/// keys shut the connection down both ways instead.
fn send_input(mut connection: UnixStream, mut keys: DetachKeys, detached: &AtomicBool) {
    let mut stdin = std::io::stdin().lock();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut forwarded = Vec::new();
    loop {
        let count = match stdin.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(count) => count,
        };
        forwarded.clear();
        let detach = keys.filter(&buffer[..count], &mut forwarded);
        if connection.write_all(&forwarded).is_err() {
            return;
        }
        if detach {
            detached.store(true, Ordering::Relaxed);
            let _ = connection.shutdown(Shutdown::Both);
            return;
        }
    }
    let _ = connection.shutdown(Shutdown::Write);
}
