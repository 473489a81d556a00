//! The daemon can die at any moment: SIGKILL it, start a new one on the same
//! state root, and every container is as it was — running ones still running
//! under their shims (same PIDs), with the output written meanwhile in their
//! logs; ones that exited meanwhile reported with their real exit code; `--rm`
//! ones that exited meanwhile removed; a shim killed with SIGKILL reported as
//! exited (255) with an error, never as running (SPEC §3, docs/07-recovery.md).

mod support;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use support::{eventually, exists, is_alive, TestDaemon};

fn pid_of(daemon: &TestDaemon, name: &str) -> i32 {
    daemon.inspect(name)["State"]["Pid"].as_i64().unwrap() as i32
}

#[test]
fn running_containers_survive_a_killed_daemon() {
    let mut daemon = TestDaemon::start();
    daemon.run(&[
        "--name",
        "ticker",
        "--",
        "sh",
        "-c",
        "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.05; done",
    ]);
    daemon.cli_ok(&["create", "--name", "idle", "--", "true"]);
    let pid = pid_of(&daemon, "ticker");
    daemon.kill_daemon();
    // While no daemon runs, the container goes on writing.
    let log = daemon.container_dir(&daemon.inspect_id_on_disk("ticker")).join("log");
    let before = std::fs::metadata(&log).unwrap().len();
    eventually("output is logged with no daemon", || std::fs::metadata(&log).unwrap().len() > before + 200);
    assert!(is_alive(pid));

    daemon.restart_daemon();
    let inspect = daemon.inspect("ticker");
    assert_eq!(inspect["State"]["Status"], "running");
    assert_eq!(inspect["State"]["Pid"], pid, "the same process, not a restart");
    assert_eq!(daemon.status("idle"), "created");
    // Its log has no gap, and following it works with the new daemon.
    let logged = daemon.cli_ok(&["logs", "ticker"]);
    let numbers: Vec<u64> = logged.lines().map(|l| l[5..].parse().unwrap()).collect();
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "nothing lost while the daemon was down");
    let mut follower = std::process::Command::new(support::binary("orchestrate"))
        .args(["--socket", daemon.socket.to_str().unwrap(), "logs", "-f", "--tail", "0", "ticker"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(follower.stdout.take().unwrap()), &mut line)
        .unwrap();
    assert!(line.starts_with("tick "), "{line:?}");
    daemon.cli_ok(&["stop", "ticker"]);
    assert!(follower.wait().unwrap().success(), "the follow ends when the container stops");
    assert_eq!(daemon.inspect("ticker")["State"]["ExitCode"], 143);
    support::wait_gone(pid);
}

#[test]
fn exits_while_the_daemon_is_down_are_reported_with_their_code() {
    let mut daemon = TestDaemon::start();
    // One fifo each: a line left in a fifo nobody holds open is lost.
    let fifos = [daemon.dir.join("go1"), daemon.dir.join("go2")];
    for fifo in &fifos {
        assert!(std::process::Command::new("mkfifo").arg(fifo).status().unwrap().success());
    }
    let script = format!("read line < {}; exit 42", fifos[0].display());
    daemon.run(&["--name", "later", "--", "sh", "-c", &script]);
    let script = format!("read line < {}; exit 1", fifos[1].display());
    let removable = daemon.run(&["--rm", "--name", "brief", "--", "sh", "-c", &script]);
    daemon.kill_daemon();
    for fifo in &fifos {
        std::fs::write(fifo, "go\n").unwrap();
    }
    let dir = daemon.container_dir(&daemon.inspect_id_on_disk("later"));
    eventually("the shim recorded the exit", || dir.join("exit").exists());
    eventually("the --rm container's shim finished", || {
        daemon.container_dir(&removable).join("exit").exists()
    });

    daemon.restart_daemon();
    let inspect = daemon.inspect("later");
    assert_eq!(inspect["State"]["Status"], "exited");
    assert_eq!(inspect["State"]["ExitCode"], 42);
    assert_ne!(inspect["State"]["FinishedAt"], "0001-01-01T00:00:00Z");
    assert_eq!(
        daemon.api("GET", "/containers/brief/json", None).0,
        404,
        "--rm applies even if no daemon saw the exit"
    );
    assert!(!daemon.container_dir(&removable).exists());
}

