//! The only module with `unsafe` code: one small, safe wrapper per libc call the
//! project makes. A failed call becomes a `SysError { call, errno }` on the spot;
//! errnos a caller expects (`ESRCH`, `ECHILD`, `EINTR`) get a named branch there.
//! Reading this file top to bottom is a tour of the system calls Docker's process
//! model rests on: fork/exec, process groups and sessions, the subreaper, signals,
//! and poll (docs/04-shim.md, fork(2), prctl(2), signalfd(2)).

use std::ffi::CStr;
use std::fmt;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::raw::{c_char, c_int};

/// A process ID, as the kernel names it.
pub type Pid = libc::pid_t;

/// A libc call that failed: which call, and the errno it left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SysError {
    pub call: &'static str,
    pub errno: i32,
}

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = std::io::Error::from_raw_os_error(self.errno);
        write!(f, "{}: {}", self.call, text)
    }
}

impl std::error::Error for SysError {}

impl From<SysError> for std::io::Error {
    fn from(error: SysError) -> Self {
        std::io::Error::from_raw_os_error(error.errno)
    }
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn check(call: &'static str, ret: c_int) -> Result<c_int, SysError> {
    if ret == -1 {
        Err(SysError { call, errno: last_errno() })
    } else {
        Ok(ret)
    }
}

// ---------------------------------------------------------------------------
// Processes: fork, exec, exit, wait.

/// Which side of a `fork` we are on.
pub enum Fork {
    Child,
    Parent(Pid),
}

/// Splits the process in two (fork(2)). In a multi-threaded process the child
/// may only make async-signal-safe calls until it execs: another thread may have
/// held the malloc lock at the moment of the fork. Callers therefore do nothing in
/// the child but `exec_in_child` or `exit_immediately`.
pub fn fork() -> Result<Fork, SysError> {
    // SAFETY: fork takes no arguments; what the child may do afterwards is the
    // documented contract of this function, kept by its two callers.
    let pid = unsafe { libc::fork() };
    match check("fork", pid)? {
        0 => Ok(Fork::Child),
        pid => Ok(Fork::Parent(pid)),
    }
}

/// Ends the process at once, without running destructors or atexit handlers
/// (_exit(2)): what a forked child must do when its exec failed.
pub fn exit_immediately(code: i32) -> ! {
    // SAFETY: _exit is async-signal-safe and never returns.
    unsafe { libc::_exit(code) }
}

/// Everything a forked child does before `execve`, prepared by the parent so the
/// child only makes raw, async-signal-safe system calls. Pointer arrays end with
/// a null pointer, as execve(2) requires.
pub struct ChildSetup<'a> {
    pub program: &'a CStr,
    pub argv: &'a [*const c_char],
    pub envp: &'a [*const c_char],
    pub cwd: Option<&'a CStr>,
    /// `(source, target)`: `dup2(source, target)`; a source that already sits at
    /// its target only loses its close-on-exec flag.
    pub fd_map: &'a [(RawFd, RawFd)],
    pub new_session: bool,
    pub new_process_group: bool,
    /// Make stdin (a pseudo-terminal's slave, after `fd_map`) the controlling
    /// terminal of the new session (TIOCSCTTY): what lets a shell do job
    /// control and lets Ctrl-C reach the foreground process group.
    pub controlling_terminal: bool,
    /// The signal the kernel sends the child when its parent dies, and the
    /// parent's PID, to notice a parent that died before the prctl took effect.
    pub parent_death_signal: Option<(c_int, Pid)>,
}

/// The step of `exec_in_child` that failed, sent to the parent with the errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildStep {
    Setup = 1,
    Chdir = 2,
    Exec = 3,
}

impl ChildStep {
    pub fn from_code(code: u32) -> ChildStep {
        match code {
            2 => ChildStep::Chdir,
            3 => ChildStep::Exec,
            _ => ChildStep::Setup,
        }
    }
}

