//! Recovery at daemon start (SPEC §3): the state directory is the only durable
//! state, so the daemon rebuilds its memory from it. For each container
//! directory, `meta.json` gives the configuration and the shim's files give the
//! truth about the process: a live shim — one that holds the directory's
//! lock (`common::shim_lock`) — means running (and the daemon watches it
//! again), an `exit` file means exited with that code, a dead shim without
//! one means exited with 255 and an error, neither means created. Leftovers of
//! an operation the previous daemon died in are finished or undone here
//! (docs/07-recovery.md).

use std::sync::Arc;

use common::ids;
use common::paths::ContainerDir;
use common::state::State;
use common::wire::ContainerConfig;

use crate::container::Container;
use crate::engine::Engine;
use crate::shim_link;

/// What recovery found, for the daemon's start-up line.
#[derive(Default)]
pub struct Recovered {
    pub running: usize,
    pub stopped: usize,
    pub discarded: usize,
    /// The running containers, whose shims the daemon must watch again
    /// (`watch_all`): once the registry is complete, the daemon can answer
    /// while a thousand watcher threads start.
    pub to_watch: Vec<Arc<Container>>,
}

/// Starts watching the shims of the recovered running containers. A shim
/// that exited meanwhile refuses the connection, and its exit is read at once.
pub fn watch_all(engine: &Arc<Engine>, containers: Vec<Arc<Container>>) {
    for container in containers {
        engine.watch_exit(&container, 1);
    }
}

/// Loads every container under the state root into the registry.
pub fn recover(engine: &Arc<Engine>) -> std::io::Result<Recovered> {
    let mut found = Recovered::default();
    for entry in std::fs::read_dir(&engine.root)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".removing-") {
            // A removal the previous daemon began: finish it.
            let _ = std::fs::remove_dir_all(entry.path());
            found.discarded += 1;
            continue;
        }
        if !ids::is_full_id(&name) {
            continue; // not ours: temporary files and anything else are left alone
        }
        let dir = engine.container_dir(&name);
        let Some(config) = read_config(&dir.meta()).filter(|config| config.id == name) else {
            if never_started(&dir) {
                // A create the previous daemon died in before meta.json was written.
                let _ = std::fs::remove_dir_all(dir.dir());
                found.discarded += 1;
            } else {
                // A container that ran, whose meta.json was lost (a power cut
                // can leave it empty): its log is not ours to delete.
                eprintln!("orchestratord: {name} has no readable meta.json but has run; left alone");
            }
            continue;
        };
        let container = Arc::new(Container::new(dir.clone(), config.clone(), State::Created));
        let live_shim = shim_link::live_shim(&dir);
        container.update(|state| {
            if let Some(shim_pid) = live_shim {
                state.shim_pid = shim_pid;
                state.pid = common::atomic_file::read_number(&dir.pid()).unwrap_or(0);
                // The truth comes from the process, not from memory: a main
                // process stopped by SIGSTOP means the container was paused.
                let stopped = common::proc::stat(state.pid).is_some_and(|s| s.state == 'T');
                state.status = if stopped { State::Paused } else { State::Running };
                state.run = 1;
            } else if shim_link::has_exit_file(&dir) || dir.shim_pid().exists() {
                let (record, error) = shim_link::read_exit(&dir, None);
                state.status = State::Exited;
                state.exit_code = record.exit_code;
                state.finished_at = record.finished_at;
                state.error = error;
            }
        });
        if engine.registry.insert(container.clone(), &config.name).is_err() {
            eprintln!("orchestratord: container {name} has the name {:?} of another; skipped", config.name);
            continue;
        }
        let status = container.lock().status;
        if status.has_processes() {
            found.running += 1;
            found.to_watch.push(container.clone());
        } else if status == State::Exited && config.auto_remove {
            // An --rm container that exited while no daemon was there.
            let _ = engine.remove(&container, &name, false);
            found.discarded += 1;
        } else if let Some(delay) = container.update(|state| {
            // A restart policy that should have fired while no daemon was there fires now.
            let code = state.exit_code;
            (state.status == State::Exited)
                .then(|| crate::lifecycle::plan_restart(state, code, true))
                .flatten()
        }) {
            engine.restart_later(&container, delay);
            found.running += 1;
        } else {
            found.stopped += 1;
        }
    }
    Ok(found)
}

/// True if the directory holds only what a create leaves (`meta.json`, an
/// empty `log`, temporary files), nothing a run writes (`shim.pid`, `exit`,
/// output in the log).
fn never_started(dir: &ContainerDir) -> bool {
    let Ok(entries) = std::fs::read_dir(dir.dir()) else { return true };
    entries.flatten().all(|entry| {
        let name = entry.file_name();
        let empty = || entry.metadata().is_ok_and(|metadata| metadata.len() == 0);
        name == "meta.json" || (name == "log" && empty()) || name.to_string_lossy().starts_with('.')
    })
}

fn read_config(path: &std::path::Path) -> Option<ContainerConfig> {
    let bytes = std::fs::read(path).ok()?;
    ContainerConfig::from_json(&serde_json::from_slice(&bytes).ok()?)
}
