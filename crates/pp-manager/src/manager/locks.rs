//! Locks by id, held across calls (`acquire_lock`/`release_lock`) or by a guard.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use pp_ipc::Lock;

use super::{ProcessManager, not_found};
use crate::error::Result;
use crate::ids::LockId;

impl ProcessManager {
    /// Creates a lock.
    pub fn create_lock(&self) -> Result<LockId> {
        let lock_object = Lock::create()?;
        let id = LockId::from(lock_object.id().clone());
        self.locks.register(&id, lock_object);
        Ok(id)
    }

    fn lock_object(&self, id: &LockId) -> Result<Arc<Lock>> {
        self.locks.resolve(id, || {
            Lock::open(id.object_id()).map_err(not_found(LockId::KIND, id.as_str()))
        })
    }

    /// Acquires lock `id`, waiting at most `timeout` (`None`: forever); false
    /// on timeout. Release it with [`release_lock`](Self::release_lock) from the same thread.
    pub fn acquire_lock(&self, id: &LockId, timeout: Option<Duration>) -> Result<bool> {
        let l = self.lock_object(id)?;
        let acquired = match timeout {
            Some(t) => l.acquire_timeout(t).map_err(|e| e.into_error(l.id(), t)),
            None => l.acquire(),
        };
        match acquired {
            Ok(guard) => {
                if guard.previous_owner_died() {
                    tracing::warn!(lock = %id, "acquired a lock whose previous owner died holding it");
                }
                guard.keep();
                Ok(true)
            }
            Err(pp_ipc::Error::Timeout { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Releases lock `id`, held by this thread.
    pub fn release_lock(&self, id: &LockId) -> Result<()> {
        Ok(self.lock_object(id)?.release()?)
    }

    /// Acquires lock `id` (at most `timeout`) and returns a guard releasing it
    /// when dropped: the seed's `with lock_context(...)`.
    pub fn lock_context(&self, id: &LockId, timeout: Option<Duration>) -> Result<ManagedLockGuard> {
        let l = self.lock_object(id)?;
        let guard = match timeout {
            Some(t) => l.acquire_timeout(t).map_err(|e| e.into_error(l.id(), t))?,
            None => l.acquire()?,
        };
        let previous_owner_died = guard.previous_owner_died();
        guard.keep();
        Ok(ManagedLockGuard { lock: l, previous_owner_died, _not_send: PhantomData })
    }

    /// Deletes lock `id` (its name, for every process).
    pub fn delete_lock(&self, id: &LockId) -> Result<()> {
        let l = self.lock_object(id)?;
        self.locks.delete(id, l, |l| Ok(l.delete()?))
    }
}

/// A lock held by this thread through [`ProcessManager::lock_context`];
/// released when dropped.
#[derive(Debug)]
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ManagedLockGuard {
    lock: Arc<Lock>,
    previous_owner_died: bool,
    _not_send: PhantomData<*const ()>,
}

impl ManagedLockGuard {
    /// Whether the previous holder died holding the lock.
    pub fn previous_owner_died(&self) -> bool {
        self.previous_owner_died
    }
}

impl Drop for ManagedLockGuard {
    fn drop(&mut self) {
        let _ = self.lock.release();
    }
}
