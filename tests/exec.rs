//! `exec` end to end, through the real CLI, the stock docker CLI and raw
//! HTTP: the CLI exits with the command's code and keeps stdout and stderr
//! apart; the exec inherits the container's environment and working directory
//! (`-e` and `-w` override them); the client's end of input closes the exec's
//! stdin while its output keeps flowing; the exec is the shim's child in
//! `/proc` and dies with the container; exec inspect follows it; refusals,
//! events and many execs at once behave as Docker's (docker-reference.md §2,
//! §2.2, §2.3, §3).

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use common::stream_frame::{read_frame, Stream};
use serde_json::{json, Value};
use support::{
    container_processes, eventually, is_alive, stat_fields, stderr, stdout, wait_gone, TestDaemon,
};

/// Docker's text for an exec whose program does not exist (§3). The stream
/// carries it as a stdout frame ending in `\r\n`.
const MISSING_BINARY: &str = "OCI runtime exec failed: exec failed: unable to start container process: \
                              exec: \"/nonexistent\": stat /nonexistent: no such file or directory: unknown";

/// Far longer than a detached start takes, far shorter than the command runs.
const AT_ONCE: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------- helpers

/// `orchestrate --socket … ARGS`, not yet run, from `/`.
fn cli_command(daemon: &TestDaemon, args: &[&str]) -> Command {
    let mut command = Command::new(support::binary("orchestrate"));
    command.arg("--socket").arg(&daemon.socket).args(args).current_dir("/");
    command
}

/// The stock docker CLI talking to our daemon, not yet run.
fn docker_command(daemon: &TestDaemon, args: &[&str]) -> Command {
    let mut command = Command::new("docker");
    command
        .args(args)
        .env("DOCKER_HOST", format!("unix://{}", daemon.socket.display()))
        .env("DOCKER_CONFIG", daemon.dir.join("docker-config"))
        .env_remove("DOCKER_CONTEXT");
    command
}

/// Runs `command` with `input` on its stdin (then end-of-file), or with
/// `/dev/null` for `None`, and collects what it printed.
fn finish(mut command: Command, input: Option<&[u8]>) -> Output {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    command.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = command.spawn().expect("start the client");
    // Written from a thread: the client's output pipes must be drained
    // meanwhile, or a large echo would fill them and block both sides.
    let writer = child.stdin.take().map(|mut stdin| {
        let input = input.unwrap_or_default().to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        }) // dropping `stdin` closes it: the client reads end-of-file
    });
    let output = child.wait_with_output().expect("wait for the client");
    if let Some(writer) = writer {
        writer.join().expect("stdin writer");
    }
    output
}

/// `orchestrate exec …` (or anything else) with `input` on stdin.
fn cli_with_input(daemon: &TestDaemon, args: &[&str], input: &[u8]) -> Output {
    finish(cli_command(daemon, args), Some(input))
}

fn docker(daemon: &TestDaemon, args: &[&str], input: Option<&[u8]>) -> Output {
    finish(docker_command(daemon, args), input)
}

/// Exit code, stdout and stderr of a finished client, for one-line asserts.
fn outcome(output: &Output) -> (Option<i32>, String, String) {
    (output.status.code(), stdout(output), stderr(output))
}

/// A client process a test keeps running; killed and reaped on drop, even
/// after a panic.
struct Background(Child);

impl Background {
    /// Waits (with the suite's deadline) for the client to exit on its own.
    fn wait_exit(&mut self) -> ExitStatus {
        let mut status = None;
        eventually("the client exits", || {
            status = self.0.try_wait().expect("try_wait");
            status.is_some()
        });
        status.expect("checked above")
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn shim_pid(daemon: &TestDaemon, id: &str) -> i32 {
    support::read_to_string(&daemon.container_dir(id).join("shim.pid")).trim().parse().expect("shim.pid")
}

fn main_pid(daemon: &TestDaemon, name: &str) -> i32 {
    daemon.inspect(name)["State"]["Pid"].as_i64().expect("State.Pid") as i32
}

/// `/proc/PID/cmdline`, NUL-separated as the kernel gives it.
fn cmdline(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default()
}

/// The container's live processes whose command line is exactly `words`.
fn processes_running(id: &str, words: &[&str]) -> Vec<i32> {
    let wanted: String = words.iter().map(|word| format!("{word}\0")).collect();
    container_processes(id).into_iter().filter(|&pid| cmdline(pid) == wanted).collect()
}

/// Waits for exactly one process of the container running `words`; its PID.
fn the_process_running(id: &str, words: &[&str]) -> i32 {
    eventually(&format!("{words:?} runs"), || processes_running(id, words).len() == 1);
    processes_running(id, words)[0]
}

/// A process's environment, sorted, from `/proc/PID/environ`.
fn environment_of(pid: i32) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).expect("environ");
    sorted_entries(&raw)
}

fn sorted_entries(raw: &[u8]) -> Vec<String> {
    let mut entries: Vec<String> = raw
        .split(|&b| b == 0)
        .filter(|entry| !entry.is_empty())
        .map(|entry| String::from_utf8_lossy(entry).into_owned())
        .collect();
    entries.sort();
    entries
}

/// `POST /containers/{container}/exec`; returns the new exec's ID.
fn create_exec(daemon: &TestDaemon, container: &str, body: Value) -> String {
    let (status, answer) = daemon.api("POST", &format!("/containers/{container}/exec"), Some(body));
    assert_eq!(status, 201, "exec create in {container}: {answer}");
    let id = answer["Id"].as_str().expect("Id").to_string();
    assert_eq!(id.len(), 64, "{answer}");
    id
}

/// `POST /exec/{id}/start` with `{"Detach": true}`: status and body.
fn start_detached(daemon: &TestDaemon, exec_id: &str) -> (u16, Value) {
    daemon.api("POST", &format!("/exec/{exec_id}/start"), Some(json!({ "Detach": true, "Tty": false })))
}

/// `GET /exec/{id}/json`, which must answer 200.
fn exec_inspect(daemon: &TestDaemon, exec_id: &str) -> Value {
    let (status, value) = daemon.api("GET", &format!("/exec/{exec_id}/json"), None);
    assert_eq!(status, 200, "exec inspect {exec_id}: {value}");
    value
}

