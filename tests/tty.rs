//! Terminals end to end: the real `orchestrate` runs inside a pseudo-terminal
//! the test opens itself, as it would in a user's xterm, and the test types
//! into the master side and reads what the user would see. Covered: an
//! interactive shell and its exit code, the user's terminal in raw mode during
//! `-it` and restored on every way out (exit, error, detach, signals), the
//! window size at the start and after SIGWINCH, job control and Ctrl-C inside
//! the container, detach and re-attach, `exec -it`, `run -t` without `-i`, and
//! the raw `\r\n` output of a terminal in the log (docs/12-tty.md). The
//! shells run with `TERM=dumb`, so their output has no control sequences to
//! step over (a `-t` container gets `TERM=xterm` by default, as in Docker).

mod support;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::sys::{self, TerminalSettings, WindowSize};
use support::{binary, container_processes, eventually, stderr, stdout, TestDaemon, DEADLINE};

/// The prompt of every shell the tests start (`-e PS1=…`): easy to find in
/// the output, and never part of a command line the test types.
const PROMPT: &str = "tty-test$ ";

/// The window size of a terminal unless a test picks its own.
const DEFAULT_SIZE: WindowSize = WindowSize { rows: 24, columns: 80 };

/// How long a process must outlive a detach to count as left running.
const STILL_RUNNING_WINDOW: Duration = Duration::from_millis(200);

/// How many `exec -t` sessions start together to catch a lost resize.
const EXECS_AT_ONCE: usize = 48;

/// Ctrl-C, Ctrl-P, Ctrl-Q, Ctrl-X and Ctrl-Z as the keyboard sends them.
const CTRL_C: u8 = 0x03;
const CTRL_P: u8 = 0x10;
const CTRL_Q: u8 = 0x11;
const CTRL_X: u8 = 0x18;
const CTRL_Z: u8 = 0x1a;

/// The user's terminal with one `orchestrate` running in it: a
/// pseudo-terminal whose slave is the CLI's stdin, stdout, stderr and
/// controlling terminal, and whose master the test types into and reads.
/// Dropping it kills and reaps the CLI, even after a failed assertion.
struct Session {
    master: File,
    /// Our own copy of the slave: the CLI's terminal settings are read
    /// through it, and it stays open after the CLI exits, so the master never
    /// sees a hang-up (reads keep working until the test is done).
    slave: OwnedFd,
    /// Everything read from the master so far; `expect` consumes it from `seen`.
    output: Vec<u8>,
    seen: usize,
    /// The settings the terminal had before the CLI started.
    initial: TerminalSettings,
    cli: Option<Child>,
}

