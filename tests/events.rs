//! `GET /events` and `orchestrate events`: the lifecycle as Docker reports it
//! (create, start, kill, die with its exit code, stop, pause, unpause, rename,
//! destroy), live and replayed with since/until, filtered; and `wait` with its
//! three conditions.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;
use support::TestDaemon;

/// Past events, as the API returns them for `since=0&until=now`.
fn replay(daemon: &TestDaemon, filters: &str) -> Vec<Value> {
    let until = common::time::now_nanos() / 1_000_000_000 + 1;
    let path = format!("/events?since=1&until={until}&filters={filters}");
    let (status, body) = daemon.http("GET", &path, None);
    assert_eq!(status, 200);
    body.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

fn actions(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| e["Action"].as_str().unwrap().to_string()).collect()
}

#[test]
fn the_lifecycle_as_docker_reports_it() {
    let daemon = TestDaemon::start();
    let id = daemon.run(&[
        "--name",
        "ev",
        "-l",
        "team=core",
        "--",
        "sh",
        "-c",
        "trap 'exit 3' TERM; while :; do sleep 0.05; done",
    ]);
    daemon.cli_ok(&["pause", "ev"]);
    daemon.cli_ok(&["unpause", "ev"]);
    daemon.cli_ok(&["kill", "-s", "USR1", "ev"]);
    daemon.wait_status("ev", "exited"); // USR1 is fatal to sh
    daemon.cli_ok(&["start", "ev"]);
    daemon.cli_ok(&["stop", "ev"]);
    daemon.cli_ok(&["rename", "ev", "ev2"]);
    daemon.cli_ok(&["rm", "ev2"]);
    let events = replay(&daemon, "");
    assert_eq!(
        actions(&events),
        [
            "create", "start", "pause", "unpause", "kill", "die", "start", "kill", "die", "stop", "rename",
            "destroy"
        ]
    );
    let die = &events[5];
    assert_eq!(die["id"], id.as_str());
    assert_eq!(die["Type"], "container");
    assert_eq!(die["status"], "die");
    assert_eq!(die["Actor"]["ID"], id.as_str());
    assert_eq!(die["Actor"]["Attributes"]["exitCode"], "138", "128 + SIGUSR1");
    assert_eq!(die["Actor"]["Attributes"]["name"], "ev");
    assert_eq!(die["Actor"]["Attributes"]["team"], "core", "labels are attributes");
    assert_eq!(events[4]["Actor"]["Attributes"]["signal"], "10");
    assert_eq!(events[8]["Actor"]["Attributes"]["exitCode"], "3", "stop's TERM, trapped");
    assert_eq!(events[10]["Actor"]["Attributes"]["oldName"], "/ev");
    assert_eq!(events[10]["Actor"]["Attributes"]["name"], "ev2");
    assert!(die["timeNano"].as_i64().unwrap() / 1_000_000_000 == die["time"].as_i64().unwrap());
}

#[test]
fn live_stream_filters_and_the_cli_format() {
    let daemon = TestDaemon::start();
    // `--since` replays what happened before the listener connected, so the
    // test does not depend on when that is.
    let mut listener = Command::new(support::binary("orchestrate"))
        .args(["--socket", daemon.socket.to_str().unwrap(), "events", "--since", "10m"])
        .args(["--filter", "event=die", "--filter", "container=watched"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(listener.stdout.take().unwrap()).lines();
    daemon.run(&["--name", "other", "--", "sh", "-c", "exit 5"]);
    daemon.run(&["--name", "watched", "--", "sh", "-c", "exit 4"]);
    let line = lines.next().unwrap().unwrap();
    let _ = listener.kill();
    let _ = listener.wait();
    let parts: Vec<&str> = line.splitn(5, ' ').collect();
    assert!(common::time::parse_rfc3339(parts[0]).is_some(), "{line}");
    assert_eq!(&parts[1..3], ["container", "die"], "{line}");
    assert_eq!(parts[3].len(), 64);
    assert_eq!(parts[4], "(exitCode=4, image=, name=watched)");

    let filtered = replay(&daemon, "%7B%22event%22%3A%7B%22create%22%3Atrue%7D%7D");
    assert!(filtered.len() == 2 && filtered.iter().all(|e| e["Action"] == "create"));
    assert_eq!(daemon.http("GET", "/events?filters=notjson", None).0, 400);
}

#[test]
fn wait_conditions() {
    let daemon = TestDaemon::start();
    daemon.cli_ok(&["create", "--name", "idle", "--", "sh", "-c", "exit 6"]);
    // not-running on a container that is not running answers at once.
    assert_eq!(daemon.api("POST", "/containers/idle/wait", None).1["StatusCode"], 0);
    // next-exit waits for the coming run.
    let waiter = wait_in_background(&daemon, "/containers/idle/wait?condition=next-exit".to_string());
    daemon.cli_ok(&["start", "idle"]);
    let answer = waiter.join().unwrap();
    assert_eq!(answer["StatusCode"], 6);
    assert_eq!(answer["Error"], Value::Null);
    // removed waits for the removal, even of an --rm container.
    let id = daemon.cli_ok(&["create", "--rm", "--", "sh", "-c", "sleep 0.2; exit 2"]).trim().to_string();
    let waiter = wait_in_background(&daemon, format!("/containers/{id}/wait?condition=removed"));
    daemon.cli_ok(&["start", &id]);
    assert_eq!(waiter.join().unwrap()["StatusCode"], 2);
    assert_eq!(daemon.api("GET", &format!("/containers/{id}/json"), None).0, 404);
}

/// Sends a `wait` request from another thread; its answer comes from `join`.
fn wait_in_background(daemon: &TestDaemon, path: String) -> std::thread::JoinHandle<Value> {
    let socket = daemon.socket.clone();
    let handle = std::thread::spawn(move || {
        let (status, body) = support::http_request(&socket, "POST", &path, None);
        assert_eq!(status, 200);
        serde_json::from_slice(&body).unwrap()
    });
    // The wait is registered once its headers came back; the simplest outside
    // view is a moment for the request to arrive.
    std::thread::sleep(std::time::Duration::from_millis(100));
    handle
}
