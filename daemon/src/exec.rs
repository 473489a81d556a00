//! `docker exec`: a second process in a running container. `POST
//! /containers/{id}/exec` records what to run; `POST /exec/{id}/start` asks the
//! container's shim to start it — as the shim's child, so it inherits the
//! container's environment and working directory, is killed when the container
//! stops, and is reaped by the shim — and the shim hands its stdio (pipes, or a
//! terminal's master side with `-t`) to the daemon over `shim.sock` with
//! SCM_RIGHTS. The daemon then relays it over the upgraded connection, as for
//! attach; the exit code comes last on the shim connection, and `GET
//! /exec/{id}/json` reports it (docs/11-exec.md).

use std::collections::HashMap;
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tiny_http::Request;

use common::detach_keys::{self, DetachKeys};
use common::ids;
use common::state::{decide, Action, Decision};
use common::stream_frame::{push_frame, Stream};
use common::sys::{self, WindowSize};
use common::wire::{string_list, ExecRequest};

use crate::api_error::ApiError;
use crate::attach::{copy_input, InputEnd};
use crate::container::Container;
use crate::engine::Engine;
use crate::http_io::{self, respond_empty, respond_error, respond_json, Query};
use crate::shim_link;
use crate::upgrade::{self, ClientInput, Duplex, Output};

/// The exit code recorded when the shim went away before reporting one: the
/// exec died with it (`PR_SET_PDEATHSIG(SIGKILL)`).
const KILLED_WITH_SHIM: i32 = 128 + libc::SIGKILL;

/// The exec instances the daemon knows, by ID. They live in memory only, as
/// in Docker: a daemon restart forgets them (the processes go on).
#[derive(Default)]
pub struct ExecTable {
    execs: Mutex<HashMap<String, Arc<Exec>>>,
}

/// Finished execs kept per container for `GET /exec/{id}/json`; past this,
/// the oldest go (dockerd collects finished ones too), so a container that
/// is exec'd into all day does not grow the daemon.
const FINISHED_EXECS_KEPT: usize = 64;

impl ExecTable {
    /// Adds an exec, and forgets the oldest finished ones of its container
    /// beyond `FINISHED_EXECS_KEPT`.
    fn insert(&self, exec: Arc<Exec>) {
        let mut execs = self.execs.lock().expect("invariant: exec table lock not poisoned");
        let mut finished: Vec<(u64, String)> = execs
            .values()
            .filter(|other| other.container.id == exec.container.id)
            .filter(|other| other.progress().exit_code.is_some())
            .map(|other| (other.number, other.id.clone()))
            .collect();
        if finished.len() >= FINISHED_EXECS_KEPT {
            finished.sort();
            for (_, id) in &finished[..finished.len() + 1 - FINISHED_EXECS_KEPT] {
                execs.remove(id);
            }
        }
        execs.insert(exec.id.clone(), exec);
    }

    fn get(&self, id: &str) -> Result<Arc<Exec>, ApiError> {
        let execs = self.execs.lock().expect("invariant: exec table lock not poisoned");
        execs.get(id).cloned().ok_or_else(|| ApiError::NoSuchExec(id.to_string()))
    }

    /// Forgets the execs of a removed container.
    pub fn forget_container(&self, container_id: &str) {
        let mut execs = self.execs.lock().expect("invariant: exec table lock not poisoned");
        execs.retain(|_, exec| exec.container.id != container_id);
    }
}

/// One exec: what to run, and what became of it.
pub struct Exec {
    id: String,
    /// Creation order, for forgetting the oldest.
    number: u64,
    container: Arc<Container>,
    argv: Vec<String>,
    env: Vec<String>,
    cwd: String,
    tty: bool,
    attach_stdin: bool,
    attach_stdout: bool,
    attach_stderr: bool,
    detach_keys: String,
    progress: Mutex<Progress>,
}

#[derive(Default)]
struct Progress {
    started: bool,
    running: bool,
    pid: i32,
    exit_code: Option<i32>,
    /// The master side of its terminal, for `resize`.
    terminal: Option<Arc<OwnedFd>>,
    /// A size asked for before the terminal existed (the docker CLI sends
    /// it as soon as the 101 arrives): applied when it does.
    pending_size: Option<WindowSize>,
}

impl Exec {
    fn progress(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.progress.lock().expect("invariant: exec lock not poisoned")
    }

    /// dockerd's event action: `exec_create: ` then the program and its
    /// arguments, each followed by a space but the last argument.
    fn event_action(&self, what: &str) -> String {
        format!("{what}: {} {}", self.argv[0], self.argv[1..].join(" "))
    }

