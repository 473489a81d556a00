//! The engine: what every request handler shares — the state root, the shim
//! binary, and the registry of containers. Handlers get an `&Engine` and call
//! the lifecycle operations on it (`lifecycle.rs`); nothing else is global.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use common::paths::ContainerDir;

use crate::container::{Container, ContainerState};
use crate::events::EventLog;
use crate::exec::ExecTable;
use crate::registry::Registry;

pub struct Engine {
    /// The state directory (`--root`): one subdirectory per container.
    pub root: PathBuf,
    /// `orchestrator-shim`, found next to the daemon's own executable.
    pub shim_binary: PathBuf,
    pub registry: Registry,
    /// Recent lifecycle events, fanned out to `GET /events` listeners.
    pub events: EventLog,
    /// The exec instances (`docker exec`), in memory only.
    pub execs: ExecTable,
}

impl Engine {
    pub fn new(root: PathBuf, shim_binary: PathBuf) -> Arc<Engine> {
        Arc::new(Engine {
            root,
            shim_binary,
            registry: Registry::default(),
            events: EventLog::default(),
            execs: ExecTable::default(),
        })
    }

    pub fn container_dir(&self, id: &str) -> ContainerDir {
        ContainerDir::new(&self.root, id)
    }

    /// The container a client named, or 404.
    pub fn find(&self, reference: &str) -> Result<Arc<Container>, crate::api_error::ApiError> {
        self.registry.resolve(reference)
    }

    /// Records a container event with Docker's attributes — the container's
    /// labels, `image` and `name` — plus `extra` (`exitCode`, `signal`, …).
    /// Must not be called with the container's lock held.
    pub fn emit(&self, container: &Container, action: &str, extra: &[(&str, String)]) {
        self.emit_locked(&container.id, &container.lock(), action, extra);
    }

    /// `emit` for a caller that holds the container's lock: an event recorded
    /// inside the state change it reports comes before anything a thread
    /// woken by that change records (`die` before `stop`).
    pub fn emit_locked(&self, id: &str, state: &ContainerState, action: &str, extra: &[(&str, String)]) {
        let mut attributes: BTreeMap<String, String> = state.config.labels.clone();
        attributes.insert("image".into(), state.config.image.clone());
        attributes.insert("name".into(), state.config.name.clone());
        for (key, value) in extra {
            attributes.insert((*key).to_string(), value.clone());
        }
        self.events.record(action, id, &state.config.image, attributes);
    }
}