impl Session {
    /// Starts `orchestrate ARGS` against `daemon` in a new terminal of `size`.
    fn start(daemon: &TestDaemon, args: &[&str], size: WindowSize) -> Session {
        let (master, slave) = sys::open_pty().expect("open a pseudo-terminal");
        sys::set_window_size(master.as_raw_fd(), size).expect("set the window size");
        let initial = sys::terminal_settings(slave.as_raw_fd()).expect("the new terminal's settings");
        assert!(is_cooked(&initial), "a new pseudo-terminal starts cooked");
        let stdio = || Stdio::from(slave.try_clone().expect("dup the slave"));
        // `setsid -c` makes the CLI a session leader whose controlling terminal
        // is its stdin, our slave, as a login shell's child would have it: the
        // kernel then sends it SIGWINCH when the size changes, and SIGHUP when
        // the terminal goes away. Our child is not a process group leader, so
        // setsid(1) calls setsid(2) and execs in place without forking: the
        // PID we hold is the CLI's own (checked below), so signals reach it
        // and `Child::kill` in `Drop` ends it.
        let cli = Command::new("setsid")
            .arg("-c")
            .arg(binary("orchestrate"))
            .arg("--socket")
            .arg(&daemon.socket)
            .args(args)
            .current_dir("/")
            .env_remove("ORCHESTRATOR_SOCKET")
            .stdin(stdio())
            .stdout(stdio())
            .stderr(stdio())
            .spawn()
            .expect("start setsid -c orchestrate");
        let session = Session {
            master: File::from(master),
            slave,
            output: Vec::new(),
            seen: 0,
            initial,
            cli: Some(cli),
        };
        let pid = session.pid();
        let cli_binary = binary("orchestrate");
        eventually("setsid execs orchestrate in place", || {
            // A CLI that already exited (a zombie) has no `exe` to read.
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == cli_binary)
                || !support::is_alive(pid)
        });
        session
    }

    fn pid(&self) -> i32 {
        self.cli.as_ref().expect("the CLI was started").id() as i32
    }

    /// Types `bytes` on the keyboard.
    fn type_keys(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).expect("write to the terminal");
    }

    /// Reads what the terminal shows until the text after the last match
    /// contains `needle`; returns that text up to the end of `needle`.
    fn expect(&mut self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let unread = &self.output[self.seen..];
            if let Some(at) = find(unread, needle.as_bytes()) {
                let end = self.seen + at + needle.len();
                let text = String::from_utf8_lossy(&self.output[self.seen..end]).into_owned();
                self.seen = end;
                return text;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "timed out waiting for {needle:?} on the terminal; after the last match it shows {:?}",
                String::from_utf8_lossy(unread)
            );
            self.read_some(Duration::from_millis(50));
        }
    }

    /// Reads whatever the terminal shows within `timeout`; false if nothing came.
    fn read_some(&mut self, timeout: Duration) -> bool {
        let mut entries = [sys::poll_entry(self.master.as_raw_fd())];
        if sys::poll(&mut entries, Some(timeout)).expect("poll the terminal") == 0 {
            return false;
        }
        let mut buffer = [0u8; 4096];
        // Our slave copy stays open, so the master never reports a hang-up (EIO).
        let count = self.master.read(&mut buffer).expect("read the terminal");
        self.output.extend_from_slice(&buffer[..count]);
        count > 0
    }

    /// Reads the terminal until the CLI exits; returns its exit code.
    fn wait_exit(&mut self) -> i32 {
        let start = Instant::now();
        loop {
            let cli = self.cli.as_mut().expect("the CLI was started");
            if let Some(status) = cli.try_wait().expect("wait for the CLI") {
                // What it wrote last is still in the terminal: take all of it.
                while self.read_some(Duration::ZERO) {}
                return status.code().unwrap_or_else(|| panic!("the CLI died of a signal: {status}"));
            }
            assert!(start.elapsed() < DEADLINE, "the CLI did not exit; the terminal shows {:?}", self.rest());
            // Keep reading, so a CLI with output still to write is never blocked on us.
            self.read_some(Duration::from_millis(20));
        }
    }

    /// What the terminal showed after the last `expect`.
    fn rest(&self) -> String {
        String::from_utf8_lossy(&self.output[self.seen..]).into_owned()
    }

    /// The terminal's settings now.
    fn settings(&self) -> TerminalSettings {
        sys::terminal_settings(self.slave.as_raw_fd()).expect("the terminal's settings")
    }

    /// Waits until the CLI has put the terminal in raw mode.
    fn wait_raw(&self) {
        eventually("the CLI puts its terminal in raw mode", || is_raw(&self.settings()));
    }

    /// Asserts that the terminal has exactly the settings it had before the CLI.
    fn assert_restored(&self, when: &str) {
        let now = self.settings();
        assert!(is_cooked(&now), "{when}: the terminal is cooked again (c_lflag {:#o})", now.c_lflag);
        assert_eq!(
            flags(&now),
            flags(&self.initial),
            "{when}: every setting is back as before the CLI (iflag, oflag, cflag, lflag, cc)"
        );
    }

    /// Resizes the terminal, as a user dragging the window's corner does.
    fn resize(&self, size: WindowSize) {
        sys::set_window_size(self.master.as_raw_fd(), size).expect("set the window size");
    }

    /// Sends `signal` to the CLI.
    fn signal(&self, signal: i32) {
        sys::kill(self.pid(), signal).expect("signal the CLI");
    }

    /// Types a command line into a shell, reads until the next prompt, and
    /// returns what it printed (the echoed command line included).
    fn command(&mut self, line: &str) -> String {
        self.type_keys(format!("{line}\r").as_bytes());
        // The prompt may follow terminal control sequences (bash turns
        // bracketed paste on for TERM=xterm): look for the prompt alone.
        self.expect(PROMPT)
    }

    /// The size the container's terminal reports (`stty size`) once it is
    /// `wanted`; fails after the deadline. The resize travels from the CLI
    /// through the daemon to the shim while the shell may already run, so
    /// the first answers may still show the old size: ask again.
    fn wait_container_size(&mut self, wanted: WindowSize) {
        let wanted = format!("size:{} {}:", wanted.rows, wanted.columns);
        let start = Instant::now();
        loop {
            // The echoed command line has `size:$(`, never `size:<digit>`.
            let shown = self.command("echo size:$(stty size):");
            if shown.contains(&wanted) {
                return;
            }
            assert!(start.elapsed() < DEADLINE, "the container's terminal never became {wanted}: {shown:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(mut cli) = self.cli.take() {
            let _ = cli.kill();
            let _ = cli.wait();
        }
    }
}

