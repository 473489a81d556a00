//! The shim is started by the daemon, never by hand: without its container
//! directory it says so. (Also makes `cargo test --workspace` build the
//! `orchestrator-shim` binary the daemon starts.)

use std::process::Command;

#[test]
fn refuses_to_start_without_a_container_directory() {
    let output = Command::new(env!("CARGO_BIN_EXE_orchestrator-shim")).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage: orchestrator-shim CONTAINER_DIR"));
}
