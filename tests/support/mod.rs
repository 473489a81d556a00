//! Shared code of the integration suites. A `TestDaemon` starts a real
//! `orchestratord` with its own socket and state root in a fresh, short temp
//! directory, drives the real `orchestrate` CLI and raw HTTP against it, and on
//! drop — even after a panic — removes every container (so each shim kills and
//! reaps everything it started), kills the daemon, kills whatever is left of
//! its shims and their descendants, and deletes the directory.
#![allow(dead_code)] // each suite uses part of this module

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long any "eventually" condition may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Where cargo put the binaries: next to the `deps` folder of this test.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo test --workspace`, which builds every binary",
        path.display()
    );
    path
}

/// A daemon of our own, with everything it started cleaned up on drop.
pub struct TestDaemon {
    pub dir: PathBuf,
    pub socket: PathBuf,
    pub root: PathBuf,
    daemon: Option<Child>,
    /// Started with an inherited descriptor 9 (`start_with_leaked_fd`).
    leak_fd: bool,
    file_limit: Option<u32>,
}

impl TestDaemon {
    pub fn start() -> TestDaemon {
        TestDaemon::start_with_env(&[])
    }

    /// Starts a daemon with extra environment variables (to prove they do not
    /// leak into containers).
    pub fn start_with_env(env: &[(&str, &str)]) -> TestDaemon {
        TestDaemon::start_from(env, false, None)
    }

    /// Starts a daemon that inherits descriptor 9 without close-on-exec, as a
    /// careless parent might leave it: nothing the daemon starts may get it.
    pub fn start_with_leaked_fd() -> TestDaemon {
        TestDaemon::start_from(&[], true, None)
    }

    /// Starts a daemon that may open at most `files` descriptors (soft and
    /// hard limit, so it cannot raise them).
    pub fn start_with_file_limit(files: u32) -> TestDaemon {
        TestDaemon::start_from(&[], false, Some(files))
    }

    fn start_from(env: &[(&str, &str)], leak_fd: bool, file_limit: Option<u32>) -> TestDaemon {
        let dir = make_temp_dir();
        let mut test = TestDaemon {
            socket: dir.join("sock"),
            root: dir.join("root"),
            dir,
            daemon: None,
            leak_fd,
            file_limit,
        };
        test.spawn_daemon(env);
        test
    }

    fn spawn_daemon(&mut self, env: &[(&str, &str)]) {
        let mut command = if self.leak_fd {
            // The shell opens fd 9 without close-on-exec, then becomes the daemon.
            let mut shell = Command::new("sh");
            shell.args(["-c", "exec 9</dev/null; exec \"$0\" \"$@\""]).arg(binary("orchestratord"));
            shell
        } else if let Some(files) = self.file_limit {
            let mut limited = Command::new("prlimit");
            limited.arg(format!("--nofile={files}:{files}")).arg(binary("orchestratord"));
            limited
        } else {
            Command::new(binary("orchestratord"))
        };
        command.arg("--socket").arg(&self.socket).arg("--root").arg(&self.root);
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        command.env_remove("ORCHESTRATOR_SOCKET").env_remove("ORCHESTRATOR_ROOT");
        for (key, value) in env {
            command.env(key, value);
        }
        self.daemon = Some(command.spawn().expect("start orchestratord"));
        let socket = self.socket.clone();
        eventually("the daemon answers _ping", || UnixStream::connect(&socket).is_ok());
    }

    /// Starts the daemon again without waiting for it (a benchmark times that).
    pub fn spawn_for_bench(&mut self) {
        let root = self.root.clone();
        self.spawn_with_root(&root);
    }

    /// Starts the daemon again with the state root spelled as `root` (the
    /// same directory written another way), without waiting for it.
    pub fn spawn_with_root(&mut self, root: &Path) {
        let mut command = Command::new(binary("orchestratord"));
        command.arg("--socket").arg(&self.socket).arg("--root").arg(root);
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        self.daemon = Some(command.spawn().expect("start orchestratord"));
    }

    /// Starts `daemon_binary` (a copy of the daemon, with its own shim next
    /// to it) on this daemon's socket and root, and waits until it listens.
    pub fn spawn_binary(&mut self, daemon_binary: &Path) {
        let mut command = Command::new(daemon_binary);
        command.arg("--socket").arg(&self.socket).arg("--root").arg(&self.root);
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        self.daemon = Some(command.spawn().expect("start the daemon"));
        let socket = self.socket.clone();
        eventually("the daemon listens", || http_request_ok(&socket));
    }

    /// Kills the daemon with SIGKILL (containers keep running) and starts a new one.
    pub fn restart_daemon(&mut self) {
        self.kill_daemon();
        self.spawn_daemon(&[]);
    }

    pub fn kill_daemon(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
    }

    pub fn daemon_pid(&self) -> u32 {
        self.daemon.as_ref().expect("daemon running").id()
    }

    /// Runs `orchestrate` with these arguments against this daemon.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_in(args, Path::new("/"))
    }

    /// Runs `orchestrate` from the working directory `cwd`.
    pub fn cli_in(&self, args: &[&str], cwd: &Path) -> Output {
        Command::new(binary("orchestrate"))
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .output()
            .expect("run orchestrate")
    }

    /// Runs `orchestrate`, asserts success, and returns its stdout.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        let output = self.cli(args);
        assert!(
            output.status.success(),
            "orchestrate {args:?} failed ({:?}): {}{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8 output")
    }

    /// `run` (detached) and return the new container's full ID.
    pub fn run(&self, args: &[&str]) -> String {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        let id = self.cli_ok(&all).trim().to_string();
        assert_eq!(id.len(), 64, "run prints a full ID, got {id:?}");
        id
    }

    /// One raw HTTP request; returns the status and the body.
    pub fn http(&self, method: &str, path: &str, body: Option<(&str, &[u8])>) -> (u16, Vec<u8>) {
        http_request(&self.socket, method, path, body)
    }

    /// A request with a JSON body; returns the status and the parsed JSON
    /// answer (`Null` for an empty body).
    pub fn api(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let bytes = body.map(|b| b.to_string().into_bytes());
        let (status, answer) = self.http(method, path, bytes.as_deref().map(|b| ("application/json", b)));
        let value = if answer.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&answer).unwrap_or(Value::Null)
        };
        (status, value)
    }

    pub fn inspect(&self, name: &str) -> Value {
        let (status, value) = self.api("GET", &format!("/containers/{name}/json"), None);
        assert_eq!(status, 200, "inspect {name}: {value}");
        value
    }

    /// `State.Status` of a container.
    pub fn status(&self, name: &str) -> String {
        self.inspect(name)["State"]["Status"].as_str().unwrap_or("").to_string()
    }

    /// Waits until the container has the given status.
    pub fn wait_status(&self, name: &str, wanted: &str) {
        eventually(&format!("{name} is {wanted}"), || self.status(name) == wanted);
    }

    /// The full ID of a container, found by name in the state root's
    /// `meta.json` files (works while no daemon runs).
    pub fn inspect_id_on_disk(&self, name: &str) -> String {
        for entry in std::fs::read_dir(&self.root).expect("state root").flatten() {
            let meta = entry.path().join("meta.json");
            if let Ok(text) = std::fs::read_to_string(&meta) {
                let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                if value["name"] == name {
                    return value["id"].as_str().unwrap().to_string();
                }
            }
        }
        panic!("no container named {name} in {}", self.root.display());
    }

    /// The container's directory in the state root.
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        // Removing each container makes its shim kill and reap everything.
        if self.daemon.is_some() {
            let (_, listing) = self.api("GET", "/containers/json?all=1", None);
            for container in listing.as_array().cloned().unwrap_or_default() {
                if let Some(id) = container["Id"].as_str() {
                    let _ = self.http("DELETE", &format!("/containers/{id}?force=1"), None);
                }
            }
        }
        self.kill_daemon();
        // Whatever is left (a test that killed its daemon, a stuck shim):
        // every shim of this root and every descendant of each.
        let shims = processes_with_cmdline_containing(&self.root.to_string_lossy());
        let mut doomed = Vec::new();
        for shim in shims {
            doomed.extend(descendants(shim));
            doomed.push(shim);
        }
        // And any process of one of its containers that outlived its shim
        // (re-parented to init), found by the container's HOSTNAME.
        for entry in std::fs::read_dir(&self.root).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.len() == 64 {
                doomed.extend(container_processes(&name));
            }
        }
        for &pid in &doomed {
            let _ = common::sys::kill(pid, libc::SIGKILL);
        }
        for pid in doomed {
            wait_gone(pid);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Makes a directory refuse new files until dropped, as a full disk would
/// refuse them: `chattr +i` for root (who ignores permissions), mode 0500
/// for anyone else.
pub struct Unwritable(PathBuf);

impl Unwritable {
    pub fn new(dir: PathBuf) -> Unwritable {
        let guard = Unwritable(dir);
        guard.set(true);
        assert!(
            std::fs::File::create(guard.0.join(".probe")).is_err(),
            "{} is still writable",
            guard.0.display()
        );
        guard
    }

    fn set(&self, unwritable: bool) {
        use std::os::unix::fs::PermissionsExt;
        if common::sys::getuid() == 0 {
            let flag = if unwritable { "+i" } else { "-i" };
            let status =
                std::process::Command::new("chattr").arg(flag).arg(&self.0).status().expect("chattr");
            assert!(status.success(), "chattr {flag} {}", self.0.display());
        } else {
            let mode = if unwritable { 0o500 } else { 0o700 };
            std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        self.set(false);
    }
}

/// True once the daemon at `socket` answers `GET /_ping`.
pub fn http_request_ok(socket: &Path) -> bool {
    UnixStream::connect(socket).is_ok_and(|mut stream| {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        stream.write_all(b"GET /_ping HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").is_ok() && {
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            answer.starts_with("HTTP/1.1 200")
        }
    })
}

/// Sends a request that upgrades its connection (attach, exec start) and
/// reads the response head; returns the status line and the connection,
/// positioned at the start of the raw stream.
pub fn upgrade_request(socket: &Path, request: &str) -> (String, BufReader<UnixStream>) {
    let mut stream = UnixStream::connect(socket).expect("connect to the daemon");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
    }
    (status, reader)
}

/// One raw HTTP request to the daemon at `socket` (`Connection: close`);
/// returns the status and the body, de-chunked.
pub fn http_request(socket: &Path, method: &str, path: &str, body: Option<(&str, &[u8])>) -> (u16, Vec<u8>) {
    let mut stream = UnixStream::connect(socket).expect("connect to the daemon");
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    let payload = match body {
        Some((content_type, bytes)) => {
            request.push_str(&format!("Content-Type: {content_type}\r\nContent-Length: {}\r\n", bytes.len()));
            bytes
        }
        None => {
            request.push_str("Content-Length: 0\r\n");
            &[][..]
        }
    };
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(payload).unwrap();
    read_http_response(stream)
}

/// A fresh directory under /tmp with a short name: socket paths must fit in
/// 108 bytes.
fn make_temp_dir() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    loop {
        let dir = PathBuf::from(format!(
            "/tmp/orc-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        if std::fs::create_dir(&dir).is_ok() {
            return dir;
        }
    }
}

fn read_http_response(stream: UnixStream) -> (u16, Vec<u8>) {
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).expect("status line");
    let status: u16 =
        status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status code");
    let mut chunked = false;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header line");
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if line.to_ascii_lowercase().starts_with("transfer-encoding:")
            && line.to_ascii_lowercase().contains("chunked")
        {
            chunked = true;
        }
    }
    let mut body = Vec::new();
    if chunked {
        common::chunked::ChunkedReader::new(reader).read_to_end(&mut body).expect("chunked body");
    } else {
        reader.read_to_end(&mut body).expect("body");
    }
    (status, body)
}

/// Polls `condition` until it holds, failing the test after `DEADLINE`.
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// True while a process exists and is not a zombie.
pub fn is_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state =
                stat.rfind(')').and_then(|i| stat[i + 1..].split_whitespace().next().map(str::to_string));
            state.as_deref() != Some("Z")
        }
        Err(_) => false,
    }
}

/// True while `/proc/PID` exists at all (a zombie counts: it is not reaped).
pub fn exists(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Waits until a process is gone from /proc entirely (dead and reaped).
pub fn wait_gone(pid: i32) {
    eventually(&format!("process {pid} is gone"), || !exists(pid));
}

/// Every PID whose environment holds `HOSTNAME=<short ID>`: the processes of
/// one container, however far they wandered from its process group.
pub fn container_processes(id: &str) -> Vec<i32> {
    let needle = format!("HOSTNAME={}", &id[..12]);
    all_pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| env.split(|&b| b == 0).any(|entry| entry == needle.as_bytes()))
                .unwrap_or(false)
        })
        .filter(|&pid| is_alive(pid))
        .collect()
}

/// The fields of `/proc/PID/stat` after the command name: state, ppid, pgrp, session.
pub fn stat_fields(pid: i32) -> Option<(String, i32, i32, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    Some((rest[0].to_string(), rest[1].parse().ok()?, rest[2].parse().ok()?, rest[3].parse().ok()?))
}

/// The PIDs whose parent is `parent`, from `/proc`.
pub fn children(parent: i32) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|&pid| stat_fields(pid).is_some_and(|(_, ppid, _, _)| ppid == parent))
        .collect()
}

fn all_pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries.flatten().filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok())).collect()
        })
        .unwrap_or_default()
}

pub fn processes_with_cmdline_containing(text: &str) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|cmdline| String::from_utf8_lossy(&cmdline).contains(text))
                .unwrap_or(false)
        })
        .collect()
}

fn descendants(root: i32) -> Vec<i32> {
    let parents: Vec<(i32, i32)> = all_pids()
        .into_iter()
        .filter_map(|pid| stat_fields(pid).map(|(_, parent, _, _)| (pid, parent)))
        .collect();
    let mut found = Vec::new();
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        for &(child, parent) in &parents {
            if parent == pid {
                found.push(child);
                queue.push(child);
            }
        }
    }
    found
}

/// Reads a file in the container's directory, for assertions on the state dir.
pub fn read_to_string(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Stdout of a finished command, as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Stderr of a finished command, as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
