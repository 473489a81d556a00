//! Restart policies as Docker applies them: `on-failure:N` at most N times and
//! only after a failure, `always` after any exit with a growing back-off, a
//! manual `stop` never undone by the policy, `RestartCount` in inspect, and —
//! when the daemon starts — `always` containers back, `unless-stopped` ones
//! left stopped, and a restart that should have happened meanwhile done now.

mod support;

use std::time::Duration;

use support::{eventually, TestDaemon};

fn restart_count(daemon: &TestDaemon, name: &str) -> u64 {
    daemon.inspect(name)["RestartCount"].as_u64().unwrap()
}

#[test]
fn on_failure_restarts_at_most_n_times_and_never_after_success() {
    let daemon = TestDaemon::start();
    daemon.run(&["--name", "failing", "--restart", "on-failure:2", "--", "sh", "-c", "echo run; exit 3"]);
    eventually("two restarts", || {
        restart_count(&daemon, "failing") == 2 && daemon.status("failing") == "exited"
    });
    std::thread::sleep(Duration::from_millis(600)); // longer than the next back-off would be
    assert_eq!(restart_count(&daemon, "failing"), 2);
    assert_eq!(daemon.inspect("failing")["State"]["ExitCode"], 3);
    assert_eq!(daemon.cli_ok(&["logs", "failing"]), "run\nrun\nrun\n", "three runs in all");

    daemon.run(&["--name", "fine", "--restart", "on-failure", "--", "true"]);
    daemon.wait_status("fine", "exited");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(restart_count(&daemon, "fine"), 0);
}

#[test]
fn always_restarts_until_stopped_by_hand() {
    let daemon = TestDaemon::start();
    daemon.run(&["--name", "phoenix", "--restart", "always", "--", "sh", "-c", "echo up; sleep 0.05"]);
    eventually("restarted twice", || restart_count(&daemon, "phoenix") >= 2);
    daemon.cli_ok(&["stop", "phoenix"]);
    assert_eq!(daemon.status("phoenix"), "exited");
    let count = restart_count(&daemon, "phoenix");
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(restart_count(&daemon, "phoenix"), count, "a manual stop is not restarted");
    assert_eq!(daemon.status("phoenix"), "exited");
    daemon.cli_ok(&["start", "phoenix"]);
    eventually("the policy applies again after a start", || restart_count(&daemon, "phoenix") > count);
    // A kill is a manual stop too, as in Docker.
    daemon.run(&["--name", "killed", "--restart", "always", "--", "sleep", "1000"]);
    daemon.cli_ok(&["kill", "killed"]);
    daemon.wait_status("killed", "exited");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!((daemon.status("killed"), restart_count(&daemon, "killed")), ("exited".to_string(), 0));
    daemon.cli_ok(&["rm", "-f", "phoenix"]);
}

#[test]
fn the_daemon_start_applies_the_policies() {
    let mut daemon = TestDaemon::start();
    daemon.run(&["--name", "always", "--restart", "always", "--", "sleep", "1000"]);
    daemon.run(&["--name", "unless", "--restart", "unless-stopped", "--", "sleep", "1000"]);
    daemon.run(&["--name", "plain", "--", "sleep", "1000"]);
    for name in ["always", "unless", "plain"] {
        daemon.cli_ok(&["stop", "-t", "0", name]);
    }
    let fifo = daemon.dir.join("go");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let script = format!("read line < {}; exit 1", fifo.display());
    daemon.run(&["--name", "meanwhile", "--restart", "on-failure", "--", "sh", "-c", &script]);
    daemon.kill_daemon();
    std::fs::write(&fifo, "go\n").unwrap();
    let dir = daemon.container_dir(&daemon.inspect_id_on_disk("meanwhile"));
    eventually("it failed while no daemon ran", || dir.join("exit").exists());

    daemon.restart_daemon();
    eventually("always comes back, even after a manual stop", || daemon.status("always") == "running");
    assert_eq!(daemon.status("unless"), "exited", "unless-stopped stays stopped");
    assert_eq!(daemon.status("plain"), "exited");
    eventually("the missed restart happens now", || restart_count(&daemon, "meanwhile") == 1);
}

#[test]
fn stop_and_kill_work_when_meta_json_cannot_be_written() {
    // The manual stop is recorded in meta.json first. A full disk must not
    // make the container unstoppable: the mark holds in memory, as in dockerd.
    let daemon = TestDaemon::start();
    for (name, verb) in [("stopped", "stop"), ("killed", "kill")] {
        let id = daemon.run(&["--name", name, "--restart", "always", "--", "sleep", "1000"]);
        let _full = support::Unwritable::new(daemon.container_dir(&id));
        let args: Vec<&str> = if verb == "stop" { vec!["stop", "-t", "1", name] } else { vec!["kill", name] };
        daemon.cli_ok(&args);
        daemon.wait_status(name, "exited");
        std::thread::sleep(Duration::from_millis(400)); // longer than the first back-off (100 ms)
        assert_eq!(
            daemon.status(name),
            "exited",
            "{verb}: the policy leaves a container stopped by hand down"
        );
        assert_eq!(restart_count(&daemon, name), 0);
    }
}