/// A container whose main process starts a grandchild that leaves its
/// process group (`setsid`): PR_SET_PDEATHSIG does not reach it.
const WITH_ESCAPEE: &str = "setsid sleep 1000 & exec sleep 1000";

#[test]
fn a_killed_shim_is_an_exit_never_a_running_container() {
    let daemon = TestDaemon::start();
    let id = daemon.run(&["--name", "orphaned", "--", "sh", "-c", WITH_ESCAPEE]);
    let pid = pid_of(&daemon, "orphaned");
    eventually("both processes run", || support::container_processes(&id).len() == 2);
    let shim: i32 =
        support::read_to_string(&daemon.container_dir(&id).join("shim.pid")).trim().parse().unwrap();
    common::sys::kill(shim, libc::SIGKILL).unwrap();
    // The daemon learns it from the watch connection's end, at once.
    daemon.wait_status("orphaned", "exited");
    let inspect = daemon.inspect("orphaned");
    assert_eq!(inspect["State"]["ExitCode"], 255);
    assert!(inspect["State"]["Error"].as_str().unwrap().contains("shim died"), "{inspect}");
    eventually("PR_SET_PDEATHSIG took the container with its shim", || !exists(pid));
    assert_eq!(support::container_processes(&id), Vec::<i32>::new(), "the escaped grandchild was killed too");
    // It can run again.
    daemon.cli_ok(&["start", "orphaned"]);
    assert_eq!(daemon.status("orphaned"), "running");
}

#[test]
fn a_shim_killed_while_the_daemon_is_down_is_found_dead() {
    let mut daemon = TestDaemon::start();
    let id = daemon.run(&["--name", "lost", "--", "sh", "-c", WITH_ESCAPEE]);
    eventually("both processes run", || support::container_processes(&id).len() == 2);
    let shim: i32 =
        support::read_to_string(&daemon.container_dir(&id).join("shim.pid")).trim().parse().unwrap();
    daemon.kill_daemon();
    common::sys::kill(shim, libc::SIGKILL).unwrap();
    eventually("the shim is gone", || !is_alive(shim));
    std::thread::sleep(Duration::from_millis(50));
    daemon.restart_daemon();
    let inspect = daemon.inspect("lost");
    assert_eq!(inspect["State"]["Status"], "exited", "a dead shim without an exit file is never running");
    assert_eq!(inspect["State"]["ExitCode"], 255);
    assert_eq!(
        support::container_processes(&id),
        Vec::<i32>::new(),
        "the new daemon killed the escaped grandchild"
    );
}

#[test]
fn the_root_spelled_another_way_finds_the_same_live_shims() {
    // Shims are recognised by the directory on their command line: a daemon
    // restarted with `ROOT/./` or through a symlink must still see them alive,
    // not take them for dead (and kill their containers as strays).
    let mut daemon = TestDaemon::start();
    let id = daemon.run(&["--name", "kept", "--", "sleep", "1000"]);
    let pid = pid_of(&daemon, "kept");
    let link = daemon.dir.join("link");
    std::os::unix::fs::symlink(&daemon.root, &link).unwrap();
    for spelled in [daemon.root.join("."), link] {
        daemon.kill_daemon();
        daemon.spawn_with_root(&spelled);
        let socket = daemon.socket.clone();
        eventually("the daemon listens", || support::http_request_ok(&socket));
        assert_eq!(daemon.status("kept"), "running", "root spelled {}", spelled.display());
        assert!(is_alive(pid), "the container survived");
    }
    assert_eq!(support::container_processes(&id).len(), 1);
}

