//! The daemon's side of the shim (SPEC §6): starting one with fork/exec and
//! waiting for its ready message, sending it requests over `shim.sock`, and the
//! watch connection whose end-of-file tells the daemon the container has exited.
//! Exits are read from the `exit` file, the same way recovery reads them, so a
//! live exit and one found after a restart take one path (docs/04-shim.md).

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use common::paths::ContainerDir;
use common::shim_lock::{self, LOCK_FD};
use common::spawn::ExecPlan;
use common::sys;
use common::wire::{
    parse_exec_exit, parse_shim_reply, ExecRequest, ExitRecord, ReadyMessage, ShimRefusal, ShimReply,
    ShimRequest, READY_FD,
};

/// How long a request to the shim may take before the daemon gives up on it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Rounds of looking for a dead shim's strays before giving up.
const STRAY_ROUNDS: usize = 1000;
/// How long recovery waits for a shim that holds its lock to write `shim.pid`.
const SHIM_START_WAIT: Duration = Duration::from_secs(10);
/// Watcher threads only block in one read: a small stack is plenty.
const WATCHER_STACK_BYTES: usize = 64 * 1024;

/// A started container: its main process and its shim.
pub struct Launched {
    pub pid: i32,
    pub shim_pid: i32,
}

/// Why a launch failed.
pub enum LaunchFailure {
    /// The container's command could not be executed (Docker's text; 126/127).
    Exec { message: String, exit_code: i32 },
    /// The shim itself could not be started or died before it was ready.
    Shim(String),
}

/// Starts a shim for the container in `dir` and waits for its ready message.
/// The shim's lock is taken here, before the fork, and handed to the shim at
/// `LOCK_FD`: from this moment until the shim is gone, anyone can see that
/// this container has a shim, and nobody can start a second one.
pub fn launch(shim_binary: &Path, dir: &ContainerDir) -> Result<Launched, LaunchFailure> {
    let shim_error =
        |what: &str, error: &dyn std::fmt::Display| LaunchFailure::Shim(format!("{what}: {error}"));
    let lock = shim_lock::take(dir).map_err(|e| shim_error("start orchestrator-shim", &e))?;
    let (ready_read, ready_write) = sys::pipe_cloexec().map_err(|e| shim_error("pipe", &e))?;
    let null = File::options()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| shim_error("open /dev/null", &e))?;
    let argv = [OsString::from(shim_binary), OsString::from(dir.dir())];
    let mut plan = ExecPlan::new(shim_binary, &argv).map_err(|e| shim_error("shim command", &e))?;
    plan.fd_map = vec![
        (null.as_raw_fd(), 0),
        (null.as_raw_fd(), 1),
        (null.as_raw_fd(), 2),
        (ready_write.as_raw_fd(), READY_FD),
        (lock.as_raw_fd(), LOCK_FD),
    ];
    let first_pid = plan.spawn().map_err(|e| shim_error("start orchestrator-shim", &e))?;
    // The shim holds the only write end of the pipe now, and a copy of the
    // lock, which stays held through it.
    drop(ready_write);
    drop(lock);
    // The shim forks to detach and its first process exits at once: reap it.
    let _ = sys::waitpid(first_pid);

    let mut line = String::new();
    File::from(ready_read).read_to_string(&mut line).map_err(|e| shim_error("read ready pipe", &e))?;
    match ReadyMessage::parse(&line) {
        Some(ReadyMessage::Started { pid }) => {
            let shim_pid = common::atomic_file::read_number(&dir.shim_pid()).unwrap_or(0);
            Ok(Launched { pid, shim_pid })
        }
        Some(ReadyMessage::Failed { message, exit_code }) => Err(LaunchFailure::Exec { message, exit_code }),
        None => Err(LaunchFailure::Shim(format!("shim exited before it was ready (said {line:?})"))),
    }
}

/// Sends one request to the shim and returns its answer.
pub fn request(dir: &ContainerDir, request: &ShimRequest) -> Result<(), String> {
    exchange(dir, request).map(|_| ()).map_err(|refusal| refusal.message)
}

/// Asks the shim for the container's stdin: the write end of its stdin pipe,
/// or the master side of its terminal (docs/09-attach.md).
pub fn stdin(dir: &ContainerDir) -> Result<File, String> {
    let (_, mut fds, _) = exchange(dir, &ShimRequest::Stdin).map_err(|refusal| refusal.message)?;
    fds.pop().map(File::from).ok_or_else(|| "the shim sent no stdin".to_string())
}

/// A process the shim started for `exec`: its PID, its stdio in the order
/// the shim sends it (the terminal; or stdin if asked for, stdout, stderr),
/// and the connection on which its exit code will come.
pub struct ExecStarted {
    pub pid: i32,
    pub fds: Vec<OwnedFd>,
    pub exit: ExecExit,
}

