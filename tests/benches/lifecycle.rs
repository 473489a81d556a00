//! Whole-process timings of the CLI against a real daemon, side by side with
//! `/bin/true` as the floor (the cost of starting any process here):
//! `orchestrate run -d -- true`, and `orchestrate ps -a` with 100 containers.
//! Targets (issue 2): `run -d` median under 5 ms, `ps -a` under 3 ms.
//!
//! Run: `cargo static-build && cargo static-bench --bench lifecycle` (statically
//! linked release binaries, `.cargo/config.toml`).

#[path = "../support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::TestDaemon;

const ROUNDS: usize = 50;

/// min / median / max of a set of timings.
struct Summary {
    min: Duration,
    median: Duration,
    max: Duration,
}

fn summarize(mut samples: Vec<Duration>) -> Summary {
    samples.sort();
    Summary { min: samples[0], median: samples[samples.len() / 2], max: samples[samples.len() - 1] }
}

/// Times `rounds` runs of a command, each from spawn to exit.
fn time_command(rounds: usize, mut make: impl FnMut() -> Command) -> Summary {
    let samples = (0..rounds)
        .map(|_| {
            let mut command = make();
            command.stdout(Stdio::null()).stderr(Stdio::null()).stdin(Stdio::null());
            let start = Instant::now();
            let status = command.status().expect("run the benchmarked command");
            let took = start.elapsed();
            assert!(status.success(), "benchmarked command failed");
            took
        })
        .collect();
    summarize(samples)
}

fn row(what: &str, summary: &Summary, floor: &Summary) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what:<44} {:>8.2} {:>8.2} {:>8.2}   {:>6.1}x",
        ms(summary.min),
        ms(summary.median),
        ms(summary.max),
        ms(summary.median) / ms(floor.median)
    );
}

fn main() {
    let daemon = TestDaemon::start();
    let orchestrate = support::binary("orchestrate");
    let cli = |args: &[&str]| {
        let mut command = Command::new(&orchestrate);
        command.arg("--socket").arg(&daemon.socket).args(args);
        command
    };
    println!("binaries: {}", orchestrate.parent().unwrap().display());
    println!(
        "{:<44} {:>8} {:>8} {:>8}   {:>7}",
        "whole-process time, ms (n=50)", "min", "median", "max", "/floor"
    );

    // Interleave nothing: each measurement runs on its own, floor first.
    let floor = time_command(ROUNDS, || Command::new("/bin/true"));
    row("/bin/true (floor)", &floor, &floor);
    let run = time_command(ROUNDS, || cli(&["run", "-d", "--", "true"]));
    row("orchestrate run -d -- true", &run, &floor);

    // 100 containers: 20 running, the rest exited (those `run`s above, and more).
    for _ in 0..20 {
        daemon.cli_ok(&["run", "--", "sleep", "1000"]);
    }
    let existing = daemon.cli_ok(&["ps", "-a", "-q"]).lines().count();
    for _ in existing..100 {
        daemon.cli_ok(&["create", "--", "true"]);
    }
    assert_eq!(daemon.cli_ok(&["ps", "-a", "-q"]).lines().count(), 100);
    let ps = time_command(ROUNDS, || cli(&["ps", "-a"]));
    row("orchestrate ps -a (100 containers)", &ps, &floor);
    let floor_again = time_command(ROUNDS, || Command::new("/bin/true"));
    row("/bin/true (floor, again)", &floor_again, &floor);

    let status = |summary: &Summary, target_ms: f64| {
        if summary.median.as_secs_f64() * 1000.0 < target_ms {
            "met"
        } else {
            "MISSED"
        }
    };
    println!(
        "\ntargets: run -d median < 5 ms: {}; ps -a (100) median < 3 ms: {}",
        status(&run, 5.0),
        status(&ps, 3.0)
    );
    println!("Docker 20.10 on the same kind of machine (docker-reference.md §6): run -d 148 ms, ps -a (50) 26.8 ms");
}
