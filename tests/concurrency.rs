//! Many clients at once: parallel creates of one name (exactly one wins),
//! starts racing each other and racing a removal (never both), and 200
//! requests in flight together — no deadlock, no lost update, and the daemon
//! answers all of them.

mod support;

use std::sync::{Arc, Barrier};

use serde_json::json;
use support::TestDaemon;

/// Runs `count` copies of `task` at the same moment; returns their results.
fn all_at_once<T: Send + 'static>(count: usize, task: impl Fn(usize) -> T + Send + Sync + 'static) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(count));
    let task = Arc::new(task);
    let threads: Vec<_> = (0..count)
        .map(|index| {
            let (barrier, task) = (barrier.clone(), task.clone());
            std::thread::spawn(move || {
                barrier.wait();
                task(index)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn parallel_creates_of_one_name_have_exactly_one_winner() {
    let daemon = TestDaemon::start();
    let socket = daemon.socket.clone();
    let statuses = all_at_once(20, move |_| {
        let body = json!({"Cmd": ["true"]}).to_string();
        support::http_request(
            &socket,
            "POST",
            "/containers/create?name=only",
            Some(("application/json", body.as_bytes())),
        )
        .0
    });
    assert_eq!(statuses.iter().filter(|&&s| s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&s| s == 409).count(), 19, "{statuses:?}");
    assert_eq!(std::fs::read_dir(&daemon.root).unwrap().count(), 1, "one directory, no half-made ones");
}

#[test]
fn racing_starts_and_a_racing_removal_never_both_win() {
    let daemon = TestDaemon::start();
    for round in 0..5 {
        let name = format!("race{round}");
        let id = daemon.cli_ok(&["create", "--name", &name, "--", "sleep", "1000"]).trim().to_string();
        let socket = daemon.socket.clone();
        let path_name = name.clone();
        let statuses = all_at_once(6, move |index| {
            let (method, path) = if index == 0 {
                ("DELETE", format!("/containers/{path_name}"))
            } else {
                ("POST", format!("/containers/{path_name}/start"))
            };
            support::http_request(&socket, method, &path, None).0
        });
        let removed = statuses[0] == 204;
        let started = statuses[1..].iter().filter(|&&s| s == 204).count();
        assert!(started <= 1, "two starts both won: {statuses:?}");
        if removed {
            assert_eq!(daemon.api("GET", &format!("/containers/{name}/json"), None).0, 404);
            // A start that won before the removal was undone by it: no
            // process of the container may be left.
            support::eventually("no process of the removed container is left", || {
                support::container_processes(&id).is_empty()
            });
        } else {
            assert_eq!(started, 1, "{statuses:?}");
            assert_eq!(daemon.status(&name), "running");
            assert!(statuses[1..].iter().all(|&s| s == 204 || s == 304), "{statuses:?}");
        }
    }
}

#[test]
fn two_hundred_requests_at_once() {
    let daemon = TestDaemon::start();
    daemon.run(&["--name", "busy", "--", "sleep", "1000"]);
    let socket = daemon.socket.clone();
    let statuses = all_at_once(200, move |index| {
        let path = match index % 4 {
            0 => "/containers/json?all=1".to_string(),
            1 => "/containers/busy/json".to_string(),
            2 => "/_ping".to_string(),
            _ => "/containers/nosuch/json".to_string(),
        };
        (index % 4, support::http_request(&socket, "GET", &path, None).0)
    });
    for (kind, status) in statuses {
        assert_eq!(status, if kind == 3 { 404 } else { 200 }, "request kind {kind}");
    }
    assert_eq!(daemon.status("busy"), "running");
}

#[test]
fn running_out_of_descriptors_does_not_kill_the_daemon() {
    // 64 descriptors: more connections than that exhaust them, and accept(2)
    // fails with EMFILE. The daemon must ride it out and serve again once the
    // clients are gone.
    let daemon = TestDaemon::start_with_file_limit(64);
    daemon.run(&["--name", "before", "--", "sleep", "1000"]);
    let idle: Vec<std::os::unix::net::UnixStream> =
        (0..100).map(|_| std::os::unix::net::UnixStream::connect(&daemon.socket).unwrap()).collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(idle);
    support::eventually("the daemon answers again", || daemon.http("GET", "/_ping", None).0 == 200);
    assert_eq!(daemon.status("before"), "running");
    daemon.run(&["--name", "after", "--", "true"]);
    assert_eq!(daemon.cli_ok(&["ps", "-aq"]).lines().count(), 2);
}
