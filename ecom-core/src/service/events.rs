//! Events for everything outside ecom: the relay that moves events from the outboxes of the
//! documents whose change made them into the log (each once, in each aggregate's order), the
//! log's reads (the pull API), durable subscriptions, and sinks an embedding application plugs
//! in.

use crate::backend::Backend;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::event::{AggregateKind, Cursor, Event, EventFilter, Logged};
use crate::id::EventId;
use async_trait::async_trait;
use futures::Stream;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Documents whose outboxes one relay pass empties, per kind.
const RELAY_BATCH: u32 = 500;

/// Most events one read of the log returns.
pub const MAX_EVENTS_PER_READ: u32 = 1000;

/// What a relay pass did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct RelayReport {
    /// Events moved into the log.
    pub moved: u64,
    /// Documents whose outbox could not be moved now (retried by the next pass).
    pub failed: u64,
}

/// Something an embedding application sends events to (a queue, a stream, a bus), fed from the
/// log in order from its own durable cursor: each event at least once, in log order. Register
/// it in [`EcomConfig::sinks`](crate::service::EcomConfig::sinks); the server feeds every sink
/// after each relay pass.
#[async_trait]
pub trait EventSink: Send + Sync + Debug + 'static {
    /// Its name: its cursor is kept under it (unique among the sinks).
    fn name(&self) -> &str;

    /// Takes `events`, in order. An error leaves the cursor before them: they come again.
    async fn take(&self, events: &[Logged]) -> Result<()>;
}

/// The event use cases. Cheap to clone.
#[derive(Clone, Debug)]
pub struct EventService {
    backend: Backend,
    sinks: Arc<Vec<Arc<dyn EventSink>>>,
    /// Events this process moved into the log, per type (in [`EventKind::ALL`]'s order).
    moved: Arc<[AtomicU64; EventKind::ALL.len()]>,
    /// What the return events it moved say.
    returns: Arc<crate::service::returns::stats::ReturnStats>,
}

impl EventService {
    pub(crate) fn new(
        backend: Backend,
        sinks: Vec<Arc<dyn EventSink>>,
        returns: Arc<crate::service::returns::stats::ReturnStats>,
    ) -> Self {
        EventService {
            backend,
            sinks: Arc::new(sinks),
            moved: Arc::new(std::array::from_fn(|_| AtomicU64::new(0))),
            returns,
        }
    }

    /// One relay pass: for each kind of document, up to a batch of documents with events
    /// waiting; their events are appended to the log in one call, each document's together and
    /// in order (an event already there keeps its place), then cleared from the outboxes in
    /// one call. Idempotent and safe from any
    /// number of processes at once: a crash between the append and the clear only means the
    /// next pass appends them again, which changes nothing.
    pub async fn relay(&self) -> Result<RelayReport> {
        let mut report = RelayReport::default();
        for kind in [
            AggregateKind::Order,
            AggregateKind::Product,
            AggregateKind::Stock,
            AggregateKind::Discount,
        ] {
            let waiting = self.backend.outboxes.waiting(kind, RELAY_BATCH).await?;
            if waiting.is_empty() {
                continue;
            }
            // One append for the batch, each document's events together and in their order
            // (so one aggregate's events keep theirs), then one clear.
            let events: Vec<Event> = waiting
                .iter()
                .flat_map(|(_, e)| e.iter().cloned())
                .collect();
            let cleared: Vec<(String, Vec<EventId>)> = waiting
                .iter()
                .map(|(id, e)| (id.clone(), e.iter().map(|e| e.id.clone()).collect()))
                .collect();
            let moved = async {
                self.backend.events.append(&events).await?;
                self.backend.outboxes.clear(kind, &cleared).await
            };
            match moved.await {
                Ok(()) => {
                    report.moved += events.len() as u64;
                    for event in &events {
                        self.moved[kind_index(event.kind)].fetch_add(1, Ordering::Relaxed);
                        self.returns.count(event);
                    }
                }
                Err(e) => {
                    tracing::warn!(?kind, documents = waiting.len(), error = %e, "moving events into the log failed; the next pass retries");
                    report.failed += waiting.len() as u64;
                }
            }
        }
        Ok(report)
    }