/// The exec connection, waiting for the exit code line.
pub struct ExecExit {
    stream: UnixStream,
    /// Bytes read past the reply line: the start of the exit line.
    read_ahead: Vec<u8>,
}

impl ExecExit {
    /// Blocks until the shim reports the exit; `None` if the shim went away first.
    pub fn wait(self) -> Option<i32> {
        let _ = self.stream.set_read_timeout(None);
        let mut line = self.read_ahead;
        BufReader::new(self.stream).read_until(b'\n', &mut line).ok()?;
        parse_exec_exit(&String::from_utf8_lossy(&line))
    }
}

/// Asks the shim to start an exec (docs/11-exec.md).
pub fn exec(dir: &ContainerDir, request: ExecRequest) -> Result<ExecStarted, ShimRefusal> {
    let (reply, fds, exit) = exchange(dir, &ShimRequest::Exec(request))?;
    Ok(ExecStarted { pid: reply.pid.unwrap_or(0), fds, exit })
}

/// One request, one reply line and the descriptors that came with it; the
/// connection stays usable for what comes after (an exec's exit line).
fn exchange(
    dir: &ContainerDir,
    request: &ShimRequest,
) -> Result<(ShimReply, Vec<OwnedFd>, ExecExit), ShimRefusal> {
    let failed = |what: &str, error: &dyn std::fmt::Display| ShimRefusal::new(format!("{what}: {error}"));
    let mut stream = UnixStream::connect(dir.shim_sock()).map_err(|e| failed("connect to shim", &e))?;
    stream.set_read_timeout(Some(REQUEST_TIMEOUT)).map_err(|e| failed("shim socket", &e))?;
    stream.write_all(request.to_line().as_bytes()).map_err(|e| failed("send to shim", &e))?;
    // recvmsg, not read: the descriptors travel with the reply's bytes.
    let mut received = Vec::new();
    let mut fds = Vec::new();
    let mut buffer = [0u8; 1024];
    let newline = loop {
        if let Some(newline) = received.iter().position(|&b| b == b'\n') {
            break newline;
        }
        let (count, mut more) = sys::receive_with_fds(stream.as_raw_fd(), &mut buffer)
            .map_err(|e| failed("read from shim", &e))?;
        if count == 0 {
            return Err(ShimRefusal::new("the shim closed the connection"));
        }
        received.extend_from_slice(&buffer[..count]);
        fds.append(&mut more);
    };
    let read_ahead = received.split_off(newline + 1);
    let reply = parse_shim_reply(&String::from_utf8_lossy(&received))?;
    Ok((reply, fds, ExecExit { stream, read_ahead }))
}

/// Starts a thread that holds the watch connection to the shim: it calls
/// `on_log_grew` for the bytes the shim sends after appending to the log, and
/// `on_exit` with the container's exit once the shim is gone. End-of-file *is*
/// the news of the exit, so no thread ever polls.
pub fn watch(
    dir: ContainerDir,
    on_log_grew: impl Fn() + Send + 'static,
    on_exit: impl FnOnce(ExitRecord, String) + Send + 'static,
) {
    let spawned = std::thread::Builder::new()
        .name("shim-watcher".into())
        .stack_size(WATCHER_STACK_BYTES)
        .spawn(move || {
            // A shim that is already gone refuses the connection: same news.
            let mut exit_line = Vec::new();
            if let Some(mut stream) = connect_watch(&dir) {
                // Output written before the shim took this as a watch
                // connection was never announced: announce it now.
                on_log_grew();
                let mut news = [0u8; 256];
                // Ends at end-of-file (the shim exited) or an error (same).
                // Many bytes in one read are one piece of news: the log grew.
                // From a `{` on, the bytes are the exit record's line.
                while let Ok(count @ 1..) = stream.read(&mut news) {
                    let bytes = &news[..count];
                    // Once the exit line has begun, every byte belongs to it.
                    let news_bytes = if exit_line.is_empty() {
                        bytes.iter().position(|&b| b == b'{').unwrap_or(count)
                    } else {
                        0
                    };
                    if news_bytes > 0 {
                        on_log_grew();
                    }
                    exit_line.extend_from_slice(&bytes[news_bytes..]);
                }
            }
            let (record, error) = read_exit(&dir, ExitRecord::parse(&exit_line));
            on_exit(record, error);
        });
    spawned.expect("invariant: the daemon can start a thread");
}

/// The watch connection, or `None` once the shim is gone. A shim that has
/// not written `exit`, holds its lock, and yet refuses the connection is
/// still starting (recovery found it before its `shim.sock` was there): try
/// again. One that has written `exit` is on its way out, lock or not.
fn connect_watch(dir: &ContainerDir) -> Option<UnixStream> {
    loop {
        match open_watch(dir) {
            Ok(stream) => return Some(stream),
            Err(_) if !has_exit_file(dir) && shim_lock::is_held(dir) => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(_) => return None,
        }
    }
}

