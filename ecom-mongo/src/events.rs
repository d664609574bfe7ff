//! The log of events (`Events`) and the outboxes of the documents whose changes make events.
//!
//! The log's `_id` is the event's cursor: an append reads the newest cursor and inserts the
//! next ones, ordered; `eventId` is unique, so an event appended twice keeps its first cursor,
//! and a cursor taken by another appender at the same moment fails the insert, which then
//! reads the head again. A cursor is therefore only ever inserted when every smaller one
//! exists: a reader that listed up to a cursor never misses one inserted later. Events expire
//! after the retention through the TTL index on `expiresAt`.
//!
//! The newest cursor is read from a hint (`EventCursors` `$head`, moved up after each append)
//! and the few entries above it, so finding it never reads the whole log (a store that sorts
//! every match before limiting would otherwise pay for the whole log on every append).

use crate::collection::{collection, index, partial, unique, update_each};
use crate::error::to_core;
use crate::{discounts, inventory, orders, products};
use async_trait::async_trait;
use bson::{doc, Bson, Document};
use ecom_core::clock::Timestamp;
use ecom_core::event::{AggregateKind, Cursor, Event, EventFilter, EventRepo, Logged, OutboxRepo};
use ecom_core::id::EventId;
use ecom_core::{Error, Result};
use futures::TryStreamExt;
use mongodb::error::ErrorKind;
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use std::collections::BTreeMap;

/// The collection of the log.
pub(crate) const EVENTS: &str = "Events";
/// The collection of consumers' cursors.
pub(crate) const EVENT_CURSORS: &str = "EventCursors";

/// The `EventCursors` entry that hints at the log's newest cursor.
const HEAD: &str = "$head";

/// MongoDB's duplicate-key error code.
const DUPLICATE_KEY: i32 = 11000;
/// Tries of an append whose cursors other appenders keep taking.
const APPEND_ROUNDS: usize = 20;

/// The indexes of the log: one id per event, the shops' reads, and expiry.
pub(crate) fn indexes() -> Vec<IndexModel> {
    vec![
        unique("event_id_unique", doc! { "eventId": 1 }),
        index("shop_cursor", doc! { "shops": 1, "_id": 1 }),
        IndexModel::builder()
            .keys(doc! { "expiresAt": 1 })
            .options(
                IndexOptions::builder()
                    .name("retention".to_owned())
                    .expire_after(std::time::Duration::ZERO)
                    .build(),
            )
            .build(),
    ]
}

/// The index every collection with an outbox has: its documents with events waiting.
pub(crate) fn outbox_index() -> IndexModel {
    partial(
        "outbox_waiting",
        doc! { "outbox.id": 1 },
        doc! { "outbox.id": { "$exists": true } },
        false,
    )
}

/// MongoDB [`EventRepo`] on `Events` and `EventCursors`.
#[derive(Debug, Clone)]
pub struct MongoEvents {
    events: Collection<Document>,
    cursors: Collection<Document>,
    retention: chrono::Duration,
}

impl MongoEvents {
    /// The log on `db`, events kept `retention` after they happened.
    pub fn new(db: &Database, retention: chrono::Duration) -> Self {
        MongoEvents {
            events: collection(db, EVENTS),
            cursors: collection(db, EVENT_CURSORS),
            retention,
        }
    }

