//! `pause` and `unpause` end to end through the real CLI: output freezes and
//! resumes, every process of the container is stopped (state `T` in
//! `/proc/PID/stat`) even when it left the process group or was re-parented to
//! the shim, refused transitions answer with Docker's codes and messages, a
//! paused container can be stopped, restarted and removed, and both actions
//! are reported by `events`.

mod support;

use std::time::{Duration, Instant};

use support::{
    container_processes, eventually, is_alive, stat_fields, stderr, stdout, wait_gone, TestDaemon,
};

/// How long a paused container must stay silent to count as frozen: fifteen
/// of the counter's 20 ms ticks.
const FROZEN_WINDOW: Duration = Duration::from_millis(300);

/// The state letter of `/proc/PID/stat` (`R`, `S`, `T`, `Z`, …), or `None` once gone.
fn process_state(pid: i32) -> Option<String> {
    stat_fields(pid).map(|(state, _, _, _)| state)
}

/// True if the process is stopped: state `T`, or `D` inside `vfork` while its
/// child is `T` (dash runs commands with `vfork`; a parent whose child was
/// stopped before it could exec waits in the kernel and runs no code).
fn is_frozen(pid: i32) -> bool {
    match process_state(pid).as_deref() {
        Some("T") => true,
        Some("D") => {
            support::children(pid).into_iter().any(|child| process_state(child).as_deref() == Some("T"))
        }
        _ => false,
    }
}

/// Every process of the container that is alive but not stopped, with its state.
fn not_frozen(id: &str) -> Vec<(i32, String)> {
    container_processes(id)
        .into_iter()
        .filter(|&pid| !is_frozen(pid))
        .filter_map(|pid| process_state(pid).map(|state| (pid, state)))
        .filter(|(_, state)| state != "Z")
        .collect()
}

/// The container's `sleep 1000` that left the process group of `main_pid`.
fn escaped_sleeper(id: &str, main_pid: i32) -> Option<i32> {
    container_processes(id).into_iter().find(|&pid| {
        std::fs::read_to_string(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == "sleep\x001000\x00")
            && stat_fields(pid).is_some_and(|(_, _, group, _)| group != main_pid)
    })
}

/// The lines `orchestrate logs` prints for a container.
fn log_lines(daemon: &TestDaemon, name: &str) -> Vec<String> {
    daemon.cli_ok(&["logs", name]).lines().map(str::to_string).collect()
}

/// `now` as the `--since` / `--until` flags take it: Unix seconds with nanoseconds.
fn unix_time_now() -> String {
    let nanos = common::time::now_nanos();
    format!("{}.{:09}", nanos / 1_000_000_000, nanos % 1_000_000_000)
}

/// `orchestrate events --since --until` for one container: the `Action` of
/// each line, in order, and the lines themselves.
fn replayed_actions(daemon: &TestDaemon, name: &str, since: &str, until: &str) -> (Vec<String>, String) {
    let text = daemon.cli_ok(&[
        "events",
        "--since",
        since,
        "--until",
        until,
        "--filter",
        &format!("container={name}"),
    ]);
    // `<time> container <action> <id> (<attributes>)`
    let actions = text
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields.get(1), Some(&"container"), "{text}");
            fields[2].to_string()
        })
        .collect();
    (actions, text)
}

/// Asserts that a refused CLI command exits 1 with Docker's message.
fn assert_refused(daemon: &TestDaemon, args: &[&str], message: &str) {
    let output = daemon.cli(args);
    assert_eq!(output.status.code(), Some(1), "orchestrate {args:?}: {}{}", stdout(&output), stderr(&output));
    let expected = format!("Error response from daemon: {message}");
    assert!(
        stderr(&output).contains(&expected),
        "orchestrate {args:?} said {:?}, wanted {expected:?}",
        stderr(&output)
    );
}

