//! Both directions of an upgraded connection at once. After a 101, attach and
//! exec carry the container's output to the client *while* the client's stdin
//! comes the other way, so one thread must block reading the client and
//! another must write to it. tiny_http hands back the upgraded connection as
//! one `Box<dyn ReadWrite>`: it cannot be split in two, and its socket
//! descriptor is private (tiny-http issue #8).
//!
//! So the box goes to the input thread, which reads through it — through
//! tiny_http's buffer first, where bytes the client sent right behind its
//! request may already wait. As soon as that thread blocks in `recvfrom` on the
//! socket, the kernel shows which descriptor it is blocked on, in
//! `/proc/self/task/TID/syscall` (proc(5)); the output side takes its own
//! duplicate of that descriptor and writes through it. If the input ends
//! before that (the client sent everything and half-closed), the box itself
//! comes back and the output is written through it (docs/09-attach.md).

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use common::sys::{self, Pid};
use tiny_http::ReadWrite;

/// System call numbers in `/proc/PID/task/TID/syscall` (x86-64 and aarch64):
/// a thread blocked reading a socket through std is in one of these.
#[cfg(target_arch = "x86_64")]
const READ_CALLS: [u64; 2] = [0 /* read */, 45 /* recvfrom */];
#[cfg(target_arch = "aarch64")]
const READ_CALLS: [u64; 2] = [63 /* read */, 207 /* recvfrom */];

/// How long the output side waits between two looks at the input thread at
/// first, and at most: the input thread is usually blocked reading within
/// microseconds; it stays busy only while it writes into a container that
/// does not read its stdin, and then the looks grow rarer.
pub const LOOK_AGAIN: Duration = Duration::from_micros(200);
/// How long a finished connection waits for its client to hang up.
const HANG_UP_GRACE: Duration = Duration::from_secs(2);
const LOOK_AGAIN_AT_MOST: Duration = Duration::from_millis(50);

/// The output half of an upgraded connection.
pub enum Output {
    /// A duplicate of the connection's socket: writes go straight to it.
    Socket(Arc<UnixStream>),
    /// The whole connection, given back by an input side that has finished.
    Whole(Box<dyn ReadWrite + Send>),
}

impl Write for Output {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            Output::Socket(socket) => (&**socket).write(bytes),
            Output::Whole(stream) => stream.write(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Socket(_) => Ok(()),
            Output::Whole(stream) => stream.flush(),
        }
    }
}

/// What the two sides share.
#[derive(Default)]
struct Meeting {
    /// The input thread's ID, once it runs.
    input_thread: Option<Pid>,
    /// The connection, given back when the input side has finished.
    returned: Option<Box<dyn ReadWrite + Send>>,
    /// The socket duplicate, once found: the input side may end the
    /// connection through it (detach).
    socket: Option<Arc<UnixStream>>,
}

type Shared = Arc<(Mutex<Meeting>, Condvar)>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Meeting> {
    shared.0.lock().expect("invariant: meeting lock not poisoned")
}

/// An upgraded connection whose input is being read on its own thread.
pub struct Duplex {
    shared: Shared,
    input: Option<std::thread::JoinHandle<()>>,
}

/// The reading side, as the input thread sees it.
pub struct ClientInput {
    connection: Box<dyn ReadWrite + Send>,
    shared: Shared,
}

impl Read for ClientInput {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        self.connection.read(buffer)
    }
}

