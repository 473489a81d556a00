//! Log throughput and follow latency (issue 3), measured side by side in one run:
//! - ingest: a container writing 100 MB of 80-byte lines, from `start` until it
//!   has exited with its log complete, against the same pipeline into /dev/null
//!   and into a plain file through `cat`;
//! - `orchestrate logs` of those 100 MB into /dev/null;
//! - follow latency: a line written by the container until `orchestrate logs -f`
//!   prints it, with 1 follower and with 100.
//!
//! Run: `cargo build --release --workspace && cargo bench -p orchestrator-tests --bench logs`

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
    let daemon = TestDaemon::start();
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

    for followers in [1, 100] {
        let samples = follow_latency(&daemon, followers);
        let (low, med, high) = median(samples.iter().map(|s| s.0).collect());
        let (_, last_med, last_high) = median(samples.iter().map(|s| s.1).collect());
        println!(
            "\n== follow latency, {followers} follower(s), {LATENCY_SAMPLES} lines ==\n\
             write → a follower prints it: min {:.3} / median {:.3} / max {:.3} ms\n\
             write → the last follower prints it: median {:.3} / max {:.3} ms",
            ms(low),
            ms(med),
            ms(high),
            ms(last_med),
            ms(last_high)
        );
    }
    println!("\nDocker 20.10 on this kind of machine (docker-reference.md §6): ingest about 24 MB/s, logs about 11 MB/s, follow 1.5 ms with one follower");
}

/// One sample per line: (median over followers, slowest follower) latency.
/// The followers' output is read by one thread polling all their pipes, so the
/// measurement itself costs one wake-up per line, not one per follower.
fn follow_latency(daemon: &TestDaemon, followers: usize) -> Vec<(Duration, Duration)> {
    use std::io::Read;
    use std::os::fd::AsRawFd;

    let name = format!("echoer{followers}");
    let fifo = daemon.dir.join(format!("fifo{followers}"));
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    // `cat` copies each line from the fifo to its stdout at once.
    let script = format!("exec cat < {}", fifo.display());
    daemon.run(&["--name", &name, "--", "sh", "-c", &script]);
    let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    let mut children: Vec<Child> = (0..followers)
        .map(|_| {
            Command::new(support::binary("orchestrate"))
                .args(["--socket", daemon.socket.to_str().unwrap(), "logs", "-f", "--tail", "0", &name])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut outputs: Vec<std::process::ChildStdout> =
        children.iter_mut().map(|c| c.stdout.take().unwrap()).collect();
    // Reads until every follower has printed `line`; returns each one's arrival time.
    let mut collect = |line: &str, deadline: Duration| -> Option<Vec<Instant>> {
        let until = Instant::now() + deadline;
        let mut arrived: Vec<Option<Instant>> = vec![None; followers];
        let mut pending: Vec<Vec<u8>> = vec![Vec::new(); followers];
        while arrived.iter().any(Option::is_none) {
            if Instant::now() > until {
                return None;
            }
            let mut entries: Vec<common::sys::PollFd> =
                outputs.iter().map(|o| common::sys::poll_entry(o.as_raw_fd())).collect();
            common::sys::poll(&mut entries, Some(until.saturating_duration_since(Instant::now()))).unwrap();
            let now = Instant::now();
            for (index, entry) in entries.iter().enumerate() {
                if entry.revents == 0 {
                    continue;
                }
                let mut buffer = [0u8; 4096];
                let count = outputs[index].read(&mut buffer).unwrap();
                pending[index].extend_from_slice(&buffer[..count]);
                let text = String::from_utf8_lossy(&pending[index]).into_owned();
                if text.lines().any(|l| l == line) && arrived[index].is_none() {
                    arrived[index] = Some(now);
                }
                if let Some(cut) = pending[index].iter().rposition(|&b| b == b'\n') {
                    pending[index].drain(..=cut);
                }
            }
        }
        Some(arrived.into_iter().map(Option::unwrap).collect())
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
    let mut samples = Vec::new();
    for number in 0..LATENCY_SAMPLES {
        let sent = Instant::now();
        writeln!(writer, "{number}").unwrap();
        let arrivals =
            collect(&number.to_string(), Duration::from_secs(5)).expect("every follower prints the line");
        let mut latencies: Vec<Duration> = arrivals.iter().map(|at| *at - sent).collect();
        latencies.sort();
        samples.push((latencies[latencies.len() / 2], latencies[latencies.len() - 1]));
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(writer); // cat sees end-of-file and the container exits; followers end
    for mut child in children {
        let _ = child.wait();
    }
    samples
}