#[test]
fn output_freezes_while_paused_and_resumes_after_unpause() {
    let daemon = TestDaemon::start();
    let id = daemon.run(&[
        "--name",
        "counter",
        "--",
        "sh",
        "-c",
        "i=0; while :; do i=$((i+1)); echo \"line $i\"; sleep 0.02; done",
    ]);
    eventually("it counts", || log_lines(&daemon, "counter").len() >= 3);

    assert_eq!(daemon.cli_ok(&["pause", "counter"]), "counter\n");
    let state = &daemon.inspect("counter")["State"];
    assert_eq!(state["Status"], "paused", "{state}");
    assert_eq!(state["Paused"], true, "{state}");
    assert_eq!(state["Running"], true, "Docker keeps Running true while paused: {state}");
    let main_pid = state["Pid"].as_i64().unwrap() as i32;
    eventually("the main process is stopped", || is_frozen(main_pid));
    let ps = daemon.cli_ok(&["ps"]);
    let row = ps.lines().find(|l| l.starts_with(&id[..12])).unwrap_or_else(|| panic!("a row: {ps}"));
    assert!(row.contains("Up ") && row.contains("(Paused)"), "{ps}");
    let json: serde_json::Value =
        serde_json::from_str(daemon.cli_ok(&["ps", "--format", "json"]).trim()).unwrap();
    assert_eq!(json["State"], "paused");
    assert_eq!(daemon.cli_ok(&["ps", "-q", "--filter", "status=paused"]).trim(), &id[..12]);
    assert_eq!(daemon.cli_ok(&["ps", "-q", "--filter", "status=running"]).trim(), "");

    // A line written just before the SIGSTOP may still be on its way through
    // the pipe to the shim: let that settle, then watch for silence.
    let mut previous = log_lines(&daemon, "counter").len();
    eventually("the last line written before the pause reached the log", || {
        std::thread::sleep(Duration::from_millis(50));
        let now = log_lines(&daemon, "counter").len();
        std::mem::replace(&mut previous, now) == now
    });
    let frozen = log_lines(&daemon, "counter");
    std::thread::sleep(FROZEN_WINDOW);
    assert_eq!(log_lines(&daemon, "counter"), frozen, "no output while paused");
    assert_eq!(daemon.status("counter"), "paused", "still paused after the window");

    assert_eq!(daemon.cli_ok(&["unpause", "counter"]), "counter\n");
    let state = &daemon.inspect("counter")["State"];
    assert_eq!(state["Status"], "running", "{state}");
    assert_eq!(state["Paused"], false, "{state}");
    assert_eq!(state["Running"], true, "{state}");
    assert_eq!(state["Pid"].as_i64().unwrap() as i32, main_pid, "the same process, not a restart");
    let ps = daemon.cli_ok(&["ps"]);
    assert!(ps.contains("Up ") && !ps.contains("(Paused)"), "{ps}");
    assert_eq!(daemon.cli_ok(&["ps", "-q", "--filter", "status=running"]).trim(), &id[..12]);
    eventually("output resumes", || log_lines(&daemon, "counter").len() >= frozen.len() + 5);

    // The counter carried on where it stopped: one process, nothing lost.
    let lines = log_lines(&daemon, "counter");
    for (index, line) in lines.iter().enumerate() {
        assert_eq!(line, &format!("line {}", index + 1), "{lines:?}");
    }
}