/// Runs in the forked child: resets signals, sets session or process group,
/// parent-death signal, file descriptors and working directory, then execs.
/// Returns only if a step failed, with that step and its errno.
pub fn exec_in_child(setup: &ChildSetup) -> (ChildStep, i32) {
    // SAFETY: every call below is async-signal-safe (signal-safety(7)) and gets
    // pointers that the parent built before fork and that outlive this call.
    unsafe {
        // A signal mask and ignored signals survive execve; the new program must
        // start with the defaults (Rust ignores SIGPIPE, the shim blocks SIGCHLD).
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        for signal in 1..libc::SIGRTMAX() {
            libc::signal(signal, libc::SIG_DFL);
        }
        // Whatever this process holds without close-on-exec (a descriptor
        // inherited from whoever started the daemon) must not reach the new
        // program: mark every descriptor above stderr close-on-exec. The
        // dup2s below make the ones the plan passes on inheritable again.
        // An old kernel without close_range (ENOSYS) is tolerated.
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC);
        if setup.new_session && libc::setsid() == -1 {
            return (ChildStep::Setup, last_errno());
        }
        if setup.new_process_group && libc::setpgid(0, 0) == -1 {
            return (ChildStep::Setup, last_errno());
        }
        if let Some((signal, parent)) = setup.parent_death_signal {
            if libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0) == -1 {
                return (ChildStep::Setup, last_errno());
            }
            // The parent may have died between fork and prctl: then nobody would
            // ever send the signal, so act as if it had been sent.
            if libc::getppid() != parent {
                libc::_exit(128 + signal);
            }
        }
        for &(source, target) in setup.fd_map {
            let ret = if source == target {
                libc::fcntl(source, libc::F_SETFD, 0)
            } else {
                libc::dup2(source, target)
            };
            if ret == -1 {
                return (ChildStep::Setup, last_errno());
            }
        }
        if setup.controlling_terminal && libc::ioctl(0, libc::TIOCSCTTY, 0) == -1 {
            return (ChildStep::Setup, last_errno());
        }
        if let Some(cwd) = setup.cwd {
            if libc::chdir(cwd.as_ptr()) == -1 {
                return (ChildStep::Chdir, last_errno());
            }
        }
        libc::execve(setup.program.as_ptr(), setup.argv.as_ptr(), setup.envp.as_ptr());
        (ChildStep::Exec, last_errno())
    }
}

/// How a child ended, as waitpid(2) reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitStatus {
    Exited(i32),
    Signaled(i32),
}

impl WaitStatus {
    /// The shell's convention, which Docker follows: the exit code, or 128 plus
    /// the signal that killed the process (137 for SIGKILL).
    pub fn exit_code(self) -> i32 {
        match self {
            WaitStatus::Exited(code) => code,
            WaitStatus::Signaled(signal) => 128 + signal,
        }
    }
}

fn decode_status(status: c_int) -> WaitStatus {
    if libc::WIFSIGNALED(status) {
        WaitStatus::Signaled(libc::WTERMSIG(status))
    } else {
        WaitStatus::Exited(libc::WEXITSTATUS(status))
    }
}

/// Blocks until the child `pid` has ended and reaps it; retries on EINTR.
pub fn waitpid(pid: Pid) -> Result<WaitStatus, SysError> {
    loop {
        let mut status: c_int = 0;
        // SAFETY: status is a valid, writable c_int for the duration of the call.
        let ret = unsafe { libc::waitpid(pid, &mut status, 0) };
        match check("waitpid", ret) {
            Ok(_) => return Ok(decode_status(status)),
            Err(error) if error.errno == libc::EINTR => continue,
            Err(error) => return Err(error),
        }
    }
}

/// What one non-blocking `waitpid(-1)` found.
pub enum Reaped {
    /// A child ended and is now reaped.
    Child(Pid, WaitStatus),
    /// Children exist, but none has ended yet.
    NoneReady,
    /// The process has no children left at all (ECHILD).
    NoChildren,
}

/// Reaps one ended child, if any (waitpid(-1, WNOHANG)).
pub fn reap_any() -> Result<Reaped, SysError> {
    let mut status: c_int = 0;
    // SAFETY: status is a valid, writable c_int for the duration of the call.
    let ret = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
    match check("waitpid", ret) {
        Ok(0) => Ok(Reaped::NoneReady),
        Ok(pid) => Ok(Reaped::Child(pid, decode_status(status))),
        Err(error) if error.errno == libc::ECHILD => Ok(Reaped::NoChildren),
        Err(error) if error.errno == libc::EINTR => Ok(Reaped::NoneReady),
        Err(error) => Err(error),
    }
}