    /// Keeps the terminal's master side for `resize`, and gives it the size
    /// asked for before it existed.
    fn adopt_terminal(&self, master: &Arc<OwnedFd>) {
        let mut progress = self.progress();
        if let Some(size) = progress.pending_size.take() {
            let _ = sys::set_window_size(master.as_raw_fd(), size);
        }
        progress.terminal = Some(Arc::clone(master));
    }

    /// Records the exit and tells the events stream, as dockerd's `exec_die`.
    fn exited(&self, engine: &Engine, exit_code: i32) {
        {
            let mut progress = self.progress();
            progress.running = false;
            progress.exit_code = Some(exit_code);
            progress.terminal = None;
        }
        let extra = [("execID", self.id.clone()), ("exitCode", exit_code.to_string())];
        engine.emit(&self.container, "exec_die", &extra);
    }
}

/// `POST /containers/{id}/exec`.
pub fn create(engine: &Arc<Engine>, mut request: Request, reference: &str) {
    let result = http_io::read_body(&mut request).and_then(|body| {
        let container = engine.find(reference)?;
        let body: Value = serde_json::from_slice(&body)
            .map_err(|error| ApiError::BadRequest(format!("invalid JSON in the request body: {error}")))?;
        let argv = string_list(body.get("Cmd"));
        if argv.is_empty() {
            return Err(ApiError::BadRequest("No exec command specified".to_string()));
        }
        let detach_keys = body.get("DetachKeys").and_then(Value::as_str).unwrap_or("").to_string();
        if !detach_keys.is_empty() {
            DetachKeys::parse(&detach_keys).map_err(ApiError::BadRequest)?;
        }
        require_running(&container, reference)?;
        let flag = |key: &str| body.get(key).and_then(Value::as_bool).unwrap_or(false);
        let mut env = string_list(body.get("Env"));
        if flag("Tty") && !env.iter().any(|entry| entry.starts_with("TERM=")) {
            env.insert(0, "TERM=xterm".to_string()); // as dockerd does for `exec -t`
        }
        static CREATED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let exec = Arc::new(Exec {
            id: ids::new_id()?,
            number: CREATED.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            container: Arc::clone(&container),
            env,
            cwd: body.get("WorkingDir").and_then(Value::as_str).unwrap_or("").to_string(),
            tty: flag("Tty"),
            attach_stdin: flag("AttachStdin"),
            attach_stdout: flag("AttachStdout"),
            attach_stderr: flag("AttachStderr"),
            detach_keys,
            argv,
            progress: Mutex::default(),
        });
        engine.emit(&container, &exec.event_action("exec_create"), &[("execID", exec.id.clone())]);
        let id = exec.id.clone();
        engine.execs.insert(exec);
        Ok(id)
    });
    match result {
        Ok(id) => respond_json(request, 201, &json!({ "Id": id })),
        Err(error) => respond_error(request, &error),
    }
}

/// Exec needs a running container: Docker's 409s otherwise.
fn require_running(container: &Container, reference: &str) -> Result<(), ApiError> {
    match decide(Action::Exec, container.status()) {
        Decision::Allowed => Ok(()),
        _ => Err(crate::lifecycle::wrong_state(Action::Exec, container, reference)),
    }
}

