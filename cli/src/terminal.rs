//! The user's terminal during an attached session with `-t`: raw mode, so
//! every keystroke goes to the container as it is typed (the container's own
//! terminal does the echoing and line editing), restored on every way out —
//! normal end, error, detach, panic (a `Drop`), or a signal (the signal
//! thread) — and the window size, sent at the start and on each SIGWINCH
//! (docs/12-tty.md, termios(3)).

use std::io::IsTerminal;
use std::os::fd::AsRawFd;

use common::sys::{self, TerminalSettings, WindowSize};

/// Signals the session handles itself while the terminal is raw: a resize,
/// and the ones that would otherwise end the CLI with the terminal left raw.
const SESSION_SIGNALS: [i32; 4] = [libc::SIGWINCH, libc::SIGTERM, libc::SIGHUP, libc::SIGINT];

/// Raw mode on stdin's terminal while this lives.
pub struct RawMode {
    saved: TerminalSettings,
}

impl RawMode {
    /// Puts stdin's terminal in raw mode; `None` if stdin is not a terminal.
    pub fn enter() -> std::io::Result<Option<RawMode>> {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Ok(None);
        }
        let fd = stdin.as_raw_fd();
        let saved = sys::terminal_settings(fd)?;
        sys::set_terminal_settings(fd, &sys::raw_settings(&saved))?;
        Ok(Some(RawMode { saved }))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = sys::set_terminal_settings(std::io::stdin().as_raw_fd(), &self.saved);
    }
}

/// The size of the terminal the CLI writes to, if it is one.
pub fn size() -> Option<WindowSize> {
    sys::window_size(std::io::stdout().as_raw_fd()).or_else(|| sys::window_size(std::io::stdin().as_raw_fd()))
}

/// Sends the window size now and again after every SIGWINCH, from a thread
/// of its own, which also restores the terminal (from `restore`) and exits
/// on SIGTERM, SIGHUP and SIGINT. Call before starting any other thread:
/// the signals are blocked here and every later thread inherits the mask,
/// so only this thread's signalfd ever sees them.
pub fn watch_signals(
    restore: Option<TerminalSettings>,
    mut send_size: impl FnMut(WindowSize) + Send + 'static,
) -> std::io::Result<()> {
    sys::block_signals(&SESSION_SIGNALS)?;
    let signals = sys::SignalFd::new(&SESSION_SIGNALS)?;
    if let Some(size) = size() {
        send_size(size);
    }
    std::thread::Builder::new().name("signals".into()).spawn(move || loop {
        let mut entries = [sys::poll_entry(signals.as_raw_fd())];
        if sys::poll(&mut entries, None).is_err() {
            return;
        }
        while let Ok(Some(signal)) = signals.take() {
            if signal == libc::SIGWINCH {
                if let Some(size) = size() {
                    send_size(size);
                }
                continue;
            }
            if let Some(saved) = &restore {
                let _ = sys::set_terminal_settings(std::io::stdin().as_raw_fd(), saved);
            }
            std::process::exit(128 + signal);
        }
    })?;
    Ok(())
}

impl RawMode {
    /// The settings to restore, for the signal thread.
    pub fn saved(&self) -> TerminalSettings {
        self.saved
    }
}
