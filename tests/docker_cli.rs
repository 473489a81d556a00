//! The stock docker CLI drives the daemon through `DOCKER_HOST=unix://…`:
//! version negotiation, create (any image name, recorded and never pulled),
//! start, ps, inspect, stop and rm all work as they do against dockerd.

mod support;

use std::process::{Command, Output};

use support::{stderr, stdout, TestDaemon};

fn docker(daemon: &TestDaemon, args: &[&str]) -> Output {
    let output = Command::new("docker")
        .args(args)
        .env("DOCKER_HOST", format!("unix://{}", daemon.socket.display()))
        .env("DOCKER_CONFIG", daemon.dir.join("docker-config"))
        .env_remove("DOCKER_CONTEXT")
        .output()
        .expect("the docker CLI is installed (.ci/run installs it when missing)");
    output
}

fn docker_ok(daemon: &TestDaemon, args: &[&str]) -> String {
    let output = docker(daemon, args);
    assert!(output.status.success(), "docker {args:?}: {}{}", stdout(&output), stderr(&output));
    stdout(&output)
}

#[test]
fn docker_version_negotiates_api_1_41() {
    let daemon = TestDaemon::start();
    let text = docker_ok(&daemon, &["version"]);
    // A newer client negotiates down ("1.41 (downgraded from 1.50)"); an
    // older one speaks 1.41 itself.
    assert!(text.contains("API version:       1.41"), "{text}");
    assert!(text.contains("Server: orchestrator"), "{text}");
    let server = docker_ok(&daemon, &["version", "--format", "{{.Server.APIVersion}}"]);
    assert_eq!(server.trim(), "1.41");
}

#[test]
fn docker_create_start_ps_inspect_stop_rm() {
    let daemon = TestDaemon::start();
    let id = docker_ok(&daemon, &["create", "--name", "d1", "busybox", "sleep", "1000"]).trim().to_string();
    assert_eq!(id.len(), 64);
    let ours = daemon.inspect("d1");
    assert_eq!(ours["Config"]["Image"], "busybox", "the image name is recorded");
    assert_eq!(ours["Config"]["Cmd"], serde_json::json!(["sleep", "1000"]));
    assert_eq!(ours["Config"]["WorkingDir"], "/", "an empty WorkingDir means /");

    assert_eq!(docker_ok(&daemon, &["start", "d1"]), "d1\n");
    let pid = daemon.inspect("d1")["State"]["Pid"].as_i64().unwrap() as i32;
    assert!(support::is_alive(pid));

    let ps = docker_ok(&daemon, &["ps", "-a"]);
    let row = ps.lines().find(|l| l.ends_with("d1")).unwrap_or_else(|| panic!("{ps}"));
    assert!(
        row.starts_with(&id[..12])
            && row.contains("busybox")
            && row.contains("\"sleep 1000\"")
            && row.contains("Up "),
        "{ps}"
    );
    let state = docker_ok(&daemon, &["ps", "--format", "{{.State}} {{.Names}}"]);
    assert_eq!(state.trim(), "running d1");

    let inspected: serde_json::Value = serde_json::from_str(&docker_ok(&daemon, &["inspect", "d1"])).unwrap();
    assert_eq!(inspected[0]["Id"], id.as_str());
    assert_eq!(inspected[0]["State"]["Running"], true);
    let formatted = docker_ok(&daemon, &["inspect", "--format", "{{.State.Pid}} {{.Config.Hostname}}", "d1"]);
    assert_eq!(formatted.trim(), format!("{pid} {}", &id[..12]));

    assert_eq!(docker_ok(&daemon, &["stop", "d1"]), "d1\n");
    support::wait_gone(pid);
    let exited =
        docker_ok(&daemon, &["ps", "-a", "--filter", "status=exited", "--format", "{{.Names}} {{.Status}}"]);
    assert!(exited.starts_with("d1 Exited (143)"), "{exited}");

    assert_eq!(docker_ok(&daemon, &["rm", "d1"]), "d1\n");
    assert_eq!(docker_ok(&daemon, &["ps", "-aq"]), "");
}

#[test]
fn docker_sees_daemon_errors_and_detached_runs() {
    let daemon = TestDaemon::start();
    let missing = docker(&daemon, &["stop", "nosuch"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("No such container: nosuch"), "{}", stderr(&missing));
    docker_ok(&daemon, &["create", "--name", "twin", "busybox", "true"]);
    let clash = docker(&daemon, &["create", "--name", "twin", "busybox", "true"]);
    assert_ne!(clash.status.code(), Some(0));
    assert!(stderr(&clash).contains("is already in use by container"), "{}", stderr(&clash));
    // `run -d` sends create, wait?condition=next-exit (closed early) and start.
    let id = docker_ok(&daemon, &["run", "-d", "--name", "bg", "busybox", "sleep", "1000"]);
    assert_eq!(id.trim().len(), 64);
    assert_eq!(daemon.status("bg"), "running");
    let missing_binary = docker(&daemon, &["run", "-d", "busybox", "/nonexistent"]);
    assert_eq!(missing_binary.status.code(), Some(127), "{}", stderr(&missing_binary));
    docker_ok(&daemon, &["rm", "-f", "bg"]);
}
