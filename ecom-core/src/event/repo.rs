//! The ports of events: the log every event ends up in ([`EventRepo`]) and the outboxes they
//! wait in until the relay moves them there ([`OutboxRepo`]).

use super::model::{AggregateKind, Cursor, Event, EventFilter, Logged};
use crate::clock::Timestamp;
use crate::error::Result;
use crate::id::EventId;
use async_trait::async_trait;
use std::fmt::Debug;

/// The log of events: append-only, each event once, in the order it was appended.
#[async_trait]
pub trait EventRepo: Send + Sync + Debug + 'static {
    /// Appends `events` in order, each once: an event whose id is in the log already keeps
    /// its cursor (appending it again changes nothing). An event appended gets a cursor above
    /// the cursor of every event in the log when it was appended, so a reader that listed up to
    /// a cursor never misses an event appended later. Returns the cursor of each, in order.
    async fn append(&self, events: &[Event]) -> Result<Vec<Cursor>>;

    /// The events after `after` that `filter` passes, in cursor order, at most `limit`.
    async fn list(&self, after: Cursor, filter: &EventFilter, limit: u32) -> Result<Vec<Logged>>;

    /// The events among `ids` that are in the log (in no particular order).
    async fn get_many(&self, ids: &[EventId]) -> Result<Vec<Logged>>;

    /// The newest cursor (`Cursor(0)` for an empty log).
    async fn head(&self) -> Result<Cursor>;

    /// Removes the events that happened before `before` (retention); how many went.
    async fn purge(&self, before: Timestamp) -> Result<u64>;

    /// The cursor kept under `name` (a consumer's place in the log; `Cursor(0)` if none).
    async fn cursor(&self, name: &str) -> Result<Cursor>;

    /// Moves the cursor kept under `name` from `from` to `to`, only if it is still at `from`
    /// (two processes feeding one consumer never move it backwards); whether it moved.
    async fn save_cursor(&self, name: &str, from: Cursor, to: Cursor) -> Result<bool>;
}

/// The outboxes: events waiting inside the documents whose change made them. A change and its
/// events are one write of one document, so an event exists if and only if its change
/// happened; the relay moves them into the [`EventRepo`] and clears them.
#[async_trait]
pub trait OutboxRepo: Send + Sync + Debug + 'static {
    /// Documents of `kind` with events waiting (at most `limit`), each with its waiting
    /// events in the order they were made.
    async fn waiting(&self, kind: AggregateKind, limit: u32) -> Result<Vec<(String, Vec<Event>)>>;

    /// For each `(id, events)` of `cleared`, removes the events `events` from the outbox of
    /// the document `id` of `kind` (those still there), in one round trip; idempotent.
    async fn clear(&self, kind: AggregateKind, cleared: &[(String, Vec<EventId>)]) -> Result<()>;
}