/// Connects and turns the connection into a watch connection.
fn open_watch(dir: &ContainerDir) -> std::io::Result<UnixStream> {
    let mut stream = UnixStream::connect(dir.shim_sock())?;
    stream.write_all(ShimRequest::Watch.to_line().as_bytes())?;
    // The reply is one line; read it byte by byte so no news byte after it
    // is swallowed by a buffer.
    let mut byte = [0u8; 1];
    while stream.read(&mut byte)? == 1 && byte[0] != b'\n' {}
    Ok(stream)
}

/// The exit recorded by the shim, with an empty error. The `exit` file comes
/// first; `heard` is the record a live daemon got as the last line of its
/// watch connection, which stands in when the shim could not write the file
/// (a full disk). Without either — the shim died without a word (SIGKILL) —
/// exit code 255 and an error saying so, as SPEC §3 requires: such a
/// container is never reported as running. Its strays are killed first.
pub fn read_exit(dir: &ContainerDir, heard: Option<ExitRecord>) -> (ExitRecord, String) {
    match std::fs::read(dir.exit()).ok().and_then(|bytes| ExitRecord::parse(&bytes)).or(heard) {
        Some(record) => (record, String::new()),
        None => {
            kill_strays(dir);
            let record = ExitRecord { exit_code: 255, finished_at: common::time::now_rfc3339() };
            (record, "the container's shim died without recording an exit; its processes died with it".into())
        }
    }
}

/// Kills what a killed shim left of its container. Its main process died
/// with it (`PR_SET_PDEATHSIG`); its other processes — in its group, or
/// escaped from it with `setsid` — were re-parented to init, and nobody
/// else would ever kill them. Without cgroups, what marks a container's
/// processes is the environment they inherit: `HOSTNAME`, the short ID
/// (Docker's default, SPEC §8). A process that replaced its whole environment
/// is beyond reach; Docker's cgroup would still hold it.
fn kill_strays(dir: &ContainerDir) {
    let Some(id) = dir.dir().file_name().and_then(|name| name.to_str()) else { return };
    let entry = format!("HOSTNAME={}", common::ids::short(id));
    // Again until none is found: a stray may fork while we look. A process
    // in uninterruptible sleep dies only when it wakes: give up after a while.
    for _ in 0..STRAY_ROUNDS {
        let strays = common::proc::with_environment_entry(&entry);
        if strays.is_empty() {
            return;
        }
        for pid in strays {
            let _ = sys::kill(pid, libc::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// True if `dir` has an `exit` file: the shim finished normally.
pub fn has_exit_file(dir: &ContainerDir) -> bool {
    dir.exit().exists()
}

/// The live shim of the container in `dir`, if it has one, for recovery.
/// The lock is the answer to "alive?" (`common::shim_lock`): free, and no shim
/// is alive or starting, so `shim.pid` and `exit` tell the rest. Held, and a
/// shim lives; if it was forked just before the previous daemon died, its
/// `shim.pid` may not be written yet, so this waits until `shim.pid` names
/// it. `Some(0)` if it never does within `SHIM_START_WAIT`: a shim stuck in
/// its start-up is still a live shim, never a `created` container.
pub fn live_shim(dir: &ContainerDir) -> Option<i32> {
    let deadline = std::time::Instant::now() + SHIM_START_WAIT;
    loop {
        if !shim_lock::is_held(dir) {
            // One exception to "free means dead": a shim started by a daemon
            // from before the lock existed holds none, and an upgraded
            // daemon must not take it for dead (and kill its container).
            // `shim.pid` still names it.
            return shim_named_in_pid_file(dir);
        }
        if let Some(pid) = shim_named_in_pid_file(dir) {
            return Some(pid);
        }
        if std::time::Instant::now() >= deadline {
            return Some(0);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The PID in `shim.pid`, if it names a live process that really is this
/// container's shim (a PID can be reused after a reboot or a long downtime,
/// and the file of the previous run stays until the new shim replaces it).
fn shim_named_in_pid_file(dir: &ContainerDir) -> Option<i32> {
    let pid = common::atomic_file::read_number(&dir.shim_pid())?;
    if !sys::process_exists(pid) {
        return None;
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let dir_bytes = dir.dir().as_os_str().as_encoded_bytes();
    let is_ours = cmdline.split(|&b| b == 0).any(|arg| arg == dir_bytes)
        && cmdline.windows(b"orchestrator-shim".len()).any(|w| w == b"orchestrator-shim");
    is_ours.then_some(pid)
}
