//! Log throughput and follow latency (issue 3), measured side by side in one run:
//! - ingest: a container writing 100 MB of 80-byte lines, from `start` until it
//!   has exited with its log complete, against the same pipeline into /dev/null
//!   and into a plain file through `cat`;
//! - `orchestrate logs` of those 100 MB into /dev/null;
//! - follow latency: a line written by the container until `orchestrate logs -f`
//!   prints it, with 1 follower and with 100.
//!
//! Run: `cargo static-build && cargo static-bench --bench logs` (statically
//! linked release binaries, `.cargo/config.toml`)
//! (add `-- follow` or `-- ingest` to run one part).

#[path = "../support/mod.rs"]
mod support;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::TestDaemon;

const BYTES: u64 = 100_000_000;
const LINE: &str = "0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456";
const LATENCY_SAMPLES: usize = 50;

fn megabytes_per_second(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / 1e6 / took.as_secs_f64()
}

fn shell(script: &str) -> Duration {
    let start = Instant::now();
    assert!(Command::new("sh").args(["-c", script]).status().unwrap().success());
    start.elapsed()
}

fn median(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort();
    (samples[0], samples[samples.len() / 2], samples[samples.len() - 1])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    assert_eq!(LINE.len(), 79);
    // `cargo bench` passes `--bench`; any other argument names the one part to run.
    let only: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let daemon = TestDaemon::start();
    if only.as_deref() != Some("follow") {
        throughput(&daemon);
    }
    if only.as_deref() != Some("ingest") {
        follow(&daemon);
    }
    println!("\nDocker 20.10 on this kind of machine (docker-reference.md §6): ingest about 24 MB/s, logs about 11 MB/s, follow 1.5 ms with one follower");
}

fn throughput(daemon: &TestDaemon) {
    let pipeline = format!("yes {LINE} | head -c {BYTES}");
    let cli = |args: &[&str]| {
        let mut command = Command::new(support::binary("orchestrate"));
        command.arg("--socket").arg(&daemon.socket).args(args);
        command
    };

    println!("== ingest: 100 MB of 80-byte lines (median of 5) ==");
    let mut null = Vec::new();
    let mut file = Vec::new();
    let mut ingest = Vec::new();
    let plain = daemon.dir.join("plain-file");
    // Each timed run starts with no dirty pages waiting for writeback (`sync`),
    // and what it wrote is deleted after: the runs then measure the pipeline,
    // not the kernel throttling writers that are 1 GB behind.
    for round in 0..5 {
        shell("sync");
        null.push(shell(&format!("{pipeline} > /dev/null")));
        shell("sync");
        file.push(shell(&format!("{pipeline} | cat > {}", plain.display())));
        let _ = std::fs::remove_file(&plain);
        let name = format!("ingest{round}");
        daemon.cli_ok(&["create", "--name", &name, "--log-opt", "max-size=1g", "--", "sh", "-c", &pipeline]);
        shell("sync");
        let start = Instant::now();
        daemon.cli_ok(&["start", &name]);
        assert_eq!(daemon.cli_ok(&["wait", &name]), "0\n");
        ingest.push(start.elapsed());
        if round > 0 {
            daemon.cli_ok(&["rm", &name]); // ingest0 stays for the read test
        }
    }
    let row = |what: &str, samples: &[Duration]| {
        let (_, med, _) = median(samples.to_vec());
        println!("{what:<52} {:>8.1} ms {:>8.1} MB/s", ms(med), megabytes_per_second(BYTES, med));
        med
    };
    let null_median = row("pipeline > /dev/null", &null);
    row("pipeline | cat > file", &file);
    let ingest_median = row("container start → exited, log complete", &ingest);
    println!("ratio container / (pipeline > /dev/null): {:.1}x", ms(ingest_median) / ms(null_median));
    let log_bytes: u64 = std::fs::read_dir(daemon.root.as_path())
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::metadata(e.path().join("log")).ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0);
    println!("json-file log of 100 MB of output: {:.1} MB on disk", log_bytes as f64 / 1e6);

    println!("\n== orchestrate logs of the 100 MB container > /dev/null (5 runs) ==");
    let mut reads = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let status = cli(&["logs", "ingest0"]).stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap();
        assert!(status.success());
        reads.push(start.elapsed());
    }
    let (low, med, high) = median(reads);
    println!(
        "min {:.1} / median {:.1} / max {:.1} ms: {:.0} MB/s at the median",
        ms(low),
        ms(med),
        ms(high),
        megabytes_per_second(BYTES, med)
    );
    let mut tail = Vec::new();
    for _ in 0..10 {
        let start = Instant::now();
        assert!(cli(&["logs", "--tail", "2", "ingest0"]).stdout(Stdio::null()).status().unwrap().success());
        tail.push(start.elapsed());
    }
    println!("logs --tail 2 of the 100 MB log: median {:.2} ms", ms(median(tail).1));
}

