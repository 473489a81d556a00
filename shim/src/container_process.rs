//! Starting the container's processes, the main one and each exec: find the
//! program the way Docker does (in the container's `PATH`, not the shim's),
//! create its stdio (pipes, or a pseudo-terminal with `-t`), then fork and exec
//! it in its own process group (its own session with a terminal) with
//! `PR_SET_PDEATHSIG(SIGKILL)`, so a killed shim takes its container with it. A failure comes back with Docker's
//! wording and exit code, 127 for "not found" and 126 for "cannot execute": the
//! docker CLI picks its own exit code from that text (docs/04-shim.md).

use std::ffi::OsString;
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::spawn::{c_string, ExecPlan, SpawnError};
use common::sys::{self, ChildStep, Pid};
use common::wire::ContainerConfig;

/// What to start: the container's main process, or an exec beside it.
pub struct ProcessSpec<'a> {
    pub argv: &'a [String],
    /// The whole environment, `KEY=value` each.
    pub env: &'a [String],
    pub cwd: &'a str,
    /// Stdin, stdout and stderr are one new pseudo-terminal.
    pub tty: bool,
    /// Without a TTY: stdin is a pipe the shim writes to (else /dev/null).
    pub stdin: bool,
    /// Nobody will read the output: stdout and stderr go to /dev/null.
    pub discard_output: bool,
}

/// A started process and its side of the stdio: with a TTY, `terminal` is
/// the master side of its pseudo-terminal and every other field is `None`;
/// otherwise the write end of its stdin pipe and the read ends of its output
/// pipes, where asked for.
pub struct StartedProcess {
    pub pid: Pid,
    pub terminal: Option<OwnedFd>,
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<File>,
    pub stderr: Option<File>,
}

/// Why the process did not start: Docker's message and exit code.
pub struct StartFailure {
    pub message: String,
    pub exit_code: i32,
}

impl StartFailure {
    fn new(detail: String, exit_code: i32) -> StartFailure {
        StartFailure { message: format!("unable to start container process: {detail}"), exit_code }
    }

    fn from_errno(program: &str, errno: i32) -> StartFailure {
        let code = if errno == libc::ENOENT { 127 } else { 126 };
        StartFailure::new(format!("exec: \"{program}\": {}", errno_text(errno)), code)
    }
}

/// Starts the container's main process as described by `config`, in its own
/// process group (its own session with a TTY).
pub fn start(config: &ContainerConfig) -> Result<StartedProcess, StartFailure> {
    start_process(&ProcessSpec {
        argv: &config.argv(),
        env: &config.env,
        cwd: &config.cwd,
        tty: config.tty,
        stdin: config.open_stdin,
        discard_output: false,
    })
}

