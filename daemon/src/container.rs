//! One container in the daemon's memory: its configuration and runtime state
//! behind a `Mutex`, and a `Condvar` notified on every change, which is how
//! `wait`, `stop` and queued operations learn that something happened without
//! polling. Operations on one container are serialized by a `busy` flag under
//! the same lock (`begin_operation`), so no lock is ever held across blocking
//! I/O, yet two `start`s, or a `start` racing an `rm`, can never both win
//! (SPEC §7, docs/06-daemon-threads.md).

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::paths::ContainerDir;
use common::state::State;
use common::wire::ContainerConfig;

/// A container known to the daemon.
pub struct Container {
    pub id: String,
    pub dir: ContainerDir,
    /// Guarded by its own lock; `changed` is notified whenever it changes.
    state: Mutex<ContainerState>,
    changed: Condvar,
}

/// What is known about a container right now.
#[derive(Debug, Clone)]
pub struct ContainerState {
    pub config: ContainerConfig,
    pub status: State,
    /// PID of the main process and of its shim while running, else 0.
    pub pid: i32,
    pub shim_pid: i32,
    pub exit_code: i32,
    /// Why the last start failed or the last run ended abnormally.
    pub error: String,
    pub finished_at: String,
    /// Runs started so far: each start gets a new number, so an exit reported
    /// late for an earlier run can never end the current one.
    pub run: u64,
    /// Exits recorded so far (`wait?condition=next-exit` waits for it to grow).
    pub exits: u64,
    /// Set when the container has been removed (`wait?condition=removed`).
    pub removed: bool,
    /// Grows each time the shim reports that the log grew: log followers
    /// wait for it to change (docs/08-logs.md).
    pub log_generation: u64,
    /// The live log file's inode when `log_generation` last grew (0: not
    /// known): followers compare their file with it to notice a rotation.
    pub log_inode: u64,
    /// Restarts in a row without a run of `restart_policy::STEADY_RUN`: the
    /// exponent of the back-off.
    pub restarts_in_a_row: u32,
    /// An operation (start, stop, rm, …) is in flight; others queue behind it.
    busy: bool,
}

/// A running operation on one container; dropping it lets the next one in.
pub struct Operation<'a> {
    container: &'a Container,
}

impl Container {
    pub fn new(dir: ContainerDir, config: ContainerConfig, status: State) -> Container {
        Container {
            id: config.id.clone(),
            dir,
            state: Mutex::new(ContainerState {
                config,
                status,
                pid: 0,
                shim_pid: 0,
                exit_code: 0,
                error: String::new(),
                finished_at: String::new(),
                run: 0,
                exits: 0,
                removed: false,
                restarts_in_a_row: 0,
                log_generation: 0,
                log_inode: 0,
                busy: false,
            }),
            changed: Condvar::new(),
        }
    }

    /// The state, locked. Hold it briefly: never across I/O or a wait.
    pub fn lock(&self) -> MutexGuard<'_, ContainerState> {
        self.state.lock().expect("invariant: no thread panics while holding a container lock")
    }

    /// The current state. (A `match` on `self.lock().status` would hold the
    /// lock for the whole match: Rust keeps a scrutinee's temporaries alive.)
    pub fn status(&self) -> State {
        self.lock().status
    }

    /// A copy of the state, for building a response without holding the lock.
    pub fn snapshot(&self) -> ContainerState {
        self.lock().clone()
    }

    /// Changes the state and wakes every thread waiting for a change.
    pub fn update<T>(&self, change: impl FnOnce(&mut ContainerState) -> T) -> T {
        let result = change(&mut self.lock());
        self.changed.notify_all();
        result
    }

    /// Waits until no other operation runs on this container, then marks one
    /// as running. Ends when the previous operation's `Operation` is dropped.
    pub fn begin_operation(&self) -> Operation<'_> {
        let mut state = self.lock();
        while state.busy {
            state = self.changed.wait(state).expect("invariant: container lock not poisoned");
        }
        state.busy = true;
        Operation { container: self }
    }

    /// Blocks until `done` holds for the state, or `timeout` passes (`None`:
    /// no limit). Returns whether `done` held. Woken by every `update`.
    pub fn wait_until(&self, timeout: Option<Duration>, done: impl Fn(&ContainerState) -> bool) -> bool {
        self.wait_then(timeout, |state| done(state).then_some(())).is_some()
    }

    /// Blocks until `check` returns something for the state, or `timeout`
    /// passes (`None`: no limit), and returns it — in the same lock as the
    /// wait, so a woken waiter takes the lock once, not twice. The one wait
    /// loop on the container's `Condvar`.
    pub fn wait_then<T>(
        &self,
        timeout: Option<Duration>,
        check: impl Fn(&ContainerState) -> Option<T>,
    ) -> Option<T> {
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        let mut state = self.lock();
        loop {
            if let Some(found) = check(&state) {
                return Some(found);
            }
            state = match deadline {
                None => self.changed.wait(state).expect("invariant: container lock not poisoned"),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    self.changed.wait_timeout(state, left).expect("invariant: container lock not poisoned").0
                }
            };
        }
    }
}

impl Drop for Operation<'_> {
    fn drop(&mut self) {
        self.container.update(|state| state.busy = false);
    }
}
