//! `orchestratord [--socket PATH] [--root DIR]`: the daemon. It serves Docker's
//! HTTP API on a Unix socket, starts one shim per container run, and keeps no
//! state but the state directory. Killed with SIGKILL, it loses nothing: the
//! shims keep the containers alive and the next daemon recovers them. SIGTERM
//! or SIGINT stop it cleanly and leave the containers running (SPEC §7,
//! docs/06-daemon-threads.md).
#![forbid(unsafe_code)]

mod api_error;
mod attach;
mod attach_ws;
mod container;
mod create_request;
mod engine;
mod events;
mod exec;
mod http_io;
mod lifecycle;
mod listener;
mod log_follow;
mod logs;
mod read_timeout;
mod recovery;
mod registry;
mod restart_policy;
mod routes;
mod shim_link;
mod system;
mod top;
mod upgrade;
mod views;

use std::path::PathBuf;

use common::paths::{DEFAULT_ROOT, DEFAULT_SOCKET};

const USAGE: &str = "\
Usage: orchestratord [--socket PATH] [--root DIR]

Serves the Docker Engine API (v1.41 subset) on a Unix socket.

Options:
  --socket PATH   API socket (env ORCHESTRATOR_SOCKET, default /tmp/orchestrator.sock)
  --root DIR      state directory (env ORCHESTRATOR_ROOT, default /tmp/orchestrator-shims)
  -h, --help      print this help
";

struct Options {
    socket: PathBuf,
    root: PathBuf,
}

fn main() {
    let options = parse_options().unwrap_or_else(|message| {
        eprintln!("orchestratord: {message}\n\n{USAGE}");
        std::process::exit(2);
    });
    if let Err(message) = run(options) {
        eprintln!("orchestratord: {message}");
        std::process::exit(1);
    }
}

/// The daemon's algorithm: set up, recover, serve until a signal, clean up.
fn run(options: Options) -> Result<(), String> {
    // Blocked before any thread starts, so every thread inherits the mask and
    // only the main thread's sigwait ever takes these signals.
    common::sys::block_signals(&[libc::SIGTERM, libc::SIGINT]).map_err(|e| e.to_string())?;
    // Every connection and every log follower holds a descriptor.
    let _ = common::sys::raise_open_file_limit();
    // The socket first: a second daemon on a live socket leaves no trace.
    let shim_binary = find_shim_binary()?;
    let listener = listener::bind(&options.socket)?;
    let root = match create_root(&options.root) {
        Ok(root) => root,
        Err(message) => {
            let _ = std::fs::remove_file(&options.socket);
            return Err(message);
        }
    };
    let engine = engine::Engine::new(root, shim_binary);
    let recovering = std::time::Instant::now();
    let mut recovered =
        recovery::recover(&engine).map_err(|e| format!("recover {}: {e}", options.root.display()))?;
    eprintln!(
        "orchestratord: listening on {} (root {}; recovered {} running, {} stopped in {} ms)",
        options.socket.display(),
        options.root.display(),
        recovered.running,
        recovered.stopped,
        recovering.elapsed().as_millis()
    );
    read_timeout::start(options.socket.clone());
    let to_watch = std::mem::take(&mut recovered.to_watch);
    let watching = engine.clone();
    std::thread::spawn(move || recovery::watch_all(&watching, to_watch));
    std::thread::spawn(move || {
        if let Err(message) = listener::serve(engine, listener) {
            eprintln!("orchestratord: {message}");
            std::process::exit(1);
        }
    });
    let signal = common::sys::wait_for_signal(&[libc::SIGTERM, libc::SIGINT]).map_err(|e| e.to_string())?;
    // Containers keep running: their shims do not depend on us.
    let _ = std::fs::remove_file(&options.socket);
    eprintln!("orchestratord: signal {signal}: socket removed, exiting; containers keep running");
    Ok(())
}

fn parse_options() -> Result<Options, String> {
    use lexopt::prelude::*;
    let mut options = Options {
        socket: std::env::var_os("ORCHESTRATOR_SOCKET")
            .map(PathBuf::from)
            .unwrap_or_else(|| DEFAULT_SOCKET.into()),
        root: std::env::var_os("ORCHESTRATOR_ROOT").map(PathBuf::from).unwrap_or_else(|| DEFAULT_ROOT.into()),
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Long("socket") => options.socket = parser.value().map_err(|e| e.to_string())?.into(),
            Long("root") => options.root = parser.value().map_err(|e| e.to_string())?.into(),
            Short('h') | Long("help") => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(other.unexpected().to_string()),
        }
    }
    Ok(options)
}

/// The state root, mode 0700: container configurations and logs are private.
/// Returns the root as one canonical path: shims are recognised by the
/// directory on their command line, so `root`, `./root` and a symlink to it
/// must all name it the same way, or a restarted daemon would take every
/// live shim for a dead one.
fn create_root(root: &std::path::Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .and_then(|()| std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700)))
        .map_err(|e| format!("create state root {}: {e}", root.display()))?;
    let root = &std::fs::canonicalize(root).map_err(|e| format!("state root {}: {e}", root.display()))?;
    // shim.sock lives at ROOT/<64-hex ID>/shim.sock and must fit in sun_path.
    let longest = root.join("0".repeat(64)).join("shim.sock");
    if longest.as_os_str().len() > common::paths::MAX_SOCKET_PATH {
        return Err(format!(
            "state root {} is too long: shim sockets would not fit in 107 bytes",
            root.display()
        ));
    }
    // Absolute, so shims started from it never depend on a working directory.
    Ok(root.clone())
}

/// `orchestrator-shim` lives next to this executable.
fn find_shim_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("find own executable: {e}"))?;
    let shim = exe.with_file_name("orchestrator-shim");
    if shim.is_file() {
        Ok(shim)
    } else {
        Err(format!("{} not found: build the whole workspace", shim.display()))
    }
}