/// Starts a process as this shim's child with `PR_SET_PDEATHSIG(SIGKILL)`.
pub fn start_process(spec: &ProcessSpec) -> Result<StartedProcess, StartFailure> {
    let Some(program_name) = spec.argv.first() else {
        return Err(StartFailure::new("no command specified".to_string(), 126));
    };
    let program = resolve_program(program_name, spec.env, spec.cwd)?;
    let sys_error = |e: sys::SysError| StartFailure::new(e.to_string(), 126);

    // The child's ends, and ours. The child's close in this process once it
    // has started: a pipe whose write end we kept open would never reach
    // end-of-file, and a terminal whose slave we kept would never hang up.
    let mut started = StartedProcess { pid: 0, terminal: None, stdin: None, stdout: None, stderr: None };
    let child_ends: [OwnedFd; 3];
    if spec.tty {
        let (master, slave) = sys::open_pty().map_err(sys_error)?;
        started.terminal = Some(master);
        child_ends = [slave.try_clone().map_err(io_error)?, slave.try_clone().map_err(io_error)?, slave];
    } else {
        let stdin = if spec.stdin {
            let (read, write) = sys::pipe_cloexec().map_err(sys_error)?;
            started.stdin = Some(write);
            read
        } else {
            dev_null()?
        };
        let output = |slot: &mut Option<File>| -> Result<OwnedFd, StartFailure> {
            if spec.discard_output {
                return dev_null();
            }
            let (read, write) = sys::pipe_cloexec().map_err(sys_error)?;
            *slot = Some(File::from(read));
            Ok(write)
        };
        let stdout = output(&mut started.stdout)?;
        let stderr = output(&mut started.stderr)?;
        child_ends = [stdin, stdout, stderr];
    }

    let argv: Vec<OsString> = spec.argv.iter().map(OsString::from).collect();
    let mut plan = ExecPlan::new(&program, &argv).map_err(|e| StartFailure::new(e.to_string(), 126))?;
    plan.envp = spec
        .env
        .iter()
        .map(|entry| c_string(entry, "an environment variable"))
        .collect::<Result<_, _>>()
        .map_err(|e| StartFailure::new(e.to_string(), 126))?;
    plan.cwd =
        Some(c_string(spec.cwd, "the working directory").map_err(|e| StartFailure::new(e.to_string(), 126))?);
    plan.fd_map =
        child_ends.iter().enumerate().map(|(target, end)| (end.as_raw_fd(), target as i32)).collect();
    // A terminal belongs to a session: its leader is the process group that
    // Ctrl-C and Ctrl-Z reach. Without one, a process group of its own.
    plan.new_session = spec.tty;
    plan.controlling_terminal = spec.tty;
    plan.new_process_group = !spec.tty;
    plan.parent_death_signal = Some(libc::SIGKILL);

    started.pid = plan.spawn().map_err(|error| match error {
        SpawnError::Child { step: ChildStep::Chdir, errno } => {
            let code = if errno == libc::ENOENT { 127 } else { 126 };
            let detail =
                format!("chdir to cwd (\"{}\") set in config failed: {}", spec.cwd, errno_text(errno));
            StartFailure::new(detail, code)
        }
        SpawnError::Child { errno, .. } => StartFailure::from_errno(program_name, errno),
        other => StartFailure::new(other.to_string(), 126),
    })?;
    drop(child_ends);
    Ok(started)
}

fn dev_null() -> Result<OwnedFd, StartFailure> {
    File::options()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map(OwnedFd::from)
        .map_err(|e| StartFailure::new(format!("open /dev/null: {e}"), 126))
}

fn io_error(error: std::io::Error) -> StartFailure {
    StartFailure::new(error.to_string(), 126)
}

/// Resolves argv[0] like Docker (Go's `exec.LookPath` inside the container): a
/// name with a slash is used as is, relative to the working directory; a bare
/// name is searched in the container's own `PATH`.
fn resolve_program(name: &str, env: &[String], cwd: &str) -> Result<PathBuf, StartFailure> {
    if name.contains('/') {
        let path = Path::new(cwd).join(name);
        return match std::fs::metadata(&path) {
            Err(error) => {
                let errno = error.raw_os_error().unwrap_or(libc::ENOENT);
                Err(StartFailure::new(format!("exec: \"{name}\": stat {name}: {}", errno_text(errno)), 127))
            }
            Ok(meta) if meta.is_dir() || meta.permissions().mode() & 0o111 == 0 => {
                Err(StartFailure::new(format!("exec: \"{name}\": permission denied"), 126))
            }
            Ok(_) => Ok(path),
        };
    }
    let search_path = env
        .iter()
        .find_map(|entry| entry.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    search_path
        .split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(name))
        .find(|candidate| is_executable_file(candidate))
        .ok_or_else(|| {
            StartFailure::new(format!("exec: \"{name}\": executable file not found in $PATH"), 127)
        })
}

fn is_executable_file(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The C library's text for an errno, lowercased as Go prints it
/// ("no such file or directory", "permission denied").
fn errno_text(errno: i32) -> String {
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    let text = text.split(" (os error").next().unwrap_or(&text).to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}