#[test]
fn every_process_is_stopped_even_the_escaped_ones() {
    let daemon = TestDaemon::start();
    // In the main process group: the shell and a background sleep. Escaped:
    // a setsid'd shell that keeps forking, and an orphan re-parented to the
    // shim (its middle shell exits at once).
    let id = daemon.run(&[
        "--name",
        "family",
        "--",
        "sh",
        "-c",
        "sleep 1000 & setsid sh -c 'while :; do sleep 0.02; done' & sh -c 'setsid sleep 1000 &'; \
         while :; do sleep 0.02; done",
    ]);
    let main_pid = daemon.inspect("family")["State"]["Pid"].as_i64().unwrap() as i32;
    let shim_pid: i32 =
        support::read_to_string(&daemon.container_dir(&id).join("shim.pid")).trim().parse().unwrap();
    let escaped = || -> Vec<i32> {
        container_processes(&id)
            .into_iter()
            .filter(|&pid| stat_fields(pid).is_some_and(|(_, _, group, _)| group != main_pid))
            .collect()
    };
    // Found by role, not by count: a child between `vfork` and `exec` shows
    // its parent's command line for a moment.
    let find = |command: &str, parent: i32, in_main_group: bool| -> Option<i32> {
        container_processes(&id).into_iter().find(|&pid| {
            let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            stat_fields(pid).is_some_and(|(_, ppid, group, _)| {
                cmdline == command && ppid == parent && (group == main_pid) == in_main_group
            })
        })
    };
    let roles = || -> Option<[i32; 4]> {
        Some([
            main_pid,
            find("sleep\x001000\x00", main_pid, true)?,
            find("sh\x00-c\x00while :; do sleep 0.02; done\x00", main_pid, false)?,
            // Re-parented to the shim, the subreaper, when its middle shell exited.
            find("sleep\x001000\x00", shim_pid, false)?,
        ])
    };
    eventually("the grandchildren escaped", || roles().is_some());
    let long_lived = roles().expect("main shell, grouped sleep, escaped shell, orphan");

    for round in 0..3 {
        daemon.cli_ok(&["pause", "family"]);
        // A `sleep 0.02` the escaped shell forked while the shim was signalling
        // may finish its 20 ms; everything else must be, and stay, stopped.
        eventually(&format!("round {round}: every process is stopped"), || not_frozen(&id).is_empty());
        for &pid in &long_lived {
            assert!(is_frozen(pid), "round {round}: process {pid} is stopped: {:?}", process_state(pid));
        }
        for pid in escaped() {
            assert!(is_frozen(pid), "round {round}: escaped {pid} is stopped: {:?}", process_state(pid));
        }
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(not_frozen(&id), Vec::new(), "round {round}: nothing runs while paused");

        daemon.cli_ok(&["unpause", "family"]);
        eventually(&format!("round {round}: nothing is stopped"), || {
            container_processes(&id).into_iter().all(|pid| process_state(pid).is_some_and(|s| s != "T"))
        });
        for &pid in &long_lived {
            assert!(is_alive(pid), "round {round}: pause and unpause leave process {pid} alive");
        }
    }
    // The escaped shell really runs again: it forks new sleeps.
    let sleeps_now: Vec<i32> = escaped().into_iter().filter(|pid| !long_lived.contains(pid)).collect();
    eventually("the escaped shell forks again", || {
        escaped().into_iter().any(|pid| !long_lived.contains(&pid) && !sleeps_now.contains(&pid))
    });
}

#[test]
fn refused_transitions_answer_as_docker() {
    let daemon = TestDaemon::start();
    let id = daemon.cli_ok(&["create", "--name", "busy", "--", "sleep", "1000"]).trim().to_string();
    assert_refused(&daemon, &["pause", "busy"], &format!("Container {id} is not running"));
    assert_refused(&daemon, &["unpause", "busy"], &format!("Container {id} is not paused"));

    daemon.cli_ok(&["start", "busy"]);
    let main_pid = daemon.inspect("busy")["State"]["Pid"].as_i64().unwrap() as i32;
    assert_refused(&daemon, &["unpause", "busy"], &format!("Container {id} is not paused"));
    assert_eq!(daemon.status("busy"), "running");
    // SPEC §4: 409 where dockerd 20.10 answered 500.
    let (status, body) = daemon.api("POST", "/containers/busy/unpause", None);
    assert_eq!(
        (status, body["message"].as_str()),
        (409, Some(format!("Container {id} is not paused").as_str()))
    );

    daemon.cli_ok(&["pause", "busy"]);
    assert_refused(&daemon, &["pause", "busy"], &format!("Container {id} is already paused"));
    let (status, body) = daemon.api("POST", "/containers/busy/pause", None);
    assert_eq!(
        (status, body["message"].as_str()),
        (409, Some(format!("Container {id} is already paused").as_str()))
    );
    assert_eq!(daemon.status("busy"), "paused", "a refused pause changes nothing");
    eventually("the main process is stopped", || is_frozen(main_pid));
    // What else a paused container refuses, in Docker's words.
    assert_refused(
        &daemon,
        &["rm", "busy"],
        &format!(
            "You cannot remove a paused container {id}. Unpause and then stop the container before attempting \
             removal or force remove"
        ),
    );
    assert_refused(&daemon, &["start", "busy"], "cannot start a paused container, try unpause instead");
    assert_eq!(daemon.status("busy"), "paused");
    assert!(is_alive(main_pid));

    daemon.cli_ok(&["unpause", "busy"]);
    daemon.cli_ok(&["stop", "busy"]);
    assert_eq!(daemon.status("busy"), "exited");
    assert_refused(&daemon, &["pause", "busy"], &format!("Container {id} is not running"));
    assert_refused(&daemon, &["unpause", "busy"], &format!("Container {id} is not paused"));
    let (status, _) = daemon.api("POST", "/containers/busy/pause", None);
    assert_eq!(status, 409);
    assert_eq!(daemon.status("busy"), "exited", "a refused pause does not revive it");
    assert_refused(&daemon, &["pause", "nosuch"], "No such container: nosuch");
}

