//! `shim.sock`, the shim's control socket. The daemon connects to it in three
//! ways: a watch connection, which gets one byte each time the log grew, then
//! the exit record as a last line, and reaches end-of-file when the shim exits
//! (how the daemon learns of new output and of the exit without polling);
//! short connections that each carry one request line and get one reply line
//! back (signal, stdin, close_stdin, resize), where a reply may carry
//! descriptors (SCM_RIGHTS); and exec connections, which after their reply
//! wait for one more line, the exec's exit code.
//! Everything here is non-blocking and driven by the supervisor's `poll` loop
//! (docs/04-shim.md, unix(7)).

use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use common::sys::{self, Pid, PollFd};
use common::wire::{
    exec_exit_line, shim_reply_line, ExitRecord, ShimRefusal, ShimReply, ShimRequest, LOG_GREW,
};

/// How long the exit line may wait for a daemon that does not read.
const EXIT_LINE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);
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
    /// This is an exec connection: it is told when this process exits.
    waits_for: Option<Pid>,
}

/// The answer to one request: the reply line, the descriptors that travel
/// with it (this process's copies close once sent), and for an exec the
/// process whose exit code the connection waits for.
pub struct Answer {
    pub result: Result<ShimReply, ShimRefusal>,
    pub fds: Vec<OwnedFd>,
    pub waits_for: Option<Pid>,
}

impl Answer {
    pub fn ok() -> Answer {
        Answer { result: Ok(ShimReply::default()), fds: Vec::new(), waits_for: None }
    }

    pub fn refused(message: impl Into<String>) -> Answer {
        Answer { result: Err(ShimRefusal::new(message)), ..Answer::ok() }
    }
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
    pub fn on_ready(&mut self, ready: &[PollFd], handle: &mut dyn FnMut(ShimRequest) -> Answer) {
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
                    self.clients.push(Client {
                        stream,
                        pending: Vec::new(),
                        watching: false,
                        waits_for: None,
                    });
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

    /// Sends the container's exit record, as its last line, to every watch
    /// connection. Unlike the news bytes it must arrive: the socket is made
    /// blocking, with a bound in case a daemon does not read.
    pub fn tell_watchers_exit(&mut self, record: &ExitRecord) {
        for client in self.clients.iter_mut().filter(|c| c.watching) {
            let _ = client.stream.set_nonblocking(false);
            let _ = client.stream.set_write_timeout(Some(EXIT_LINE_TIMEOUT));
            let _ = client.stream.write_all(&record.to_bytes());
        }
    }

    /// A child was reaped: if it was an exec, its connection gets the exit
    /// code and is closed.
    pub fn process_exited(&mut self, pid: Pid, exit_code: i32) {
        self.clients.retain_mut(|client| {
            if client.waits_for != Some(pid) {
                return true;
            }
            let _ = client.stream.write_all(exec_exit_line(exit_code).as_bytes());
            false
        });
    }
}

/// Reads what a client sent and answers each complete line. Returns the client
/// if it stays connected.
fn serve(mut client: Client, handle: &mut dyn FnMut(ShimRequest) -> Answer) -> Option<Client> {
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
        let answer = match ShimRequest::parse(&line[..line.len() - 1]) {
            Ok(ShimRequest::Watch) => {
                client.watching = true;
                Answer::ok()
            }
            Ok(request) => handle(request),
            Err(error) => Answer::refused(error),
        };
        client.waits_for = client.waits_for.or(answer.waits_for);
        // Replies are a few bytes; a client that does not read them is dropped.
        if send_reply(&client.stream, &answer).is_err() {
            return None;
        }
    }
    (client.pending.len() <= MAX_REQUEST_BYTES).then_some(client)
}

/// Sends the reply line, with the answer's descriptors attached to its bytes.
fn send_reply(stream: &UnixStream, answer: &Answer) -> std::io::Result<()> {
    let line = shim_reply_line(&answer.result);
    let fds: Vec<RawFd> = answer.fds.iter().map(AsRawFd::as_raw_fd).collect();
    let sent = sys::send_with_fds(stream.as_raw_fd(), line.as_bytes(), &fds)?;
    (&*stream).write_all(&line.as_bytes()[sent..])
}
