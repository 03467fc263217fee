//! `Registry<Id, Handle>`: what a manager holds of one kind, by id — its
//! executors, or its handles to named IPC objects and which of those it created.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::error::Result;
use crate::ids::CachedId;

/// Handles of one kind by id, behind one mutex that is never held across a
/// blocking call (each method locks, copies out, and unlocks).
pub(crate) struct Registry<I, T> {
    entries: Mutex<HashMap<I, Entry<T>>>,
}

struct Entry<T> {
    handle: Arc<T>,
    /// Created by this manager (not opened): at shutdown its name is removed
    /// even while other threads still hold the handle.
    created_here: bool,
}

impl<I: Clone + Eq + Hash, T> Registry<I, T> {
    pub(crate) fn new() -> Self {
        Registry { entries: Mutex::new(HashMap::new()) }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<I, Entry<T>>> {
        // Every update is one map operation: a panic elsewhere leaves no half-written entry.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries().len()
    }

    pub(crate) fn get(&self, id: &I) -> Option<Arc<T>> {
        self.entries().get(id).map(|entry| entry.handle.clone())
    }

    pub(crate) fn contains(&self, id: &I) -> bool {
        self.entries().contains_key(id)
    }

    /// Adds `handle` under `id`, made by this manager.
    pub(crate) fn insert(&self, id: I, handle: Arc<T>) {
        self.entries().insert(id, Entry { handle, created_here: true });
    }

    pub(crate) fn remove(&self, id: &I) -> Option<Arc<T>> {
        self.entries().remove(id).map(|entry| entry.handle)
    }

    /// Every id and handle, in no particular order.
    pub(crate) fn snapshot(&self) -> Vec<(I, Arc<T>)> {
        self.entries().iter().map(|(id, entry)| (id.clone(), entry.handle.clone())).collect()
    }

    /// Every id, sorted.
    pub(crate) fn ids(&self) -> Vec<I>
    where
        I: Ord,
    {
        let mut ids: Vec<I> = self.entries().keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Removes and returns every handle.
    pub(crate) fn drain(&self) -> Vec<(I, Arc<T>)> {
        self.entries().drain().map(|(id, entry)| (id, entry.handle)).collect()
    }
}

/// Named IPC objects: ids that cache their handle, objects other processes
/// may have created.
impl<I: CachedId<T>, T> Registry<I, T> {
    /// Registers a handle this manager created under its id.
    pub(crate) fn register(&self, id: &I, handle: T) {
        let handle = Arc::new(handle);
        id.remember(&handle);
        self.insert(id.clone(), handle);
    }

    /// The handle of object `id`: remembered by the id, else this registry's
    /// (created here or opened before), else opened by name with `open` (it
    /// was created by another process).
    pub(crate) fn resolve(&self, id: &I, open: impl FnOnce() -> Result<T>) -> Result<Arc<T>> {
        if let Some(handle) = id.cached() {
            return Ok(handle);
        }
        let handle = match self.get(id) {
            Some(handle) => handle,
            None => {
                // Opened without the lock held: opening may wait for the object's mutex.
                let opened = Arc::new(open()?);
                let mut entries = self.entries();
                let entry = entries
                    .entry(id.clone())
                    .or_insert(Entry { handle: opened, created_here: false });
                entry.handle.clone()
            }
        };
        id.remember(&handle);
        Ok(handle)
    }

    /// Forgets `handle` (resolved from `id`) and removes its object's name:
    /// with the object's own `delete` when this was the last handle (so a
    /// later drop does not remove a namesake created meanwhile), else by
    /// name, leaving the other holders working until they drop.
    pub(crate) fn delete(
        &self,
        id: &I,
        handle: Arc<T>,
        delete: impl FnOnce(T) -> Result<()>,
    ) -> Result<()> {
        self.remove(id);
        match Arc::try_unwrap(handle) {
            Ok(handle) => delete(handle),
            Err(_) => Ok(pp_ipc::unlink(id.name())?),
        }
    }

    /// Drops every handle. An object whose last handle this was is removed by
    /// that handle if it created it; one this manager created that other
    /// threads still hold (a blocked `get_queue_item`, a lock guard) is
    /// removed by name, so its name never outlives the shutdown.
    pub(crate) fn release_all(&self) {
        let entries: Vec<(I, Entry<T>)> = self.entries().drain().collect();
        for (id, entry) in entries {
            if entry.created_here && Arc::strong_count(&entry.handle) > 1 {
                let _ = pp_ipc::unlink(id.name());
            }
        }
    }
}