/// Busy threads, four per CPU, until dropped: a loaded machine, on which
/// any thread of the daemon may be preempted between two steps.
struct CpuLoad {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl CpuLoad {
    fn start() -> CpuLoad {
        let stop = Arc::new(AtomicBool::new(false));
        let count = std::thread::available_parallelism().map_or(4, |n| n.get()) * 4;
        let threads = (0..count)
            .map(|_| {
                let stop = Arc::clone(&stop);
                // Ends when `drop` sets `stop`.
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        CpuLoad { stop, threads }
    }
}

impl Drop for CpuLoad {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// Line editing, echo and signal keys all on: what a shell leaves behind.
fn is_cooked(settings: &TerminalSettings) -> bool {
    let wanted = libc::ICANON | libc::ECHO | libc::ISIG;
    settings.c_lflag & wanted == wanted && settings.c_oflag & libc::OPOST != 0
}

/// No line editing, no echo, no signal keys, no output processing (cfmakeraw).
fn is_raw(settings: &TerminalSettings) -> bool {
    settings.c_lflag & (libc::ICANON | libc::ECHO | libc::ISIG) == 0 && settings.c_oflag & libc::OPOST == 0
}

/// The comparable parts of the settings (termios has no `PartialEq`).
fn flags(settings: &TerminalSettings) -> (u32, u32, u32, u32, Vec<u8>) {
    (settings.c_iflag, settings.c_oflag, settings.c_cflag, settings.c_lflag, settings.c_cc.to_vec())
}

/// `run -it --name NAME -e PS1=… -- bash --norc -i` in a new terminal, up
/// to the first prompt, with the terminal already raw.
fn start_shell(daemon: &TestDaemon, name: &str, extra: &[&str], size: WindowSize) -> Session {
    let mut args = vec!["run", "-it", "--name", name, "-e", "PS1=tty-test$ ", "-e", "TERM=dumb"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "bash", "--norc", "-i"]);
    let mut session = Session::start(daemon, &args, size);
    let banner = session.expect(PROMPT);
    assert!(!banner.contains("no job control"), "bash has a controlling terminal: {banner:?}");
    session.wait_raw();
    session
}

/// The state letter of `/proc/PID/stat` (`R`, `S`, `T`, …), or `None` once gone.
fn process_state(pid: i32) -> Option<String> {
    support::stat_fields(pid).map(|(state, _, _, _)| state)
}

/// The container's processes whose command line is exactly `argv`.
fn processes_running(id: &str, argv: &[&str]) -> Vec<i32> {
    let wanted: String = argv.iter().map(|arg| format!("{arg}\0")).collect();
    container_processes(id)
        .into_iter()
        .filter(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == wanted.as_bytes()))
        .collect()
}

#[test]
fn an_interactive_shell_runs_commands_and_its_exit_code_is_the_clis() {
    let daemon = TestDaemon::start();
    let mut session = start_shell(&daemon, "shell", &[], DEFAULT_SIZE);
    assert_eq!(daemon.status("shell"), "running");
    let shown = session.command("echo hi $((6*7))");
    // The container's terminal echoes the line and ends lines with \r\n
    // (ONLCR); the CLI's raw terminal passes both through untouched.
    assert!(shown.contains("echo hi $((6*7))"), "the typed line is echoed: {shown:?}");
    assert!(shown.contains("\r\nhi 42\r\n"), "{shown:?}");
    session.wait_raw();

    session.type_keys(b"exit 5\r");
    assert_eq!(session.wait_exit(), 5, "the terminal shows {:?}", session.rest());
    session.assert_restored("after the shell exited");
    let state = &daemon.inspect("shell")["State"];
    assert_eq!((state["Status"].as_str(), state["ExitCode"].as_i64()), (Some("exited"), Some(5)), "{state}");
    let ps = daemon.cli_ok(&["ps", "-a"]);
    assert!(ps.lines().any(|row| row.contains("Exited (5)") && row.ends_with("shell")), "{ps}");
}

#[test]
fn the_terminal_is_restored_after_an_error_exit() {
    let daemon = TestDaemon::start();
    let mut session = Session::start(&daemon, &["run", "-it", "--", "no-such-command-here"], DEFAULT_SIZE);
    assert_eq!(session.wait_exit(), 127, "the terminal shows {:?}", session.rest());
    assert!(session.rest().contains("executable file not found"), "{:?}", session.rest());
    session.assert_restored("after a command that was not found");

    daemon.cli_ok(&["create", "--name", "taken", "--", "true"]);
    let mut session = Session::start(&daemon, &["run", "-it", "--name", "taken", "--", "sh"], DEFAULT_SIZE);
    assert_eq!(session.wait_exit(), 125, "the terminal shows {:?}", session.rest());
    assert!(session.rest().contains("already in use"), "{:?}", session.rest());
    session.assert_restored("after the daemon refused the name");
}

#[test]
fn the_terminal_is_restored_when_the_cli_is_killed_by_a_signal() {
    let daemon = TestDaemon::start();
    for (signal, name) in [(libc::SIGTERM, "term"), (libc::SIGHUP, "hup"), (libc::SIGINT, "int")] {
        let mut session = start_shell(&daemon, name, &[], DEFAULT_SIZE);
        session.signal(signal);
        assert_eq!(session.wait_exit(), 128 + signal, "{name}: the terminal shows {:?}", session.rest());
        session.assert_restored(&format!("after signal {signal}"));
        // As the docker CLI with a TTY: the signal ends the client only.
        assert_eq!(daemon.status(name), "running", "{name}: the container goes on");
    }
}

#[test]
fn the_window_size_reaches_the_container_at_start_and_after_sigwinch() {
    let daemon = TestDaemon::start();
    let first = WindowSize { rows: 33, columns: 111 };
    let mut session = start_shell(&daemon, "sized", &[], first);
    session.wait_container_size(first);

    let second = WindowSize { rows: 44, columns: 120 };
    // Resizing our terminal makes the kernel send SIGWINCH to its foreground
    // process group, the CLI. A second one from us, as `kill -WINCH` sends
    // it, must do no harm; the third size below relies on the kernel alone.
    session.resize(second);
    session.signal(libc::SIGWINCH);
    session.wait_container_size(second);
    let third = WindowSize { rows: 20, columns: 70 };
    session.resize(third);
    session.wait_container_size(third);
    session.type_keys(b"exit\r");
    assert_eq!(session.wait_exit(), 0);
    session.assert_restored("after the shell exited");
}

#[test]
fn job_control_ctrl_z_and_ctrl_c_work_inside_the_container() {
    let daemon = TestDaemon::start();
    let mut session = start_shell(&daemon, "jobs", &[], DEFAULT_SIZE);
    let id = daemon.inspect("jobs")["Id"].as_str().unwrap().to_string();
    let shown = session.command("sleep 100 &");
    // `[1] PID`: the container shares our PID namespace.
    let background: i32 = shown
        .split("[1] ")
        .nth(1)
        .and_then(|rest| rest.split("\r\n").next())
        .and_then(|pid| pid.trim().parse().ok())
        .unwrap_or_else(|| panic!("bash reports the background job: {shown:?}"));
    let shown = session.command("jobs");
    assert!(
        shown.contains("[1]+") && shown.contains("Running") && shown.contains("sleep 100 &"),
        "{shown:?}"
    );

    session.type_keys(b"sleep 100\r");
    let mut foreground = 0;
    eventually("the foreground sleep runs", || {
        let sleeps = processes_running(&id, &["sleep", "100"]);
        foreground = sleeps.into_iter().find(|&pid| pid != background).unwrap_or(0);
        foreground != 0
    });
    // Raw on our side, so Ctrl-Z and Ctrl-C are bytes for the container's
    // terminal, whose line discipline turns them into SIGTSTP and SIGINT for
    // its foreground process group, as bash set it.
    session.type_keys(&[CTRL_Z]);
    session.expect("Stopped");
    session.expect(PROMPT);
    eventually("Ctrl-Z stopped the foreground sleep", || process_state(foreground).as_deref() == Some("T"));
    session.type_keys(b"fg\r");
    session.expect("sleep 100\r\n");
    eventually("fg continued it", || process_state(foreground).is_some_and(|state| state != "T"));

    session.type_keys(&[CTRL_C]);
    session.expect(PROMPT);
    eventually("Ctrl-C ended the foreground sleep", || !support::is_alive(foreground));
    assert!(support::is_alive(background), "the background job is untouched");
    let shown = session.command("echo alive $((1+1))");
    assert!(shown.contains("\r\nalive 2\r\n"), "the shell survived Ctrl-C: {shown:?}");
    assert_eq!(daemon.status("jobs"), "running");
    session.type_keys(b"kill %1; exit 7\r");
    assert_eq!(session.wait_exit(), 7, "the terminal shows {:?}", session.rest());
    session.assert_restored("after the shell exited");
}

#[test]
fn detach_keys_leave_the_container_running_and_attach_joins_it_again() {
    let daemon = TestDaemon::start();
    let mut session = start_shell(&daemon, "shell", &[], DEFAULT_SIZE);
    assert!(session.command("echo before").contains("\r\nbefore\r\n"));
    // The keys arrive in two reads: the CLI holds Ctrl-P back until it knows.
    session.type_keys(&[CTRL_P]);
    session.read_some(Duration::from_millis(100));
    session.type_keys(&[CTRL_Q]);
    assert_eq!(session.wait_exit(), 0, "a detach exits 0; the terminal shows {:?}", session.rest());
    session.assert_restored("after Ctrl-P Ctrl-Q");
    assert_eq!(daemon.status("shell"), "running", "the container goes on after a detach");
    let ps = daemon.cli_ok(&["ps"]);
    assert!(ps.lines().any(|row| row.contains("Up ") && row.ends_with("shell")), "{ps}");

    // A new terminal of another size, as a user would use the next day:
    // attach sends its size too.
    let size = WindowSize { rows: 40, columns: 100 };
    let mut attached = Session::start(&daemon, &["attach", "shell"], size);
    attached.wait_raw();
    attached.type_keys(b"echo again $((2+3))\r");
    attached.expect("\r\nagain 5\r\n");
    attached.wait_container_size(size);
    attached.type_keys(&[CTRL_P, CTRL_Q]);
    assert_eq!(attached.wait_exit(), 0, "the terminal shows {:?}", attached.rest());
    attached.assert_restored("after detaching from attach");
    assert_eq!(daemon.status("shell"), "running");

    let mut attached =
        Session::start(&daemon, &["attach", "--detach-keys", "ctrl-x,x", "shell"], DEFAULT_SIZE);
    attached.wait_raw();
    // A lone `x` is ordinary input: only Ctrl-X then x detaches.
    attached.type_keys(b"echo x$((1+1))x\r");
    attached.expect("\r\nx2x\r\n");
    attached.type_keys(&[CTRL_X, b'x']);
    assert_eq!(attached.wait_exit(), 0, "the terminal shows {:?}", attached.rest());
    attached.assert_restored("after Ctrl-X x");
    assert_eq!(daemon.status("shell"), "running");

    // Attached until the end: the shell's exit code is attach's.
    let mut attached = Session::start(&daemon, &["attach", "shell"], DEFAULT_SIZE);
    attached.wait_raw();
    attached.type_keys(b"exit 3\r");
    assert_eq!(attached.wait_exit(), 3, "the terminal shows {:?}", attached.rest());
    attached.assert_restored("after the shell exited under attach");
    daemon.wait_status("shell", "exited");
}

#[test]
fn run_detach_keys_option_detaches_and_the_defaults_are_input() {
    let daemon = TestDaemon::start();
    let mut session = start_shell(&daemon, "custom", &["--detach-keys", "ctrl-x,x"], DEFAULT_SIZE);
    // Ctrl-P alone is ordinary input with other keys chosen: readline takes
    // it as "previous line", which recalls the command typed before.
    assert!(session.command("echo first").contains("\r\nfirst\r\n"));
    session.type_keys(&[CTRL_P]);
    session.type_keys(b"\r");
    session.expect("\r\nfirst\r\n");
    session.type_keys(&[CTRL_X, b'x']);
    assert_eq!(session.wait_exit(), 0, "the terminal shows {:?}", session.rest());
    session.assert_restored("after Ctrl-X x");
    assert_eq!(daemon.status("custom"), "running");
}

#[test]
fn start_a_i_of_a_tty_container_is_an_interactive_session() {
    let daemon = TestDaemon::start();
    daemon.cli_ok(&[
        "create",
        "-it",
        "--name",
        "later",
        "-e",
        "PS1=tty-test$ ",
        "-e",
        "TERM=dumb",
        "--",
        "bash",
        "--norc",
        "-i",
    ]);
    let mut session = Session::start(&daemon, &["start", "-a", "-i", "later"], DEFAULT_SIZE);
    session.expect(PROMPT);
    session.wait_raw();
    assert!(session.command("echo started $((3*3))").contains("\r\nstarted 9\r\n"));
    session.type_keys(b"exit 6\r");
    assert_eq!(session.wait_exit(), 6, "the terminal shows {:?}", session.rest());
    session.assert_restored("after start -a -i");
}

#[test]
fn exec_it_gives_an_interactive_shell_its_own_terminal() {
    let daemon = TestDaemon::start();
    let id = daemon.run(&["--name", "box", "--", "sleep", "1000"]);
    let size = WindowSize { rows: 30, columns: 90 };
    let mut session = Session::start(
        &daemon,
        &["exec", "-it", "-e", "PS1=tty-test$ ", "-e", "TERM=dumb", "box", "--", "sh"],
        size,
    );
    session.expect(PROMPT);
    session.wait_raw();
    let shown = session.command("tty");
    let line = shown.split("\r\n").find(|line| line.starts_with("/dev/")).unwrap_or("");
    let number = line.strip_prefix("/dev/pts/").unwrap_or("");
    assert!(
        !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()),
        "tty prints /dev/pts/N: {shown:?}"
    );
    // Not the size at the start: `exec_t_gets_the_window_size_at_its_start`
    // shows how that one can be lost.
    let bigger = WindowSize { rows: 50, columns: 160 };
    session.resize(bigger);
    session.wait_container_size(bigger);

