//! The container lifecycle: create, start, stop, kill, restart, remove,
//! rename, prune and wait. Each operation takes the container's operation slot
//! (so operations on one container run one at a time), asks the state table
//! what the action means in the current state, does the work through the shim,
//! and records the result. No operation decides a transition itself
//! (docs/03-state-machine.md).

use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::time::Duration;

use common::names;
use common::signals::parse_signal;
use common::state::{decide, Action, Decision, State};
use common::sys::WindowSize;
use common::time::parse_rfc3339;
use common::wire::{ShimRequest, SignalScope};

use crate::api_error::ApiError;
use crate::container::{Container, ContainerState};
use crate::create_request;
use crate::engine::Engine;
use crate::restart_policy;
use crate::shim_link::{self, LaunchFailure};

/// Docker's default grace period between the stop signal and SIGKILL.
pub const DEFAULT_STOP_TIMEOUT_SECONDS: i64 = 10;
/// How long to wait for a SIGKILLed container's shim to report the exit.
const KILL_CONFIRM_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts at a free generated name before giving up.
const NAME_ATTEMPTS: u32 = 10;

/// What `wait` waits for (`?condition=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    NotRunning,
    NextExit,
    Removed,
}

impl Engine {
    /// Creates a container from a Docker create body; returns its ID.
    pub fn create(self: &Arc<Self>, name: Option<&str>, body: &[u8]) -> Result<String, ApiError> {
        let id = common::ids::new_id()?;
        // As dockerd: an empty name is no name; `/` alone is an invalid one,
        // and the message shows the name as it was given.
        let name = match name.filter(|n| !n.is_empty()) {
            Some(given) if names::is_valid_name(names::strip_slash(given)) => {
                names::strip_slash(given).to_string()
            }
            Some(given) => return Err(invalid_name(given)),
            None => self.free_generated_name()?,
        };
        let config = create_request::parse(body, &id, &name)?;
        let container = Arc::new(Container::new(self.container_dir(&id), config.clone(), State::Created));
        // Held until meta.json is written, so nobody can start a half-made container.
        let _operation = container.begin_operation();
        self.registry.insert(container.clone(), &name)?;
        if let Err(error) = self.write_new_container_dir(&container, &config) {
            self.registry.remove(&id, &name);
            let _ = std::fs::remove_dir_all(container.dir.dir());
            return Err(error.into());
        }
        drop(_operation);
        self.emit(&container, "create", &[]);
        Ok(id)
    }

    fn free_generated_name(&self) -> Result<String, ApiError> {
        (0..NAME_ATTEMPTS)
            .map(names::generate)
            .find(|name| !self.registry.name_taken(name))
            .ok_or_else(|| ApiError::Internal("could not find a free container name".to_string()))
    }

