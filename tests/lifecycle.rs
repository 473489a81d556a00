//! The container lifecycle end to end through the real CLI: run, create,
//! start, stop, restart, kill, rm, rename, wait, inspect, ps, prune, pause —
//! checked against what the CLI prints, the state directory and /proc.

mod support;

use std::time::Instant;

use support::{container_processes, eventually, is_alive, stderr, stdout, wait_gone, TestDaemon};

#[test]
fn run_prints_the_id_and_logs_hold_the_output() {
    let daemon = TestDaemon::start();
    let id = daemon.run(&["--name", "hello", "--", "echo", "hello world"]);
    daemon.wait_status("hello", "exited");
    assert_eq!(daemon.cli_ok(&["logs", "hello"]), "hello world\n");
    let ps = daemon.cli_ok(&["ps", "-a"]);
    let row = ps.lines().find(|l| l.contains("hello")).expect("a row for hello");
    assert!(row.starts_with(&id[..12]), "{ps}");
    assert!(row.contains("Exited (0)"), "{ps}");
    assert!(ps.starts_with("CONTAINER ID"), "{ps}");
    // The state directory holds exactly what SPEC §3 lists.
    let dir = daemon.container_dir(&id);
    let exit: serde_json::Value = serde_json::from_str(&support::read_to_string(&dir.join("exit"))).unwrap();
    assert_eq!(exit["exit_code"], 0);
    let log_line = support::read_to_string(&dir.join("log"));
    assert!(log_line.starts_with(r#"{"log":"hello world\n","stream":"stdout","time":"20"#), "{log_line}");
    let meta: serde_json::Value =
        serde_json::from_str(&support::read_to_string(&dir.join("meta.json"))).unwrap();
    assert_eq!(meta["name"], "hello");
    assert!(!dir.join("shim.sock").exists(), "the shim removes its socket when it leaves");
}

#[test]
fn create_start_stop_restart_and_remove() {
    let daemon = TestDaemon::start();
    let id = daemon.cli_ok(&["create", "--name", "web", "--", "sleep", "1000"]).trim().to_string();
    assert_eq!(daemon.status("web"), "created");
    assert!(daemon.cli_ok(&["ps"]).lines().count() == 1, "ps without -a hides created containers");
    assert_eq!(daemon.cli_ok(&["start", "web"]), "web\n");
    let inspect = daemon.inspect("web");
    assert_eq!(inspect["State"]["Running"], true);
    let pid = inspect["State"]["Pid"].as_i64().unwrap() as i32;
    assert!(is_alive(pid), "the container's process is in /proc");
    assert_eq!(std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap(), "sleep\n");
    assert!(daemon.cli_ok(&["ps"]).contains("Up "), "ps shows it running");

    assert_eq!(daemon.cli_ok(&["stop", "web"]), "web\n");
    let inspect = daemon.inspect("web");
    assert_eq!(inspect["State"]["Status"], "exited");
    assert_eq!(inspect["State"]["ExitCode"], 143, "sleep dies of SIGTERM: 128 + 15");
    wait_gone(pid);

    daemon.cli_ok(&["restart", "web"]);
    assert_eq!(daemon.inspect("web")["State"]["ExitCode"], 0, "a running container has no exit code yet");
    let new_pid = daemon.inspect("web")["State"]["Pid"].as_i64().unwrap() as i32;
    assert_ne!(new_pid, pid);
    assert!(is_alive(new_pid));
    daemon.cli_ok(&["restart", "-t", "1", "web"]);
    assert_eq!(daemon.status("web"), "running");

    let refused = daemon.cli(&["rm", "web"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("You cannot remove a running container"), "{}", stderr(&refused));
    let last_pid = daemon.inspect("web")["State"]["Pid"].as_i64().unwrap() as i32;
    assert_eq!(daemon.cli_ok(&["rm", "-f", "web"]), "web\n");
    wait_gone(last_pid);
    assert!(!daemon.container_dir(&id).exists(), "rm deletes the container's directory");
    assert_eq!(daemon.cli(&["inspect", "web"]).status.code(), Some(1));
}

#[test]
fn stop_waits_the_grace_period_then_kills() {
    let daemon = TestDaemon::start();
    daemon.run(&[
        "--name",
        "stubborn",
        "--",
        "sh",
        "-c",
        "trap '' TERM; echo ready; while :; do sleep 0.1; done",
    ]);
    eventually("the trap is set", || daemon.cli_ok(&["logs", "stubborn"]).contains("ready"));
    let started = Instant::now();
    daemon.cli_ok(&["stop", "-t", "1", "stubborn"]);
    let took = started.elapsed();
    assert!(took.as_millis() >= 1000, "stop gave the grace period ({took:?})");
    assert_eq!(daemon.inspect("stubborn")["State"]["ExitCode"], 137, "killed by SIGKILL");
    // Stopping a stopped container is a no-op (304): exit 0, name printed.
    assert_eq!(daemon.cli_ok(&["stop", "stubborn"]), "stubborn\n");
}

#[test]
fn kill_delivers_the_signal_asked_for() {
    let daemon = TestDaemon::start();
    daemon.run(&[
        "--name",
        "trapper",
        "--",
        "sh",
        "-c",
        "trap 'echo got-usr1; exit 7' USR1; echo ready; while :; do sleep 0.05; done",
    ]);
    eventually("the trap is set", || daemon.cli_ok(&["logs", "trapper"]).contains("ready"));
    assert_eq!(daemon.cli_ok(&["kill", "-s", "USR1", "trapper"]), "trapper\n");
    assert_eq!(daemon.cli_ok(&["wait", "trapper"]), "7\n");
    assert!(daemon.cli_ok(&["logs", "trapper"]).contains("got-usr1"));

    daemon.run(&["--name", "victim", "--", "sleep", "1000"]);
    daemon.cli_ok(&["kill", "victim"]);
    assert_eq!(daemon.cli_ok(&["wait", "victim"]), "137\n", "kill sends SIGKILL by default");
}

#[test]
fn env_and_workdir_reach_the_process_and_nothing_leaks() {
    let daemon = TestDaemon::start_with_env(&[("DAEMON_SECRET", "leaked")]);
    let output = daemon.cli(&[
        "run", "-a", "-e", "GREETING=hi there", "-w", "/tmp", "--",
        "sh", "-c", "echo \"$GREETING\"; pwd; echo \"host=$HOSTNAME\"; echo \"path=$PATH\"; echo \"secret=$DAEMON_SECRET\"",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "hi there");
    assert_eq!(lines[1], "/tmp");
    assert!(lines[2].starts_with("host=") && lines[2].len() == "host=".len() + 12, "{text}");
    assert_eq!(lines[3], "path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    assert_eq!(lines[4], "secret=", "the daemon's environment must not leak into containers");

    // Without -w, the process starts in the directory `orchestrate` ran in.
    let here = daemon.dir.clone();
    let output = daemon.cli_in(&["run", "-a", "--", "pwd"], &here);
    assert_eq!(stdout(&output).trim(), here.to_str().unwrap());
}

#[test]
fn run_attached_exits_with_the_container_code_and_rm_removes() {
    let daemon = TestDaemon::start();
    let output =
        daemon.cli(&["run", "-a", "--name", "three", "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(stdout(&output), "out\n");
    assert_eq!(stderr(&output), "err\n");

    let output = daemon.cli(&["run", "-a", "--rm", "--name", "gone", "--", "echo", "bye"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "bye\n");
    assert_eq!(daemon.cli(&["inspect", "gone"]).status.code(), Some(1), "--rm removed it");

    // Detached --rm: the daemon removes the container when it exits.
    let id = daemon.run(&["--rm", "--", "true"]);
    eventually("the --rm container is removed", || {
        daemon.api("GET", &format!("/containers/{id}/json"), None).0 == 404
    });
    assert!(!daemon.container_dir(&id).exists());
}

#[test]
fn start_attached_and_logs_accumulate_across_runs() {
    let daemon = TestDaemon::start();
    daemon.cli_ok(&["create", "--name", "twice", "--", "sh", "-c", "echo run; exit 4"]);
    let first = daemon.cli(&["start", "-a", "twice"]);
    assert_eq!(first.status.code(), Some(4));
    assert_eq!(stdout(&first), "run\n");
    let second = daemon.cli(&["start", "-a", "twice"]);
    assert_eq!(stdout(&second), "run\n", "start -a shows this run's output only");
    assert_eq!(daemon.cli_ok(&["logs", "twice"]), "run\nrun\n", "the log accumulates across runs");
    assert_eq!(daemon.cli_ok(&["logs", "--tail", "1", "twice"]), "run\n");
    let stamped = daemon.cli_ok(&["logs", "-t", "twice"]);
    assert!(stamped.lines().all(|l| l.len() > 31 && &l[10..11] == "T" && l.ends_with("Z run")), "{stamped}");
}

#[test]
fn wait_rename_and_name_or_prefix_resolution() {
    let daemon = TestDaemon::start();
    let id = daemon.run(&["--name", "old", "--", "sh", "-c", "sleep 0.3; exit 9"]);
    assert_eq!(daemon.cli_ok(&["wait", &id[..8]]), "9\n", "an ID prefix names the container");
    daemon.cli_ok(&["rename", "old", "new"]);
    assert_eq!(daemon.inspect("new")["Name"], "/new");
    assert_eq!(daemon.api("GET", "/containers/old/json", None).0, 404);
    let meta = support::read_to_string(&daemon.container_dir(&id).join("meta.json"));
    assert!(meta.contains("\"name\":\"new\""), "rename is persisted: {meta}");
    // Generated names look like Docker's.
    let generated = daemon.run(&["--", "true"]);
    let name = daemon.inspect(&generated)["Name"].as_str().unwrap().to_string();
    assert!(name.starts_with('/') && name.contains('_'), "{name}");

    // With 17 containers, two IDs share a first hex digit: that prefix is ambiguous.
    let mut ids = vec![id, generated];
    while ids.len() < 17 {
        ids.push(daemon.cli_ok(&["create", "--", "true"]).trim().to_string());
    }
    let shared = (0..16u8)
        .map(|d| format!("{d:x}"))
        .find(|p| ids.iter().filter(|i| i.starts_with(p.as_str())).count() > 1)
        .unwrap();
    let (status, body) = daemon.api("GET", &format!("/containers/{shared}/json"), None);
    assert_eq!(status, 409);
    assert!(
        body["message"].as_str().unwrap().starts_with("Multiple IDs found with provided prefix"),
        "{body}"
    );
}

#[test]
fn inspect_ps_filters_and_prune() {
    let daemon = TestDaemon::start();
    let id = daemon.run(&["--name", "up", "-l", "tier=web", "--", "sleep", "1000"]);
    daemon.cli_ok(&["create", "--name", "idle", "--", "true"]);
    daemon.run(&["--name", "done", "--", "true"]);
    daemon.wait_status("done", "exited");

    let inspect = daemon.inspect("up");
    assert_eq!(inspect["Id"], id.as_str());
    assert_eq!(inspect["Path"], "sleep");
    assert_eq!(inspect["Args"], serde_json::json!(["1000"]));
    assert_eq!(inspect["Config"]["Labels"]["tier"], "web");
    assert_eq!(inspect["Config"]["Hostname"], &id[..12]);
    assert!(inspect["HostConfig"].is_object() && inspect["Config"].is_object());
    let printed: serde_json::Value = serde_json::from_str(&daemon.cli_ok(&["inspect", "up"])).unwrap();
    assert_eq!(printed[0]["Id"], id.as_str(), "inspect prints a JSON array");

    assert_eq!(daemon.cli_ok(&["ps", "-q"]).trim(), &id[..12]);
    let exited = daemon.cli_ok(&["ps", "-a", "-q", "--filter", "status=exited"]);
    assert_eq!(exited.lines().count(), 1);
    let labelled = daemon.cli_ok(&["ps", "-a", "--format", "json", "--filter", "label=tier=web"]);
    let row: serde_json::Value = serde_json::from_str(labelled.trim()).unwrap();
    assert_eq!(row["Names"], "up");
    assert_eq!(row["State"], "running");

    let pruned = daemon.cli_ok(&["prune"]);
    assert!(pruned.starts_with("Deleted Containers:"), "{pruned}");
    let left = daemon.cli_ok(&["ps", "-a", "-q"]);
    assert_eq!(left.trim(), &id[..12], "prune keeps the running container only");
}

#[test]
fn pause_freezes_every_process_and_unpause_resumes() {
    let daemon = TestDaemon::start();
    let id = daemon.run(&[
        "--name",
        "ticker",
        "--",
        "sh",
        "-c",
        "setsid sleep 1000 & while :; do echo tick; sleep 0.05; done",
    ]);
    eventually("it ticks", || daemon.cli_ok(&["logs", "ticker"]).contains("tick"));
    eventually("both processes exist", || container_processes(&id).len() >= 2);
    daemon.cli_ok(&["pause", "ticker"]);
    let inspect = daemon.inspect("ticker");
    assert_eq!(inspect["State"]["Status"], "paused");
    assert_eq!(inspect["State"]["Running"], true);
    assert!(daemon.cli_ok(&["ps"]).contains("(Paused)"));
    for pid in container_processes(&id) {
        assert_eq!(
            support::stat_fields(pid).unwrap().0,
            "T",
            "process {pid} is stopped, even the escaped one"
        );
    }
    let frozen = daemon.cli_ok(&["logs", "ticker"]).lines().count();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(daemon.cli_ok(&["logs", "ticker"]).lines().count(), frozen, "output freezes while paused");
    daemon.cli_ok(&["unpause", "ticker"]);
    assert_eq!(daemon.status("ticker"), "running");
    eventually("output resumes", || daemon.cli_ok(&["logs", "ticker"]).lines().count() > frozen);
    daemon.cli_ok(&["pause", "ticker"]);
    daemon.cli_ok(&["stop", "ticker"]);
    assert_eq!(daemon.status("ticker"), "exited");
    for pid in container_processes(&id) {
        wait_gone(pid);
    }
}

#[test]
fn a_container_inherits_only_its_stdio() {
    let daemon = TestDaemon::start_with_leaked_fd();
    let daemon_fds: Vec<String> = std::fs::read_dir(format!("/proc/{}/fd", daemon.daemon_pid()))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(daemon_fds.contains(&"9".to_string()), "the daemon did inherit fd 9");
    // `ls` itself opens one descriptor (3) to read the directory.
    let output = daemon.cli(&["run", "-a", "--", "ls", "/proc/self/fd"]);
    assert_eq!(stdout(&output), "0\n1\n2\n3\n", "no descriptor of the daemon or the shim leaks in");
    daemon.run(&["--name", "quiet", "--", "sleep", "1000"]);
    let pid = daemon.inspect("quiet")["State"]["Pid"].as_i64().unwrap();
    assert_eq!(std::fs::read_link(format!("/proc/{pid}/fd/0")).unwrap().to_str().unwrap(), "/dev/null");
}

#[test]
fn an_exit_is_recorded_when_the_exit_file_cannot_be_written() {
    // A full disk: the shim cannot write `exit`. The live daemon still gets
    // the code, from the last line of its watch connection.
    let daemon = TestDaemon::start();
    let id = daemon.run(&["--name", "leaver", "--", "sh", "-c", "sleep 0.5; echo bye; exit 7"]);
    let _full = support::Unwritable::new(daemon.container_dir(&id));
    daemon.wait_status("leaver", "exited");
    let inspect = daemon.inspect("leaver");
    assert_eq!(inspect["State"]["ExitCode"], 7, "{inspect}");
    assert_eq!(inspect["State"]["Error"], "", "{inspect}");
    assert!(!daemon.container_dir(&id).join("exit").exists(), "the shim could not write the file");
    assert_eq!(
        daemon.cli_ok(&["logs", "leaver"]),
        "bye\n",
        "the log, an existing file, is still appended to"
    );
}