    /// The events this process moved into the log, per type, since it started (for metrics;
    /// an event appended again after a crash between append and clear counts twice).
    pub fn moved_counts(&self) -> Vec<(EventKind, u64)> {
        EventKind::ALL
            .into_iter()
            .map(|kind| (kind, self.moved[kind_index(kind)].load(Ordering::Relaxed)))
            .collect()
    }

    /// Removes the events of the log that happened before `before` (the retention; on MongoDB
    /// a TTL index does it too); how many went.
    pub async fn purge(&self, before: Timestamp) -> Result<u64> {
        self.backend.events.purge(before).await
    }

    /// Relays until nothing waits (at most `passes` passes): for tests and shutdown.
    pub async fn relay_all(&self, passes: u32) -> Result<u64> {
        let mut moved = 0;
        for _ in 0..passes {
            let report = self.relay().await?;
            moved += report.moved;
            if report.moved == 0 && report.failed == 0 {
                break;
            }
        }
        Ok(moved)
    }

    /// The events after `after` that `filter` passes, in log order, at most `limit` (1 to
    /// [`MAX_EVENTS_PER_READ`]; errors name `limit`).
    pub async fn list(
        &self,
        after: Cursor,
        filter: &EventFilter,
        limit: u32,
    ) -> Result<Vec<Logged>> {
        if limit == 0 || limit > MAX_EVENTS_PER_READ {
            return Err(Error::validation(
                "limit",
                format!("must be between 1 and {MAX_EVENTS_PER_READ}"),
            ));
        }
        self.backend.events.list(after, filter, limit).await
    }

    /// The newest position of the log: a subscription from here sees only what comes next.
    pub async fn head(&self) -> Result<Cursor> {
        self.backend.events.head().await
    }

    /// Every event after `from` that `filter` passes, in log order, then each new one as it is
    /// logged (polled every `every`): durable and resumable, since a consumer that keeps the
    /// cursor of the last event it handled subscribes again from it. A failed read of the log
    /// is yielded as an error and the stream goes on.
    pub fn subscribe(
        &self,
        from: Cursor,
        filter: EventFilter,
        every: Duration,
    ) -> impl Stream<Item = Result<Logged>> + Send + 'static {
        let events = self.backend.events.clone();
        futures::stream::unfold(
            (from, std::collections::VecDeque::<Logged>::new()),
            move |(mut cursor, mut buffered)| {
                let (events, filter) = (events.clone(), filter.clone());
                async move {
                    loop {
                        if let Some(next) = buffered.pop_front() {
                            cursor = next.cursor;
                            return Some((Ok(next), (cursor, buffered)));
                        }
                        match events.list(cursor, &filter, MAX_EVENTS_PER_READ).await {
                            Ok(read) if read.is_empty() => tokio::time::sleep(every).await,
                            Ok(read) => buffered.extend(read),
                            Err(e) => {
                                tokio::time::sleep(every).await;
                                return Some((Err(e), (cursor, buffered)));
                            }
                        }
                    }
                }
            },
        )
    }

    /// Feeds every registered sink the events after its cursor (up to a read each), moving
    /// its cursor past those it took. Returns how many events the sinks took in all.
    pub async fn feed_sinks(&self) -> Result<u64> {
        let mut fed = 0;
        for sink in self.sinks.iter() {
            let name = format!("sink:{}", sink.name());
            let cursor = self.backend.events.cursor(&name).await?;
            let read = self
                .backend
                .events
                .list(cursor, &EventFilter::default(), MAX_EVENTS_PER_READ)
                .await?;
            let Some(last) = read.last().map(|l| l.cursor) else {
                continue;
            };
            match sink.take(&read).await {
                Ok(()) => {
                    self.backend.events.save_cursor(&name, cursor, last).await?;
                    fed += read.len() as u64;
                }
                Err(e) => {
                    tracing::warn!(sink = %sink.name(), error = %e, "an event sink failed; it gets the events again")
                }
            }
        }
        Ok(fed)
    }
}

/// The place of `kind` in [`EventKind::ALL`].
fn kind_index(kind: EventKind) -> usize {
    EventKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or_default()
}
