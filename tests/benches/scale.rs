//! A thousand containers (issue 5), measured in one run:
//! - memory with 1000 containers running `sleep`: the daemon's RSS, and each
//!   shim's RSS and PSS (`/proc/PID/smaps_rollup`), next to the `sleep` each
//!   one supervises;
//! - daemon restart: the daemon is killed with SIGKILL and started again;
//!   the time from its start until `orchestrate ps -a` lists all 1000.
//!
//! Targets: shim PSS under 600 KiB (containerd-shim here: 3.0 MB; conmon:
//! 1.0 MB); daemon RSS under 32 MiB (dockerd 89 MB plus containerd 43 MB);
//! restart median under 200 ms (Docker without live-restore: 20 s, killing
//! every container).
//!
//! Run: `cargo static-build && cargo static-bench --bench scale`.

#[path = "../support/mod.rs"]
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::TestDaemon;

const CONTAINERS: usize = 1000;
const RESTARTS: usize = 5;
/// Containers started at once while setting up.
const STARTERS: usize = 8;

/// A `kB` field of `/proc/PID/status` or `smaps_rollup`.
fn kilobytes(path: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find(|line| line.starts_with(field))?.split_whitespace().nth(1)?.parse().ok()
}

fn spread(mut values: Vec<u64>) -> (u64, u64, u64) {
    values.sort();
    (values[0], values[values.len() / 2], values[values.len() - 1])
}

fn main() {
    let mut daemon = TestDaemon::start();
    let orchestrate = support::binary("orchestrate");
    println!("binaries: {}", orchestrate.parent().unwrap().display());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for starter in 0..STARTERS {
            let (daemon, orchestrate) = (&daemon, &orchestrate);
            scope.spawn(move || {
                for _ in (starter..CONTAINERS).step_by(STARTERS) {
                    let status = Command::new(orchestrate)
                        .arg("--socket")
                        .arg(&daemon.socket)
                        .args(["run", "-d", "--", "sleep", "100000"])
                        .stdout(std::process::Stdio::null())
                        .status()
                        .unwrap();
                    assert!(status.success());
                }
            });
        }
    });
    println!("{CONTAINERS} containers started in {:.1} s", started.elapsed().as_secs_f64());

    // Memory, once everything has settled.
    std::thread::sleep(Duration::from_millis(500));
    let ids: Vec<String> = daemon.cli_ok(&["ps", "-q", "--no-trunc"]).lines().map(str::to_string).collect();
    assert_eq!(ids.len(), CONTAINERS);
    let pid_in = |id: &str, file: &str| {
        support::read_to_string(&daemon.container_dir(id).join(file)).trim().to_string()
    };
    let (mut shim_rss, mut shim_pss, mut sleep_pss) = (Vec::new(), Vec::new(), Vec::new());
    for id in &ids {
        let shim = pid_in(id, "shim.pid");
        let main = pid_in(id, "pid");
        shim_rss.push(kilobytes(&format!("/proc/{shim}/smaps_rollup"), "Rss:").unwrap());
        shim_pss.push(kilobytes(&format!("/proc/{shim}/smaps_rollup"), "Pss:").unwrap());
        sleep_pss.push(kilobytes(&format!("/proc/{main}/smaps_rollup"), "Pss:").unwrap());
    }
    let daemon_pid = daemon.daemon_pid();
    let daemon_rss = kilobytes(&format!("/proc/{daemon_pid}/status"), "VmRSS:").unwrap();
    let daemon_threads = std::fs::read_dir(format!("/proc/{daemon_pid}/task")).unwrap().count();
    println!("\n== memory with {CONTAINERS} running containers (kB) ==");
    println!("{:<34} {:>8} {:>8} {:>8}", "", "min", "median", "max");
    for (what, values) in
        [("shim RSS", shim_rss), ("shim PSS", shim_pss.clone()), ("sleep PSS (the container)", sleep_pss)]
    {
        let (low, median, high) = spread(values);
        println!("{what:<34} {low:>8} {median:>8} {high:>8}");
    }
    println!("daemon RSS: {daemon_rss} kB ({:.1} MiB), {daemon_threads} threads", daemon_rss as f64 / 1024.0);

    // Restart: SIGKILL, start, until `ps -a` lists every container.
    println!("\n== daemon restart with {CONTAINERS} running containers ==");
    let mut restarts = Vec::new();
    for _ in 0..RESTARTS {
        daemon.kill_daemon();
        let start = Instant::now();
        daemon.spawn_for_bench();
        loop {
            let output = Command::new(&orchestrate)
                .arg("--socket")
                .arg(&daemon.socket)
                .args(["ps", "-a", "-q"])
                .output()
                .unwrap();
            if output.status.success() && output.stdout.iter().filter(|&&b| b == b'\n').count() == CONTAINERS
            {
                break;
            }
        }
        restarts.push(start.elapsed());
    }
    restarts.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "start → ps -a lists all {CONTAINERS}: min {:.1} / median {:.1} / max {:.1} ms",
        ms(restarts[0]),
        ms(restarts[RESTARTS / 2]),
        ms(restarts[RESTARTS - 1])
    );
    let daemon_rss = kilobytes(&format!("/proc/{}/status", daemon.daemon_pid()), "VmRSS:").unwrap();
    println!("daemon RSS after a restart: {daemon_rss} kB ({:.1} MiB)", daemon_rss as f64 / 1024.0);
    let (_, shim_pss_median, _) = spread(shim_pss);
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    println!(
        "\ntargets: shim PSS median < 600 KiB: {}; daemon RSS < 32 MiB: {}; restart median < 200 ms: {}",
        verdict(shim_pss_median < 600),
        verdict(daemon_rss < 32 * 1024),
        verdict(ms(restarts[RESTARTS / 2]) < 200.0)
    );
    println!("Docker here (docker-reference.md §6): containerd-shim PSS 3.0 MB each, dockerd RSS 90.6 MB + containerd 43.8 MB");
}