    /// The newest cursor: the hint, or the newest entry above it.
    async fn head_now(&self) -> Result<u64> {
        let hint = self
            .cursors
            .find_one(doc! { "_id": HEAD })
            .await
            .map_err(to_core)?
            .and_then(|d| d.get_i64("at").ok())
            .unwrap_or(0);
        let above: Vec<Document> = self
            .events
            .find(doc! { "_id": { "$gt": hint } })
            .projection(doc! { "_id": 1 })
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)?;
        let newest = above
            .iter()
            .filter_map(|d| d.get_i64("_id").ok())
            .max()
            .unwrap_or(hint);
        Ok(u64::try_from(newest).unwrap_or(0))
    }

    /// Moves the hint of the newest cursor up to `head` (never down). Best effort: a hint that
    /// lags only makes the next read of the head look at a few more entries.
    async fn hint_head(&self, head: u64) {
        let Ok(head) = i64::try_from(head) else {
            return;
        };
        let moved = self
            .cursors
            .update_one(doc! { "_id": HEAD }, doc! { "$max": { "at": head } })
            .upsert(true)
            .await;
        if let Err(e) = moved {
            tracing::debug!(error = %e, "moving the log's head hint failed");
        }
    }

    /// The cursors of the events among `ids` already logged.
    async fn logged(&self, ids: &[&str]) -> Result<BTreeMap<String, Cursor>> {
        let docs: Vec<Document> = self
            .events
            .find(doc! { "eventId": { "$in": ids } })
            .projection(doc! { "_id": 1, "eventId": 1 })
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)?;
        Ok(docs
            .into_iter()
            .filter_map(|d| {
                let id = d.get_str("eventId").ok()?.to_owned();
                let cursor = u64::try_from(d.get_i64("_id").ok()?).ok()?;
                Some((id, Cursor(cursor)))
            })
            .collect())
    }

    fn doc_of(&self, event: &Event, cursor: u64) -> Result<Document> {
        let expires = event.at + self.retention;
        Ok(doc! {
            "_id": i64::try_from(cursor).map_err(|_| Error::backend("the log is full"))?,
            "eventId": event.id.as_str(),
            "kind": event.kind.name(),
            "shops": event.shops.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "expiresAt": bson::DateTime::from_millis(expires.timestamp_millis()),
            "event": bson::to_bson(event).map_err(Error::backend)?,
        })
    }
}

fn logged_of(doc: Document) -> Result<Logged> {
    let cursor = doc
        .get_i64("_id")
        .ok()
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| Error::backend("an event without its cursor"))?;
    let event = doc
        .get("event")
        .cloned()
        .ok_or_else(|| Error::backend("a logged event without its body"))?;
    Ok(Logged {
        cursor: Cursor(cursor),
        event: bson::from_bson(event).map_err(Error::backend)?,
    })
}