impl ClientInput {
    /// Shuts the connection down both ways (detach keys): the client sees
    /// end-of-file and the output side's next write fails.
    pub fn hang_up(&self) {
        if let Some(socket) = &lock(&self.shared).socket {
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// Starts `input` on a thread of its own with the connection's reading side,
/// and returns at once; `output` then gives the writing side.
pub fn split(
    connection: Box<dyn ReadWrite + Send>,
    input: impl FnOnce(&mut ClientInput) + Send + 'static,
) -> Duplex {
    let shared: Shared = Arc::default();
    let mut client = ClientInput { connection, shared: Arc::clone(&shared) };
    let thread = std::thread::Builder::new().name("client-input".into()).spawn(move || {
        lock(&client.shared).input_thread = Some(sys::thread_id());
        client.shared.1.notify_all();
        input(&mut client);
        let ClientInput { connection, shared } = client;
        lock(&shared).returned = Some(connection);
        shared.1.notify_all();
    });
    Duplex { shared, input: Some(thread.expect("invariant: the daemon can start a thread")) }
}

impl Duplex {
    /// The writing side: a duplicate of the socket the input thread is
    /// blocked on, or the whole connection once the input side is done.
    pub fn output(&self) -> io::Result<Output> {
        let mut pause = LOOK_AGAIN;
        loop {
            if let Some(output) = self.try_output()? {
                return Ok(output);
            }
            // Running, or between two reads: look again in a moment.
            let meeting = lock(&self.shared);
            drop(self.shared.1.wait_timeout(meeting, pause).expect("invariant: meeting lock not poisoned"));
            pause = (pause * 2).min(LOOK_AGAIN_AT_MOST);
        }
    }

    /// One look: the writing side if it can be had now, else `None`. For a
    /// caller with other work to do meanwhile — an exec's output must be
    /// read even before it can be sent, or the process could block on it and
    /// never read the input that would let the split happen.
    pub fn try_output(&self) -> io::Result<Option<Output>> {
        let mut meeting = lock(&self.shared);
        if let Some(connection) = meeting.returned.take() {
            return Ok(Some(Output::Whole(connection)));
        }
        if let Some(fd) = meeting.input_thread.and_then(blocked_reading) {
            let socket = Arc::new(UnixStream::from(sys::dup_cloexec(fd)?));
            meeting.socket = Some(Arc::clone(&socket));
            return Ok(Some(Output::Socket(socket)));
        }
        Ok(None)
    }

    /// Ends the connection once the output is complete (drop the `Output`
    /// first): the input side's read returns end-of-file, its thread ends,
    /// and the connection it gave back closes here.
    pub fn finish(mut self) {
        let socket = lock(&self.shared).socket.take();
        if let Some(socket) = socket {
            // "No more output" first, and time for the client to hang up: a
            // socket closed with the client's bytes still unread makes the
            // client's last read fail (ECONNRESET) instead of ending cleanly.
            let _ = socket.shutdown(std::net::Shutdown::Write);
            let meeting = lock(&self.shared);
            let grace = self.shared.1.wait_timeout_while(meeting, HANG_UP_GRACE, |m| m.returned.is_none());
            drop(grace.expect("invariant: meeting lock not poisoned"));
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
        if let Some(thread) = self.input.take() {
            let _ = thread.join();
        }
        lock(&self.shared).returned = None;
    }
}

/// The socket descriptor thread `tid` of this process is blocked reading, if
/// it is blocked in a read right now. The file holds the system call number
/// and its arguments in hex, or `running` (proc(5)).
pub fn blocked_reading(tid: Pid) -> Option<i32> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")).ok()?;
    let mut fields = text.split_whitespace();
    let call: u64 = fields.next()?.parse().ok()?;
    let fd = i32::from_str_radix(fields.next()?.trim_start_matches("0x"), 16).ok()?;
    (READ_CALLS.contains(&call) && sys::is_socket(fd)).then_some(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_socket_a_thread_is_blocked_reading() {
        let (mut ours, theirs) = UnixStream::pair().unwrap();
        let (tid_sender, tid) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            tid_sender.send(sys::thread_id()).unwrap();
            let mut theirs = theirs;
            let mut byte = [0u8; 1];
            theirs.read_exact(&mut byte).unwrap();
            byte[0]
        });
        let tid = tid.recv().unwrap();
        let fd = loop {
            if let Some(fd) = blocked_reading(tid) {
                break fd;
            }
            std::thread::sleep(LOOK_AGAIN);
        };
        // The duplicate writes into the same socket the thread reads.
        let mut duplicate = UnixStream::from(sys::dup_cloexec(fd).unwrap());
        duplicate.write_all(b"x").unwrap();
        let mut echoed = [0u8; 1];
        ours.read_exact(&mut echoed).unwrap();
        assert_eq!(&echoed, b"x");
        ours.write_all(b"y").unwrap();
        assert_eq!(reader.join().unwrap(), b'y');
    }
}
