//! The shim as subreaper: with `PR_SET_CHILD_SUBREAPER` set, a container process
//! whose parent dies is re-parented to the shim instead of to PID 1, so even a
//! grandchild that left the container's process group (`setsid`) stays ours to
//! find, kill and reap. Descendants whose parents are still alive are found
//! through `/proc` (`common::proc`; docs/05-subreaper.md, prctl(2)).

use common::sys::{self, Pid};

/// Every living descendant of this process, parents before children.
pub fn descendants() -> Vec<Pid> {
    common::proc::descendants(sys::getpid())
}

/// Sends `signal` to every descendant, looking again until a look finds no
/// process it has not signalled yet: one forked while we signalled (its
/// parent not stopped yet, for a pause) gets it too. A process that died in
/// the meantime (ESRCH) is simply gone already.
pub fn signal_descendants(signal: i32) {
    let mut signalled = std::collections::HashSet::new();
    loop {
        let new: Vec<Pid> = descendants().into_iter().filter(|pid| !signalled.contains(pid)).collect();
        if new.is_empty() {
            return;
        }
        for pid in new {
            let _ = sys::kill(pid, signal);
            signalled.insert(pid);
        }
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
        if descendants().iter().all(|&pid| common::proc::is_dead(pid)) {
            return;
        }
    }
}
