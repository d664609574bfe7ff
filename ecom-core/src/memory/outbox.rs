//! The outboxes of the in-process store: each repository keeps the events waiting for each of
//! its documents beside the document, under the same lock as its change; [`MemoryOutboxes`]
//! is the [`OutboxRepo`] over all of them.

use crate::error::Result;
use crate::event::{AggregateKind, Event, OutboxRepo};
use crate::id::EventId;
use crate::in_process::sync::Map;
use async_trait::async_trait;
use std::sync::Arc;

/// The events waiting for the documents of one repository, oldest document first.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    /// Per document: when its oldest waiting event came (a counter), and its events.
    waiting: Map<String, (u64, Vec<Event>)>,
    next: u64,
}

impl Outbox {
    /// Adds `events` to the outbox of document `id`.
    pub(crate) fn push(&mut self, id: &str, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        self.next += 1;
        let next = self.next;
        self.waiting
            .entry(id.to_owned())
            .or_insert_with(|| (next, Vec::new()))
            .1
            .extend(events.iter().cloned());
    }

    /// Documents with events waiting, oldest first, at most `limit`.
    pub(crate) fn waiting(&self, limit: u32) -> Vec<(String, Vec<Event>)> {
        let mut all: Vec<(&String, &(u64, Vec<Event>))> = self.waiting.iter().collect();
        all.sort_by_key(|(_, (since, _))| *since);
        all.into_iter()
            .take(limit as usize)
            .map(|(id, (_, events))| (id.clone(), events.clone()))
            .collect()
    }

    /// Removes the events `ids` from the outbox of `id`.
    pub(crate) fn clear(&mut self, id: &str, ids: &[EventId]) {
        if let Some((_, events)) = self.waiting.get_mut(id) {
            events.retain(|e| !ids.contains(&e.id));
            if events.is_empty() {
                self.waiting.remove(id);
            }
        }
    }
}

/// A repository of the in-process store that keeps outboxes.
pub(crate) trait HasOutbox: Send + Sync + std::fmt::Debug {
    /// Its documents with events waiting (see [`Outbox::waiting`]).
    fn outbox_waiting(&self, limit: u32) -> Vec<(String, Vec<Event>)>;
    /// Clears events of a document (see [`Outbox::clear`]).
    fn outbox_clear(&self, id: &str, ids: &[EventId]);
}

/// The [`OutboxRepo`] of the in-process store.
#[derive(Debug)]
pub struct MemoryOutboxes {
    orders: Arc<dyn HasOutbox>,
    products: Arc<dyn HasOutbox>,
    stock: Arc<dyn HasOutbox>,
    discounts: Arc<dyn HasOutbox>,
}

impl MemoryOutboxes {
    pub(crate) fn new(
        orders: Arc<dyn HasOutbox>,
        products: Arc<dyn HasOutbox>,
        stock: Arc<dyn HasOutbox>,
        discounts: Arc<dyn HasOutbox>,
    ) -> Self {
        MemoryOutboxes {
            orders,
            products,
            stock,
            discounts,
        }
    }

    fn of(&self, kind: AggregateKind) -> &dyn HasOutbox {
        match kind {
            AggregateKind::Order => &*self.orders,
            AggregateKind::Product => &*self.products,
            AggregateKind::Stock => &*self.stock,
            AggregateKind::Discount => &*self.discounts,
        }
    }
}

#[async_trait]
impl OutboxRepo for MemoryOutboxes {
    async fn waiting(&self, kind: AggregateKind, limit: u32) -> Result<Vec<(String, Vec<Event>)>> {
        Ok(self.of(kind).outbox_waiting(limit))
    }

    async fn clear(&self, kind: AggregateKind, cleared: &[(String, Vec<EventId>)]) -> Result<()> {
        for (id, ids) in cleared {
            self.of(kind).outbox_clear(id, ids);
        }
        Ok(())
    }
}