#[async_trait]
impl EventRepo for MongoEvents {
    async fn append(&self, events: &[Event]) -> Result<Vec<Cursor>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        for _ in 0..APPEND_ROUNDS {
            let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
            let mut cursors = self.logged(&ids).await?;
            let mut new: Vec<&Event> = Vec::new();
            for event in events {
                if !cursors.contains_key(event.id.as_str()) && !new.iter().any(|n| n.id == event.id)
                {
                    new.push(event);
                }
            }
            if new.is_empty() {
                return Ok(events.iter().map(|e| cursors[e.id.as_str()]).collect());
            }
            let head = self.head_now().await?;
            let docs = new
                .iter()
                .enumerate()
                .map(|(i, e)| self.doc_of(e, head + 1 + i as u64))
                .collect::<Result<Vec<_>>>()?;
            match self.events.insert_many(docs).ordered(true).await {
                Ok(_) => {
                    for (i, e) in new.iter().enumerate() {
                        cursors.insert(e.id.to_string(), Cursor(head + 1 + i as u64));
                    }
                    self.hint_head(head + new.len() as u64).await;
                    return Ok(events.iter().map(|e| cursors[e.id.as_str()]).collect());
                }
                Err(e) => match e.kind.as_ref() {
                    // Another appender took a cursor (or appended one of these events): the
                    // prefix before it is in; read again and go on.
                    ErrorKind::InsertMany(failure)
                        if failure
                            .write_errors
                            .iter()
                            .flatten()
                            .all(|w| w.code == DUPLICATE_KEY) => {}
                    _ => return Err(to_core(e)),
                },
            }
        }
        Err(Error::Busy(
            "other appenders kept taking the log's cursors".into(),
        ))
    }

    async fn list(&self, after: Cursor, filter: &EventFilter, limit: u32) -> Result<Vec<Logged>> {
        let mut query = doc! {
            "_id": { "$gt": i64::try_from(after.0).unwrap_or(i64::MAX) },
        };
        if let Some(shop) = &filter.shop {
            query.insert("shops", shop.as_str());
        }
        if !filter.kinds.is_empty() {
            let kinds: Vec<&str> = filter.kinds.iter().map(|k| k.name()).collect();
            query.insert("kind", doc! { "$in": kinds });
        }
        let docs: Vec<Document> = self
            .events
            .find(query)
            .sort(doc! { "_id": 1 })
            .limit(i64::from(limit))
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)?;
        docs.into_iter().map(logged_of).collect()
    }

    async fn get_many(&self, ids: &[EventId]) -> Result<Vec<Logged>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = ids.iter().map(EventId::as_str).collect();
        self.events
            .find(doc! { "eventId": { "$in": ids } })
            .await
            .map_err(to_core)?
            .try_collect::<Vec<Document>>()
            .await
            .map_err(to_core)?
            .into_iter()
            .map(logged_of)
            .collect()
    }

    async fn head(&self) -> Result<Cursor> {
        Ok(Cursor(self.head_now().await?))
    }

    async fn purge(&self, before: Timestamp) -> Result<u64> {
        let deleted = self
            .events
            .delete_many(doc! {
                "expiresAt": { "$lt": bson::DateTime::from_millis((before + self.retention).timestamp_millis()) },
            })
            .await
            .map_err(to_core)?;
        Ok(deleted.deleted_count)
    }

    async fn cursor(&self, name: &str) -> Result<Cursor> {
        let found = self
            .cursors
            .find_one(doc! { "_id": name })
            .await
            .map_err(to_core)?;
        Ok(Cursor(
            found
                .and_then(|d| d.get_i64("at").ok())
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0),
        ))
    }

    async fn save_cursor(&self, name: &str, from: Cursor, to: Cursor) -> Result<bool> {
        let (from, to) = (
            i64::try_from(from.0).unwrap_or(i64::MAX),
            i64::try_from(to.0).unwrap_or(i64::MAX),
        );
        let filter = match from {
            0 => doc! { "_id": name, "$or": [{ "at": 0_i64 }, { "at": { "$exists": false } }] },
            _ => doc! { "_id": name, "at": from },
        };
        let moved = self
            .cursors
            .update_one(filter, doc! { "$set": { "at": to } })
            .upsert(from == 0)
            .await;
        match moved.map_err(to_core) {
            Ok(done) => Ok(done.matched_count == 1 || done.upserted_id.is_some()),
            // The upsert of a first save raced another: that one moved it.
            Err(Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// MongoDB [`OutboxRepo`] over the collections whose documents keep outboxes.
#[derive(Debug, Clone)]
pub struct MongoOutboxes {
    orders: Collection<Document>,
    products: Collection<Document>,
    stock: Collection<Document>,
    discounts: Collection<Document>,
}

impl MongoOutboxes {
    /// The outboxes on `db`.
    pub fn new(db: &Database) -> Self {
        MongoOutboxes {
            orders: collection(db, orders::ORDERS),
            products: collection(db, products::PRODUCTS),
            stock: collection(db, inventory::INVENTORIES),
            discounts: collection(db, discounts::DISCOUNTS),
        }
    }

    fn of(&self, kind: AggregateKind) -> &Collection<Document> {
        match kind {
            AggregateKind::Order => &self.orders,
            AggregateKind::Product => &self.products,
            AggregateKind::Stock => &self.stock,
            AggregateKind::Discount => &self.discounts,
        }
    }
}

#[async_trait]
impl OutboxRepo for MongoOutboxes {
    async fn waiting(&self, kind: AggregateKind, limit: u32) -> Result<Vec<(String, Vec<Event>)>> {
        let docs: Vec<Document> = self
            .of(kind)
            // `$exists` names the partial index's filter (so a real MongoDB may use it); the
            // range over every string (event ids are strings) gives the bounds a store reads
            // the index between, so no store scans the collection for waiting outboxes
            // (secantusd-rs does on `$exists` alone: 175 ms per poll at 100,000 products).
            .find(doc! { "outbox.id": { "$exists": true, "$gte": "" } })
            .projection(doc! { "_id": 1, "outbox": 1 })
            .limit(i64::from(limit))
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)?;
        docs.into_iter()
            .map(|d| {
                let id = d
                    .get_str("_id")
                    .map_err(|_| Error::backend("a document without its id"))?
                    .to_owned();
                let events = match d.get("outbox") {
                    Some(Bson::Array(items)) => items
                        .iter()
                        .map(|e| bson::from_bson(e.clone()).map_err(Error::backend))
                        .collect::<Result<Vec<Event>>>()?,
                    _ => Vec::new(),
                };
                Ok((id, events))
            })
            .collect()
    }

    async fn clear(&self, kind: AggregateKind, cleared: &[(String, Vec<EventId>)]) -> Result<()> {
        if cleared.is_empty() {
            return Ok(());
        }
        let statements = cleared
            .iter()
            .map(|(id, ids)| {
                let ids: Vec<&str> = ids.iter().map(EventId::as_str).collect();
                doc! {
                    "q": { "_id": id },
                    "u": { "$pull": { "outbox": { "id": { "$in": ids } } } },
                }
            })
            .collect();
        update_each(self.of(kind), statements).await.map(drop)
    }
}
