//! Starting the container's main process: find the program the way Docker does
//! (in the container's `PATH`, not the shim's), create its stdio pipes, then fork
//! and exec it in its own process group with `PR_SET_PDEATHSIG(SIGKILL)`, so a
//! killed shim takes its container with it. A failure comes back with Docker's
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

/// The running main process and the read ends of its output pipes.
pub struct ContainerProcess {
    pub pid: Pid,
    pub stdout: File,
    pub stderr: File,
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

/// Starts the container's main process as described by `config`.
pub fn start(config: &ContainerConfig) -> Result<ContainerProcess, StartFailure> {
    let argv = config.argv();
    let Some(program_name) = argv.first() else {
        return Err(StartFailure::new("no command specified".to_string(), 126));
    };
    let program = resolve_program(program_name, config)?;

    let (stdout_read, stdout_write) = pipe()?;
    let (stderr_read, stderr_write) = pipe()?;
    let stdin =
        File::open("/dev/null").map_err(|e| StartFailure::new(format!("open /dev/null: {e}"), 126))?;

    let argv: Vec<OsString> = argv.iter().map(OsString::from).collect();
    let mut plan = ExecPlan::new(&program, &argv).map_err(|e| StartFailure::new(e.to_string(), 126))?;
    plan.envp = config
        .env
        .iter()
        .map(|entry| c_string(entry, "an environment variable"))
        .collect::<Result<_, _>>()
        .map_err(|e| StartFailure::new(e.to_string(), 126))?;
    plan.cwd = Some(
        c_string(&config.cwd, "the working directory").map_err(|e| StartFailure::new(e.to_string(), 126))?,
    );
    plan.fd_map = vec![(stdin.as_raw_fd(), 0), (stdout_write.as_raw_fd(), 1), (stderr_write.as_raw_fd(), 2)];
    plan.new_process_group = true;
    plan.parent_death_signal = Some(libc::SIGKILL);

    let pid = plan.spawn().map_err(|error| match error {
        SpawnError::Child { step: ChildStep::Chdir, errno } => {
            let code = if errno == libc::ENOENT { 127 } else { 126 };
            let detail =
                format!("chdir to cwd (\"{}\") set in config failed: {}", config.cwd, errno_text(errno));
            StartFailure::new(detail, code)
        }
        SpawnError::Child { errno, .. } => StartFailure::from_errno(program_name, errno),
        other => StartFailure::new(other.to_string(), 126),
    })?;
    // Our copies of the write ends must close, or the pipes never reach
    // end-of-file when the container's processes are gone.
    drop((stdout_write, stderr_write, stdin));
    Ok(ContainerProcess { pid, stdout: File::from(stdout_read), stderr: File::from(stderr_read) })
}

/// Resolves argv[0] like Docker (Go's `exec.LookPath` inside the container): a
/// name with a slash is used as is, relative to the working directory; a bare
/// name is searched in the container's own `PATH`.
fn resolve_program(name: &str, config: &ContainerConfig) -> Result<PathBuf, StartFailure> {
    if name.contains('/') {
        let path = Path::new(&config.cwd).join(name);
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
    let search_path = config
        .env
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

fn pipe() -> Result<(OwnedFd, OwnedFd), StartFailure> {
    sys::pipe_cloexec().map_err(|e| StartFailure::new(e.to_string(), 126))
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
