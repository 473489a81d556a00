//! The process tree as the kernel shows it in `/proc` (proc(5)): a process's
//! state letter and parent from `/proc/PID/stat`, and every living descendant
//! of a process. The shim uses it to find container processes that left its
//! process group, recovery to tell a paused container (state `T`), and `top`
//! to list a container's processes.

use std::collections::HashMap;

use crate::sys::Pid;

/// What `/proc/PID/stat` says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessStat {
    /// `R` running, `S` sleeping, `T` stopped, `Z` zombie, …
    pub state: char,
    pub parent: Pid,
    /// The controlling terminal's device number, 0 for none.
    pub tty: u64,
    /// CPU time used, in clock ticks (user plus system).
    pub cpu_ticks: u64,
    /// When the process started, in clock ticks after boot.
    pub start_ticks: u64,
}

/// The state and parent of `pid`, or `None` if it is gone. The command name
/// in parentheses may itself contain spaces and parentheses, so parsing starts
/// after the last `)`.
pub fn stat(pid: Pid) -> Option<ProcessStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields 3 onwards of proc(5): state, ppid, pgrp, session, tty_nr, …
    let fields: Vec<&str> = text[text.rfind(')')? + 1..].split_whitespace().collect();
    let number = |index: usize| fields.get(index)?.parse::<u64>().ok();
    Some(ProcessStat {
        state: fields.first()?.chars().next()?,
        parent: fields.get(1)?.parse().ok()?,
        tty: number(4)?,
        cpu_ticks: number(11)? + number(12)?,
        start_ticks: number(19)?,
    })
}

/// Every living (not zombie) descendant of `root`, parents before children.
pub fn descendants(root: Pid) -> Vec<Pid> {
    let mut children_of: HashMap<Pid, Vec<Pid>> = HashMap::new();
    for pid in all_pids() {
        if let Some(found) = stat(pid).filter(|s| s.state != 'Z') {
            children_of.entry(found.parent).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        for &child in children_of.get(&pid).map(Vec::as_slice).unwrap_or(&[]) {
            found.push(child);
            queue.push(child);
        }
    }
    found
}

/// True if the process is gone or only a zombie waiting to be reaped.
pub fn is_dead(pid: Pid) -> bool {
    stat(pid).is_none_or(|s| s.state == 'Z')
}

/// Every living process whose environment holds `entry` (`KEY=value`), as
/// `/proc/PID/environ` shows it: the environment it was started with.
pub fn with_environment_entry(entry: &str) -> Vec<Pid> {
    all_pids()
        .into_iter()
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|environ| environ.split(|&b| b == 0).any(|e| e == entry.as_bytes()))
        })
        .filter(|&pid| !is_dead(pid))
        .collect()
}

/// The PIDs in `/proc` right now.
pub fn all_pids() -> Vec<Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries.flatten().filter_map(|entry| entry.file_name().to_str()?.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_and_a_child() {
        let me = crate::sys::getpid();
        assert!(matches!(stat(me), Some(ProcessStat { state: 'R' | 'S', .. })));
        let mut child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        assert!(descendants(me).contains(&(child.id() as Pid)));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(is_dead(child.id() as Pid));
    }
}
