//! The shim as subreaper: with `PR_SET_CHILD_SUBREAPER` set, a container process
//! whose parent dies is re-parented to the shim instead of to PID 1, so even a
//! grandchild that left the container's process group (`setsid`) stays ours to
//! find, kill and reap. Descendants whose parents are still alive are found
//! through `/proc` (docs/05-subreaper.md, prctl(2), proc(5)).

use std::collections::HashMap;

use common::sys::{self, Pid};

/// Every living descendant of this process, children first.
pub fn descendants() -> Vec<Pid> {
    let parents = process_parents();
    let mut children_of: HashMap<Pid, Vec<Pid>> = HashMap::new();
    for (&pid, &parent) in &parents {
        children_of.entry(parent).or_default().push(pid);
    }
    let mut found = Vec::new();
    let mut queue = vec![sys::getpid()];
    while let Some(pid) = queue.pop() {
        for &child in children_of.get(&pid).map(Vec::as_slice).unwrap_or(&[]) {
            found.push(child);
            queue.push(child);
        }
    }
    found
}

/// Sends `signal` to every descendant. A process that died in the meantime
/// (ESRCH) is simply gone already.
pub fn signal_descendants(signal: i32) {
    for pid in descendants() {
        let _ = sys::kill(pid, signal);
    }
}

/// Kills every process left of the container: its process group, then every
/// descendant, again until none is found alive (a process may fork while we
/// look). Zombies are left for the reaping loop.
pub fn kill_everything(process_group: Pid) {
    let _ = sys::killpg(process_group, libc::SIGKILL);
    loop {
        let alive = descendants();
        if alive.is_empty() {
            return;
        }
        for pid in alive {
            let _ = sys::kill(pid, libc::SIGKILL);
        }
        // SIGKILL is delivered before kill(2) returns for a process that is
        // not in uninterruptible sleep; look again for children forked meanwhile.
        std::thread::yield_now();
        if descendants().iter().all(|&pid| is_zombie(pid)) {
            return;
        }
    }
}

/// pid → parent pid of every process on the machine, from `/proc/PID/stat`,
/// leaving out zombies: they are already dead and wait only to be reaped.
fn process_parents() -> HashMap<Pid, Pid> {
    let mut parents = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return parents };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<Pid>().ok()) else {
            continue;
        };
        if let Some((state, parent)) = read_stat(pid) {
            if state != 'Z' {
                parents.insert(pid, parent);
            }
        }
    }
    parents
}

fn is_zombie(pid: Pid) -> bool {
    read_stat(pid).is_none_or(|(state, _)| state == 'Z')
}

/// The state letter and parent PID from `/proc/PID/stat`. The command name in
/// parentheses may itself contain spaces and parentheses, so parsing starts
/// after the last `)`.
fn read_stat(pid: Pid) -> Option<(char, Pid)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let parent = fields.next()?.parse().ok()?;
    Some((state, parent))
}
