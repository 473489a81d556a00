//! The container's main process leads its own process group, and `stop` and
//! `kill` reach every process in it, grandchildren included — checked in /proc.

mod support;

use support::{container_processes, eventually, stat_fields, wait_gone, TestDaemon};

/// Starts a container whose shell has two children and a grandchild, and
/// returns its ID and its processes once all four exist.
fn family(daemon: &TestDaemon, name: &str) -> (String, Vec<i32>) {
    let script = "sleep 1000 & sh -c 'sleep 1000 & wait' & wait";
    let id = daemon.run(&["--name", name, "--", "sh", "-c", script]);
    eventually("the shell, two children and a grandchild exist", || container_processes(&id).len() >= 4);
    (id.clone(), container_processes(&id))
}

#[test]
fn the_container_is_a_process_group_of_its_own_under_the_shim() {
    let daemon = TestDaemon::start();
    let (id, pids) = family(&daemon, "group");
    let main_pid = daemon.inspect("group")["State"]["Pid"].as_i64().unwrap() as i32;
    let shim_pid: i32 =
        support::read_to_string(&daemon.container_dir(&id).join("shim.pid")).trim().parse().unwrap();
    let (_, parent, group, session) = stat_fields(main_pid).unwrap();
    assert_eq!(parent, shim_pid, "the shim is the main process's parent");
    assert_eq!(group, main_pid, "the main process leads its own group");
    let (_, shim_parent, _, shim_session) = stat_fields(shim_pid).unwrap();
    assert_eq!(shim_session, shim_pid, "the shim leads its own session");
    assert_ne!(shim_parent as u32, daemon.daemon_pid(), "the shim is not the daemon's child");
    assert_eq!(session, shim_pid);
    for pid in pids {
        assert_eq!(stat_fields(pid).unwrap().2, main_pid, "process {pid} is in the container's group");
    }
}

#[test]
fn stop_reaches_grandchildren() {
    let daemon = TestDaemon::start();
    let (_, pids) = family(&daemon, "stopped");
    daemon.cli_ok(&["stop", "-t", "5", "stopped"]);
    for pid in pids {
        wait_gone(pid);
    }
}

#[test]
fn kill_reaches_grandchildren() {
    let daemon = TestDaemon::start();
    let (_, pids) = family(&daemon, "killed");
    daemon.cli_ok(&["kill", "killed"]);
    assert_eq!(daemon.cli_ok(&["wait", "killed"]), "137\n");
    for pid in pids {
        wait_gone(pid);
    }
}

#[test]
fn a_signal_goes_to_the_whole_group() {
    let daemon = TestDaemon::start();
    // The inner shell reports the TERM it gets; the outer one waits for it.
    let script = "sh -c 'trap \"echo inner-got-term; exit 0\" TERM; while :; do sleep 0.05; done' & trap 'wait; exit 5' TERM; echo ready; wait";
    let id = daemon.run(&["--name", "term", "--", "sh", "-c", script]);
    eventually("ready", || daemon.cli_ok(&["logs", "term"]).contains("ready"));
    eventually("inner shell started", || container_processes(&id).len() >= 3);
    daemon.cli_ok(&["kill", "-s", "TERM", "term"]);
    assert_eq!(daemon.cli_ok(&["wait", "term"]), "5\n");
    assert!(daemon.cli_ok(&["logs", "term"]).contains("inner-got-term"), "the grandchild got the signal too");
}

#[test]
fn top_lists_every_process_of_the_container() {
    let daemon = TestDaemon::start();
    let (id, pids) = family(&daemon, "listed");
    let output = daemon.cli_ok(&["top", "listed"]);
    let mut lines = output.lines();
    assert!(lines.next().unwrap().starts_with("UID"), "{output}");
    let listed: Vec<i32> = lines.map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap()).collect();
    let mut expected = pids.clone();
    expected.sort();
    let mut listed_sorted = listed.clone();
    listed_sorted.sort();
    assert_eq!(listed_sorted, expected, "top shows exactly the processes of {id}");
    let (status, answer) = daemon.api("GET", "/containers/listed/top", None);
    assert_eq!(status, 200);
    assert_eq!(answer["Titles"][7], "CMD");
    daemon.cli_ok(&["stop", "listed"]);
    let refused = daemon.cli(&["top", "listed"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(support::stderr(&refused).contains("is not running"));
}
