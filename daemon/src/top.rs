//! `GET /containers/{id}/top`: the container's processes. Docker runs `ps` on
//! the host and keeps the rows of the container's PIDs; here the processes are
//! the living descendants of the container's shim, read straight from `/proc`,
//! with the columns of `ps -ef`.

use serde_json::{json, Value};

use common::proc;

use crate::api_error::ApiError;
use crate::container::Container;

/// The `Titles` and `Processes` of `docker top`.
pub fn processes(container: &Container) -> Result<Value, ApiError> {
    let state = container.snapshot();
    if !state.status.has_processes() {
        return Err(ApiError::Conflict(format!("Container {} is not running", container.id)));
    }
    let ticks = common::sys::clock_ticks_per_second();
    let boot = boot_time_seconds();
    let users = user_names();
    let rows: Vec<Vec<String>> = proc::descendants(state.shim_pid)
        .into_iter()
        .filter_map(|pid| {
            let stat = proc::stat(pid)?;
            let uid = owner(pid).unwrap_or(0);
            let started = boot + stat.start_ticks / ticks;
            let cpu = stat.cpu_ticks / ticks;
            Some(vec![
                users.get(&uid).cloned().unwrap_or_else(|| uid.to_string()),
                pid.to_string(),
                stat.parent.to_string(),
                "0".to_string(),
                format!("{:02}:{:02}", started / 3600 % 24, started / 60 % 60),
                if stat.tty == 0 { "?".to_string() } else { format!("pts/{}", stat.tty & 0xff) },
                format!("{:02}:{:02}:{:02}", cpu / 3600, cpu / 60 % 60, cpu % 60),
                command_line(pid),
            ])
        })
        .collect();
    Ok(json!({
        "Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
        "Processes": rows,
    }))
}

/// The real user ID, from `/proc/PID/status`.
fn owner(pid: i32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| line.strip_prefix("Uid:"))?.split_whitespace().next()?.parse().ok()
}

/// The arguments, as `ps` shows them; `[name]` for a process without any.
fn command_line(pid: i32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let words: Vec<String> = raw
        .split(|&b| b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    if words.is_empty() {
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        format!("[{}]", name.trim())
    } else {
        words.join(" ")
    }
}

/// Seconds since the epoch at boot (`btime` in `/proc/stat`).
fn boot_time_seconds() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    stat.lines().find_map(|line| line.strip_prefix("btime ")?.trim().parse().ok()).unwrap_or(0)
}

/// User IDs to names, from `/etc/passwd`.
fn user_names() -> std::collections::HashMap<u32, String> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            Some((fields.get(2)?.parse().ok()?, fields.first()?.to_string()))
        })
        .collect()
}