/// `POST /exec/{id}/start`: detached (200 at once), or attached (101, then
/// the process's stdio both ways until its output ends).
pub fn start(engine: &Arc<Engine>, mut request: Request, id: &str) {
    let prepared = (|| {
        let exec = engine.execs.get(id)?;
        let body = http_io::read_body(&mut request)?;
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let detach = body.get("Detach").and_then(Value::as_bool).unwrap_or(false);
        {
            let mut progress = exec.progress();
            if progress.running {
                return Err(ApiError::Conflict(format!("Error: Exec command {id} is already running")));
            }
            if progress.started {
                return Err(ApiError::Conflict(format!("Error: Exec command {id} has already run")));
            }
            require_running(&exec.container, &exec.container.id)?;
            progress.started = true;
        }
        Ok::<_, ApiError>((exec, detach))
    })();
    let (exec, detach) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => return respond_error(request, &error),
    };
    let shim_request = ExecRequest {
        argv: exec.argv.clone(),
        env: exec.env.clone(),
        cwd: exec.cwd.clone(),
        tty: exec.tty,
        stdin: exec.attach_stdin,
        detach: detach || !http_io::is_upgrade(&request),
    };
    let detached = shim_request.detach;
    // Like dockerd, before the process starts (or fails to).
    engine.emit(&exec.container, &exec.event_action("exec_start"), &[("execID", exec.id.clone())]);
    let started = shim_link::exec(&exec.container.dir, shim_request);
    if let Ok(started) = &started {
        let mut progress = exec.progress();
        progress.running = true;
        progress.pid = started.pid;
    }
    if detached {
        return match started {
            Ok(started) => {
                respond_empty(request, 200);
                // Waited for on a thread of its own: a long `exec -d` must not
                // hold one of the bounded request slots (listener.rs).
                let (engine, exec) = (Arc::clone(engine), Arc::clone(&exec));
                std::thread::spawn(move || {
                    exec.exited(&engine, started.exit.wait().unwrap_or(KILLED_WITH_SHIM))
                });
            }
            Err(refusal) => {
                let exit_code = refusal.exit_code;
                respond_error(request, &ApiError::Conflict(refusal.message));
                if let Some(code) = exit_code {
                    exec.exited(engine, code); // it ran and failed: exec_die, as attached
                }
            }
        };
    }

    let response = http_io::switching_protocols(&[("Content-Type", "application/vnd.docker.raw-stream")]);
    let mut connection = request.upgrade("tcp", response);
    let started = match started {
        Ok(started) => started,
        Err(refusal) => {
            // As dockerd: the stream carries the reason, the exit code is 126.
            let mut frame = Vec::new();
            let text = format!("{}\r\n", refusal.message);
            match exec.tty {
                true => frame.extend_from_slice(text.as_bytes()),
                false => push_frame(&mut frame, Stream::Stdout, text.as_bytes()),
            }
            let _ = connection.write_all(&frame).and_then(|()| connection.flush());
            exec.exited(engine, refusal.exit_code.unwrap_or(126));
            return;
        }
    };

    let mut fds = started.fds.into_iter();
    let (stdin, outputs): (Option<File>, Vec<(File, Stream)>) = if exec.tty {
        let Some(master) = fds.next() else { return exec.exited(engine, KILLED_WITH_SHIM) };
        let master = Arc::new(master);
        exec.adopt_terminal(&master);
        let copy = |fd: &OwnedFd| fd.try_clone().ok().map(File::from);
        let stdin = if exec.attach_stdin { copy(&master) } else { None };
        (stdin, copy(&master).map(|out| (out, Stream::Stdout)).into_iter().collect())
    } else {
        let stdin = if exec.attach_stdin { fds.next().map(File::from) } else { None };
        let outputs = [Stream::Stdout, Stream::Stderr]
            .into_iter()
            .filter_map(|stream| fds.next().map(|fd| (File::from(fd), stream)))
            .collect();
        (stdin, outputs)
    };
    let wanted = |stream: Stream| match stream {
        Stream::Stderr => exec.attach_stderr,
        _ => exec.attach_stdout,
    };

    // The exit is recorded before the connection closes: a client reads the
    // exit code (`GET /exec/{id}/json`) as soon as its stream ends.
    let record_exit = || exec.exited(engine, started.exit.wait().unwrap_or(KILLED_WITH_SHIM));
    match stdin {
        None => {
            relay_output(outputs, exec.tty, &wanted, &mut Client::Ready(&mut connection));
            record_exit();
        }
        Some(stdin) => {
            let keys = if exec.detach_keys.is_empty() { detach_keys::DEFAULT } else { &exec.detach_keys };
            let mut keys =
                DetachKeys::parse(keys).expect("invariant: checked at create").for_terminal(exec.tty);
            let duplex = upgrade::split(connection, move |client| forward_input(client, stdin, &mut keys));
            let mut client = Client::Splitting { duplex: &duplex, output: None, held: Vec::new() };
            relay_output(outputs, exec.tty, &wanted, &mut client);
            record_exit();
            drop(client);
            duplex.finish();
        }
    }
}

/// Copies the client's input to the exec's stdin until the client
/// half-closes — then the exec's stdin is closed: it reads end-of-file — or
/// types the detach keys.
fn forward_input(client: &mut ClientInput, stdin: File, keys: &mut DetachKeys) {
    // At the client's end of input, the `File` returned is dropped: closed.
    if let InputEnd::Detached = copy_input(client, Some(stdin), keys) {
        client.hang_up();
    }
}

/// Where an exec's output goes: the connection, or — while the connection
/// is being split — memory, until the writing side is there (`upgrade.rs`).
enum Client<'a> {
    Ready(&'a mut dyn Write),
    Splitting { duplex: &'a Duplex, output: Option<Output>, held: Vec<u8> },
}

impl Client<'_> {
    /// The writer, once there is one; held output goes out first.
    fn writer(&mut self) -> Option<&mut dyn Write> {
        match self {
            Client::Ready(writer) => Some(&mut **writer),
            Client::Splitting { duplex, output, held } => {
                if output.is_none() {
                    *output = duplex.try_output().ok().flatten();
                    if let Some(ready) = output.as_mut() {
                        let _ = ready.write_all(held).and_then(|()| ready.flush());
                        *held = Vec::new();
                    }
                }
                output.as_mut().map(|ready| ready as &mut dyn Write)
            }
        }
    }

    fn waiting(&self) -> bool {
        matches!(self, Client::Splitting { output: None, .. })
    }

    /// Sends `frame`, or keeps it until it can be sent.
    fn send(&mut self, frame: &[u8]) -> std::io::Result<()> {
        match self.writer() {
            Some(writer) => writer.write_all(frame).and_then(|()| writer.flush()),
            None => {
                if let Client::Splitting { held, .. } = self {
                    held.extend_from_slice(frame);
                }
                Ok(())
            }
        }
    }

    /// The output is complete: whatever is still held waits for the writer.
    /// The writer is kept, not dropped: dropping the whole connection would
    /// close it before the exit code is recorded.
    fn finish(&mut self) {
        if let Client::Splitting { duplex, output: output @ None, held } = self {
            if let Ok(mut ready) = duplex.output() {
                let _ = ready.write_all(held).and_then(|()| ready.flush());
                *output = Some(ready);
            }
        }
    }
}

