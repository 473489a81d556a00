//! Fork and exec: the one function that starts a program, used by the daemon to
//! start a shim and by the shim to start the container. Everything the child
//! needs is built before `fork`, because the daemon is multi-threaded and its
//! child may only make raw system calls until `execve`. A failed step reports its
//! errno over a close-on-exec pipe; end-of-file on that pipe means the exec
//! succeeded (docs/04-shim.md, "the error pipe").

use std::ffi::{CString, OsStr, OsString};
use std::fmt;
use std::io::Read;
use std::os::fd::{AsRawFd, RawFd};
use std::os::raw::c_char;
use std::os::unix::ffi::OsStrExt;

use crate::sys::{self, ChildStep, Fork, Pid, SysError};

/// What to run and how to set up the child before it runs.
pub struct ExecPlan {
    /// The path handed to execve: already resolved, never searched in `PATH`.
    pub program: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
    pub cwd: Option<CString>,
    /// `(source, target)` descriptor pairs: the child's stdio and any extra fd.
    pub fd_map: Vec<(RawFd, RawFd)>,
    pub new_session: bool,
    pub new_process_group: bool,
    /// Stdin is a pseudo-terminal that becomes the new session's controlling
    /// terminal (requires `new_session`).
    pub controlling_terminal: bool,
    /// Signal the child gets when its parent (the caller) dies.
    pub parent_death_signal: Option<i32>,
}

/// Why a program could not be started.
#[derive(Debug)]
pub enum SpawnError {
    /// A system call in the parent failed (pipe, fork, read).
    Sys(SysError),
    /// The child reported that one of its steps failed, with the errno.
    Child { step: ChildStep, errno: i32 },
    /// A string for argv, envp or the working directory contains a NUL byte.
    NulByte(String),
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Sys(error) => write!(f, "{error}"),
            SpawnError::Child { step, errno } => {
                let text = std::io::Error::from_raw_os_error(*errno);
                write!(f, "child failed at {step:?}: {text}")
            }
            SpawnError::NulByte(what) => write!(f, "{what} contains a NUL byte"),
        }
    }
}

impl From<SysError> for SpawnError {
    fn from(error: SysError) -> Self {
        SpawnError::Sys(error)
    }
}

/// A C string for execve, or the error naming which value held a NUL byte.
pub fn c_string(value: impl AsRef<OsStr>, what: &str) -> Result<CString, SpawnError> {
    CString::new(value.as_ref().as_bytes()).map_err(|_| SpawnError::NulByte(what.to_string()))
}

impl ExecPlan {
    /// A plan with an empty environment and nothing else set up.
    pub fn new(program: impl AsRef<OsStr>, argv: &[OsString]) -> Result<ExecPlan, SpawnError> {
        Ok(ExecPlan {
            program: c_string(program, "the program path")?,
            argv: argv.iter().map(|arg| c_string(arg, "an argument")).collect::<Result<_, _>>()?,
            envp: Vec::new(),
            cwd: None,
            fd_map: Vec::new(),
            new_session: false,
            new_process_group: false,
            controlling_terminal: false,
            parent_death_signal: None,
        })
    }

    /// Forks and execs the plan. Returns the child's PID once `execve` has
    /// succeeded, or the step and errno with which the child failed (the child
    /// is reaped before this returns).
    pub fn spawn(&self) -> Result<Pid, SpawnError> {
        // Built before fork: the child must not allocate.
        let argv = null_terminated(&self.argv);
        let envp = null_terminated(&self.envp);
        let setup = sys::ChildSetup {
            program: &self.program,
            argv: &argv,
            envp: &envp,
            cwd: self.cwd.as_deref(),
            fd_map: &self.fd_map,
            new_session: self.new_session,
            new_process_group: self.new_process_group,
            controlling_terminal: self.controlling_terminal,
            parent_death_signal: self.parent_death_signal.map(|signal| (signal, sys::getpid())),
        };
        let (error_read, error_write) = sys::pipe_cloexec()?;
        match sys::fork()? {
            Fork::Child => {
                drop(error_read);
                let (step, errno) = sys::exec_in_child(&setup); // returns only if a step failed
                let mut report = [0u8; 8];
                report[..4].copy_from_slice(&(step as u32).to_be_bytes());
                report[4..].copy_from_slice(&(errno as u32).to_be_bytes());
                sys::write_raw(error_write.as_raw_fd(), &report);
                sys::exit_immediately(if errno == libc::ENOENT { 127 } else { 126 });
            }
            Fork::Parent(pid) => {
                drop(error_write); // otherwise the read below never sees end-of-file
                match read_child_report(error_read)? {
                    None => Ok(pid),
                    Some((step, errno)) => {
                        sys::waitpid(pid)?;
                        Err(SpawnError::Child { step, errno })
                    }
                }
            }
        }
    }
}

fn null_terminated(strings: &[CString]) -> Vec<*const c_char> {
    let mut pointers: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
    pointers.push(std::ptr::null());
    pointers
}

/// Reads the child's 8-byte report: `None` at end-of-file (exec succeeded).
fn read_child_report(pipe: std::os::fd::OwnedFd) -> Result<Option<(ChildStep, i32)>, SysError> {
    let mut file = std::fs::File::from(pipe);
    let mut report = Vec::with_capacity(8);
    // read_to_end retries EINTR and returns at end-of-file, which comes at the
    // child's successful execve (close-on-exec) or at its _exit.
    file.read_to_end(&mut report).map_err(|error| SysError {
        call: "read(error pipe)",
        errno: error.raw_os_error().unwrap_or(libc::EIO),
    })?;
    if report.len() < 8 {
        return Ok(None);
    }
    let step = u32::from_be_bytes([report[0], report[1], report[2], report[3]]);
    let errno = u32::from_be_bytes([report[4], report[5], report[6], report[7]]);
    Ok(Some((ChildStep::from_code(step), errno as i32)))
}