pub fn getpid() -> Pid {
    // SAFETY: getpid has no arguments and cannot fail.
    unsafe { libc::getpid() }
}

pub fn getuid() -> u32 {
    // SAFETY: getuid has no arguments and cannot fail.
    unsafe { libc::getuid() }
}

/// Starts a new session with this process as its leader (setsid(2)): no
/// controlling terminal, and no signals from the terminal of whoever started us.
pub fn setsid() -> Result<(), SysError> {
    // SAFETY: setsid takes no arguments.
    check("setsid", unsafe { libc::setsid() })?;
    Ok(())
}

/// Orphaned descendants get re-parented to us, not PID 1, so we can reap them
/// and know they are gone (docs/04-shim.md, prctl(2)).
pub fn set_child_subreaper() -> Result<(), SysError> {
    // SAFETY: this prctl option takes plain integers and no pointers.
    let ret = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    check("prctl(PR_SET_CHILD_SUBREAPER)", ret)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Signals.

/// Sends `signal` to one process. `ESRCH` (no such process) is an error the
/// caller names; signal 0 only checks that the process exists.
pub fn kill(pid: Pid, signal: c_int) -> Result<(), SysError> {
    // SAFETY: kill takes plain integers.
    check("kill", unsafe { libc::kill(pid, signal) })?;
    Ok(())
}

/// Sends `signal` to every process of the process group `pgid`.
pub fn killpg(pgid: Pid, signal: c_int) -> Result<(), SysError> {
    // SAFETY: killpg takes plain integers.
    check("killpg", unsafe { libc::killpg(pgid, signal) })?;
    Ok(())
}

/// True while a process with this PID exists (a zombie counts); EPERM means it
/// exists but belongs to someone else.
pub fn process_exists(pid: Pid) -> bool {
    pid > 0 && !matches!(kill(pid, 0), Err(SysError { errno: libc::ESRCH, .. }))
}

fn signal_set(signals: &[c_int]) -> libc::sigset_t {
    // SAFETY: sigemptyset and sigaddset only write into the set we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &signal in signals {
            libc::sigaddset(&mut set, signal);
        }
        set
    }
}

/// Blocks `signals` in the calling thread; threads spawned afterwards inherit
/// the mask. Blocked signals stay pending until `wait_for_signal` or a
/// `SignalFd` takes them.
pub fn block_signals(signals: &[c_int]) -> Result<(), SysError> {
    let set = signal_set(signals);
    // SAFETY: set is a valid sigset_t; the old mask is not requested.
    let ret = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if ret != 0 {
        return Err(SysError { call: "pthread_sigmask", errno: ret });
    }
    Ok(())
}

/// Sleeps until one of the (blocked) `signals` arrives and returns it (sigwait(3)).
pub fn wait_for_signal(signals: &[c_int]) -> Result<c_int, SysError> {
    let set = signal_set(signals);
    let mut signal: c_int = 0;
    // SAFETY: set and signal are valid for the duration of the call.
    let ret = unsafe { libc::sigwait(&set, &mut signal) };
    if ret != 0 {
        return Err(SysError { call: "sigwait", errno: ret });
    }
    Ok(signal)
}

/// A file descriptor that becomes readable when one of its (blocked) signals is
/// pending: signals turned into ordinary input for a `poll` loop (signalfd(2)).
pub struct SignalFd(OwnedFd);

