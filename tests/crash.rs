//! Crash consistency: a stream of operations (create, start, stop, rename,
//! rm, run) runs while the daemon is killed with SIGKILL at a random moment,
//! many times over. After each restart the state directory must be one the
//! new daemon explains: every container directory has its `meta.json` and is
//! listed, no half-made or half-removed directory is left, no container has
//! two shims, no shim runs without its directory, a live shim means a
//! running container, and starting every container the daemon calls created
//! or exited makes no second shim.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use support::TestDaemon;

/// A small random number from the kernel, for the moment of the kill.
fn random_below(limit: u64) -> u64 {
    let mut bytes = [0u8; 8];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").unwrap(), &mut bytes).unwrap();
    u64::from_le_bytes(bytes) % limit
}

/// Operations in a loop until `stop` is set; errors are expected (the daemon dies under them).
fn operations(socket: std::path::PathBuf, stop: Arc<AtomicBool>, round: usize) {
    let cli = |args: &[&str]| {
        let _ = std::process::Command::new(support::binary("orchestrate"))
            .arg("--socket")
            .arg(&socket)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    };
    let mut step = 0;
    while !stop.load(Ordering::SeqCst) {
        let name = format!("c{round}x{}", step % 4);
        match step % 6 {
            0 => cli(&["create", "--name", &name, "--", "sleep", "1000"]),
            1 => cli(&["start", &name]),
            2 => cli(&["rename", &name, &format!("{name}r")]),
            3 => cli(&["stop", "-t", "0", &format!("{name}r")]),
            4 => cli(&["rm", "-f", &format!("{name}r")]),
            _ => cli(&["run", "--name", &format!("{name}q"), "--", "sh", "-c", "echo hi; sleep 1000"]),
        }
        step += 1;
    }
}

#[test]
fn a_daemon_killed_at_any_moment_leaves_a_state_the_next_one_explains() {
    let mut daemon = TestDaemon::start();
    for round in 0..15 {
        let stop = Arc::new(AtomicBool::new(false));
        let worker = {
            let (socket, stop) = (daemon.socket.clone(), stop.clone());
            std::thread::spawn(move || operations(socket, stop, round))
        };
        std::thread::sleep(Duration::from_millis(20 + random_below(200)));
        daemon.kill_daemon();
        stop.store(true, Ordering::SeqCst);
        worker.join().unwrap();
        daemon.restart_daemon();
        check_invariants(&daemon, round);
    }
}

fn check_invariants(daemon: &TestDaemon, round: usize) {
    let (status, listing) = daemon.api("GET", "/containers/json?all=1", None);
    assert_eq!(status, 200, "round {round}: the new daemon answers");
    let listed: Vec<(String, String)> = listing
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["Id"].as_str().unwrap().to_string(), c["State"].as_str().unwrap().to_string()))
        .collect();
    let mut directories = Vec::new();
    for entry in std::fs::read_dir(&daemon.root).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with(".removing-"), "round {round}: a half-removed directory is left: {name}");
        if !entry.path().is_dir() {
            continue;
        }
        assert!(entry.path().join("meta.json").exists(), "round {round}: {name} has no meta.json");
        directories.push(name);
    }
    for directory in &directories {
        assert!(listed.iter().any(|(id, _)| id == directory), "round {round}: {directory} is not listed");
    }
    // Shims: at most one per container, each with its directory, each for a
    // container the daemon calls running (or paused).
    let shims = live_shims(daemon);
    for (pid, id) in &shims {
        assert_eq!(
            shims.iter().filter(|(_, other)| other == id).count(),
            1,
            "round {round}: two shims for {id}"
        );
        assert!(directories.contains(id), "round {round}: shim {pid} runs without its directory {id}");
        let state = listed.iter().find(|(listed_id, _)| listed_id == id).map(|(_, s)| s.as_str());
        // A shim that is exiting right now may already have written `exit`.
        let exiting = daemon.root.join(id).join("exit").exists();
        assert!(
            matches!(state, Some("running" | "paused")) || exiting,
            "round {round}: live shim {pid} but the container is {state:?}"
        );
    }
    // And the daemon acts on what it says: starting every container it calls
    // created or exited makes no second shim for any of them.
    for (id, state) in &listed {
        if state == "created" || state == "exited" {
            let _ = daemon.http("POST", &format!("/containers/{id}/start"), None);
        }
    }
    let shims = live_shims(daemon);
    for (_, id) in &shims {
        let count = shims.iter().filter(|(_, other)| other == id).count();
        assert_eq!(count, 1, "round {round}: a start after the restart made a second shim for {id}");
    }
}

/// The live shims of this daemon's root: `(pid, container ID)`.
fn live_shims(daemon: &TestDaemon) -> Vec<(i32, String)> {
    common::proc::all_pids()
        .into_iter()
        .filter_map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let words: Vec<String> =
                cmdline.split(|&b| b == 0).map(|w| String::from_utf8_lossy(w).into_owned()).collect();
            let dir = words.get(1)?;
            (words.first()?.ends_with("orchestrator-shim") && dir.starts_with(daemon.root.to_str().unwrap()))
                .then(|| (pid, dir.rsplit('/').next().unwrap().to_string()))
        })
        .filter(|(pid, _)| !common::proc::is_dead(*pid))
        .collect()
}