/// Sends `POST /exec/{id}/start` asking for the upgrade, as `docker exec`
/// does; returns the status line and the connection, positioned at the start
/// of the raw stream.
fn start_attached(daemon: &TestDaemon, exec_id: &str, tty: bool) -> (String, BufReader<UnixStream>) {
    let body = json!({ "Detach": false, "Tty": tty }).to_string();
    let request = format!(
        "POST /v1.41/exec/{exec_id}/start HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    support::upgrade_request(&daemon.socket, &request)
}

/// Stdout and stderr of a multiplexed stream, read until the daemon closes it.
fn demultiplex(mut reader: impl Read) -> (String, String) {
    let (mut out, mut err) = (String::new(), String::new());
    while let Some((stream, payload)) = read_frame(&mut reader).expect("a whole frame") {
        let text = String::from_utf8(payload).expect("utf-8 payload");
        match stream {
            Stream::Stdout => out.push_str(&text),
            Stream::Stderr => err.push_str(&text),
            Stream::Stdin => panic!("a stdin frame from the daemon: {text:?}"),
        }
    }
    (out, err)
}

/// `now` as `--since` / `--until` and the API take it: Unix seconds with nanoseconds.
fn unix_time_now() -> String {
    let nanos = common::time::now_nanos();
    format!("{}.{:09}", nanos / 1_000_000_000, nanos % 1_000_000_000)
}

/// Every event recorded so far, as the API returns them (`until` is now, so
/// the stream ends at once).
fn replay(daemon: &TestDaemon) -> Vec<Value> {
    let (status, body) = daemon.http("GET", &format!("/events?since=1&until={}", unix_time_now()), None);
    assert_eq!(status, 200);
    body.split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice(line).expect("one JSON event per line"))
        .collect()
}

/// The `execID` of each `exec_create` event whose action is `action`, in order.
fn created_exec_ids(daemon: &TestDaemon, action: &str) -> Vec<String> {
    replay(daemon)
        .iter()
        .filter(|event| event["Action"] == action)
        .map(|event| event["Actor"]["Attributes"]["execID"].as_str().expect("execID").to_string())
        .collect()
}

/// `orchestrate events` lines of container `id`: `(action, attributes)` each;
/// an exec's action has spaces in it (`exec_create: sh -c exit 3`).
fn event_lines(text: &str, id: &str) -> Vec<(String, String)> {
    let marker = format!(" {id} (");
    text.lines()
        .map(|line| {
            let (_, rest) = line.split_once(" container ").unwrap_or_else(|| panic!("{line}"));
            let (action, attributes) = rest.split_once(&marker).unwrap_or_else(|| panic!("{line}"));
            (action.to_string(), attributes.trim_end_matches(')').to_string())
        })
        .collect()
}

/// Asserts that `actual` has each field of `expected` with its value, down
/// through nested objects; fields `expected` does not name are not checked.
fn assert_fields(actual: &Value, expected: &Value) {
    for (key, wanted) in expected.as_object().expect("an object") {
        match wanted {
            Value::Object(_) => assert_fields(&actual[key], wanted),
            _ => assert_eq!(&actual[key], wanted, "field {key} of {actual}"),
        }
    }
}

/// Asserts a CLI command is refused: exit 1, Docker's message on stderr.
fn assert_refused(output: &Output, message: &str) {
    assert_eq!(output.status.code(), Some(1), "{}{}", stdout(output), stderr(output));
    let expected = format!("Error response from daemon: {message}");
    assert!(stderr(output).contains(&expected), "said {:?}, wanted {expected:?}", stderr(output));
}

/// Asserts an API answer: status and `message`.
fn assert_api_error(answer: (u16, Value), status: u16, message: &str) {
    assert_eq!((answer.0, answer.1["message"].as_str()), (status, Some(message)), "{}", answer.1);
}

// ------------------------------------------------------------------ tests