impl SignalFd {
    pub fn new(signals: &[c_int]) -> Result<SignalFd, SysError> {
        let set = signal_set(signals);
        // SAFETY: set is a valid sigset_t; -1 asks for a new descriptor.
        let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
        let fd = check("signalfd", fd)?;
        // SAFETY: signalfd just returned this descriptor and nothing else owns it.
        Ok(SignalFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Takes one pending signal, or `None` when none is pending.
    pub fn take(&self) -> Result<Option<c_int>, SysError> {
        let mut info: libc::signalfd_siginfo = zeroed_siginfo();
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: info is a writable buffer of exactly `size` bytes.
        let ret = unsafe {
            libc::read(self.0.as_raw_fd(), (&mut info as *mut libc::signalfd_siginfo).cast(), size)
        };
        if ret == -1 {
            let errno = last_errno();
            if errno == libc::EAGAIN || errno == libc::EINTR {
                return Ok(None);
            }
            return Err(SysError { call: "read(signalfd)", errno });
        }
        Ok(Some(info.ssi_signo as c_int))
    }
}

impl AsRawFd for SignalFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

fn zeroed_siginfo() -> libc::signalfd_siginfo {
    // SAFETY: signalfd_siginfo is plain old data; all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

// ---------------------------------------------------------------------------
// File descriptors.

/// A pipe whose both ends close on exec: a child keeps only what it dup2s.
pub fn pipe_cloexec() -> Result<(OwnedFd, OwnedFd), SysError> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: fds is a writable array of two c_ints, as pipe2 requires.
    check("pipe2", unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: pipe2 just returned these descriptors and nothing else owns them.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Writes all of `bytes` with raw write(2) calls: async-signal-safe, for a
/// forked child reporting its errno. Errors are ignored: there is nobody to tell.
pub fn write_raw(fd: RawFd, bytes: &[u8]) {
    let mut written = 0;
    while written < bytes.len() {
        // SAFETY: the pointer and length describe the unwritten rest of `bytes`.
        let ret = unsafe { libc::write(fd, bytes[written..].as_ptr().cast(), bytes.len() - written) };
        if ret <= 0 {
            if ret == -1 && last_errno() == libc::EINTR {
                continue;
            }
            return;
        }
        written += ret as usize;
    }
}

/// Switches a descriptor to non-blocking mode, for a `poll` loop.
pub fn set_nonblocking(fd: RawFd) -> Result<(), SysError> {
    // SAFETY: fcntl with F_GETFL/F_SETFL takes and returns plain integers.
    unsafe {
        let flags = check("fcntl(F_GETFL)", libc::fcntl(fd, libc::F_GETFL))?;
        check("fcntl(F_SETFL)", libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK))?;
    }
    Ok(())
}

/// Sets the file-mode creation mask and returns the previous one (umask(2)).
pub fn set_umask(mask: u32) -> u32 {
    // SAFETY: umask takes a plain integer and cannot fail.
    unsafe { libc::umask(mask as libc::mode_t) as u32 }
}

/// One entry of a `poll` set: which descriptor, what to wait for, what happened.
pub type PollFd = libc::pollfd;
pub use libc::{POLLERR, POLLHUP, POLLIN, POLLNVAL};

/// A `PollFd` asking for readability of `fd`.
pub fn poll_entry(fd: RawFd) -> PollFd {
    PollFd { fd, events: POLLIN, revents: 0 }
}

/// Sleeps until one of `fds` is ready (poll(2)), or `timeout` passes (`None`:
/// no limit). Returns how many are ready; EINTR counts as "nothing ready", so
/// callers simply loop.
pub fn poll(fds: &mut [PollFd], timeout: Option<std::time::Duration>) -> Result<usize, SysError> {
    let milliseconds = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as c_int);
    // SAFETY: the pointer and length describe a valid, writable slice of pollfd.
    let ret = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, milliseconds) };
    match check("poll", ret) {
        Ok(ready) => Ok(ready as usize),
        Err(error) if error.errno == libc::EINTR => Ok(0),
        Err(error) => Err(error),
    }
}

/// Takes ownership of a descriptor this process inherited at a known number
/// (the shim's ready pipe at fd 3), or `None` if nothing is open there. It is
/// marked close-on-exec, so no program this process starts inherits it.
pub fn take_inherited_fd(fd: RawFd) -> Option<OwnedFd> {
    // SAFETY: F_SETFD only changes the descriptor's flags; it fails with EBADF
    // when nothing is open at `fd`.
    let open = unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } != -1;
    // SAFETY: the descriptor is open and, by the caller's contract, owned by
    // nobody else in this process: it was inherited across exec for this use.
    open.then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Tries to take the exclusive `flock(2)` lock on the open file `fd`, without
/// waiting: `Ok(true)` if it is now held through `fd`, `Ok(false)` if another
/// open file holds it. The lock belongs to the open file description, so every
/// copy of `fd` made by `dup` or inherited across `fork` and `exec` holds it
/// too, and the kernel releases it when the last copy is closed, whatever
/// way its process ended (docs/07-recovery.md, "the shim's lock").
pub fn try_lock_exclusive(fd: RawFd) -> Result<bool, SysError> {
    // SAFETY: flock takes plain integers; it fails with EBADF on a bad fd.
    let ret = unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) };
    match check("flock", ret) {
        Ok(_) => Ok(true),
        Err(error) if error.errno == libc::EWOULDBLOCK => Ok(false),
        Err(error) => Err(error),
    }
}

