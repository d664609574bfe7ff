//! Events: what happened inside ecom, for everything outside it to learn ([`Event`]), the log
//! they end up in and the outboxes they wait in ([`EventRepo`], [`OutboxRepo`]). Which events a
//! change makes is the services' business.
//!
//! An event is written with its change, in the same write of the same document (an outbox
//! inside the order, product, stock record or code), so it exists if and only if the change
//! happened; a relay moves waiting events into the log, each once, and webhooks, the pull API
//! and subscribers read the log.

mod adjusted;
mod model;
mod repo;

pub use adjusted::adjusted;
pub use model::{
    Aggregate, AggregateKind, CancelledBy, Cursor, Event, EventFilter, EventKind, LinesMoved,
    Logged,
};
pub use repo::{EventRepo, OutboxRepo};

/// How long the log keeps an event after it happened; then it is removed (on MongoDB by a TTL
/// index, elsewhere by [`EventService::purge`](crate::service::EventService::purge), which the
/// server runs with every recovery pass).
pub const RETENTION: chrono::Duration = chrono::Duration::days(7);