#[test]
fn the_cli_exits_with_the_commands_code_and_keeps_the_streams_apart() {
    let daemon = TestDaemon::start();
    let id = daemon.run(&["--name", "codes", "--", "sleep", "1000"]);
    let main = main_pid(&daemon, "codes");

    let output = daemon.cli(&["exec", "codes", "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!(outcome(&output), (Some(3), "out\n".into(), "err\n".into()));
    assert_eq!(outcome(&daemon.cli(&["exec", "codes", "--", "true"])), (Some(0), "".into(), "".into()));
    assert_eq!(daemon.cli(&["exec", "codes", "--", "false"]).status.code(), Some(1));
    let killed = daemon.cli(&["exec", "codes", "--", "sh", "-c", "kill -9 $$"]);
    assert_eq!(killed.status.code(), Some(137), "128 + SIGKILL: {}", stderr(&killed));
    // Without -i the exec's stdin is /dev/null: `cat` ends at once.
    assert_eq!(outcome(&daemon.cli(&["exec", "codes", "--", "cat"])), (Some(0), "".into(), "".into()));

    // A command that cannot start: Docker's text on the stream, 126.
    let missing = daemon.cli(&["exec", "codes", "--", "/nonexistent"]);
    assert_eq!(outcome(&missing), (Some(126), format!("{MISSING_BINARY}\r\n"), "".into()));
    let not_found = daemon.cli(&["exec", "codes", "--", "nosuchcommand"]);
    assert_eq!(not_found.status.code(), Some(126));
    assert!(
        stdout(&not_found).contains(
            "OCI runtime exec failed: exec failed: unable to start container process: \
             exec: \"nosuchcommand\": executable file not found in $PATH: unknown"
        ),
        "{}",
        stdout(&not_found)
    );
    let not_executable = daemon.cli(&["exec", "codes", "--", "/etc/passwd"]);
    assert_eq!(not_executable.status.code(), Some(126));
    assert!(
        stdout(&not_executable).contains("exec: \"/etc/passwd\": permission denied"),
        "{:?}",
        not_executable
    );
    let bad_directory = daemon.cli(&["exec", "-w", "/nonexistent", "codes", "--", "true"]);
    assert_eq!(bad_directory.status.code(), Some(126));
    assert!(
        stdout(&bad_directory)
            .contains("chdir to cwd (\"/nonexistent\") set in config failed: no such file or directory"),
        "{bad_directory:?}"
    );
    // Detached, the refusal is the start request's error.
    let detached = daemon.cli(&["exec", "-d", "codes", "--", "/nonexistent"]);
    assert_ne!(detached.status.code(), Some(0));
    assert!(stderr(&detached).contains(MISSING_BINARY), "{detached:?}");

    // The docker CLI gets the same from the same daemon.
    let output = docker(&daemon, &["exec", "codes", "sh", "-c", "echo out; echo err >&2; exit 3"], None);
    assert_eq!(outcome(&output), (Some(3), "out\n".into(), "err\n".into()));
    let missing = docker(&daemon, &["exec", "codes", "/nonexistent"], None);
    assert_eq!(outcome(&missing), (Some(126), format!("{MISSING_BINARY}\r\n"), "".into()));

    // On the wire: a 101, the message as one stdout frame, then exec inspect.
    let exec_id = create_exec(
        &daemon,
        "codes",
        json!({ "AttachStdout": true, "AttachStderr": true, "Cmd": ["/nonexistent"] }),
    );
    let (status, stream) = start_attached(&daemon, &exec_id, false);
    assert!(status.starts_with("HTTP/1.1 101"), "{status}");
    assert_eq!(demultiplex(stream), (format!("{MISSING_BINARY}\r\n"), String::new()));
    let inspect = exec_inspect(&daemon, &exec_id);
    assert_eq!((&inspect["Running"], &inspect["ExitCode"]), (&json!(false), &json!(126)), "{inspect}");

    // None of it touched the container.
    assert_eq!(daemon.status("codes"), "running");
    assert_eq!(main_pid(&daemon, "codes"), main);
    assert_eq!(container_processes(&id), [main]);
}

#[test]
fn the_exec_inherits_the_containers_environment_and_working_directory() {
    let daemon = TestDaemon::start_with_env(&[("DAEMON_ONLY", "leaked")]);
    let id = daemon.run(&[
        "--name",
        "envy",
        "-e",
        "FOO=bar",
        "-e",
        "KEEP=kept",
        "-w",
        "/tmp",
        "--",
        "sleep",
        "1000",
    ]);
    let short_id = &id[..12];
    let main = main_pid(&daemon, "envy");
    let main_environment = environment_of(main);
    for wanted in [
        "FOO=bar".to_string(),
        "KEEP=kept".to_string(),
        format!("HOSTNAME={short_id}"),
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
    ] {
        assert!(main_environment.contains(&wanted), "{wanted} in {main_environment:?}");
    }
    assert_eq!(daemon.inspect("envy")["Config"]["Hostname"], short_id);

    // `cat /proc/self/environ` is the exec's own environment, no shell in
    // between: exactly the container's, and nothing of the daemon's or the CLI's.
    let mut command = cli_command(&daemon, &["exec", "envy", "--", "cat", "/proc/self/environ"]);
    command.env("CLI_ONLY", "leaked");
    let output = finish(command, None);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(sorted_entries(&output.stdout), main_environment);
    let cwd = daemon.cli_ok(&["exec", "envy", "--", "sh", "-c", "pwd -P"]);
    assert_eq!(cwd, "/tmp\n");
    assert_eq!(std::fs::read_link(format!("/proc/{main}/cwd")).unwrap(), Path::new("/tmp"));

    // `-e` replaces a variable of the same name and adds new ones; `-w` moves it.
    let text = daemon.cli_ok(&[
        "exec",
        "-e",
        "FOO=baz",
        "-e",
        "NEW=1",
        "-w",
        "/usr",
        "envy",
        "--",
        "sh",
        "-c",
        "echo \"$FOO $NEW $KEEP $HOSTNAME\"; pwd -P",
    ]);
    assert_eq!(text, format!("baz 1 kept {short_id}\n/usr\n"));
    let replaced = daemon.cli(&["exec", "-e", "FOO=baz", "envy", "--", "cat", "/proc/self/environ"]);
    let entries = sorted_entries(&replaced.stdout);
    assert_eq!(
        entries.iter().filter(|e| e.starts_with("FOO=")).collect::<Vec<_>>(),
        ["FOO=baz"],
        "{entries:?}"
    );
    assert_eq!(entries.len(), main_environment.len(), "{entries:?}");

    // The overrides were the exec's own: the container and later execs keep theirs.
    let text = daemon.cli_ok(&["exec", "envy", "--", "sh", "-c", "echo \"$FOO ${NEW-unset}\"; pwd -P"]);
    assert_eq!(text, "bar unset\n/tmp\n");
    assert_eq!(environment_of(main), main_environment);

    // The docker CLI's `-e` and `-w` travel in the exec create body too.
    let output = docker(
        &daemon,
        &[
            "exec",
            "-e",
            "FOO=docker",
            "-w",
            "/usr",
            "envy",
            "sh",
            "-c",
            "echo \"$FOO $KEEP $HOSTNAME\"; pwd -P",
        ],
        None,
    );
    assert_eq!(outcome(&output), (Some(0), format!("docker kept {short_id}\n/usr\n"), "".into()));
}

#[test]
fn stdin_closes_at_the_clients_end_of_input_and_output_still_flows() {
    let daemon = TestDaemon::start();
    daemon.run(&["--name", "reader", "--", "sleep", "1000"]);

    let output =
        cli_with_input(&daemon, &["exec", "-i", "reader", "--", "sh", "-c", "cat; echo done"], b"a\nb\n");
    assert_eq!(outcome(&output), (Some(0), "a\nb\ndone\n".into(), "".into()));
    let output = cli_with_input(
        &daemon,
        &["exec", "-i", "reader", "--", "sh", "-c", "cat; echo done >&2; exit 4"],
        b"a\nb\n",
    );
    assert_eq!(outcome(&output), (Some(4), "a\nb\n".into(), "done\n".into()));
    let output = docker(&daemon, &["exec", "-i", "reader", "sh", "-c", "cat; echo done"], Some(b"a\nb\n"));
    assert_eq!(outcome(&output), (Some(0), "a\nb\ndone\n".into(), "".into()));
    let output = docker(&daemon, &["exec", "-i", "reader", "sh", "-c", "cat; exit 5"], Some(b""));
    assert_eq!(outcome(&output), (Some(5), "".into(), "".into()), "an empty input is an end at once");

    // Without -i nothing is forwarded, and the exec does not wait for the
    // CLI's input to end: it is never closed here.
    let mut command = cli_command(&daemon, &["exec", "reader", "--", "sh", "-c", "cat; echo done"]);
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut client = Background(command.spawn().unwrap());
    let mut held_open = client.0.stdin.take().unwrap();
    held_open.write_all(b"not forwarded\n").unwrap();
    assert_eq!(client.wait_exit().code(), Some(0));
    let mut text = String::new();
    client.0.stdout.take().unwrap().read_to_string(&mut text).unwrap();
    assert_eq!(text, "done\n");
    drop(held_open);

    // On the wire (§2.2): raw bytes without frame headers, a half-close, then
    // the output as frames until the process's output ends.
    let exec_id = create_exec(
        &daemon,
        "reader",
        json!({
            "AttachStdin": true, "AttachStdout": true, "AttachStderr": true,
            "Cmd": ["sh", "-c", "cat; echo done >&2; exit 6"],
        }),
    );
    let (status, mut stream) = start_attached(&daemon, &exec_id, false);
    assert!(status.starts_with("HTTP/1.1 101"), "{status}");
    stream.get_mut().write_all(b"a\nb\n").unwrap();
    stream.get_ref().shutdown(Shutdown::Write).unwrap();
    assert_eq!(demultiplex(stream), ("a\nb\n".to_string(), "done\n".to_string()));
    // Recorded before the stream ended: what `docker exec` reads next.
    let inspect = exec_inspect(&daemon, &exec_id);
    assert_eq!((&inspect["Running"], &inspect["ExitCode"]), (&json!(false), &json!(6)), "{inspect}");

    // A megabyte through `cat` and back: nothing lost, no deadlock on full pipes.
    let big: Vec<u8> =
        (0..1_000_000u32).map(|i| if i % 100 == 99 { b'\n' } else { b'a' + (i % 26) as u8 }).collect();
    let output = cli_with_input(&daemon, &["exec", "-i", "reader", "--", "cat"], &big);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(output.stdout == big, "{} bytes came back of {}", output.stdout.len(), big.len());
    let output = docker(&daemon, &["exec", "-i", "reader", "wc", "-c"], Some(&big));
    assert_eq!(outcome(&output), (Some(0), "1000000\n".into(), "".into()));
}

#[test]
fn an_exec_is_a_child_of_the_shim_and_dies_with_the_container() {
    let daemon = TestDaemon::start();
    let id = daemon.run(&["--name", "host", "--", "sleep", "2000"]);
    let shim = shim_pid(&daemon, &id);
    let main = main_pid(&daemon, "host");

    assert_eq!(
        outcome(&daemon.cli(&["exec", "-d", "host", "--", "sleep", "1000"])),
        (Some(0), "".into(), "".into())
    );
    let from_cli = the_process_running(&id, &["sleep", "1000"]);
    let (_, parent, group, session) = stat_fields(from_cli).unwrap();
    assert_eq!(parent, shim, "the shim started it");
    assert_eq!(group, from_cli, "a process group of its own, not the main process's {main}");
    assert_eq!(session, shim, "no terminal: the shim's session");

    let exec_id = create_exec(&daemon, "host", json!({ "Cmd": ["sleep", "1001"] }));
    assert_eq!(start_detached(&daemon, &exec_id).0, 200);
    let from_api = the_process_running(&id, &["sleep", "1001"]);
    assert_eq!(exec_inspect(&daemon, &exec_id)["Pid"], from_api);
    assert_eq!(stat_fields(from_api).unwrap().1, shim);

    // An attached exec, its CLI waiting for it.
    let mut command = cli_command(&daemon, &["exec", "host", "--", "sleep", "1002"]);
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let mut attached = Background(command.spawn().unwrap());
    let from_attached = the_process_running(&id, &["sleep", "1002"]);
    assert_eq!(stat_fields(from_attached).unwrap().1, shim);
    let mut shim_children = support::children(shim);
    shim_children.sort();
    let mut expected = vec![main, from_cli, from_api, from_attached];
    expected.sort();
    assert_eq!(shim_children, expected, "the main process and the three execs");

    // The main process ends at SIGTERM; the shim then kills the execs.
    daemon.cli_ok(&["stop", "host"]);
    for pid in [main, from_cli, from_api, from_attached] {
        wait_gone(pid);
    }
    assert_eq!(container_processes(&id), Vec::<i32>::new());
    assert_eq!(attached.wait_exit().code(), Some(137), "the attached CLI exits with the exec's code");
    eventually("exec inspect sees the end", || exec_inspect(&daemon, &exec_id)["Running"] == false);
    let inspect = exec_inspect(&daemon, &exec_id);
    assert_eq!(inspect["ExitCode"], 137, "killed with SIGKILL: {inspect}");
    assert_eq!(inspect["Pid"], from_api, "{inspect}");
}

#[test]
fn a_killed_shim_takes_its_execs_with_it() {
    let daemon = TestDaemon::start();
    let id = daemon.run(&["--name", "fragile", "--", "sleep", "2000"]);
    let exec_id = create_exec(&daemon, "fragile", json!({ "Cmd": ["sleep", "1000"] }));
    assert_eq!(start_detached(&daemon, &exec_id).0, 200);
    let pid = the_process_running(&id, &["sleep", "1000"]);
    common::sys::kill(shim_pid(&daemon, &id), libc::SIGKILL).unwrap();
    // PR_SET_PDEATHSIG(SIGKILL), set for every exec as for the main process.
    eventually("the exec died with its shim", || !is_alive(pid));
    daemon.wait_status("fragile", "exited");
    eventually("exec inspect sees the end", || exec_inspect(&daemon, &exec_id)["Running"] == false);
    assert_eq!(exec_inspect(&daemon, &exec_id)["ExitCode"], 137);
}

#[test]
fn a_detached_exec_returns_at_once_and_inspect_follows_it() {
    let daemon = TestDaemon::start();
    let id = daemon.run(&["--name", "bg", "--", "sleep", "2000"]);

    let started = Instant::now();
    let output = daemon.cli(&["exec", "-d", "bg", "--", "sleep", "1000"]);
    assert!(started.elapsed() < AT_ONCE, "exec -d waited {:?}", started.elapsed());
    assert_eq!(outcome(&output), (Some(0), "".into(), "".into()));
    let pid = the_process_running(&id, &["sleep", "1000"]);
    let exec_id = created_exec_ids(&daemon, "exec_create: sleep 1000").pop().expect("its exec_create event");
    let inspect = exec_inspect(&daemon, &exec_id);
    assert_eq!(
        (&inspect["Running"], &inspect["ExitCode"], &inspect["Pid"]),
        (&json!(true), &Value::Null, &json!(pid))
    );
    assert_eq!(inspect["OpenStdin"], false, "-d attaches nothing: {inspect}");
    assert_eq!(inspect["OpenStdout"], false, "{inspect}");

    // Through the API: the document before, during and after the run. The
    // command waits for a file the test creates.
    let go = daemon.dir.join("go");
    let script = format!("while [ ! -e {} ]; do sleep 0.01; done; exit 9", go.display());
    let exec_id = create_exec(
        &daemon,
        "bg",
        json!({ "AttachStdout": true, "AttachStderr": false, "Cmd": ["sh", "-c", script], "DetachKeys": "ctrl-x" }),
    );
    // Every field the reference lists (§2, "Exec inspect"), before the start.
    let before = exec_inspect(&daemon, &exec_id);
    assert_fields(
        &before,
        &json!({
            "ID": exec_id,
            "Running": false,
            "ExitCode": null,
            "ProcessConfig": { "tty": false, "entrypoint": "sh", "arguments": ["-c", script], "privileged": false },
            "OpenStdin": false,
            "OpenStdout": true,
            "OpenStderr": false,
            "CanRemove": false,
            "ContainerID": id,
            "DetachKeys": "ctrl-x",
            "Pid": 0,
        }),
    );
    let (status, body) = start_detached(&daemon, &exec_id);
    assert_eq!((status, body), (200, Value::Null), "200 with an empty body");
    let running = exec_inspect(&daemon, &exec_id);
    assert_eq!((&running["Running"], &running["ExitCode"]), (&json!(true), &Value::Null), "{running}");
    let pid = running["Pid"].as_i64().expect("Pid") as i32;
    assert!(pid > 0 && is_alive(pid), "{running}");
    assert_eq!(cmdline(pid), format!("sh\0-c\0{script}\0"));
    assert_eq!(stat_fields(pid).unwrap().1, shim_pid(&daemon, &id));

    std::fs::write(&go, "").unwrap();
    wait_gone(pid);
    eventually("exec inspect sees the exit", || exec_inspect(&daemon, &exec_id)["Running"] == false);
    let after = exec_inspect(&daemon, &exec_id);
    assert_eq!((&after["ExitCode"], &after["Pid"]), (&json!(9), &json!(pid)), "{after}");
    assert_eq!(daemon.status("bg"), "running", "an exec's end is not the container's");
}

#[test]
fn refusals_answer_as_docker() {
    let daemon = TestDaemon::start();
    let id = daemon.cli_ok(&["create", "--name", "busy", "--", "sleep", "2000"]).trim().to_string();
    let not_running = format!("Container {id} is not running");
    assert_refused(&daemon.cli(&["exec", "busy", "--", "true"]), &not_running);
    assert_api_error(
        daemon.api("POST", "/containers/busy/exec", Some(json!({ "Cmd": ["true"] }))),
        409,
        &not_running,
    );
    assert_refused(&daemon.cli(&["exec", "nosuch", "--", "true"]), "No such container: nosuch");

    daemon.cli_ok(&["start", "busy"]);
    let created_before_pause = create_exec(&daemon, "busy", json!({ "Cmd": ["true"] }));
    daemon.cli_ok(&["pause", "busy"]);
    // The name as typed, on create; the ID on start.
    assert_refused(
        &daemon.cli(&["exec", "busy", "--", "true"]),
        "Container busy is paused, unpause the container before exec",
    );
    let prefix = &id[..8];
    assert_api_error(
        daemon.api("POST", &format!("/containers/{prefix}/exec"), Some(json!({ "Cmd": ["true"] }))),
        409,
        &format!("Container {prefix} is paused, unpause the container before exec"),
    );
    assert_api_error(
        start_detached(&daemon, &created_before_pause),
        409,
        &format!("Container {id} is paused, unpause the container before exec"),
    );
    let output = docker(&daemon, &["exec", "busy", "true"], None);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        stderr(&output).contains("Container busy is paused, unpause the container before exec"),
        "{output:?}"
    );
    daemon.cli_ok(&["unpause", "busy"]);
    assert_eq!(container_processes(&id).len(), 1, "nothing was started while paused");

    for body in [json!({ "Cmd": [] }), json!({}), json!({ "Cmd": null })] {
        assert_api_error(
            daemon.api("POST", "/containers/busy/exec", Some(body)),
            400,
            "No exec command specified",
        );
    }
    let (status, _) = daemon.http("POST", "/containers/busy/exec", Some(("application/json", b"{not json")));
    assert_eq!(status, 400, "bad JSON");

    let unknown = "0123456789abcdef";
    let no_such_exec = format!("No such exec instance: {unknown}");
    assert_api_error(start_detached(&daemon, unknown), 404, &no_such_exec);
    assert_api_error(daemon.api("GET", &format!("/exec/{unknown}/json"), None), 404, &no_such_exec);
    assert_api_error(
        daemon.api("POST", &format!("/exec/{unknown}/resize?h=10&w=20"), None),
        404,
        &no_such_exec,
    );
    let (status, _) = start_attached(&daemon, unknown, false);
    assert!(status.starts_with("HTTP/1.1 404"), "{status}");

    // An exec starts once: 409 while it runs and after it ended.
    let sleeper = create_exec(&daemon, "busy", json!({ "Cmd": ["sleep", "1000"] }));
    assert_eq!(start_detached(&daemon, &sleeper).0, 200);
    assert_eq!(start_detached(&daemon, &sleeper).0, 409);
    let (status, _) = start_attached(&daemon, &sleeper, false);
    assert!(status.starts_with("HTTP/1.1 409"), "{status}");
    let quick = create_exec(&daemon, "busy", json!({ "Cmd": ["true"] }));
    assert_eq!(start_detached(&daemon, &quick).0, 200);
    eventually("the quick exec ended", || exec_inspect(&daemon, &quick)["Running"] == false);
    assert_api_error(
        start_detached(&daemon, &quick),
        409,
        &format!("Error: Exec command {quick} has already run"),
    );
    assert_eq!(processes_running(&id, &["sleep", "1000"]).len(), 1, "no second run of either");

    // An exec created while the container ran cannot start once it stopped.
    let stale = create_exec(&daemon, "busy", json!({ "Cmd": ["true"] }));
    daemon.cli_ok(&["stop", "busy"]);
    assert_api_error(start_detached(&daemon, &stale), 409, &not_running);
    assert_refused(&daemon.cli(&["exec", "busy", "--", "true"]), &not_running);
    assert_eq!(daemon.status("busy"), "exited", "a refused exec does not revive it");
    // Removing the container forgets its execs.
    daemon.cli_ok(&["rm", "busy"]);
    assert_api_error(
        daemon.api("GET", &format!("/exec/{stale}/json"), None),
        404,
        &format!("No such exec instance: {stale}"),
    );
}

#[test]
fn exec_create_start_and_die_are_events() {
    let daemon = TestDaemon::start();
    let since = unix_time_now();
    let id = daemon.run(&["--name", "ev", "--", "sleep", "2000"]);
    assert_eq!(daemon.cli(&["exec", "ev", "--", "sh", "-c", "exit 3"]).status.code(), Some(3));
    daemon.cli_ok(&["exec", "-d", "ev", "--", "sleep", "1000"]);
    the_process_running(&id, &["sleep", "1000"]);
    daemon.cli_ok(&["stop", "ev"]);
    eventually("both exec_die events", || {
        replay(&daemon).iter().filter(|e| e["Action"] == "exec_die").count() == 2
    });
    let until = unix_time_now();

    let text = daemon.cli_ok(&["events", "--since", &since, "--until", &until, "--filter", "container=ev"]);
    let events = event_lines(&text, &id);
    let actions: Vec<&str> = events.iter().map(|(action, _)| action.as_str()).collect();
    assert_eq!(
        actions[..8],
        [
            "create",
            "start",
            "exec_create: sh -c exit 3",
            "exec_start: sh -c exit 3",
            "exec_die",
            "exec_create: sleep 1000",
            "exec_start: sleep 1000",
            "kill",
        ],
        "{text}"
    );
    // The sleeping exec's death and the container's race: both come.
    let mut rest = actions[8..].to_vec();
    rest.sort();
    assert_eq!(rest, ["die", "exec_die", "stop"], "{text}");

    // One execID follows each exec through its three events.
    let exec_id_of = |attributes: &str| -> String {
        let start = attributes.find("execID=").unwrap_or_else(|| panic!("{attributes}")) + "execID=".len();
        attributes[start..start + 64].to_string()
    };
    let first = exec_id_of(&events[2].1);
    assert_eq!(events[2].1, format!("execID={first}, image=, name=ev"));
    assert_eq!(exec_id_of(&events[3].1), first);
    assert_eq!(events[4].1, format!("execID={first}, exitCode=3, image=, name=ev"));
    let second = exec_id_of(&events[5].1);
    assert_ne!(first, second);
    let second_die = events.iter().skip(8).find(|(action, _)| action == "exec_die").unwrap();
    assert_eq!(second_die.1, format!("execID={second}, exitCode=137, image=, name=ev"));

    // The API's form, and the filter on the event's name.
    let replayed = replay(&daemon);
    let die = replayed.iter().find(|e| e["Action"] == "exec_die").unwrap();
    assert_eq!(
        (&die["Type"], &die["status"], &die["id"]),
        (&json!("container"), &json!("exec_die"), &json!(id))
    );
    assert_eq!(die["Actor"]["ID"], id.as_str());
    assert_eq!(die["Actor"]["Attributes"]["execID"], first.as_str());
    assert_eq!(die["Actor"]["Attributes"]["exitCode"], "3");
    let filtered =
        daemon.cli_ok(&["events", "--since", &since, "--until", &until, "--filter", "event=exec_die"]);
    let filtered: Vec<String> = event_lines(&filtered, &id).into_iter().map(|(action, _)| action).collect();
    assert_eq!(filtered, ["exec_die", "exec_die"]);
}

#[test]
fn twenty_execs_at_once_each_get_their_own_output_and_code() {
    let daemon = TestDaemon::start();
    let id = daemon.run(&["--name", "crowd", "--", "sleep", "1000"]);
    let main = main_pid(&daemon, "crowd");
    let shim = shim_pid(&daemon, &id);

    let clients: Vec<(usize, Command, Option<Vec<u8>>)> = (0..20)
        .map(|n| {
            // Half take their number as an argument, half on stdin.
            if n % 2 == 0 {
                let script = "echo \"out $0\"; echo \"err $0\" >&2; exit $0";
                (n, cli_command(&daemon, &["exec", "crowd", "--", "sh", "-c", script, &n.to_string()]), None)
            } else {
                let script = "read n; echo \"out $n\"; echo \"err $n\" >&2; exit $n";
                let command = cli_command(&daemon, &["exec", "-i", "crowd", "--", "sh", "-c", script]);
                (n, command, Some(format!("{n}\n").into_bytes()))
            }
        })
        .collect();
    let threads: Vec<_> = clients
        .into_iter()
        .map(|(n, command, input)| std::thread::spawn(move || (n, finish(command, input.as_deref()))))
        .collect();
    for thread in threads {
        let (n, output) = thread.join().unwrap();
        assert_eq!(
            outcome(&output),
            (Some(n as i32), format!("out {n}\n"), format!("err {n}\n")),
            "exec {n}"
        );
    }

    // Every exec was reaped: the shim has its main process left, no zombie.
    eventually("only the main process is left", || container_processes(&id) == [main]);
    eventually("the shim reaped every exec", || support::children(shim) == [main]);
    let ended = replay(&daemon).iter().filter(|e| e["Action"] == "exec_die").count();
    assert_eq!(ended, 20, "one exec_die each");
    assert_eq!(daemon.status("crowd"), "running");
}

#[test]
fn a_tty_exec_gets_a_terminal_of_the_size_asked_for() {
    let daemon = TestDaemon::start();
    let id = daemon.run(&["--name", "term", "--", "sleep", "1000"]);

    // `-t` alone works from a pipe; the terminal merges the streams, `\r\n`.
    let output = daemon.cli(&[
        "exec",
        "-t",
        "term",
        "--",
        "sh",
        "-c",
        "test -t 0 && test -t 1 && test -t 2 && tty; echo err >&2; exit 2",
    ]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let text = stdout(&output);
    assert!(text.starts_with("/dev/pts/") && text.ends_with("\r\nerr\r\n"), "{text:?}");
    assert_eq!(stderr(&output), "");

    // `exec -it` on the wire: start, then resize (§2). The resize is sent once
    // the process has printed, so it cannot race the start (see
    // `a_resize_straight_after_the_101_reaches_the_terminal`).
    let exec_id = create_exec(
        &daemon,
        "term",
        json!({
            "Tty": true, "AttachStdin": true, "AttachStdout": true, "AttachStderr": true,
            "Cmd": ["sh", "-c", "echo ready; read line; stty size; exit 5"],
        }),
    );
    let (status, mut stream) = start_attached(&daemon, &exec_id, true);
    assert!(status.starts_with("HTTP/1.1 101"), "{status}");
    let mut ready = String::new();
    stream.read_line(&mut ready).unwrap();
    assert_eq!(ready, "ready\r\n", "raw terminal output, no frame headers");
    let (status, body) = daemon.http("POST", &format!("/exec/{exec_id}/resize?h=41&w=101"), None);
    assert_eq!((status, body), (200, Vec::new()), "200 with an empty body");
    stream.get_mut().write_all(b"go\n").unwrap();
    let mut raw = Vec::new();
    let ended = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    assert!(ended.is_ok(), "the stream ends with the process: {ended:?} after {text:?}");
    assert_eq!(text, "go\r\n41 101\r\n", "the terminal echoes the line, then the size");
    let inspect = exec_inspect(&daemon, &exec_id);
    assert_eq!(
        (&inspect["ExitCode"], &inspect["ProcessConfig"]["tty"]),
        (&json!(5), &json!(true)),
        "{inspect}"
    );

    // A terminal exec leads a session of its own, still the shim's child.
    daemon.cli_ok(&["exec", "-d", "term", "--", "sleep", "1001"]);
    let mut command = cli_command(&daemon, &["exec", "-t", "term", "--", "sleep", "1002"]);
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let _client = Background(command.spawn().unwrap());
    let pid = the_process_running(&id, &["sleep", "1002"]);
    let (_, parent, group, session) = stat_fields(pid).unwrap();
    assert_eq!((parent, group, session), (shim_pid(&daemon, &id), pid, pid));
}

#[test]
fn exec_survives_a_daemon_restart_and_follows_a_container_restart() {
    let mut daemon = TestDaemon::start();
    let id = daemon.run(&["--name", "keep", "-e", "FOO=bar", "-w", "/tmp", "--", "sleep", "2000"]);
    let exec_id = create_exec(&daemon, "keep", json!({ "Cmd": ["sleep", "1000"] }));
    assert_eq!(start_detached(&daemon, &exec_id).0, 200);
    let pid = the_process_running(&id, &["sleep", "1000"]);

    // Exec instances live in the daemon's memory, as in Docker; the processes
    // and the shim's copy of the container's config do not.
    daemon.restart_daemon();
    assert_api_error(
        daemon.api("GET", &format!("/exec/{exec_id}/json"), None),
        404,
        &format!("No such exec instance: {exec_id}"),
    );
    assert!(is_alive(pid), "the exec goes on");
    let output = daemon.cli(&["exec", "keep", "--", "sh", "-c", "echo \"$FOO $HOSTNAME\"; pwd -P; exit 6"]);
    assert_eq!(outcome(&output), (Some(6), format!("bar {}\n/tmp\n", &id[..12]), "".into()));

    // A restart ends the old run with its execs; a new exec is the new shim's.
    let old_shim = shim_pid(&daemon, &id);
    daemon.cli_ok(&["restart", "-t", "1", "keep"]);
    wait_gone(pid);
    let new_shim = shim_pid(&daemon, &id);
    assert_ne!(new_shim, old_shim);
    daemon.cli_ok(&["exec", "-d", "keep", "--", "sleep", "1001"]);
    let pid = the_process_running(&id, &["sleep", "1001"]);
    assert_eq!(stat_fields(pid).unwrap().1, new_shim);
    assert_eq!(daemon.cli_ok(&["exec", "keep", "--", "sh", "-c", "echo $FOO"]), "bar\n");
}

/// The docker CLI sends `POST /exec/{id}/resize` as soon as the start's 101
/// arrives (§2, `exec -it`), and so does `orchestrate exec -t`: the size must
/// reach the terminal even if the daemon has not recorded it yet (it answers
/// 101 first). The window is narrow (about one exec in a hundred before the
/// daemon kept such a size for later), so the test tries three hundred: ten
/// clients at once, each resize request sent but for its last byte before the
/// start and completed as soon as the 101 is read.
#[test]
fn a_resize_straight_after_the_101_reaches_the_terminal() {
    let daemon = std::sync::Arc::new(TestDaemon::start());
    daemon.run(&["--name", "sized", "--", "sleep", "1000"]);
    let clients: Vec<_> = (0..10)
        .map(|_| {
            let daemon = std::sync::Arc::clone(&daemon);
            std::thread::spawn(move || {
                (0..30).map(|_| size_seen_after_an_early_resize(&daemon)).collect::<Vec<_>>()
            })
        })
        .collect();
    let sizes: Vec<String> = clients.into_iter().flat_map(|client| client.join().unwrap()).collect();
    let lost: Vec<&String> = sizes.iter().filter(|text| !text.contains("41 101")).collect();
    assert!(lost.is_empty(), "{} of {} resizes lost: {lost:?}", lost.len(), sizes.len());
}

/// Starts a terminal exec, resizes it to 41x101 the moment the 101 arrives,
/// and returns what `stty size` printed.
fn size_seen_after_an_early_resize(daemon: &TestDaemon) -> String {
    let exec_id = create_exec(
        daemon,
        "sized",
        json!({
            "Tty": true, "AttachStdin": true, "AttachStdout": true, "AttachStderr": true,
            "Cmd": ["sh", "-c", "read line; stty size"],
        }),
    );
    let mut resize = UnixStream::connect(&daemon.socket).unwrap();
    resize.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let request =
        format!("POST /exec/{exec_id}/resize?h=41&w=101 HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n");
    let (head, last) = request.as_bytes().split_at(request.len() - 1);
    resize.write_all(head).unwrap();
    let (status, mut stream) = start_attached(daemon, &exec_id, true);
    assert!(status.starts_with("HTTP/1.1 101"), "{status}");
    resize.write_all(last).unwrap();
    let mut answer = String::new();
    BufReader::new(&resize).read_line(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    stream.get_mut().write_all(b"go\n").unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    String::from_utf8_lossy(&raw).into_owned()
}

// ------------------------------------------------------ known divergences

/// Docker scans stdin for the detach keys only with a TTY (the docker CLI's
/// `setupInput` and dockerd's `copyEscapable` both check `TTY`); without one
/// every byte reaches the process.
#[test]
fn binary_stdin_without_a_tty_reaches_the_exec_whole_through_the_cli() {
    let daemon = TestDaemon::start();
    daemon.run(&["--name", "binary", "--", "sleep", "1000"]);
    let input = b"a\x10\x11b\n\x10";
    let output =
        cli_with_input(&daemon, &["exec", "-i", "binary", "--", "sh", "-c", "cat; echo done"], input);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "a\x10\x11b\n\x10done\n");
}

/// The same bytes from the docker CLI, which sends them unfiltered: the
/// daemon must not filter them either.
#[test]
fn binary_stdin_without_a_tty_reaches_the_exec_whole_through_docker() {
    let daemon = TestDaemon::start();
    daemon.run(&["--name", "binary", "--", "sleep", "1000"]);
    let input = b"a\x10\x11b\n\x10";
    let output = docker(&daemon, &["exec", "-i", "binary", "sh", "-c", "cat; echo done"], Some(input));
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "a\x10\x11b\n\x10done\n");
}

/// dockerd builds the action as `"exec_create: " + entrypoint + " " +
/// strings.Join(args, " ")`: a command without arguments leaves a trailing
/// space (`exec_create: true `, docker-reference.md §2.3).
#[test]
fn exec_event_actions_are_dockers_words() {
    let daemon = TestDaemon::start();
    daemon.run(&["--name", "words", "--", "sleep", "1000"]);
    daemon.cli_ok(&["exec", "words", "--", "true"]);
    let actions: Vec<String> = replay(&daemon)
        .iter()
        .map(|e| e["Action"].as_str().unwrap().to_string())
        .filter(|a| a.starts_with("exec_"))
        .collect();
    assert_eq!(actions, ["exec_create: true ", "exec_start: true ", "exec_die"]);
}

/// dockerd answers a second start of a running exec with `Error: Exec command
/// <id> is already running`, and keeps `has already run` for one that ended.
#[test]
fn a_second_start_of_a_running_exec_says_it_is_running() {
    let daemon = TestDaemon::start();
    daemon.run(&["--name", "twice", "--", "sleep", "1000"]);
    let exec_id = create_exec(&daemon, "twice", json!({ "Cmd": ["sleep", "1001"] }));
    assert_eq!(start_detached(&daemon, &exec_id).0, 200);
    assert_api_error(
        start_detached(&daemon, &exec_id),
        409,
        &format!("Error: Exec command {exec_id} is already running"),
    );
}

/// dockerd logs `exec_start` before it asks the runtime to start the process,
/// so an exec whose program is missing has one too.
#[test]
fn an_exec_that_cannot_start_still_has_its_exec_start_event() {
    let daemon = TestDaemon::start();
    daemon.run(&["--name", "failing", "--", "sleep", "1000"]);
    assert_eq!(daemon.cli(&["exec", "failing", "--", "/nonexistent"]).status.code(), Some(126));
    let actions: Vec<String> = replay(&daemon)
        .iter()
        .map(|e| e["Action"].as_str().unwrap().to_string())
        .filter(|a| a.starts_with("exec_"))
        .collect();
    assert!(actions.iter().any(|a| a.trim_end() == "exec_start: /nonexistent"), "{actions:?}");
}

#[test]
fn the_oldest_finished_execs_are_forgotten() {
    // A container exec'd into all day must not grow the daemon: only the
    // newest 64 finished execs stay for `GET /exec/{id}/json`.
    let daemon = TestDaemon::start();
    daemon.run(&["--name", "busy", "--", "sleep", "1000"]);
    let start = |n: usize| {
        let (status, created) =
            daemon.api("POST", "/containers/busy/exec", Some(serde_json::json!({"Cmd": ["true"]})));
        assert_eq!(status, 201, "exec {n}");
        let id = created["Id"].as_str().unwrap().to_string();
        assert_eq!(
            daemon.api("POST", &format!("/exec/{id}/start"), Some(serde_json::json!({"Detach": true}))).0,
            200
        );
        support::eventually("the exec has ended", || {
            daemon.api("GET", &format!("/exec/{id}/json"), None).1["ExitCode"] == 0
        });
        id
    };
    let ids: Vec<String> = (0..70).map(start).collect();
    assert_eq!(daemon.api("GET", &format!("/exec/{}/json", ids[0]), None).0, 404, "the oldest is gone");
    assert_eq!(daemon.api("GET", &format!("/exec/{}/json", ids[69]), None).0, 200, "the newest stays");
}
