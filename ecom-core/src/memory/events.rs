//! The in-process log of events.

use crate::clock::Timestamp;
use crate::error::Result;
use crate::event::{Cursor, Event, EventFilter, EventRepo, Logged};
use crate::id::EventId;
use crate::in_process::sync::{locked, Map};
use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::Mutex;

/// In-process [`EventRepo`]: the log in order, and where each id is.
#[derive(Debug, Default)]
pub struct MemoryEvents {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    log: VecDeque<Logged>,
    cursors: Map<EventId, Cursor>,
    head: u64,
    /// Consumers' cursors, by name.
    named: Map<String, Cursor>,
}

#[async_trait]
impl EventRepo for MemoryEvents {
    async fn append(&self, events: &[Event]) -> Result<Vec<Cursor>> {
        let mut inner = locked(&self.inner);
        let mut cursors = Vec::with_capacity(events.len());
        for event in events {
            if let Some(cursor) = inner.cursors.get(&event.id) {
                cursors.push(*cursor);
                continue;
            }
            inner.head += 1;
            let cursor = Cursor(inner.head);
            inner.cursors.insert(event.id.clone(), cursor);
            inner.log.push_back(Logged {
                cursor,
                event: event.clone(),
            });
            cursors.push(cursor);
        }
        Ok(cursors)
    }

    async fn list(&self, after: Cursor, filter: &EventFilter, limit: u32) -> Result<Vec<Logged>> {
        let inner = locked(&self.inner);
        let start = inner.log.partition_point(|l| l.cursor <= after);
        Ok(inner
            .log
            .range(start..)
            .filter(|l| filter.matches(&l.event))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn get_many(&self, ids: &[EventId]) -> Result<Vec<Logged>> {
        let inner = locked(&self.inner);
        Ok(ids
            .iter()
            .filter_map(|id| {
                let cursor = inner.cursors.get(id)?;
                let at = inner.log.partition_point(|l| l.cursor < *cursor);
                inner.log.get(at).filter(|l| l.cursor == *cursor).cloned()
            })
            .collect())
    }

    async fn head(&self) -> Result<Cursor> {
        Ok(Cursor(locked(&self.inner).head))
    }

    async fn cursor(&self, name: &str) -> Result<Cursor> {
        Ok(locked(&self.inner)
            .named
            .get(name)
            .copied()
            .unwrap_or_default())
    }

    async fn save_cursor(&self, name: &str, from: Cursor, to: Cursor) -> Result<bool> {
        let mut inner = locked(&self.inner);
        let current = inner.named.get(name).copied().unwrap_or_default();
        if current != from {
            return Ok(false);
        }
        inner.named.insert(name.to_owned(), to);
        Ok(true)
    }

    async fn purge(&self, before: Timestamp) -> Result<u64> {
        let mut inner = locked(&self.inner);
        let mut removed = 0;
        while inner.log.front().is_some_and(|l| l.event.at < before) {
            if let Some(gone) = inner.log.pop_front() {
                inner.cursors.remove(&gone.event.id);
                removed += 1;
            }
        }
        Ok(removed)
    }
}