/// Sends the exec's output to the client as it comes, framed (raw with a
/// TTY), until every output has reached end-of-file. A client that went away
/// stops getting it, but the output is still read to its end, so the process
/// never blocks on a full pipe.
fn relay_output(
    mut outputs: Vec<(File, Stream)>,
    tty: bool,
    wanted: &dyn Fn(Stream) -> bool,
    client: &mut Client,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut frame = Vec::with_capacity(buffer.len() + 8);
    let mut client_gone = false;
    while !outputs.is_empty() {
        let mut entries: Vec<sys::PollFd> =
            outputs.iter().map(|(file, _)| sys::poll_entry(file.as_raw_fd())).collect();
        // While the connection is being split, look for the writer now and then.
        let timeout = client.waiting().then_some(crate::upgrade::LOOK_AGAIN * 10);
        if sys::poll(&mut entries, timeout).is_err() {
            return;
        }
        if client.waiting() {
            let _ = client.writer();
        }
        let mut ended = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            if entry.revents == 0 {
                continue;
            }
            let (file, stream) = &mut outputs[index];
            let count = match file.read(&mut buffer) {
                Ok(count) => count,
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                // A terminal's master reads EIO once the slave side is closed.
                Err(_) => 0,
            };
            if count == 0 {
                ended.push(index);
                continue;
            }
            if client_gone || !wanted(*stream) {
                continue;
            }
            frame.clear();
            match tty {
                true => frame.extend_from_slice(&buffer[..count]),
                false => push_frame(&mut frame, *stream, &buffer[..count]),
            }
            client_gone = client.send(&frame).is_err();
        }
        for index in ended.into_iter().rev() {
            outputs.remove(index);
        }
    }
    client.finish();
}

/// `GET /exec/{id}/json`.
pub fn inspect(engine: &Arc<Engine>, request: Request, id: &str) {
    let exec = match engine.execs.get(id) {
        Ok(exec) => exec,
        Err(error) => return respond_error(request, &error),
    };
    let progress = exec.progress();
    let document = json!({
        "ID": exec.id,
        "Running": progress.running,
        "ExitCode": progress.exit_code,
        "ProcessConfig": {
            "tty": exec.tty,
            "entrypoint": exec.argv[0],
            "arguments": exec.argv[1..],
            "privileged": false,
            "user": "",
        },
        "OpenStdin": exec.attach_stdin,
        "OpenStderr": exec.attach_stderr,
        "OpenStdout": exec.attach_stdout,
        "CanRemove": false,
        "ContainerID": exec.container.id,
        "DetachKeys": exec.detach_keys,
        "Pid": progress.pid,
    });
    drop(progress);
    respond_json(request, 200, &document);
}

/// `POST /exec/{id}/resize?h=&w=`: the size of the exec's terminal.
pub fn resize(engine: &Arc<Engine>, request: Request, id: &str, query: &Query) {
    let result = (|| {
        let exec = engine.execs.get(id)?;
        let size = window_size(query)?;
        let mut progress = exec.progress();
        match &progress.terminal {
            Some(master) => sys::set_window_size(master.as_raw_fd(), size)
                .map_err(|e| ApiError::Internal(e.to_string()))?,
            None => progress.pending_size = Some(size),
        }
        Ok::<_, ApiError>(())
    })();
    match result {
        Ok(()) => respond_empty(request, 200),
        Err(error) => respond_error(request, &error),
    }
}

/// The `h` and `w` of a resize request.
pub fn window_size(query: &Query) -> Result<WindowSize, ApiError> {
    let dimension = |key: &str| -> Result<u16, ApiError> {
        let value = query.integer(key)?.unwrap_or(0);
        u16::try_from(value).map_err(|_| ApiError::BadRequest(format!("invalid {key}: {value}")))
    };
    Ok(WindowSize { rows: dimension("h")?, columns: dimension("w")? })
}