#[test]
fn a_paused_container_can_be_stopped_restarted_and_removed() {
    let daemon = TestDaemon::start();
    let program = "setsid sleep 1000 & while :; do sleep 0.02; done";
    let id = daemon.run(&["--name", "frozen", "--", "sh", "-c", program]);
    let main_pid = daemon.inspect("frozen")["State"]["Pid"].as_i64().unwrap() as i32;
    eventually("the grandchild escaped", || escaped_sleeper(&id, main_pid).is_some());
    daemon.cli_ok(&["pause", "frozen"]);
    eventually("everything is stopped", || not_frozen(&id).is_empty());
    let processes = container_processes(&id);

    // Stop sends SIGTERM, then SIGCONT so the stopped shell can act on it: it
    // ends at once (not after the 10 s grace period) and dies of SIGTERM.
    let started = Instant::now();
    assert_eq!(daemon.cli_ok(&["stop", "frozen"]), "frozen\n");
    let took = started.elapsed();
    let state = &daemon.inspect("frozen")["State"];
    assert_eq!(state["Status"], "exited", "{state}");
    assert_eq!(state["Paused"], false, "{state}");
    assert_eq!(state["Running"], false, "{state}");
    assert_eq!(state["ExitCode"], 143, "the shell died of the SIGTERM: {state}");
    assert!(took < Duration::from_secs(5), "stop did not wait out the grace period ({took:?})");
    for pid in processes {
        wait_gone(pid);
    }
    assert_eq!(container_processes(&id), Vec::<i32>::new(), "nothing of the container is left");

    // Restart of a paused container: a fresh run that is not paused.
    daemon.cli_ok(&["start", "frozen"]);
    let paused_pid = daemon.inspect("frozen")["State"]["Pid"].as_i64().unwrap() as i32;
    eventually("the grandchild escaped again", || escaped_sleeper(&id, paused_pid).is_some());
    daemon.cli_ok(&["pause", "frozen"]);
    let processes = container_processes(&id);
    assert_eq!(daemon.cli_ok(&["restart", "-t", "5", "frozen"]), "frozen\n");
    let state = &daemon.inspect("frozen")["State"];
    assert_eq!(
        (state["Status"].as_str(), state["Paused"].as_bool()),
        (Some("running"), Some(false)),
        "{state}"
    );
    let new_pid = state["Pid"].as_i64().unwrap() as i32;
    assert_ne!(new_pid, paused_pid);
    for pid in processes {
        wait_gone(pid);
    }
    eventually("the new run goes", || process_state(new_pid).is_some_and(|s| s != "T"));

    // rm -f of a paused container kills everything, the escaped one too.
    eventually("the grandchild escaped again", || escaped_sleeper(&id, new_pid).is_some());
    let escaped = escaped_sleeper(&id, new_pid).unwrap();
    daemon.cli_ok(&["pause", "frozen"]);
    let processes = container_processes(&id);
    assert!(processes.contains(&new_pid) && processes.contains(&escaped), "{processes:?}");
    let shim_pid: i32 =
        support::read_to_string(&daemon.container_dir(&id).join("shim.pid")).trim().parse().unwrap();
    assert_eq!(daemon.cli_ok(&["rm", "-f", "frozen"]), "frozen\n");
    for pid in processes {
        wait_gone(pid);
    }
    assert_eq!(container_processes(&id), Vec::<i32>::new());
    eventually("the shim is gone", || !is_alive(shim_pid));
    assert_eq!(daemon.api("GET", &format!("/containers/{id}/json"), None).0, 404);
    assert!(!daemon.container_dir(&id).exists(), "rm -f deletes the container's directory");
}