fn follow(daemon: &TestDaemon) {
    // Lines 10 ms apart (the target's measure: the machine idles between
    // lines, and every wake-up starts from an idle CPU), then back to back.
    for (followers, gap) in [(1, 10), (100, 10), (100, 0)] {
        let run = follow_latency(daemon, followers, Duration::from_millis(gap));
        let (low, med, high) = median(run.samples.iter().map(|s| s.0).collect());
        let (_, last_med, last_high) = median(run.samples.iter().map(|s| s.1).collect());
        let per_line = |cpu: Duration| cpu.as_secs_f64() * 1e6 / (LATENCY_SAMPLES * followers) as f64;
        println!(
            "\n== follow latency, {followers} follower(s), {LATENCY_SAMPLES} lines {gap} ms apart ==\n\
             write → a follower prints it: min {:.3} / median {:.3} / max {:.3} ms\n\
             write → the last follower prints it: median {:.3} / max {:.3} ms\n\
             CPU per line per follower: daemon {:.1} µs, follower process {:.1} µs",
            ms(low),
            ms(med),
            ms(high),
            ms(last_med),
            ms(last_high),
            per_line(run.daemon_cpu),
            per_line(run.followers_cpu),
        );
    }
}

struct FollowRun {
    /// Per line: (median over followers, slowest follower).
    samples: Vec<(Duration, Duration)>,
    /// CPU time spent while the lines were timed, by all the daemon's threads
    /// and by all the follower processes (`/proc/PID/task/*/schedstat`).
    daemon_cpu: Duration,
    followers_cpu: Duration,
}

/// CPU time of every thread of `pid` so far.
fn cpu_time(pid: u32) -> Duration {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    let nanos: u64 = tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

/// Every follower prints into the same pipe (a line is one write, well under
/// `PIPE_BUF`, so copies never interleave) and one reader counts the copies of
/// each line as they arrive: the measurement costs one wake-up per batch of
/// arrivals, not one per follower, and takes little CPU from what it measures.
fn follow_latency(daemon: &TestDaemon, followers: usize, gap: Duration) -> FollowRun {
    use std::io::Read;

    let name = format!("echoer{followers}x{}", gap.as_millis());
    let fifo = daemon.dir.join(format!("fifo{followers}x{}", gap.as_millis()));
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    // `cat` copies each line from the fifo to its stdout at once.
    let script = format!("exec cat < {}", fifo.display());
    daemon.run(&["--name", &name, "--", "sh", "-c", &script]);
    let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    let (mut output, output_writer) = std::io::pipe().unwrap();
    let children: Vec<Child> = (0..followers)
        .map(|_| {
            Command::new(support::binary("orchestrate"))
                .args(["--socket", daemon.socket.to_str().unwrap(), "logs", "-f", "--tail", "0", &name])
                .stdout(output_writer.try_clone().unwrap())
                .spawn()
                .unwrap()
        })
        .collect();
    drop(output_writer);
    let mut pending = Vec::new();
    // Reads until `followers` copies of `line` have arrived; returns when each did.
    let mut collect = |line: &str, deadline: Duration| -> Option<Vec<Instant>> {
        let until = Instant::now() + deadline;
        let mut arrived = Vec::with_capacity(followers);
        while arrived.len() < followers {
            let left = until.saturating_duration_since(Instant::now());
            let mut entries = [common::sys::poll_entry(std::os::fd::AsRawFd::as_raw_fd(&output))];
            if left.is_zero() || common::sys::poll(&mut entries, Some(left)).unwrap() == 0 {
                return None;
            }
            let mut buffer = [0u8; 65536];
            let count = output.read(&mut buffer).unwrap();
            let now = Instant::now();
            pending.extend_from_slice(&buffer[..count]);
            let cut = pending.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            for got in pending[..cut].split(|&b| b == b'\n') {
                if got == line.as_bytes() {
                    arrived.push(now);
                }
            }
            pending.drain(..cut);
        }
        Some(arrived)
    };
    // Warm-up lines until every follower is attached and printing.
    let mut warm = 1_000_000;
    loop {
        writeln!(writer, "{warm}").unwrap();
        if collect(&warm.to_string(), Duration::from_millis(500)).is_some() {
            break;
        }
        warm += 1;
    }
    let cpu_of_followers = || children.iter().map(|c| cpu_time(c.id())).sum::<Duration>();
    let (daemon_before, followers_before) = (cpu_time(daemon.daemon_pid()), cpu_of_followers());
    let mut samples = Vec::new();
    for number in 0..LATENCY_SAMPLES {
        let sent = Instant::now();
        writeln!(writer, "{number}").unwrap();
        let arrivals =
            collect(&number.to_string(), Duration::from_secs(5)).expect("every follower prints the line");
        let mut latencies: Vec<Duration> = arrivals.iter().map(|at| *at - sent).collect();
        latencies.sort();
        samples.push((latencies[latencies.len() / 2], latencies[latencies.len() - 1]));
        std::thread::sleep(gap);
    }
    let daemon_cpu = cpu_time(daemon.daemon_pid()) - daemon_before;
    let followers_cpu = cpu_of_followers() - followers_before;
    drop(writer); // cat sees end-of-file and the container exits; followers end
    for mut child in children {
        let _ = child.wait();
    }
    FollowRun { samples, daemon_cpu, followers_cpu }
}
