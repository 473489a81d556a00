//! Every command answers `--help` with its usage, without needing a daemon.
//! (Also makes `cargo test --workspace` build the `orchestrate` binary that the
//! suites in `tests/` drive.)

use std::process::Command;

const COMMANDS: &[&str] = &[
    "run", "create", "start", "stop", "restart", "kill", "rm", "prune", "pause", "unpause", "ps", "inspect",
    "logs", "wait", "rename", "version", "info",
];

fn orchestrate(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_orchestrate"))
        .args(args)
        .env("ORCHESTRATOR_SOCKET", "/nonexistent/socket")
        .output()
        .unwrap()
}

#[test]
fn every_command_has_help() {
    for command in COMMANDS {
        let output = orchestrate(&[command, "--help"]);
        let text = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{command} --help");
        assert!(text.starts_with(&format!("Usage: orchestrate {command}")), "{command}: {text}");
    }
    let overview = String::from_utf8(orchestrate(&["--help"]).stdout).unwrap();
    for command in COMMANDS {
        assert!(overview.contains(&format!("\n  {command} ")), "the overview lists {command}");
    }
}

#[test]
fn usage_mistakes_are_reported() {
    let output = orchestrate(&["stop"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("requires at least 1 argument"));
    let output = orchestrate(&["run", "--bogus", "true"]);
    assert_eq!(output.status.code(), Some(125), "run's own errors exit 125");
    let output = orchestrate(&["run"]);
    assert_eq!(output.status.code(), Some(125));
}
