//! The engine: what every request handler shares — the state root, the shim
//! binary, and the registry of containers. Handlers get an `&Engine` and call
//! the lifecycle operations on it (`lifecycle.rs`); nothing else is global.

use std::path::PathBuf;
use std::sync::Arc;

use common::paths::ContainerDir;

use crate::container::Container;
use crate::registry::Registry;

pub struct Engine {
    /// The state directory (`--root`): one subdirectory per container.
    pub root: PathBuf,
    /// `orchestrator-shim`, found next to the daemon's own executable.
    pub shim_binary: PathBuf,
    pub registry: Registry,
}

impl Engine {
    pub fn new(root: PathBuf, shim_binary: PathBuf) -> Arc<Engine> {
        Arc::new(Engine { root, shim_binary, registry: Registry::default() })
    }

    pub fn container_dir(&self, id: &str) -> ContainerDir {
        ContainerDir::new(&self.root, id)
    }

    /// The container a client named, or 404.
    pub fn find(&self, reference: &str) -> Result<Arc<Container>, crate::api_error::ApiError> {
        self.registry.resolve(reference)
    }
}