#[test]
fn a_start_cut_before_the_shim_wrote_its_pid_leaves_one_shim() {
    // Between the fork of the shim and its `shim.pid` there are a few
    // milliseconds in which only the shim's lock says that it exists. A copy
    // of the daemon whose `orchestrator-shim` is a script that sleeps first
    // widens them to a second, and the daemon is killed inside.
    let mut daemon = TestDaemon::start();
    let slow = daemon.dir.join("slow");
    std::fs::create_dir(&slow).unwrap();
    std::fs::copy(support::binary("orchestratord"), slow.join("orchestratord")).unwrap();
    let script =
        format!("#!/bin/sh\nsleep 1\nexec {} \"$@\"\n", support::binary("orchestrator-shim").display());
    std::fs::write(slow.join("orchestrator-shim"), script).unwrap();
    std::fs::set_permissions(slow.join("orchestrator-shim"), std::fs::Permissions::from_mode(0o755)).unwrap();
    daemon.kill_daemon();
    daemon.spawn_binary(&slow.join("orchestratord"));

    let id = daemon.cli_ok(&["create", "--name", "twice", "--", "sleep", "1000"]).trim().to_string();
    let dir = daemon.container_dir(&id);
    let mut start = UnixStream::connect(&daemon.socket).unwrap();
    write!(start, "POST /containers/{id}/start HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").unwrap();
    let slow_shim = slow.join("orchestrator-shim").display().to_string();
    eventually("the slow shim was forked", || {
        !support::processes_with_cmdline_containing(&slow_shim).is_empty()
    });
    daemon.kill_daemon();
    assert!(!dir.join("shim.pid").exists(), "the daemon died before the shim wrote shim.pid");

    // The new daemon sees the lock held, waits for the shim's shim.pid, and
    // reports the container running under that one shim.
    daemon.restart_daemon();
    assert_eq!(daemon.status("twice"), "running");
    // Its command line is `…/orchestrator-shim DIR` (NUL-separated).
    let shims =
        || support::processes_with_cmdline_containing(&format!("orchestrator-shim\0{}", dir.display()));
    assert_eq!(shims().len(), 1, "one shim");
    let (status, _) = daemon.http("POST", &format!("/containers/{id}/start"), None);
    assert_eq!(status, 304, "a start of the running container is a no-op, not a second shim");
    assert_eq!(shims().len(), 1, "still one shim");
    assert_eq!(support::container_processes(&id).len(), 1, "one container process");
    eventually("the exit is followed", || {
        daemon.cli_ok(&["stop", "-t", "0", "twice"]);
        daemon.status("twice") == "exited"
    });
    assert!(shims().is_empty(), "the shim is gone with its container");
    assert_eq!(support::container_processes(&id), Vec::<i32>::new());
}

#[test]
fn a_container_that_ran_is_never_deleted_for_a_lost_meta_json() {
    // A power cut can leave a file renamed into place just before it empty.
    // A directory with only an unreadable meta.json is a create that never
    // finished, and goes; one that has run keeps its log.
    let mut daemon = TestDaemon::start();
    let ran = daemon.run(&["--name", "ran", "--", "echo", "kept"]);
    daemon.wait_status("ran", "exited");
    let never = daemon.cli_ok(&["create", "--name", "never", "--", "true"]).trim().to_string();
    daemon.kill_daemon();
    for id in [&ran, &never] {
        std::fs::write(daemon.container_dir(id).join("meta.json"), b"").unwrap();
    }
    daemon.restart_daemon();
    assert!(!daemon.container_dir(&never).exists(), "the unfinished create is removed");
    let log = support::read_to_string(&daemon.container_dir(&ran).join("log"));
    assert!(log.contains("kept"), "the log of the container that ran is kept: {log:?}");
    let (status, listing) = daemon.api("GET", "/containers/json?all=1", None);
    assert_eq!(status, 200);
    assert_eq!(listing, serde_json::json!([]), "neither is listed");
}

#[test]
fn a_start_refuses_while_another_process_holds_the_shims_lock() {
    // The kernel, not the daemon's memory, stands between a container and a
    // second shim: whoever holds the directory's lock counts as a live shim.
    let daemon = TestDaemon::start();
    let id = daemon.cli_ok(&["create", "--name", "guarded", "--", "sleep", "1000"]).trim().to_string();
    let dir = daemon.container_dir(&id);
    let held = std::fs::File::open(&dir).unwrap();
    assert!(common::sys::try_lock_exclusive(std::os::fd::AsRawFd::as_raw_fd(&held)).unwrap());
    let (status, body) = daemon.api("POST", &format!("/containers/{id}/start"), None);
    assert_eq!(status, 500, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("a shim of this container is still running"),
        "{body}"
    );
    assert_eq!(daemon.status("guarded"), "created");
    assert!(!dir.join("shim.pid").exists(), "no shim was started");
    drop(held);
    daemon.cli_ok(&["start", "guarded"]);
    assert_eq!(daemon.status("guarded"), "running");
}