    fn write_new_container_dir(
        &self,
        container: &Container,
        config: &common::wire::ContainerConfig,
    ) -> std::io::Result<()> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        std::fs::DirBuilder::new().mode(0o700).create(container.dir.dir())?;
        // An empty log from the start: an attach made before the first start
        // holds it open, and reads the run from it even if `--rm` removes the
        // directory the moment the container exits.
        std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(container.dir.log())?;
        write_meta(container, config)
    }

    /// Starts a created or exited container.
    pub fn start(self: &Arc<Self>, container: &Arc<Container>, reference: &str) -> Result<(), ApiError> {
        let _operation = container.begin_operation();
        match decide(Action::Start, container.status()) {
            Decision::Go(_) => self.launch(container),
            Decision::AlreadyDone => Err(ApiError::NotModified),
            _ => Err(wrong_state(Action::Start, container, reference)),
        }
    }

    /// Stops a running container: its stop signal, `timeout` seconds of grace,
    /// then SIGKILL to every process it has.
    pub fn stop(
        &self,
        container: &Container,
        reference: &str,
        timeout: Option<i64>,
        signal: Option<i32>,
    ) -> Result<(), ApiError> {
        let _operation = container.begin_operation();
        match decide(Action::Stop, container.status()) {
            Decision::Go(_) => {
                // Marked first: the exit this causes must not be restarted.
                mark_manually_stopped(container);
                self.stop_processes(container, timeout, signal)?;
                self.emit(container, "stop", &[]);
                Ok(())
            }
            Decision::AlreadyDone => Err(ApiError::NotModified),
            _ => Err(wrong_state(Action::Stop, container, reference)),
        }
    }

    /// Sends a signal (`SIGKILL` by default) without waiting for the exit.
    pub fn kill(&self, container: &Container, reference: &str, signal: i32) -> Result<(), ApiError> {
        let _operation = container.begin_operation();
        match decide(Action::Kill, container.status()) {
            Decision::Allowed => {
                // As in Docker, a kill is a manual stop: the policy leaves
                // the container down afterwards.
                mark_manually_stopped(container);
                self.send_signal(container, signal).map_err(ApiError::Internal)
            }
            _ => Err(wrong_state(Action::Kill, container, reference)),
        }
    }

    /// Sets the size of the container's terminal (`docker run -t` sends it
    /// after `start`, and again on every SIGWINCH). A container without a
    /// terminal has no size to set: nothing happens, as with dockerd.
    pub fn resize(&self, container: &Container, reference: &str, size: WindowSize) -> Result<(), ApiError> {
        let tty = container.lock().config.tty;
        if decide(Action::Resize, container.status()) != Decision::Allowed {
            return Err(wrong_state(Action::Resize, container, reference));
        }
        if !tty {
            return Ok(());
        }
        let request = ShimRequest::Resize { rows: size.rows, columns: size.columns };
        shim_link::request(&container.dir, &request).map_err(ApiError::Internal)
    }

    /// Freezes every process of the container with SIGSTOP (Docker uses the
    /// cgroup freezer; here the shim signals each descendant).
    pub fn pause(&self, container: &Container, reference: &str) -> Result<(), ApiError> {
        self.freeze_or_thaw(container, reference, Action::Pause, libc::SIGSTOP)
    }

    /// Lets a paused container run again with SIGCONT.
    pub fn unpause(&self, container: &Container, reference: &str) -> Result<(), ApiError> {
        self.freeze_or_thaw(container, reference, Action::Unpause, libc::SIGCONT)
    }

    fn freeze_or_thaw(
        &self,
        container: &Container,
        reference: &str,
        action: Action,
        signal: i32,
    ) -> Result<(), ApiError> {
        let _operation = container.begin_operation();
        let Decision::Go(next) = decide(action, container.status()) else {
            return Err(wrong_state(action, container, reference));
        };
        shim_link::request(&container.dir, &ShimRequest::Signal { signal, scope: SignalScope::All })
            .map_err(ApiError::Internal)?;
        container.update(|state| {
            // The container may have exited meanwhile; then it stays exited.
            if state.status.has_processes() {
                state.status = next;
            }
        });
        self.emit(container, if action == Action::Pause { "pause" } else { "unpause" }, &[]);
        Ok(())
    }

    /// Stops the container if it runs, then starts it again.
    pub fn restart(
        self: &Arc<Self>,
        container: &Arc<Container>,
        reference: &str,
        timeout: Option<i64>,
    ) -> Result<(), ApiError> {
        let _operation = container.begin_operation();
        let status = container.status();
        match decide(Action::Restart, status) {
            Decision::Go(_) => {
                if status.has_processes() {
                    self.stop_processes(container, timeout, None)?;
                }
                self.launch(container)?;
                self.emit(container, "restart", &[]);
                Ok(())
            }
            _ => Err(wrong_state(Action::Restart, container, reference)),
        }
    }

    /// Removes a container; with `force`, a running one is SIGKILLed first.
    pub fn remove(&self, container: &Container, reference: &str, force: bool) -> Result<(), ApiError> {
        let _operation = container.begin_operation();
        match decide(Action::Remove, container.status()) {
            Decision::Go(_) => {}
            Decision::RefuseUnlessForced if force => {
                self.stop_processes(container, Some(0), Some(libc::SIGKILL))?
            }
            _ => return Err(wrong_state(Action::Remove, container, reference)),
        }
        let (name, before) = container.update(|state| {
            let before = std::mem::replace(&mut state.status, State::Removing);
            (state.config.name.clone(), before)
        });
        // Renaming first makes the removal atomic for a restarted daemon: the
        // directory is either whole under its ID or gone (a leftover trash
        // directory is deleted by recovery).
        let trash = self.root.join(format!(".removing-{}", container.id));
        if let Err(error) = std::fs::rename(container.dir.dir(), &trash) {
            container.update(|state| state.status = before); // nothing was removed
            return Err(error.into());
        }
        let _ = std::fs::remove_dir_all(&trash);
        self.registry.remove(&container.id, &name);
        self.execs.forget_container(&container.id);
        container.update(|state| state.removed = true);
        self.emit(container, "destroy", &[]);
        Ok(())
    }

    /// Gives a container a new name.
    pub fn rename(&self, container: &Container, new_name: &str) -> Result<(), ApiError> {
        let new_name = names::strip_slash(new_name);
        if !names::is_valid_name(new_name) {
            return Err(ApiError::BadRequest(format!(
                "Error when allocating new name: {}",
                invalid_name(new_name).message()
            )));
        }
        let _operation = container.begin_operation();
        let old_name = container.lock().config.name.clone();
        if old_name == new_name {
            return Err(ApiError::BadRequest(
                "Renaming a container with the same name as its current name".to_string(),
            ));
        }
        self.registry.rename(&container.id, &old_name, new_name).map_err(|error| match error {
            ApiError::NameInUse { .. } => {
                ApiError::Conflict(format!("Error when allocating new name: {}", error.message()))
            }
            other => other,
        })?;
        let config = container.update(|state| {
            state.config.name = new_name.to_string();
            state.config.clone()
        });
        if let Err(error) = write_meta(container, &config) {
            // Undo, so memory and disk never disagree about the name.
            let _ = self.registry.rename(&container.id, new_name, &old_name);
            container.update(|state| state.config.name = old_name);
            return Err(error.into());
        }
        self.emit(container, "rename", &[("oldName", format!("/{old_name}"))]);
        Ok(())
    }

    /// Removes every container that is not running; returns their IDs.
    pub fn prune(&self) -> Vec<String> {
        let mut removed = Vec::new();
        for container in self.registry.list() {
            let status = container.status();
            if matches!(status, State::Created | State::Exited)
                && self.remove(&container, &container.id, false).is_ok()
            {
                removed.push(container.id.clone());
            }
        }
        removed
    }

    /// Blocks until `condition` holds, or `timeout` passes; returns the exit
    /// code. `exits_at_start` is the container's exit count when the client
    /// asked: `next-exit` waits for one more.
    pub fn wait_for(
        &self,
        container: &Container,
        condition: WaitCondition,
        exits_at_start: u64,
        timeout: Option<Duration>,
    ) -> Option<i32> {
        let done = container.wait_until(timeout, |state| match condition {
            WaitCondition::NotRunning => !state.status.has_processes() && state.status != State::Restarting,
            WaitCondition::NextExit => state.exits > exits_at_start || state.removed,
            WaitCondition::Removed => state.removed,
        });
        done.then(|| container.lock().exit_code)
    }

    /// Starts a shim for the container and records the outcome. The caller
    /// holds the container's operation slot.
    fn launch(self: &Arc<Self>, container: &Arc<Container>) -> Result<(), ApiError> {
        let config = container.update(|state| {
            state.config.started_at = common::time::now_rfc3339();
            state.config.manually_stopped = false;
            state.config.clone()
        });
        write_meta(container, &config)?;
        match shim_link::launch(&self.shim_binary, &container.dir) {
            Ok(launched) => {
                let run = container.update(|state| {
                    state.status = State::Running;
                    state.pid = launched.pid;
                    state.shim_pid = launched.shim_pid;
                    // A running container has no exit code yet (Docker shows 0).
                    state.exit_code = 0;
                    state.error.clear();
                    state.run += 1;
                    state.run
                });
                self.watch_exit(container, run);
                self.emit(container, "start", &[]);
                Ok(())
            }
            Err(LaunchFailure::Exec { message, exit_code }) => {
                container.update(|state| {
                    state.exit_code = exit_code;
                    state.error = message.clone();
                });
                Err(ApiError::StartFailed(message))
            }
            Err(LaunchFailure::Shim(message)) => {
                container.update(|state| state.error = message.clone());
                Err(ApiError::Internal(message))
            }
        }
    }

    /// Watches the shim of run number `run`, records its exit, and removes the
    /// container if it was created with `--rm` (`AutoRemove`).
    pub fn watch_exit(self: &Arc<Self>, container: &Arc<Container>, run: u64) {
        let engine = self.clone();
        let container = container.clone();
        let reader = container.clone();
        let on_log_grew = move || {
            // One `stat` here saves one per follower: they learn the live
            // file's inode with the news.
            let inode = std::fs::metadata(reader.dir.log()).map(|m| m.ino()).unwrap_or(0);
            reader.update(|state| {
                state.log_generation += 1;
                state.log_inode = inode;
            });
        };
        shim_link::watch(container.dir.clone(), on_log_grew, move |record, error| {
            let (auto_remove, restart_after) = container.update(|state| {
                let current = state.run == run && state.status.has_processes();
                if current {
                    state.status = State::Exited;
                    state.exit_code = record.exit_code;
                    state.finished_at = record.finished_at;
                    state.error = error;
                    state.pid = 0;
                    state.shim_pid = 0;
                    state.exits += 1;
                    // Inside the change: whoever it wakes (a `stop`) records after.
                    engine.emit_locked(
                        &container.id,
                        state,
                        "die",
                        &[("exitCode", record.exit_code.to_string())],
                    );
                }
                let restart_after = (current && !state.config.auto_remove)
                    .then(|| plan_restart(state, record.exit_code, false))
                    .flatten();
                (current && state.config.auto_remove, restart_after)
            });
            if auto_remove {
                // Fails harmlessly if the container was started again meanwhile.
                let _ = engine.remove(&container, &container.id, false);
            }
            if let Some(delay) = restart_after {
                engine.restart_later(&container, delay);
            }
        });
    }

    /// Starts the container again after `delay`, unless it is stopped or
    /// removed meanwhile (a `stop` turns `restarting` into `exited`). The wait
    /// is on the container's `Condvar`, so a `stop` ends it at once.
    pub fn restart_later(self: &Arc<Self>, container: &Arc<Container>, delay: std::time::Duration) {
        let engine = self.clone();
        let container = container.clone();
        std::thread::spawn(move || {
            let cancelled = container.wait_until(Some(delay), |state| state.status != State::Restarting);
            if cancelled {
                return;
            }
            let _operation = container.begin_operation();
            if container.status() != State::Restarting {
                return;
            }
            if engine.launch(&container).is_err() {
                container.update(|state| state.status = State::Exited);
            }
        });
    }

    /// Sends a signal through the shim and records Docker's `kill` event.
    /// SIGKILL reaches every process of the container, even those that left
    /// its process group; other signals go to the group, as from a terminal.
    fn send_signal(&self, container: &Container, signal: i32) -> Result<(), String> {
        let scope = if signal == libc::SIGKILL { SignalScope::All } else { SignalScope::Group };
        // Recorded first: once the signal is out, the `die` may be recorded
        // by the watcher at any moment, and Docker's order is kill, die.
        self.emit(container, "kill", &[("signal", signal.to_string())]);
        shim_link::request(&container.dir, &ShimRequest::Signal { signal, scope })
    }

    /// Signals the container to stop, waits `timeout` seconds, then kills
    /// everything left and waits for the shim to report the exit.
    fn stop_processes(
        &self,
        container: &Container,
        timeout: Option<i64>,
        signal: Option<i32>,
    ) -> Result<(), ApiError> {
        let (stop_signal, stop_timeout) = {
            let state = container.lock();
            let configured = parse_signal(&state.config.stop_signal).unwrap_or(libc::SIGTERM);
            (
                signal.unwrap_or(configured),
                timeout.or(state.config.stop_timeout).unwrap_or(DEFAULT_STOP_TIMEOUT_SECONDS),
            )
        };
        if container.status() == State::Restarting {
            // Nothing runs during the back-off: stopping cancels the restart.
            container.update(|state| state.status = State::Exited);
            return Ok(());
        }
        let exited = |state: &crate::container::ContainerState| !state.status.has_processes();
        if stop_signal != libc::SIGKILL && stop_timeout != 0 {
            // A shim that already finished answers "not running": the exit is on its way.
            let _ = self.send_signal(container, stop_signal);
            if container.status() == State::Paused {
                // A stopped process only acts on its signal once it runs again.
                let _ = shim_link::request(
                    &container.dir,
                    &ShimRequest::Signal { signal: libc::SIGCONT, scope: SignalScope::All },
                );
            }
            let grace = (stop_timeout > 0).then(|| Duration::from_secs(stop_timeout as u64));
            if container.wait_until(grace, exited) {
                return Ok(());
            }
        }
        let _ = self.send_signal(container, libc::SIGKILL);
        if container.wait_until(Some(KILL_CONFIRM_TIMEOUT), exited) {
            Ok(())
        } else {
            Err(ApiError::Internal(format!("container {} did not exit after SIGKILL", container.id)))
        }
    }
}

