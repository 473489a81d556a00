//! `POST /containers/{id}/attach` with `Upgrade: tcp`: the 101 comes back at
//! once, the connection then carries the output as it is written, several
//! attachers each get all of it, an attach made before `start` misses nothing,
//! and the stream ends when the container stops. With `stdin=1` the client's
//! bytes reach the container's stdin; the client's half-close ends them (and
//! closes the container's stdin with `StdinOnce`); the detach keys end the
//! attach and leave the container running. `GET …/attach/ws` does the same
//! over a WebSocket. Driven through raw sockets, a tungstenite client, the CLI
//! (`run -a`, `run -i`, `start -a -i`, `attach`) and the docker CLI.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::stream_frame::{read_frame, Stream};
use support::{stderr, stdout, TestDaemon};

/// Sends an attach request and reads the response head; returns the status
/// line and the connection, positioned at the start of the raw stream.
fn attach(daemon: &TestDaemon, name: &str) -> (String, BufReader<UnixStream>) {
    attach_with(daemon, name, "")
}

/// `attach` with more query parameters (`&stdin=1`, `&detachKeys=…`).
fn attach_with(daemon: &TestDaemon, name: &str, extra: &str) -> (String, BufReader<UnixStream>) {
    let request = format!(
        "POST /v1.41/containers/{name}/attach?stream=1&stdout=1&stderr=1{extra} HTTP/1.1\r\nHost: test\r\n\
         Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    );
    support::upgrade_request(&daemon.socket, &request)
}

/// Every frame until the daemon closes the stream.
fn frames(mut reader: impl Read) -> Vec<(Stream, String)> {
    let mut all = Vec::new();
    while let Some((stream, payload)) = read_frame(&mut reader).unwrap() {
        all.push((stream, String::from_utf8(payload).unwrap()));
    }
    all
}

#[test]
fn attachers_before_start_get_every_frame_and_the_stream_ends_at_exit() {
    let daemon = TestDaemon::start();
    daemon.cli_ok(&["create", "--name", "talker", "--", "sh", "-c", "echo out; echo err >&2; echo more"]);
    let (status, first) = attach(&daemon, "talker");
    assert!(status.starts_with("HTTP/1.1 101"), "{status}");
    let (_, second) = attach(&daemon, "talker");
    daemon.cli_ok(&["start", "talker"]);
    for attached in [first, second] {
        let got = frames(attached);
        let out: String = got.iter().filter(|(s, _)| *s == Stream::Stdout).map(|(_, t)| t.as_str()).collect();
        let err: String = got.iter().filter(|(s, _)| *s == Stream::Stderr).map(|(_, t)| t.as_str()).collect();
        assert_eq!((out.as_str(), err.as_str()), ("out\nmore\n", "err\n"));
    }
}

#[test]
fn an_attach_to_a_stopped_container_waits_for_its_next_run() {
    let daemon = TestDaemon::start();
    daemon.run(&["--name", "again", "--", "sh", "-c", "echo run"]);
    daemon.wait_status("again", "exited");
    let (status, attached) = attach(&daemon, "again");
    assert!(status.starts_with("HTTP/1.1 101"), "{status}");
    std::thread::sleep(Duration::from_millis(200));
    daemon.cli_ok(&["start", "again"]);
    assert_eq!(frames(attached), [(Stream::Stdout, "run\n".to_string())], "only the new run's output");
    let (status, _) = {
        let mut stream = UnixStream::connect(&daemon.socket).unwrap();
        stream.write_all(b"POST /containers/nosuch/attach?stream=1 HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n").unwrap();
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        (status, reader)
    };
    assert!(status.starts_with("HTTP/1.1 404"), "{status}");
}

#[test]
fn run_attached_prints_output_as_it_is_written() {
    let daemon = TestDaemon::start();
    let mut child = Command::new(support::binary("orchestrate"))
        .args(["--socket", daemon.socket.to_str().unwrap(), "run", "-a", "--name", "slow", "--"])
        .args(["sh", "-c", "echo first; sleep 2; echo second; exit 4"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "first");
    assert!(started.elapsed() < Duration::from_millis(1500), "the first line came before the exit");
    assert_eq!(daemon.status("slow"), "running");
    assert_eq!(lines.next().unwrap().unwrap(), "second");
    assert_eq!(child.wait().unwrap().code(), Some(4));
    let rm = daemon.cli(&["run", "-a", "--rm", "--name", "brief", "--", "echo", "bye"]);
    assert_eq!((rm.status.code(), stdout(&rm)), (Some(0), "bye\n".to_string()));
    assert_eq!(daemon.api("GET", "/containers/brief/json", None).0, 404, "--rm: removed by the daemon");
}

#[test]
fn the_docker_cli_runs_attached() {
    let daemon = TestDaemon::start();
    let docker = |args: &[&str]| {
        Command::new("docker")
            .args(args)
            .env("DOCKER_HOST", format!("unix://{}", daemon.socket.display()))
            .env("DOCKER_CONFIG", daemon.dir.join("docker-config"))
            .output()
            .expect("docker CLI")
    };
    let output = docker(&["run", "--name", "dr", "busybox", "sh", "-c", "echo hi; echo oops >&2; exit 5"]);
    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
    assert_eq!(stdout(&output), "hi\n");
    assert_eq!(stderr(&output), "oops\n");
    let removed = docker(&["run", "--rm", "busybox", "echo", "gone"]);
    assert_eq!((removed.status.code(), stdout(&removed)), (Some(0), "gone\n".to_string()));
    assert_eq!(stdout(&docker(&["ps", "-aq"])).lines().count(), 1, "only dr is left");
}

/// The next frame's payload, as text.
fn next_payload(reader: &mut impl Read) -> String {
    let (_, payload) = read_frame(reader).unwrap().expect("a frame");
    String::from_utf8(payload).unwrap()
}

#[test]
fn stdin_reaches_the_container_and_a_half_close_ends_it() {
    let daemon = TestDaemon::start();
    // `create -i`: OpenStdin and StdinOnce, as `docker create -i` sets them.
    let script = "while read line; do echo \"<$line>\"; done; echo after-eof; exit 7";
    daemon.cli_ok(&["create", "-i", "--name", "upper", "--", "sh", "-c", script]);
    let (status, mut reader) = attach_with(&daemon, "upper", "&stdin=1");
    assert!(status.starts_with("HTTP/1.1 101"), "{status}");
    daemon.cli_ok(&["start", "upper"]);
    let mut writer = reader.get_ref().try_clone().unwrap();
    writer.write_all(b"hello\n").unwrap();
    assert_eq!(next_payload(&mut reader), "<hello>\n", "each line comes back while stdin is open");
    writer.write_all(b"again\n").unwrap();
    assert_eq!(next_payload(&mut reader), "<again>\n");
    // The half-close: the container reads end-of-file; the output still flows.
    writer.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(frames(reader), [(Stream::Stdout, "after-eof\n".to_string())]);
    daemon.wait_status("upper", "exited");
    assert_eq!(daemon.inspect("upper")["State"]["ExitCode"], 7);
}

#[test]
fn input_sent_before_start_and_the_half_close_are_kept_until_the_process_exists() {
    // The docker CLI's `run -i` with piped input: everything, then the
    // half-close, before `start` is even sent (docker-reference.md §2.2).
    let daemon = TestDaemon::start();
    daemon.cli_ok(&["create", "-i", "--name", "early", "--", "sh", "-c", "cat; echo done"]);
    let (_, reader) = attach_with(&daemon, "early", "&stdin=1");
    let mut writer = reader.get_ref().try_clone().unwrap();
    writer.write_all(b"in1\nin2\n").unwrap();
    writer.shutdown(std::net::Shutdown::Write).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    daemon.cli_ok(&["start", "early"]);
    let text: String = frames(reader).into_iter().map(|(_, t)| t).collect();
    assert_eq!(text, "in1\nin2\ndone\n");
}

#[test]
fn without_stdin_once_the_container_keeps_its_stdin_for_the_next_attacher() {
    let daemon = TestDaemon::start();
    // `run -d -i`: OpenStdin without StdinOnce.
    daemon.run(&[
        "-d",
        "-i",
        "--name",
        "keeper",
        "--",
        "sh",
        "-c",
        "while read line; do echo \"got $line\"; done",
    ]);
    for word in ["one", "two"] {
        let (_, mut reader) = attach_with(&daemon, "keeper", "&stdin=1");
        let mut writer = reader.get_ref().try_clone().unwrap();
        writer.write_all(format!("{word}\n").as_bytes()).unwrap();
        assert_eq!(next_payload(&mut reader), format!("got {word}\n"));
        writer.shutdown(std::net::Shutdown::Write).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(daemon.status("keeper"), "running", "a half-close does not close a shared stdin");
    }
}

#[test]
fn two_attachers_see_what_one_of_them_types() {
    let daemon = TestDaemon::start();
    daemon.run(&["-d", "-i", "--name", "echo2", "--", "cat"]);
    let (_, mut typist) = attach_with(&daemon, "echo2", "&stdin=1");
    let (_, mut watcher) = attach(&daemon, "echo2");
    std::thread::sleep(Duration::from_millis(100));
    typist.get_ref().write_all(b"shared\n").unwrap();
    assert_eq!(next_payload(&mut typist), "shared\n");
    assert_eq!(next_payload(&mut watcher), "shared\n");
}

/// Reads raw bytes until they contain `needle`; returns all of them.
fn read_until_contains(reader: &mut impl Read, needle: &str) -> String {
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let count = reader.read(&mut buffer).expect("more output");
        assert!(
            count > 0,
            "the stream ended before {needle:?}; it said {:?}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buffer[..count]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[test]
fn detach_keys_end_a_terminal_attach_and_leave_the_container_running() {
    let daemon = TestDaemon::start();
    daemon.run(&["-d", "-i", "-t", "--name", "stay", "--", "cat"]);
    for (query, keys) in [("", &b"\x10\x11"[..]), ("&detachKeys=ctrl-x,x", &b"\x18x"[..])] {
        let (status, mut reader) = attach_with(&daemon, "stay", &format!("&stdin=1{query}"));
        assert!(status.starts_with("HTTP/1.1 101"), "{status}");
        let mut writer = reader.get_ref().try_clone().unwrap();
        writer.write_all(b"before\n").unwrap();
        // The terminal echoes the line, then `cat` prints it: raw bytes, no frames.
        read_until_contains(&mut reader, "before\r\nbefore\r\n");
        // Half of the sequence is held back, the rest of it detaches; what
        // follows it never reaches the container.
        writer.write_all(&keys[..1]).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        writer.write_all(&keys[1..]).unwrap();
        let _ = writer.write_all(b"after\n"); // may find the connection shut already
        let started = Instant::now();
        let mut rest = Vec::new();
        let _ = reader.read_to_end(&mut rest);
        assert!(started.elapsed() < Duration::from_secs(2), "the daemon closes the stream at once");
        assert_eq!(daemon.status("stay"), "running");
    }
    let logged = daemon.cli_ok(&["logs", "stay"]);
    assert!(!logged.contains("after"), "what followed the keys was not forwarded: {logged:?}");
    let (status, _) = attach_with(&daemon, "stay", "&stdin=1&detachKeys=ctrl-");
    assert!(status.starts_with("HTTP/1.1 400"), "{status}");
}

#[test]
fn without_a_terminal_the_detach_keys_are_data() {
    // Docker scans only a terminal's input for them: piped data is passed on whole.
    let daemon = TestDaemon::start();
    daemon.run(&["-d", "-i", "--name", "data", "--", "cat"]);
    let (_, mut reader) = attach_with(&daemon, "data", "&stdin=1");
    reader.get_ref().write_all(b"a\x10\x11b\n").unwrap();
    assert_eq!(next_payload(&mut reader), "a\x10\x11b\n");
    assert_eq!(daemon.status("data"), "running");
}

#[test]
fn the_cli_sends_its_stdin() {
    let daemon = TestDaemon::start();
    let piped = |args: &[&str], input: &[u8]| {
        let mut child = Command::new(support::binary("orchestrate"))
            .arg("--socket")
            .arg(&daemon.socket)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    };
    let run =
        piped(&["run", "-i", "--name", "ri", "--", "sh", "-c", "cat; echo after-eof; exit 9"], b"in1\nin2\n");
    assert_eq!((run.status.code(), stdout(&run)), (Some(9), "in1\nin2\nafter-eof\n".to_string()));
    daemon.cli_ok(&["create", "-i", "--name", "sa", "--", "sh", "-c", "read line; echo \"[$line]\""]);
    let start = piped(&["start", "-a", "-i", "sa"], b"typed\n");
    assert_eq!((start.status.code(), stdout(&start)), (Some(0), "[typed]\n".to_string()));
    // `attach` to a running terminal container; the detach keys leave it running.
    daemon.run(&["-d", "-i", "-t", "--name", "at", "--", "cat"]);
    let mut attached = Command::new(support::binary("orchestrate"))
        .arg("--socket")
        .arg(&daemon.socket)
        .args(["attach", "at"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = attached.stdin.take().unwrap();
    let mut output = BufReader::new(attached.stdout.take().unwrap());
    input.write_all(b"hello\n").unwrap();
    let mut echoed = String::new();
    output.read_line(&mut echoed).unwrap();
    assert_eq!(echoed, "hello\r\n", "the terminal's echo, raw");
    input.write_all(b"\x10\x11").unwrap();
    assert_eq!(attached.wait().unwrap().code(), Some(0), "a detach is a success");
    assert_eq!(daemon.status("at"), "running");
    let stopped = daemon.cli(&["attach", "sa"]);
    assert_eq!(stopped.status.code(), Some(1));
    assert!(stderr(&stopped).contains("You cannot attach to a stopped container, start it first"));
}

#[test]
fn the_docker_cli_sends_stdin_and_half_closes() {
    let daemon = TestDaemon::start();
    let mut child = Command::new("docker")
        .args(["run", "-i", "--name", "di", "busybox", "sh", "-c", "cat; echo after-eof; exit 9"])
        .env("DOCKER_HOST", format!("unix://{}", daemon.socket.display()))
        .env("DOCKER_CONFIG", daemon.dir.join("docker-config"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docker CLI");
    child.stdin.take().unwrap().write_all(b"in1\nin2\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(9), "{}", stderr(&output));
    assert_eq!(stdout(&output), "in1\nin2\nafter-eof\n");
}

/// A WebSocket client over the daemon's Unix socket.
fn websocket(daemon: &TestDaemon, query: &str) -> tungstenite::WebSocket<UnixStream> {
    let stream = UnixStream::connect(&daemon.socket).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let url = format!("ws://localhost/v1.41/containers/{query}");
    let (socket, response) = tungstenite::client(url.as_str(), stream).expect("WebSocket handshake");
    assert_eq!(response.status().as_u16(), 101);
    socket
}

/// The binary messages until the daemon closes, concatenated.
fn received_until_close(socket: &mut tungstenite::WebSocket<UnixStream>) -> String {
    let mut text = String::new();
    loop {
        match socket.read() {
            Ok(tungstenite::Message::Binary(bytes)) => text.push_str(&String::from_utf8_lossy(&bytes)),
            Ok(tungstenite::Message::Close(_)) | Err(_) => return text,
            Ok(_) => {}
        }
    }
}

#[test]
fn websocket_attach_carries_both_ways_and_ends_stdin_with_its_sentinel() {
    let daemon = TestDaemon::start();
    let script = "while read line; do echo \"<$line>\"; done; echo bye >&2; exit 3";
    daemon.cli_ok(&["create", "-i", "--name", "ws", "--", "sh", "-c", script]);
    let mut socket = websocket(&daemon, "ws/attach/ws?stream=1&stdin=1&stdout=1&stderr=1");
    daemon.cli_ok(&["start", "ws"]);
    socket.send(tungstenite::Message::Binary(b"hello\n".to_vec().into())).unwrap();
    match socket.read().unwrap() {
        tungstenite::Message::Binary(bytes) => assert_eq!(&bytes[..], b"<hello>\n"),
        other => panic!("expected output, got {other:?}"),
    }
    socket.send(tungstenite::Message::Text("more\n".into())).unwrap();
    // No half-close on a WebSocket: this message is the end of stdin.
    socket.send(tungstenite::Message::Text(r#"{"stdin_eof": true}"#.into())).unwrap();
    assert_eq!(received_until_close(&mut socket), "<more>\nbye\n", "raw bytes, stdout and stderr merged");
    daemon.wait_status("ws", "exited");
    assert_eq!(daemon.inspect("ws")["State"]["ExitCode"], 3);
}

#[test]
fn websocket_attach_replays_logs_and_refuses_a_plain_request() {
    let daemon = TestDaemon::start();
    daemon.run(&["--name", "wl", "--", "sh", "-c", "echo earlier; sleep 0.3; echo later"]);
    daemon.wait_status("wl", "exited");
    let mut socket = websocket(&daemon, "wl/attach/ws?stream=1&stdout=1&logs=1");
    daemon.cli_ok(&["start", "wl"]);
    assert_eq!(received_until_close(&mut socket), "earlier\nlater\nearlier\nlater\n");
    let (status, body) = daemon.http("GET", "/containers/wl/attach/ws?stream=1", None);
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
}
