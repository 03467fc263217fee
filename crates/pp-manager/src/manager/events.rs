//! Events by id.

use std::sync::Arc;
use std::time::Duration;

use pp_ipc::Event;

use super::{ProcessManager, not_found};
use crate::error::Result;
use crate::ids::EventId;

impl ProcessManager {
    /// Creates an event (cleared).
    pub fn create_event(&self) -> Result<EventId> {
        let event = Event::create()?;
        let id = EventId::from(event.id().clone());
        self.events.register(&id, event);
        Ok(id)
    }

    pub(super) fn event(&self, id: &EventId) -> Result<Arc<Event>> {
        self.events.resolve(id, || {
            Event::open(id.object_id()).map_err(not_found(EventId::KIND, id.as_str()))
        })
    }

    /// Sets event `id`, waking every waiter in every process.
    pub fn set_event(&self, id: &EventId) -> Result<()> {
        self.event(id)?.set();
        Ok(())
    }

    /// Clears event `id`.
    pub fn clear_event(&self, id: &EventId) -> Result<()> {
        self.event(id)?.clear();
        Ok(())
    }

    /// Waits at most `timeout` (`None`: forever) for event `id`; true if it is set.
    pub fn wait_for_event(&self, id: &EventId, timeout: Option<Duration>) -> Result<bool> {
        let event = self.event(id)?;
        Ok(match timeout {
            None => event.wait().map(|()| true)?,
            Some(timeout) => event.wait_timeout(timeout)?,
        })
    }

    /// Whether event `id` is set.
    pub fn is_event_set(&self, id: &EventId) -> Result<bool> {
        Ok(self.event(id)?.is_set())
    }

    /// Deletes event `id` (its name, for every process).
    pub fn delete_event(&self, id: &EventId) -> Result<()> {
        let event = self.event(id)?;
        self.events.delete(id, event, |e| Ok(e.delete()?))
    }
}