/// Grows a pipe's kernel buffer (fcntl F_SETPIPE_SZ): fewer, larger reads
/// for a container that writes a lot. Best effort: the kernel caps the size.
pub fn set_pipe_size(fd: RawFd, bytes: usize) -> Result<(), SysError> {
    // SAFETY: F_SETPIPE_SZ takes a plain integer.
    check("fcntl(F_SETPIPE_SZ)", unsafe { libc::fcntl(fd, libc::F_SETPIPE_SZ, bytes as c_int) })?;
    Ok(())
}

/// Clock ticks per second, the unit of CPU and start times in `/proc`.
pub fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf takes a plain integer and has no side effects.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as u64
    } else {
        100
    }
}

/// A new descriptor for the same open file as `fd`, close-on-exec
/// (fcntl F_DUPFD_CLOEXEC): a second handle on a socket that another part of
/// the program reads through, so this one can write.
pub fn dup_cloexec(fd: RawFd) -> Result<OwnedFd, SysError> {
    // SAFETY: F_DUPFD_CLOEXEC takes plain integers and fails with EBADF if
    // nothing is open at `fd`.
    let new = check("fcntl(F_DUPFD_CLOEXEC)", unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) })?;
    // SAFETY: fcntl just returned this descriptor and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// True if `fd` is a socket (fstat(2)).
pub fn is_socket(fd: RawFd) -> bool {
    // SAFETY: stat is plain old data, filled in by fstat on success.
    unsafe {
        let mut stat: libc::stat = std::mem::zeroed();
        libc::fstat(fd, &mut stat) == 0 && (stat.st_mode & libc::S_IFMT) == libc::S_IFSOCK
    }
}

/// The calling thread's ID, as `/proc/self/task/TID` names it (gettid(2)).
pub fn thread_id() -> Pid {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::gettid() }
}

// ---------------------------------------------------------------------------
// Passing descriptors over a Unix socket (SCM_RIGHTS, unix(7)).

/// The most descriptors one message carries here (an exec's stdin, stdout, stderr).
pub const MAX_PASSED_FDS: usize = 3;

/// Sends `bytes` on the Unix socket `socket` with copies of `fds` attached:
/// the receiver gets new descriptors for the same open files, as if it had
/// `dup`ed them itself. Returns how many bytes went out.
pub fn send_with_fds(socket: RawFd, bytes: &[u8], fds: &[RawFd]) -> Result<usize, SysError> {
    assert!(!bytes.is_empty() && fds.len() <= MAX_PASSED_FDS, "invariant: one byte at least, few fds");
    let mut control = [0u64; 8]; // room for CMSG_SPACE(3 * sizeof(int)), 8-byte aligned
    let fd_bytes = std::mem::size_of_val(fds) as u32;
    let mut iov = libc::iovec { iov_base: bytes.as_ptr() as *mut libc::c_void, iov_len: bytes.len() };
    // SAFETY: msghdr is plain old data; every pointer set below points into
    // locals that outlive the sendmsg call, and the CMSG macros stay within
    // `control`, which is larger than CMSG_SPACE of three descriptors.
    unsafe {
        let mut message: libc::msghdr = std::mem::zeroed();
        message.msg_iov = &mut iov;
        message.msg_iovlen = 1;
        if !fds.is_empty() {
            message.msg_control = control.as_mut_ptr().cast();
            message.msg_controllen = libc::CMSG_SPACE(fd_bytes) as usize;
            let header = libc::CMSG_FIRSTHDR(&message);
            (*header).cmsg_level = libc::SOL_SOCKET;
            (*header).cmsg_type = libc::SCM_RIGHTS;
            (*header).cmsg_len = libc::CMSG_LEN(fd_bytes) as usize;
            std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(header).cast::<RawFd>(), fds.len());
        }
        let sent = libc::sendmsg(socket, &message, libc::MSG_NOSIGNAL);
        if sent == -1 {
            return Err(SysError { call: "sendmsg", errno: last_errno() });
        }
        Ok(sent as usize)
    }
}