    session.type_keys(b"exit 4\r");
    assert_eq!(session.wait_exit(), 4, "the terminal shows {:?}", session.rest());
    session.assert_restored("after exec's shell exited");
    assert_eq!(daemon.status("box"), "running", "the exec ended, not the container");

    // Detaching from an exec leaves its shell running in the container.
    let mut session = Session::start(
        &daemon,
        &["exec", "-it", "-e", "PS1=tty-test$ ", "-e", "TERM=dumb", "box", "--", "sh"],
        size,
    );
    session.expect(PROMPT);
    session.wait_raw();
    let shells = processes_running(&id, &["sh"]);
    assert_eq!(shells.len(), 1, "one exec shell runs");
    session.type_keys(&[CTRL_P, CTRL_Q]);
    assert_eq!(session.wait_exit(), 0, "the terminal shows {:?}", session.rest());
    session.assert_restored("after detaching from exec");
    std::thread::sleep(STILL_RUNNING_WINDOW);
    assert!(support::is_alive(shells[0]), "the exec's shell goes on after a detach");
}

#[test]
fn run_t_without_i_prints_terminal_output_and_leaves_the_terminal_cooked() {
    let daemon = TestDaemon::start();
    // The CLI sends the window size once the container has started (API 1.41
    // has no `ConsoleSize` at create), so the first `stty size` may still see
    // 0 0: the script waits for the resize. The `sleep 1` keeps the session
    // open while the test looks at the terminal's settings.
    let script = concat!(
        "tty; i=0; while [ \"$(stty size)\" = '0 0' ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; ",
        "echo \"size $(stty size)\"; sleep 1; echo done; exit 3",
    );
    let mut session =
        Session::start(&daemon, &["run", "-t", "--name", "out", "--", "sh", "-c", script], DEFAULT_SIZE);
    // The CLI passes the container's `\r\n` through, and our terminal, still
    // cooked (ONLCR), turns its `\n` into `\r\n` once more: `\r\r\n`, which
    // looks the same on a screen (and is what the docker CLI shows too).
    let shown = session.expect("\r\r\n");
    assert!(shown.starts_with("/dev/pts/"), "{shown:?}");
    session.expect("size 24 80\r\r\n");
    // Without -i nothing is typed into the container: the terminal stays as the user had it.
    assert!(is_cooked(&session.settings()), "no raw mode without -i");
    assert!(support::is_alive(session.pid()), "the settings were read during the session");
    session.expect("done\r\r\n");
    assert_eq!(session.wait_exit(), 3, "the terminal shows {:?}", session.rest());
    session.assert_restored("after run -t");

    // With no terminal at all: -t alone is fine, and the output is still a
    // terminal's; -it refuses, as the docker CLI does.
    let piped = daemon.cli(&["run", "-t", "--", "sh", "-c", "printf 'a\\nb\\n'; echo err >&2; exit 6"]);
    assert_eq!(piped.status.code(), Some(6), "{}", stderr(&piped));
    assert_eq!(stdout(&piped), "a\r\nb\r\nerr\r\n", "one terminal carries stdout and stderr");
    let refused = daemon.cli(&["run", "-it", "--", "sh"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("the input device is not a TTY"), "{}", stderr(&refused));
}

#[test]
fn logs_of_a_tty_container_are_the_raw_terminal_output() {
    let daemon = TestDaemon::start();
    daemon.run(&[
        "-d",
        "-t",
        "--name",
        "raw",
        "--",
        "sh",
        "-c",
        "printf 'one\\ntwo\\n'; printf 'err\\n' >&2",
    ]);
    daemon.wait_status("raw", "exited");
    let logs = daemon.cli(&["logs", "raw"]);
    assert_eq!(stdout(&logs), "one\r\ntwo\r\nerr\r\n", "a terminal has one stream, with \\r\\n line ends");
    assert_eq!(stderr(&logs), "");

    // An interactive session's log is what its terminal showed, echo included.
    let mut session = start_shell(&daemon, "talk", &[], DEFAULT_SIZE);
    session.command("echo hi $((6*7))");
    session.type_keys(b"exit\r");
    assert_eq!(session.wait_exit(), 0);
    let logs = daemon.cli_ok(&["logs", "talk"]);
    assert!(logs.contains("echo hi $((6*7))") && logs.contains("\r\nhi 42\r\n"), "{logs:?}");
}

#[test]
fn the_terminal_is_restored_when_the_daemon_goes_away_during_a_session() {
    let mut daemon = TestDaemon::start();
    let mut session = start_shell(&daemon, "orphan", &[], DEFAULT_SIZE);
    let id = daemon.inspect("orphan")["Id"].as_str().unwrap().to_string();
    daemon.kill_daemon();
    let code = session.wait_exit();
    assert_ne!(code, 0, "a lost connection is an error; the terminal shows {:?}", session.rest());
    session.assert_restored("after the daemon went away");
    assert!(
        !processes_running(&id, &["bash", "--norc", "-i"]).is_empty(),
        "the shell goes on without its daemon"
    );
}

#[test]
fn exec_t_gets_the_window_size_at_its_start() {
    let daemon = TestDaemon::start();
    daemon.run(&["--name", "box", "--", "sleep", "1000"]);
    let size = WindowSize { rows: 30, columns: 90 };
    // Many at once on a loaded machine: each CLI sends its size as soon as it
    // reads the 101. Busy threads of ours keep every CPU taken, so the
    // daemon's thread is often preempted between sending the 101 and
    // recording the terminal. The command waits up to 5 s for a size: a
    // resize that is only late passes, one that was lost shows "0 0".
    let _load = CpuLoad::start();
    let script = "for i in $(seq 50); do [ \"$(stty size)\" != '0 0' ] && break; sleep 0.1; done; stty size";
    let sessions: Vec<Session> = (0..EXECS_AT_ONCE)
        .map(|_| Session::start(&daemon, &["exec", "-t", "box", "--", "sh", "-c", script], size))
        .collect();
    let mut lost = Vec::new();
    for mut session in sessions {
        assert_eq!(session.wait_exit(), 0, "the terminal shows {:?}", session.rest());
        if !session.rest().starts_with("30 90\r") {
            lost.push(session.rest());
        }
    }
    assert!(lost.is_empty(), "{} of {EXECS_AT_ONCE} execs kept another size: {lost:?}", lost.len());
}

#[test]
fn an_exec_resize_made_before_its_start_applies_once_it_runs() {
    let daemon = TestDaemon::start();
    daemon.run(&["--name", "box", "--", "sleep", "1000"]);
    let body = serde_json::json!({
        "Tty": true,
        "AttachStdout": true,
        "AttachStderr": true,
        "Cmd": ["sh", "-c", "sleep 0.5; stty size"],
    });
    let (status, created) = daemon.api("POST", "/containers/box/exec", Some(body));
    assert_eq!(status, 201, "{created}");
    let id = created["Id"].as_str().unwrap().to_string();
    // dockerd's ContainerExecResize waits (up to 10 s) for the exec to start,
    // so a client that resizes at once never loses the size.
    let socket = daemon.socket.clone();
    let resize_path = format!("/exec/{id}/resize?h=30&w=90");
    let resize = std::thread::spawn(move || support::http_request(&socket, "POST", &resize_path, None).0);
    // Not a synchronization: the pause only makes the resize come first, as
    // it does in the race; a daemon that waits for the start holds it.
    std::thread::sleep(Duration::from_millis(200));
    let output = start_exec_attached(&daemon, &id);
    assert_eq!(resize.join().unwrap(), 200);
    assert_eq!(output, "30 90\r\n", "the size sent before the start");
}

/// `POST /exec/ID/start` upgraded, as the docker CLI sends it; returns the
/// raw stream until the daemon closes it.
fn start_exec_attached(daemon: &TestDaemon, id: &str) -> String {
    use std::io::{BufRead, BufReader};
    let mut stream = std::os::unix::net::UnixStream::connect(&daemon.socket).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let body = r#"{"Detach":false,"Tty":true}"#;
    let request = format!(
        "POST /exec/{id}/start HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 101"), "{status}");
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
    }
    let mut output = String::new();
    reader.read_to_string(&mut output).unwrap();
    output
}

#[test]
fn a_tty_container_gets_term_xterm_as_docker_sets_it() {
    let daemon = TestDaemon::start();
    let with_tty = daemon.cli(&["run", "-t", "--", "sh", "-c", "echo \"TERM=$TERM\""]);
    assert_eq!(stdout(&with_tty), "TERM=xterm\r\n");
    let without = daemon.cli(&["run", "-a", "--", "sh", "-c", "echo \"TERM=$TERM\""]);
    assert_eq!(stdout(&without), "TERM=\n", "no TERM without a terminal");
}

#[test]
fn a_lost_daemon_during_run_it_exits_125_as_the_docker_cli_does() {
    let mut daemon = TestDaemon::start();
    let mut session = start_shell(&daemon, "orphan", &[], DEFAULT_SIZE);
    daemon.kill_daemon();
    assert_eq!(session.wait_exit(), 125, "the terminal shows {:?}", session.rest());
    assert!(session.rest().contains("rror waiting for container"), "{:?}", session.rest());
}
