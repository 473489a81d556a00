//! The daemon's index of containers: by full ID and by name, behind one
//! `Mutex`. It resolves what a client typed (full ID, name, or unique ID
//! prefix, in Docker's order) and keeps names unique: two creates or renames
//! racing for one name cannot both win. Lock order: the registry before a
//! container's own lock, never the reverse.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use common::{ids, names};

use crate::api_error::ApiError;
use crate::container::Container;

#[derive(Default)]
pub struct Registry {
    inner: Mutex<Index>,
}

#[derive(Default)]
struct Index {
    by_id: HashMap<String, Arc<Container>>,
    /// name → full ID
    by_name: HashMap<String, String>,
}

impl Registry {
    fn index(&self) -> MutexGuard<'_, Index> {
        self.inner.lock().expect("invariant: no thread panics while holding the registry lock")
    }

    /// Finds a container by full ID, then by name, then by unique ID prefix.
    pub fn resolve(&self, reference: &str) -> Result<Arc<Container>, ApiError> {
        let index = self.index();
        if let Some(container) = index.by_id.get(reference) {
            return Ok(container.clone());
        }
        if let Some(id) = index.by_name.get(names::strip_slash(reference)) {
            return Ok(index.by_id[id].clone());
        }
        if ids::could_be_prefix(reference) {
            let mut matches = index.by_id.values().filter(|c| c.id.starts_with(reference));
            if let Some(first) = matches.next() {
                let others = matches.count();
                if others > 0 {
                    return Err(ApiError::Ambiguous { prefix: reference.to_string(), count: others + 1 });
                }
                return Ok(first.clone());
            }
        }
        Err(ApiError::NoSuchContainer(reference.to_string()))
    }

    /// Adds a container under `name`, unless the name is taken.
    pub fn insert(&self, container: Arc<Container>, name: &str) -> Result<(), ApiError> {
        let mut index = self.index();
        if let Some(id) = index.by_name.get(name) {
            return Err(ApiError::NameInUse { name: name.to_string(), id: id.clone() });
        }
        index.by_name.insert(name.to_string(), container.id.clone());
        index.by_id.insert(container.id.clone(), container);
        Ok(())
    }

    /// Moves container `id` from `old` to `new`, unless `new` is taken.
    pub fn rename(&self, id: &str, old: &str, new: &str) -> Result<(), ApiError> {
        let mut index = self.index();
        if let Some(holder) = index.by_name.get(new) {
            return Err(ApiError::NameInUse { name: new.to_string(), id: holder.clone() });
        }
        if index.by_name.get(old).map(String::as_str) == Some(id) {
            index.by_name.remove(old);
        }
        index.by_name.insert(new.to_string(), id.to_string());
        Ok(())
    }

    /// Forgets container `id` and its name.
    pub fn remove(&self, id: &str, name: &str) {
        let mut index = self.index();
        index.by_id.remove(id);
        if index.by_name.get(name).map(String::as_str) == Some(id) {
            index.by_name.remove(name);
        }
    }

    /// Every container, newest first (the order of `ps`).
    pub fn list(&self) -> Vec<Arc<Container>> {
        let all: Vec<Arc<Container>> = self.index().by_id.values().cloned().collect();
        let mut keyed: Vec<(String, Arc<Container>)> = all
            .into_iter()
            .map(|c| {
                let created_at = c.lock().config.created_at.clone();
                (created_at, c)
            })
            .collect();
        keyed.sort_by(|a, b| b.0.cmp(&a.0));
        keyed.into_iter().map(|(_, c)| c).collect()
    }

    pub fn name_taken(&self, name: &str) -> bool {
        self.index().by_name.contains_key(name)
    }
}