/// Receives bytes into `buffer` and any descriptors that came with them
/// (close-on-exec). Returns the byte count (0: end-of-file) and the descriptors.
pub fn receive_with_fds(socket: RawFd, buffer: &mut [u8]) -> Result<(usize, Vec<OwnedFd>), SysError> {
    let mut control = [0u64; 8];
    let mut iov = libc::iovec { iov_base: buffer.as_mut_ptr().cast(), iov_len: buffer.len() };
    // SAFETY: as in send_with_fds; the kernel writes at most msg_controllen
    // bytes of control data, and each SCM_RIGHTS entry it wrote is a new
    // descriptor that nothing else in this process owns yet.
    unsafe {
        let mut message: libc::msghdr = std::mem::zeroed();
        message.msg_iov = &mut iov;
        message.msg_iovlen = 1;
        message.msg_control = control.as_mut_ptr().cast();
        message.msg_controllen = std::mem::size_of_val(&control);
        let received = loop {
            let ret = libc::recvmsg(socket, &mut message, libc::MSG_CMSG_CLOEXEC);
            if ret != -1 {
                break ret as usize;
            }
            let errno = last_errno();
            if errno != libc::EINTR {
                return Err(SysError { call: "recvmsg", errno });
            }
        };
        let mut fds = Vec::new();
        let mut header = libc::CMSG_FIRSTHDR(&message);
        while !header.is_null() {
            if (*header).cmsg_level == libc::SOL_SOCKET && (*header).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(header).cast::<RawFd>();
                let count = ((*header).cmsg_len - libc::CMSG_LEN(0) as usize) / std::mem::size_of::<RawFd>();
                for index in 0..count {
                    fds.push(OwnedFd::from_raw_fd(std::ptr::read_unaligned(data.add(index))));
                }
            }
            header = libc::CMSG_NXTHDR(&message, header);
        }
        Ok((received, fds))
    }
}

// ---------------------------------------------------------------------------
// Terminals: pseudo-terminals, window sizes, raw mode (pty(7), termios(3)).

/// Opens a new pseudo-terminal pair: the master, which the shim reads and
/// writes, and the slave, which becomes the container's stdin, stdout and
/// stderr. Both are close-on-exec; neither becomes anyone's controlling
/// terminal yet (that is `ChildSetup::controlling_terminal`).
pub fn open_pty() -> Result<(OwnedFd, OwnedFd), SysError> {
    // SAFETY: posix_openpt returns a new descriptor or -1.
    let master = check("posix_openpt", unsafe {
        libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC)
    })?;
    // SAFETY: posix_openpt just returned this descriptor and nothing else owns it.
    let master = unsafe { OwnedFd::from_raw_fd(master) };
    let mut name = [0 as c_char; 64];
    // SAFETY: grantpt/unlockpt take the master; ptsname_r writes a NUL-terminated
    // name of at most name.len() bytes into `name`.
    unsafe {
        check("grantpt", libc::grantpt(master.as_raw_fd()))?;
        check("unlockpt", libc::unlockpt(master.as_raw_fd()))?;
        let ret = libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr(), name.len());
        if ret != 0 {
            return Err(SysError { call: "ptsname_r", errno: ret });
        }
    }
    // SAFETY: `name` is NUL-terminated (ptsname_r succeeded).
    let slave = check("open(pty slave)", unsafe {
        libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC)
    })?;
    // SAFETY: open just returned this descriptor and nothing else owns it.
    Ok((master, unsafe { OwnedFd::from_raw_fd(slave) }))
}

/// A terminal's size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSize {
    pub rows: u16,
    pub columns: u16,
}

/// The size of the terminal at `fd` (TIOCGWINSZ), or `None` if it is not one.
pub fn window_size(fd: RawFd) -> Option<WindowSize> {
    // SAFETY: winsize is plain old data, filled in by the ioctl on success.
    unsafe {
        let mut size: libc::winsize = std::mem::zeroed();
        (libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) == 0)
            .then_some(WindowSize { rows: size.ws_row, columns: size.ws_col })
    }
}