#[test]
fn pause_and_unpause_are_events() {
    let daemon = TestDaemon::start();
    let since = unix_time_now();
    let id = daemon.run(&["--name", "ev", "--", "sleep", "1000"]);
    let before_pause = unix_time_now();
    daemon.cli_ok(&["pause", "ev"]);
    let after_pause = unix_time_now();
    assert_eq!(daemon.cli(&["pause", "ev"]).status.code(), Some(1));
    daemon.cli_ok(&["unpause", "ev"]);
    assert_eq!(daemon.cli(&["unpause", "ev"]).status.code(), Some(1));
    daemon.cli_ok(&["pause", "ev"]);
    daemon.cli_ok(&["stop", "ev"]);
    let until = unix_time_now();

    let (actions, text) = replayed_actions(&daemon, "ev", &since, &until);
    // Refused requests leave no event; stopping a paused container is
    // Docker's kill, die, stop.
    assert_eq!(actions, ["create", "start", "pause", "unpause", "pause", "kill", "die", "stop"], "{text}");
    let pause = text.lines().nth(2).unwrap();
    assert!(pause.ends_with(&format!(" container pause {id} (image=, name=ev)")), "{pause}");
    let unpause = text.lines().nth(3).unwrap();
    assert!(unpause.ends_with(&format!(" container unpause {id} (image=, name=ev)")), "{unpause}");
    assert!(text.lines().nth(6).unwrap().contains("exitCode=143"), "{text}");

    // since/until pick out the first pause alone.
    let (actions, text) = replayed_actions(&daemon, "ev", &before_pause, &after_pause);
    assert_eq!(actions, ["pause"], "{text}");
}

/// A process the container forks while `pause` is under way must end up
/// stopped as well: the cgroup freezer Docker uses freezes the whole group at
/// once. The escaped shell forks a `sleep 1` every few milliseconds.
#[test]
fn a_process_forked_while_pausing_is_stopped_too() {
    let daemon = TestDaemon::start();
    let id = daemon.run(&[
        "--name",
        "forker",
        "--",
        "sh",
        "-c",
        "setsid sh -c 'while :; do sleep 1 & sleep 0.005; done' & wait",
    ]);
    eventually("it forks", || container_processes(&id).len() >= 50);
    for round in 0..10 {
        daemon.cli_ok(&["pause", "forker"]);
        // Far longer than a signal takes to arrive, far shorter than `sleep 1`.
        std::thread::sleep(Duration::from_millis(200));
        let running: Vec<(i32, String, String)> = not_frozen(&id)
            .into_iter()
            .map(|(pid, state)| {
                let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                (pid, state, cmdline.replace('\0', " "))
            })
            .collect();
        assert_eq!(running, [], "round {round}: every process is stopped while paused");
        daemon.cli_ok(&["unpause", "forker"]);
        // Back to full speed before the next pause: thirty fresh forks.
        let before = container_processes(&id);
        eventually("it forks again", || {
            container_processes(&id).iter().filter(|pid| !before.contains(pid)).count() >= 30
        });
    }
}
