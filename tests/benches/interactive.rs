//! Interactive timings (issue 4), side by side in one run:
//! - round trip: a line written to an attached `orchestrate run -i -- cat`
//!   until the CLI prints it back (stdin → daemon → the container's stdin pipe
//!   → `cat` → the log → the follower → the CLI), next to the same line through
//!   a plain `cat` process (the floor: two pipes and one process);
//! - `orchestrate exec C -- true`, whole process, next to `/bin/true`.
//!
//! Targets: round trip median under 1 ms (Docker's attach, one way: 1.26 ms);
//! exec median under 5 ms (Docker: 70 ms).
//!
//! Run: `cargo static-build && cargo static-bench --bench interactive`.

#[path = "../support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::TestDaemon;

const LINES: usize = 200;
const EXECS: usize = 50;

fn summary(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(samples[0]), ms(samples[samples.len() / 2]), ms(samples[samples.len() - 1]))
}

/// Prints one row; `floor` is the median it is compared with (none: it is the floor).
fn row(what: &str, samples: Vec<Duration>, floor: Option<f64>) -> f64 {
    let (low, median, high) = summary(samples);
    let ratio = median / floor.unwrap_or(median);
    println!("{what:<48} {low:>8.3} {median:>8.3} {high:>8.3}   {ratio:>6.1}x");
    median
}

/// Writes numbered lines to `child`'s stdin, one at a time, and times each
/// until it comes back on its stdout.
fn round_trips(child: &mut Child) -> Vec<Duration> {
    let mut input = child.stdin.take().unwrap();
    let mut output = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    // Warm-up: until the session is attached and echoing.
    input.write_all(b"warm\n").unwrap();
    output.read_line(&mut line).unwrap();
    let samples = (0..LINES)
        .map(|number| {
            line.clear();
            let sent = format!("{number}\n");
            let start = Instant::now();
            input.write_all(sent.as_bytes()).unwrap();
            output.read_line(&mut line).unwrap();
            let took = start.elapsed();
            assert_eq!(line, sent);
            std::thread::sleep(Duration::from_millis(2));
            took
        })
        .collect();
    drop(input); // end of input: `cat` ends, and the session with it
    samples
}

fn main() {
    let daemon = TestDaemon::start();
    let orchestrate = support::binary("orchestrate");
    println!("binaries: {}", orchestrate.parent().unwrap().display());
    println!("{:<48} {:>8} {:>8} {:>8}   {:>7}", "ms", "min", "median", "max", "/floor");

    let piped =
        |command: &mut Command| command.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("spawn");
    let mut plain = piped(&mut Command::new("cat"));
    let floor = row(&format!("round trip through plain cat (n={LINES})"), round_trips(&mut plain), None);
    plain.wait().unwrap();
    let mut attached = piped(
        Command::new(&orchestrate).arg("--socket").arg(&daemon.socket).args(["run", "-i", "--", "cat"]),
    );
    let round_trip =
        row("round trip through orchestrate run -i -- cat", round_trips(&mut attached), Some(floor));
    assert!(attached.wait().unwrap().success());

    daemon.cli_ok(&["run", "-d", "--name", "target", "--", "sleep", "1000"]);
    let time = |make: &dyn Fn() -> Command| -> Vec<Duration> {
        (0..EXECS)
            .map(|_| {
                let mut command = make();
                command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
                let start = Instant::now();
                assert!(command.status().unwrap().success());
                start.elapsed()
            })
            .collect()
    };
    let true_floor = row(&format!("/bin/true (n={EXECS})"), time(&|| Command::new("/bin/true")), None);
    let exec = row(
        "orchestrate exec target -- true",
        time(&|| {
            let mut command = Command::new(&orchestrate);
            command.arg("--socket").arg(&daemon.socket).args(["exec", "target", "--", "true"]);
            command
        }),
        Some(true_floor),
    );
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    println!(
        "\ntargets: round trip median < 1 ms: {}; exec median < 5 ms: {}",
        verdict(round_trip < 1.0),
        verdict(exec < 5.0)
    );
    println!(
        "Docker 20.10 on this kind of machine (docker-reference.md §6): attach one way 1.26 ms, exec 70.2 ms"
    );
}