/// Sets the size of the terminal at `fd` (TIOCSWINSZ): the kernel then sends
/// SIGWINCH to the terminal's foreground process group, as a resized xterm does.
pub fn set_window_size(fd: RawFd, size: WindowSize) -> Result<(), SysError> {
    let size = libc::winsize { ws_row: size.rows, ws_col: size.columns, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: the ioctl reads a winsize from a valid pointer.
    check("ioctl(TIOCSWINSZ)", unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &size) })?;
    Ok(())
}

/// A terminal's settings (termios(3)), kept to be restored later.
pub type TerminalSettings = libc::termios;

/// The current settings of the terminal at `fd`.
pub fn terminal_settings(fd: RawFd) -> Result<TerminalSettings, SysError> {
    // SAFETY: termios is plain old data, filled in by tcgetattr on success.
    unsafe {
        let mut settings: libc::termios = std::mem::zeroed();
        check("tcgetattr", libc::tcgetattr(fd, &mut settings))?;
        Ok(settings)
    }
}

/// Applies `settings` to the terminal at `fd` once pending output is written.
pub fn set_terminal_settings(fd: RawFd, settings: &TerminalSettings) -> Result<(), SysError> {
    // SAFETY: tcsetattr reads a termios from a valid pointer.
    check("tcsetattr", unsafe { libc::tcsetattr(fd, libc::TCSADRAIN, settings) })?;
    Ok(())
}

/// `settings` changed to raw mode (cfmakeraw(3)): no echo, no line editing,
/// no signals from Ctrl-C or Ctrl-Z, every byte passed on as it is typed.
pub fn raw_settings(settings: &TerminalSettings) -> TerminalSettings {
    let mut raw = *settings;
    // SAFETY: cfmakeraw only changes the flags of the termios it is given.
    unsafe { libc::cfmakeraw(&mut raw) };
    raw
}

/// Gives `signal` back its default action (signal(2)). The CLI does this for
/// SIGPIPE, which Rust ignores at start-up: `orchestrate ps | head` then ends
/// quietly when `head` has read enough, as Unix tools do, instead of failing
/// to print. (Socket writes are unaffected: std sends with MSG_NOSIGNAL.)
pub fn restore_default_action(signal: c_int) {
    // SAFETY: SIG_DFL is a valid disposition for any catchable signal.
    unsafe { libc::signal(signal, libc::SIG_DFL) };
}

/// A `PollFd` asking for room to write on `fd`.
pub fn poll_entry_for_writing(fd: RawFd) -> PollFd {
    PollFd { fd, events: libc::POLLOUT, revents: 0 }
}

/// Raises this process's soft limit on open descriptors to its hard limit
/// (setrlimit(2), RLIMIT_NOFILE), as dockerd and Go programs do: every client
/// connection, shim connection and log follower holds one. Returns the limit now.
pub fn raise_open_file_limit() -> Result<u64, SysError> {
    // SAFETY: rlimit is plain old data, filled in by getrlimit on success and
    // read by setrlimit.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        check("getrlimit", libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit))?;
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            check("setrlimit", libc::setrlimit(libc::RLIMIT_NOFILE, &limit))?;
        }
        Ok(limit.rlim_cur)
    }
}

/// The path a Unix socket is bound to (getsockname(2)); for a connection the
/// daemon accepted, the path of the listening socket. `None` if `fd` is not a
/// named Unix socket.
pub fn socket_path(fd: RawFd) -> Option<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: sockaddr_un is plain old data; getsockname writes at most
    // `length` bytes into it and reports how many.
    unsafe {
        let mut address: libc::sockaddr_un = std::mem::zeroed();
        let mut length = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        if libc::getsockname(fd, (&mut address as *mut libc::sockaddr_un).cast(), &mut length) == -1 {
            return None;
        }
        if address.sun_family as i32 != libc::AF_UNIX {
            return None;
        }
        let path: Vec<u8> = address.sun_path.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        (!path.is_empty()).then(|| std::ffi::OsStr::from_bytes(&path).into())
    }
}

/// Shuts a socket down both ways (shutdown(2)): a thread blocked reading it
/// wakes with end-of-file.
pub fn shutdown_socket(fd: RawFd) -> Result<(), SysError> {
    // SAFETY: shutdown takes plain integers.
    check("shutdown", unsafe { libc::shutdown(fd, libc::SHUT_RDWR) })?;
    Ok(())
}
