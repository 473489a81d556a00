//! A grandchild that escaped the container's process group (`setsid`) is still
//! the container's: the shim, as subreaper, kills and reaps it when the main
//! process exits and when the container is stopped, before `exit` is written.

mod support;

use support::{container_processes, eventually, exists, stat_fields, TestDaemon};

/// The PIDs of the container's processes that left its process group.
fn escaped(id: &str, main_pid: i32) -> Vec<i32> {
    container_processes(id)
        .into_iter()
        .filter(|&pid| stat_fields(pid).is_some_and(|s| s.2 != main_pid))
        .collect()
}

#[test]
fn an_escaped_grandchild_dies_with_the_main_process() {
    let daemon = TestDaemon::start();
    let id = daemon.run(&["--name", "leaver", "--", "sh", "-c", "setsid sleep 1000 & sleep 0.5; exit 3"]);
    let main_pid = daemon.inspect("leaver")["State"]["Pid"].as_i64().unwrap() as i32;
    eventually("the grandchild escaped into its own session", || !escaped(&id, main_pid).is_empty());
    let grandchildren = escaped(&id, main_pid);
    let shim_pid: i32 =
        support::read_to_string(&daemon.container_dir(&id).join("shim.pid")).trim().parse().unwrap();
    // When the shell exits, the grandchild is re-parented to the shim, which
    // kills and reaps it before it writes `exit`.
    assert_eq!(daemon.cli_ok(&["wait", "leaver"]), "3\n");
    for pid in &grandchildren {
        assert!(!exists(*pid), "escaped grandchild {pid} was killed and reaped before the exit was recorded");
    }
    eventually("the shim leaves after writing the exit", || {
        !exists(shim_pid) || stat_fields(shim_pid).is_some_and(|s| s.0 == "Z")
    });
}

#[test]
fn an_orphan_is_reparented_to_the_shim_and_reaped() {
    let daemon = TestDaemon::start();
    // The middle shell exits at once, orphaning its setsid'd child.
    let id = daemon.run(&["--name", "orphaner", "--", "sh", "-c", "sh -c 'setsid sleep 1000 &'; sleep 1000"]);
    let main_pid = daemon.inspect("orphaner")["State"]["Pid"].as_i64().unwrap() as i32;
    eventually("the orphan exists", || !escaped(&id, main_pid).is_empty());
    let orphan = escaped(&id, main_pid)[0];
    let shim_pid: i32 =
        support::read_to_string(&daemon.container_dir(&id).join("shim.pid")).trim().parse().unwrap();
    eventually("the orphan's parent is the shim (subreaper), not PID 1", || {
        stat_fields(orphan).is_some_and(|s| s.1 == shim_pid)
    });
    daemon.cli_ok(&["stop", "orphaner"]);
    assert!(!exists(orphan), "stop killed and reaped the escaped orphan before it returned");
    assert!(!exists(main_pid));
}

#[test]
fn stop_kills_an_escaped_grandchild_whose_parent_lives() {
    let daemon = TestDaemon::start();
    let id = daemon.run(&["--name", "holder", "--", "sh", "-c", "setsid sleep 1000 & wait"]);
    let main_pid = daemon.inspect("holder")["State"]["Pid"].as_i64().unwrap() as i32;
    eventually("the grandchild escaped", || !escaped(&id, main_pid).is_empty());
    let grandchild = escaped(&id, main_pid)[0];
    assert_eq!(stat_fields(grandchild).unwrap().1, main_pid, "its parent is the live shell");
    daemon.cli_ok(&["stop", "holder"]);
    assert!(!exists(grandchild), "found through /proc, killed and reaped");
    assert!(container_processes(&id).is_empty());
}
