//! The daemon's command line. (Also makes `cargo test --workspace` build the
//! `orchestratord` binary that the suites in `tests/` start.)

use std::process::Command;

#[test]
fn help_and_bad_flags() {
    let daemon = env!("CARGO_BIN_EXE_orchestratord");
    let help = Command::new(daemon).arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).starts_with("Usage: orchestratord"));
    let bad = Command::new(daemon).arg("--bogus").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--bogus"));
}

#[test]
fn refuses_a_socket_path_too_long_for_unix_sockets() {
    let long = format!("/tmp/{}/sock", "x".repeat(120));
    let output = Command::new(env!("CARGO_BIN_EXE_orchestratord"))
        .args(["--socket", &long, "--root", "/tmp/orc-usage-root"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("longer than a Unix socket allows"));
    let _ = std::fs::remove_dir_all("/tmp/orc-usage-root");
}
