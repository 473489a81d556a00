//! `POST /containers/{id}/attach` with `Upgrade: tcp`: the 101 comes back at
//! once, the connection then carries the output as it is written, several
//! attachers each get all of it, an attach made before `start` misses nothing,
//! and the stream ends when the container stops. Driven through raw sockets,
//! the CLI (`run -a`, `start -a`) and the docker CLI's attached `run`.

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
    let mut stream = UnixStream::connect(&daemon.socket).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let request = format!(
        "POST /v1.41/containers/{name}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: test\r\n\
         Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    );
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
