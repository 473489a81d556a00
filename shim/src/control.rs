//! `shim.sock`, the shim's control socket. The daemon connects to it twice over:
//! a watch connection, which gets one byte each time the log grew and reaches
//! end-of-file when the shim exits (how the daemon learns of new output and of
//! the exit without polling), and short connections that each carry one
//! request line and get one reply line back (a signal now; stdin, resize and
//! exec are further ops of the same shape).
//! Everything here is non-blocking and driven by the supervisor's `poll` loop
//! (docs/04-shim.md, unix(7)).

use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use common::sys::{self, PollFd};
use common::wire::{shim_reply_line, ShimRequest, LOG_GREW};

/// A request line longer than this is refused and its client dropped.
const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The listening socket and the connected clients.
pub struct ControlSocket {
    listener: UnixListener,
    clients: Vec<Client>,
}

struct Client {
    stream: UnixStream,
    /// Bytes received that do not yet end in a newline.
    pending: Vec<u8>,
    /// This is a watch connection: it is told when the log grows.
    watching: bool,
}

impl ControlSocket {
    /// Binds `path` (mode 0600: only the daemon's user may talk to the shim).
    pub fn bind(path: &Path) -> std::io::Result<ControlSocket> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        listener.set_nonblocking(true)?;
        Ok(ControlSocket { listener, clients: Vec::new() })
    }

    /// Appends the descriptors to poll: the listener, then each client.
    pub fn poll_entries(&self, entries: &mut Vec<PollFd>) {
        entries.push(sys::poll_entry(self.listener.as_raw_fd()));
        entries.extend(self.clients.iter().map(|client| sys::poll_entry(client.stream.as_raw_fd())));
    }

    /// Handles what `poll` reported for the entries `poll_entries` added:
    /// accepts new clients, answers complete request lines with `handle`, and
    /// drops clients that hung up.
    pub fn on_ready(&mut self, ready: &[PollFd], handle: &mut dyn FnMut(ShimRequest) -> Result<(), String>) {
        let mut keep = Vec::with_capacity(self.clients.len());
        for (client, entry) in std::mem::take(&mut self.clients).into_iter().zip(&ready[1..]) {
            if entry.revents == 0 {
                keep.push(client);
            } else if let Some(client) = serve(client, handle) {
                keep.push(client);
            }
        }
        self.clients = keep;
        if ready[0].revents != 0 {
            while let Ok((stream, _)) = self.listener.accept() {
                if stream.set_nonblocking(true).is_ok() {
                    self.clients.push(Client { stream, pending: Vec::new(), watching: false });
                }
            }
        }
    }
}

impl ControlSocket {
    /// Tells every watch connection that the log grew. A full socket buffer
    /// means the daemon has not read earlier news yet, which says the same,
    /// so a byte that does not fit is simply dropped: the container never
    /// waits for the daemon.
    pub fn notify_log_grew(&mut self) {
        for client in self.clients.iter_mut().filter(|c| c.watching) {
            let _ = client.stream.write(&[LOG_GREW]);
        }
    }
}

/// Reads what a client sent and answers each complete line. Returns the client
/// if it stays connected.
fn serve(mut client: Client, handle: &mut dyn FnMut(ShimRequest) -> Result<(), String>) -> Option<Client> {
    let mut buffer = [0u8; 4096];
    loop {
        match client.stream.read(&mut buffer) {
            Ok(0) => return None,
            Ok(count) => client.pending.extend_from_slice(&buffer[..count]),
            Err(error) if error.kind() == ErrorKind::WouldBlock => break,
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
    while let Some(newline) = client.pending.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = client.pending.drain(..=newline).collect();
        let result = match ShimRequest::parse(&line[..line.len() - 1]) {
            Ok(ShimRequest::Watch) => {
                client.watching = true;
                Ok(())
            }
            Ok(request) => handle(request),
            Err(error) => Err(error),
        };
        // Replies are a few bytes; a client that does not read them is dropped.
        if client.stream.write_all(shim_reply_line(&result).as_bytes()).is_err() {
            return None;
        }
    }
    (client.pending.len() <= MAX_REQUEST_BYTES).then_some(client)
}