/// Asks the restart policy about an exit just recorded in `state`; if it says
/// restart, the container becomes `restarting` and the back-off is returned.
/// Called under the container's lock, inside the change that records the exit.
pub fn plan_restart(
    state: &mut ContainerState,
    exit_code: i32,
    at_daemon_start: bool,
) -> Option<std::time::Duration> {
    if !restart_policy::should_restart(&state.config, exit_code, at_daemon_start) {
        return None;
    }
    let ran_for = match (parse_rfc3339(&state.config.started_at), parse_rfc3339(&state.finished_at)) {
        (Some(start), Some(end)) => std::time::Duration::from_nanos((end - start).max(0) as u64),
        _ => std::time::Duration::ZERO,
    };
    if ran_for >= restart_policy::STEADY_RUN {
        state.restarts_in_a_row = 0;
    }
    let delay = if at_daemon_start {
        std::time::Duration::ZERO
    } else {
        restart_policy::backoff(state.restarts_in_a_row)
    };
    state.restarts_in_a_row += 1;
    state.config.restart_count += 1;
    state.status = State::Restarting;
    Some(delay)
}

/// Writes the container's configuration to `meta.json`, atomically.
fn write_meta(container: &Container, config: &common::wire::ContainerConfig) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(&config.to_json()).expect("invariant: a JSON value serializes");
    common::atomic_file::write_atomic(&container.dir.meta(), &bytes)
}

/// Records that the container was stopped by hand, so that its restart
/// policy leaves it down. A failed write (a full disk) does not refuse the
/// stop: the mark holds in memory and only a daemon restart forgets it, which
/// is what dockerd does too (it logs the failed checkpoint and goes on).
fn mark_manually_stopped(container: &Container) {
    let config = container.update(|state| {
        state.config.manually_stopped = true;
        state.config.clone()
    });
    if let Err(error) = write_meta(container, &config) {
        eprintln!("orchestratord: {}: could not record the manual stop in meta.json: {error}", container.id);
    }
}

pub fn wrong_state(action: Action, container: &Container, reference: &str) -> ApiError {
    ApiError::WrongState {
        action,
        state: container.status(),
        id: container.id.clone(),
        reference: reference.to_string(),
    }
}

fn invalid_name(name: &str) -> ApiError {
    let shown: String = name.chars().take(80).collect();
    ApiError::BadRequest(format!(
        "Invalid container name ({shown}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
    ))
}
