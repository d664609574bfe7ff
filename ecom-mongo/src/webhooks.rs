//! Webhook endpoints (`webhook_endpoints`) and deliveries (`webhook_deliveries`).
//!
//! Each document is the core type as serde writes it, with `_id` (its id) and fields for the
//! queries: an endpoint's `ownerKey` (the shop's id, or `platform`); a delivery's `orderKey`
//! (its endpoint's deliveries of one aggregate go in cursor order), `due` (fixed-width text,
//! only while it is pending: when a worker may next take it — its next try, or the end of the
//! lease a worker holds on it, or a parked one's wait; it is the truth of `next_try_at`),
//! `leaseUntil` (text, while a worker holds it), `finishedAt` and `expiresAt` (a BSON date: the
//! TTL index drops finished deliveries after the retention). A delivery is unique per
//! `(endpoint_id, event_id)`. So "pending, not leased, and due" is the single range
//! `due <= now`, which a store reads from the `due` index alone.
//!
//! A claim reads the due deliveries, the heads of their chains and the endpoints' leases (one
//! query each), then takes what it chose in one `update_many` that checks each is still due and
//! at the fence it was read with (not taken, given back or recorded since), moves its fence up
//! and marks it with the claim's token, and reads back what carries the token (only when some
//! were not taken); a worker's result is written with `replace_one` on the fence its claim
//! got. A delivery waiting behind an earlier pending one of its chain is parked (its `due` moved
//! past the earlier one's next try or lease, and `parked` set) so it does not crowd the due ones,
//! and the head of its chain is marked `waited`; when a marked delivery leaves `pending`, the
//! parked ones of its chain are woken (made due at once), and a park that comes after the head
//! left `pending` wakes itself. An unmarked delivery's result is one write.

use crate::collection::{collection, index, partial, unique};
use crate::error::{out_of_range, to_core, StoreError};
use crate::timestamp;
use async_trait::async_trait;
use bson::{doc, Bson, Document};
use ecom_core::clock::Timestamp;
use ecom_core::id::{DeliveryId, EndpointId, ShopId};
use ecom_core::page::Page;
use ecom_core::webhook::{
    ClaimLimits, Delivery, DeliveryStatus, Endpoint, EndpointOwner, Lease, WebhookRepo,
};
use ecom_core::{Error, Result};
use futures::TryStreamExt;
use mongodb::error::ErrorKind;
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use std::collections::{BTreeMap, BTreeSet};

/// The collection of endpoints.
pub(crate) const ENDPOINTS: &str = "webhook_endpoints";
/// The collection of deliveries.
pub(crate) const DELIVERIES: &str = "webhook_deliveries";

/// MongoDB's duplicate-key error code.
const DUPLICATE_KEY: i32 = 11000;
/// How much longer than what it waits for a blocked delivery is parked (a lost wake-up only
/// delays it by this much).
const PARK_MARGIN: chrono::Duration = chrono::Duration::minutes(1);
/// A claim reads a `1/CANDIDATES_SLACK` more candidates than it may take (some are blocked,
/// or over their endpoint's budget).
const CANDIDATES_SLACK: u32 = 4;

/// The indexes of endpoints: by owner (lists, and the endpoints an event may go to).
pub(crate) fn endpoint_indexes() -> Vec<IndexModel> {
    vec![index("owner_enabled", doc! { "ownerKey": 1, "enabled": 1 })]
}

/// The indexes of deliveries: one per (endpoint, event); the due ones; chains, led by the
/// aggregate's key (order checks, wake-ups: a handful of deliveries per key); the leased ones,
/// led by the lease's end (only those in flight are after now); an endpoint's lists; retention.
pub(crate) fn delivery_indexes() -> Vec<IndexModel> {
    vec![
        unique(
            "endpoint_event_unique",
            doc! { "endpoint_id": 1, "event_id": 1 },
        ),
        index("due", doc! { "due": 1, "cursor": 1 }),
        index(
            "chain",
            doc! { "orderKey": 1, "endpoint_id": 1, "status": 1, "cursor": 1 },
        ),
        index("leases", doc! { "leaseUntil": 1, "endpoint_id": 1 }),
        index("endpoint_newest", doc! { "endpoint_id": 1, "_id": -1 }),
        index(
            "endpoint_status_newest",
            doc! { "endpoint_id": 1, "status": 1, "_id": -1 },
        ),
        partial(
            "finished",
            doc! { "finishedAt": 1 },
            doc! { "finishedAt": { "$exists": true } },
            false,
        ),
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

/// The earliest pending delivery of a chain (an endpoint's deliveries of one aggregate).
struct ChainHead {
    id: String,
    cursor: u64,
    due: Timestamp,
    lease: Option<Timestamp>,
}

/// MongoDB [`WebhookRepo`] on `webhook_endpoints` and `webhook_deliveries`.
#[derive(Debug, Clone)]
pub struct MongoWebhooks {
    endpoints: Collection<Document>,
    deliveries: Collection<Document>,
    retention: chrono::Duration,
}

fn text(ts: &Timestamp) -> Result<Bson> {
    timestamp::to_bson(ts).map_err(to_core)
}

fn i64_of(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| out_of_range("a counter"))
}

fn malformed(what: &str) -> Error {
    to_core(StoreError::Malformed(what.to_owned()))
}

fn endpoint_doc(endpoint: &Endpoint) -> Result<Document> {
    let mut doc = bson::to_document(endpoint).map_err(to_core)?;
    doc.insert("_id", endpoint.id.as_str());
    doc.insert("ownerKey", endpoint.owner.key());
    Ok(doc)
}

fn endpoint_of(doc: Document) -> Result<Endpoint> {
    bson::from_document(doc).map_err(|e| malformed(&format!("a webhook endpoint: {e}")))
}

fn delivery_of(mut doc: Document) -> Result<Delivery> {
    let due = doc.get_str("due").ok().map(str::to_owned);
    doc.remove("_id");
    let mut delivery: Delivery =
        bson::from_document(doc).map_err(|e| malformed(&format!("a webhook delivery: {e}")))?;
    if let Some(due) = due {
        delivery.next_try_at = chrono::DateTime::parse_from_rfc3339(&due)
            .map_err(|_| malformed("a webhook delivery's due time"))?
            .with_timezone(&chrono::Utc);
    }
    Ok(delivery)
}

impl MongoWebhooks {
    /// The endpoints and deliveries on `db`, finished deliveries kept `retention`.
    pub fn new(db: &Database, retention: chrono::Duration) -> Self {
        MongoWebhooks {
            endpoints: collection(db, ENDPOINTS),
            deliveries: collection(db, DELIVERIES),
            retention,
        }
    }

    fn delivery_doc(&self, d: &Delivery) -> Result<Document> {
        let mut doc = bson::to_document(d).map_err(to_core)?;
        doc.insert("_id", d.id.as_str());
        doc.insert("orderKey", d.order_key());
        if d.status == DeliveryStatus::Pending {
            let due = d
                .lease
                .as_ref()
                .map_or(d.next_try_at, |l| l.until.max(d.next_try_at));
            doc.insert("due", text(&due)?);
        }
        match &d.lease {
            Some(lease) => doc.insert("leaseUntil", text(&lease.until)?),
            None => doc.insert("leaseUntil", Bson::Null),
        };
        if let Some(at) = &d.finished_at {
            doc.insert("finishedAt", text(at)?);
            let expires = *at + self.retention;
            doc.insert(
                "expiresAt",
                bson::DateTime::from_millis(expires.timestamp_millis()),
            );
        }
        Ok(doc)
    }

    async fn find_all(
        collection: &Collection<Document>,
        filter: Document,
        sort: Document,
    ) -> Result<Vec<Document>> {
        collection
            .find(filter)
            .sort(sort)
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)
    }

    /// The deliveries of the endpoints in `endpoints` leased at `now`, per endpoint.
    async fn leased(&self, endpoints: &[String], now: &Bson) -> Result<BTreeMap<String, u32>> {
        let docs: Vec<Document> = self
            .deliveries
            .find(doc! {
                "leaseUntil": { "$gt": now.clone() },
                "endpoint_id": { "$in": endpoints },
            })
            .projection(doc! { "_id": 0, "endpoint_id": 1 })
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)?;
        let mut leased = BTreeMap::new();
        for d in docs {
            if let Ok(e) = d.get_str("endpoint_id") {
                *leased.entry(e.to_owned()).or_default() += 1;
            }
        }
        Ok(leased)
    }

    /// For the chains of `candidates`, the earliest pending delivery of each (endpoint, order
    /// key): one read of the deliveries of their keys (a handful per key), the rest picked here.
    async fn chain_heads(
        &self,
        candidates: &[Delivery],
    ) -> Result<BTreeMap<(String, String), ChainHead>> {
        let endpoints: BTreeSet<&str> = candidates.iter().map(|c| c.endpoint_id.as_str()).collect();
        let keys: BTreeSet<String> = candidates.iter().map(Delivery::order_key).collect();
        let docs: Vec<Document> = self
            .deliveries
            .find(doc! { "orderKey": { "$in": keys.into_iter().collect::<Vec<_>>() } })
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)?;
        let mut docs = docs
            .into_iter()
            .map(delivery_of)
            .filter(|d| {
                d.as_ref().map_or(true, |d| {
                    d.status == DeliveryStatus::Pending
                        && endpoints.contains(d.endpoint_id.as_str())
                })
            })
            .collect::<Result<Vec<_>>>()?;
        docs.sort_by_key(|d| d.cursor);
        let mut heads = BTreeMap::new();
        for d in docs {
            heads
                .entry((d.endpoint_id.to_string(), d.order_key()))
                .or_insert(ChainHead {
                    id: d.id.to_string(),
                    cursor: d.cursor.0,
                    due: d.next_try_at,
                    lease: d.lease.map(|l| l.until),
                });
        }
        Ok(heads)
    }

    /// Parks a blocked delivery: moves its due time past what it waits for, marks it for the
    /// wake-up of its chain, and marks the head of its chain `waited`. If the head left
    /// `pending` meanwhile, it is woken at once; a head marked while still pending wakes the
    /// chain with its result.
    async fn park(&self, d: &Delivery, head: &ChainHead, now: Timestamp) -> Result<()> {
        let waits_for = head.due.max(head.lease.unwrap_or(now)).max(now) + PARK_MARGIN;
        self.deliveries
            .update_one(
                doc! { "_id": d.id.as_str(), "fence": i64_of(d.fence)?, "status": "pending" },
                doc! { "$max": { "due": text(&waits_for)? }, "$set": { "parked": true } },
            )
            .await
            .map_err(to_core)?;
        // Tell the head it has a waiter: its result then wakes the chain. If it is not pending
        // any more, its result came first (and woke nothing): wake this one now.
        let head_pending = self
            .deliveries
            .update_one(
                doc! { "_id": head.id.as_str(), "status": "pending" },
                doc! { "$set": { "waited": true } },
            )
            .await
            .map_err(to_core)?
            .matched_count
            == 1;
        if !head_pending {
            self.unpark(d.id.as_str(), now).await?;
        }
        Ok(())
    }

    /// Makes the parked delivery `id` due at `now`.
    async fn unpark(&self, id: &str, now: Timestamp) -> Result<()> {
        self.deliveries
            .update_one(
                doc! { "_id": id, "status": "pending", "parked": true },
                doc! { "$min": { "due": text(&now)? }, "$set": { "parked": false } },
            )
            .await
            .map_err(to_core)?;
        Ok(())
    }

    /// Gives back a claim (its fence stays moved).
    async fn unclaim(&self, d: &Delivery, now: &Bson) -> Result<()> {
        self.deliveries
            .update_one(
                doc! { "_id": d.id.as_str(), "fence": i64_of(d.fence)? },
                doc! { "$set": { "lease": Bson::Null, "leaseUntil": Bson::Null, "due": now.clone() } },
            )
            .await
            .map_err(to_core)?;
        Ok(())
    }

    /// Takes `chosen` (read as due and free at `now`), those that still are, for `holder`
    /// until `until`, in one update marked with a token of this claim; returns them as taken, in
    /// the order given (read back only if another worker took some first).
    async fn take(
        &self,
        chosen: Vec<Delivery>,
        now: &Bson,
        holder: &str,
        until: Timestamp,
    ) -> Result<Vec<Delivery>> {
        let lease = Lease {
            holder: holder.to_owned(),
            until,
        };
        let token = uuid::Uuid::new_v4().simple().to_string();
        let ids: Vec<&str> = chosen.iter().map(|d| d.id.as_str()).collect();
        // Each at the fence it was read with: one another worker claimed (and gave back, or
        // recorded as due again) since is not taken here, so a full match means every fence
        // below is the stored one.
        let as_read = chosen
            .iter()
            .map(|d| Ok(doc! { "_id": d.id.as_str(), "fence": i64_of(d.fence)? }))
            .collect::<Result<Vec<Document>>>()?;
        let taken = self
            .deliveries
            .update_many(
                doc! { "$or": as_read, "due": { "$lte": now.clone() } },
                doc! {
                    "$set": {
                        "lease": bson::to_bson(&lease).map_err(to_core)?,
                        "leaseUntil": text(&until)?,
                        "due": text(&until)?,
                        "parked": false,
                        "claim": &token,
                    },
                    "$inc": { "fence": 1_i64 },
                },
            )
            .await
            .map_err(to_core)?;
        if taken.matched_count == chosen.len() as u64 {
            return Ok(chosen
                .into_iter()
                .map(|mut d| {
                    d.lease = Some(lease.clone());
                    d.fence += 1;
                    d
                })
                .collect());
        }
        let mut taken: BTreeMap<String, Delivery> = Self::find_all(
            &self.deliveries,
            doc! { "_id": { "$in": &ids }, "claim": &token },
            doc! {},
        )
        .await?
        .into_iter()
        .map(|doc| delivery_of(doc).map(|d| (d.id.to_string(), d)))
        .collect::<Result<_>>()?;
        Ok(chosen
            .iter()
            .filter_map(|d| taken.remove(d.id.as_str()))
            .collect())
    }

    /// Stores each of `group` (all claimed at `fence`) that no parked delivery waits for, in
    /// one statement that replaces each by its own document (a pipeline update picking it by
    /// `_id`): the store's cost per statement, not per delivery. Whether every one was stored.
    async fn finish_together(&self, group: &[&Delivery], fence: u64) -> Result<bool> {
        let ids: Vec<&str> = group.iter().map(|d| d.id.as_str()).collect();
        let branches = group
            .iter()
            .map(|d| -> Result<Document> {
                Ok(doc! {
                    "case": { "$eq": ["$_id", d.id.as_str()] },
                    "then": { "$literal": self.delivery_doc(d)? },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let replaced = self
            .deliveries
            .update_many(
                doc! {
                    "_id": { "$in": ids },
                    "fence": i64_of(fence)?,
                    "waited": { "$ne": true },
                },
                vec![doc! {
                    "$replaceWith": { "$switch": { "branches": branches, "default": "$$ROOT" } },
                }],
            )
            .await
            .map_err(to_core)?;
        Ok(replaced.matched_count == group.len() as u64)
    }

    /// Stores `d` if its fence is still `fence`. The common case is one write: a delivery no
    /// parked one waits for (not marked `waited`). A waited-for one is written keeping the mark
    /// while it stays pending, and wakes its chain when it leaves `pending`.
    async fn finish_one(&self, d: &Delivery, fence: u64) -> Result<bool> {
        let fence = i64_of(fence)?;
        let replaced = self
            .deliveries
            .replace_one(
                doc! { "_id": d.id.as_str(), "fence": fence, "waited": { "$ne": true } },
                self.delivery_doc(d)?,
            )
            .await
            .map_err(to_core)?;
        if replaced.matched_count == 1 {
            return Ok(true);
        }
        let mut doc = self.delivery_doc(d)?;
        let pending = d.status == DeliveryStatus::Pending;
        if pending {
            doc.insert("waited", true);
        }
        let replaced = self
            .deliveries
            .replace_one(doc! { "_id": d.id.as_str(), "fence": fence }, doc)
            .await
            .map_err(to_core)?;
        if replaced.matched_count != 1 {
            return Ok(false);
        }
        if !pending {
            self.wake_next(d, d.finished_at.unwrap_or(d.next_try_at))
                .await?;
        }
        Ok(true)
    }

    /// Makes the parked deliveries of `d`'s chain due at `now` (the next one goes; any after
    /// it are parked again behind it).
    async fn wake_next(&self, d: &Delivery, now: Timestamp) -> Result<()> {
        self.deliveries
            .update_many(
                doc! {
                    "orderKey": d.order_key(),
                    "endpoint_id": d.endpoint_id.as_str(),
                    "status": "pending",
                    "parked": true,
                },
                doc! { "$min": { "due": text(&now)? }, "$set": { "parked": false } },
            )
            .await
            .map_err(to_core)?;
        Ok(())
    }
}

#[async_trait]
impl WebhookRepo for MongoWebhooks {
    async fn insert_endpoint(&self, endpoint: &Endpoint) -> Result<()> {
        self.endpoints
            .insert_one(endpoint_doc(endpoint)?)
            .await
            .map_err(|e| crate::error::exists_as(to_core(e), "webhook endpoint"))?;
        Ok(())
    }

    async fn endpoint(&self, id: &EndpointId) -> Result<Option<Endpoint>> {
        self.endpoints
            .find_one(doc! { "_id": id.as_str() })
            .await
            .map_err(to_core)?
            .map(endpoint_of)
            .transpose()
    }

    async fn endpoints(&self, owner: &EndpointOwner) -> Result<Vec<Endpoint>> {
        let docs = Self::find_all(
            &self.endpoints,
            doc! { "ownerKey": owner.key() },
            doc! { "_id": 1 },
        )
        .await?;
        docs.into_iter().map(endpoint_of).collect()
    }

    async fn enabled_endpoints(&self, shops: &[ShopId]) -> Result<Vec<Endpoint>> {
        let mut owners: Vec<String> = shops.iter().map(|s| s.to_string()).collect();
        owners.push(EndpointOwner::Platform.key());
        let docs = Self::find_all(
            &self.endpoints,
            doc! { "ownerKey": { "$in": owners }, "enabled": true },
            doc! { "_id": 1 },
        )
        .await?;
        docs.into_iter().map(endpoint_of).collect()
    }

    async fn replace_endpoint(&self, endpoint: &Endpoint, expected: u64) -> Result<bool> {
        let replaced = self
            .endpoints
            .replace_one(
                doc! { "_id": endpoint.id.as_str(), "version": i64_of(expected)? },
                endpoint_doc(endpoint)?,
            )
            .await
            .map_err(to_core)?;
        Ok(replaced.matched_count == 1)
    }

    async fn delete_endpoint(&self, id: &EndpointId) -> Result<bool> {
        let deleted = self
            .endpoints
            .delete_one(doc! { "_id": id.as_str() })
            .await
            .map_err(to_core)?;
        self.deliveries
            .delete_many(doc! { "endpoint_id": id.as_str() })
            .await
            .map_err(to_core)?;
        Ok(deleted.deleted_count == 1)
    }

    async fn endpoint_failed(&self, id: &EndpointId, at: Timestamp) -> Result<Option<Timestamp>> {
        let at = bson::to_bson(&at).map_err(to_core)?;
        self.endpoints
            .update_one(
                doc! { "_id": id.as_str(), "failing_since": Bson::Null },
                doc! { "$set": { "failing_since": at }, "$inc": { "version": 1_i64 } },
            )
            .await
            .map_err(to_core)?;
        Ok(self.endpoint(id).await?.and_then(|e| e.failing_since))
    }

    async fn endpoint_succeeded(&self, id: &EndpointId) -> Result<()> {
        self.endpoints
            .update_one(
                doc! { "_id": id.as_str(), "failing_since": { "$ne": Bson::Null } },
                doc! { "$set": { "failing_since": Bson::Null }, "$inc": { "version": 1_i64 } },
            )
            .await
            .map_err(to_core)?;
        Ok(())
    }

    async fn disable_endpoint(&self, id: &EndpointId, reason: &str) -> Result<bool> {
        let disabled = self
            .endpoints
            .update_one(
                doc! { "_id": id.as_str(), "enabled": true },
                doc! {
                    "$set": { "enabled": false, "disabled_reason": reason },
                    "$inc": { "version": 1_i64 },
                },
            )
            .await
            .map_err(to_core)?;
        Ok(disabled.modified_count == 1)
    }

    async fn insert_deliveries(&self, deliveries: &[Delivery]) -> Result<u64> {
        let mut docs = deliveries
            .iter()
            .map(|d| self.delivery_doc(d))
            .collect::<Result<Vec<_>>>()?;
        let mut new = 0;
        // Ordered inserts: a delivery is stored only after those before it. A duplicate stops
        // the insert at its place; the rest go on from after it.
        while !docs.is_empty() {
            match self
                .deliveries
                .insert_many(docs.clone())
                .ordered(true)
                .await
            {
                Ok(done) => return Ok(new + done.inserted_ids.len() as u64),
                Err(e) => {
                    let ErrorKind::InsertMany(failure) = e.kind.as_ref() else {
                        return Err(to_core(e));
                    };
                    let errors = failure.write_errors.as_deref().unwrap_or_default();
                    let Some(first) = errors.first() else {
                        return Err(to_core(e));
                    };
                    if first.code != DUPLICATE_KEY || first.index >= docs.len() {
                        return Err(to_core(e));
                    }
                    new += first.index as u64;
                    docs.drain(..=first.index);
                }
            }
        }
        Ok(new)
    }

    async fn claim(
        &self,
        now: Timestamp,
        holder: &str,
        until: Timestamp,
        limits: ClaimLimits,
    ) -> Result<Vec<Delivery>> {
        if limits.max == 0 {
            return Ok(Vec::new());
        }
        let now_text = text(&now)?;
        let candidates: Vec<Delivery> = self
            .deliveries
            // Pending, free and due: one range of the `due` index, walked in (due, cursor) order
            // up to the limit (no sort stage: a store that sorts before limiting,
            // secantusd-rs, would read every due delivery of a backlog on each claim).
            .find(doc! { "due": { "$lte": now_text.clone() } })
            .limit(i64::from(
                limits.max.saturating_add(limits.max / CANDIDATES_SLACK),
            ))
            .await
            .map_err(to_core)?
            .try_collect::<Vec<Document>>()
            .await
            .map_err(to_core)?
            .into_iter()
            .map(delivery_of)
            .collect::<Result<_>>()?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let endpoints: Vec<String> = candidates
            .iter()
            .map(|c| c.endpoint_id.to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // Within each endpoint's budget first, so only those are checked for their order.
        let mut leased = self.leased(&endpoints, &now_text).await?;
        let within: Vec<Delivery> = candidates
            .into_iter()
            .filter(|c| {
                let count = leased.entry(c.endpoint_id.to_string()).or_default();
                let free = *count < limits.per_endpoint;
                *count += u32::from(free);
                free
            })
            .take(limits.max as usize)
            .collect();
        let heads = self.chain_heads(&within).await?;
        let mut chosen = Vec::new();
        for c in within {
            let chain = (c.endpoint_id.to_string(), c.order_key());
            if let Some(head) = heads.get(&chain) {
                if head.cursor < c.cursor.0 {
                    self.park(&c, head, now).await?;
                    continue;
                }
            }
            chosen.push(c);
        }
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        let mut claimed = self.take(chosen, &now_text, holder, until).await?;
        // Other workers may have leased deliveries of the same endpoints meanwhile: count
        // again, and give back what puts an endpoint over its limit.
        let mut over: BTreeMap<String, u32> = self
            .leased(&endpoints, &now_text)
            .await?
            .into_iter()
            .filter_map(|(e, n)| (n > limits.per_endpoint).then(|| (e, n - limits.per_endpoint)))
            .collect();
        if !over.is_empty() {
            let mut kept = Vec::with_capacity(claimed.len());
            for d in claimed.into_iter().rev() {
                match over.get_mut(d.endpoint_id.as_str()) {
                    Some(extra) if *extra > 0 => {
                        *extra -= 1;
                        self.unclaim(&d, &now_text).await?;
                    }
                    _ => kept.push(d),
                }
            }
            kept.reverse();
            claimed = kept;
        }
        Ok(claimed)
    }

    async fn finish_many(&self, finished: &[(Delivery, u64)]) -> Result<Vec<bool>> {
        let mut by_fence: BTreeMap<u64, Vec<&Delivery>> = BTreeMap::new();
        for (d, fence) in finished {
            by_fence.entry(*fence).or_default().push(d);
        }
        let mut all_stored = true;
        for (fence, group) in by_fence {
            all_stored &= self.finish_together(&group, fence).await?;
        }
        if all_stored {
            return Ok(vec![true; finished.len()]);
        }
        // Some were taken over, or are waited for: one by one (writing one already stored
        // again stores the same document).
        futures::future::try_join_all(finished.iter().map(|(d, fence)| self.finish_one(d, *fence)))
            .await
    }

    async fn delivery(&self, id: &DeliveryId) -> Result<Option<Delivery>> {
        self.deliveries
            .find_one(doc! { "_id": id.as_str() })
            .await
            .map_err(to_core)?
            .map(delivery_of)
            .transpose()
    }

    async fn deliveries(
        &self,
        endpoint: &EndpointId,
        status: Option<DeliveryStatus>,
        page: Page,
    ) -> Result<Vec<Delivery>> {
        let mut filter = doc! { "endpoint_id": endpoint.as_str() };
        if let Some(status) = status {
            filter.insert("status", status.name());
        }
        self.deliveries
            .find(filter)
            .sort(doc! { "_id": -1 })
            .skip(page.skip)
            .limit(i64::from(page.limit))
            .await
            .map_err(to_core)?
            .try_collect::<Vec<Document>>()
            .await
            .map_err(to_core)?
            .into_iter()
            .map(delivery_of)
            .collect()
    }

    async fn retry(&self, id: &DeliveryId, now: Timestamp) -> Result<Option<Delivery>> {
        let now = text(&now)?;
        // A failed one is pending again, due now.
        self.deliveries
            .update_one(
                doc! { "_id": id.as_str(), "status": "failed" },
                doc! {
                    "$set": {
                        "status": "pending",
                        "due": now.clone(),
                        "finished_at": Bson::Null,
                        "lease": Bson::Null,
                        "leaseUntil": Bson::Null,
                    },
                    "$unset": { "finishedAt": "", "expiresAt": "" },
                },
            )
            .await
            .map_err(to_core)?;
        // A pending one is due now, unless a worker holds it (its due is its lease's end).
        self.deliveries
            .update_one(
                doc! {
                    "_id": id.as_str(),
                    "status": "pending",
                    "$or": [
                        { "leaseUntil": Bson::Null },
                        { "leaseUntil": { "$lte": now.clone() } },
                    ],
                },
                doc! { "$min": { "due": now }, "$set": { "parked": false } },
            )
            .await
            .map_err(to_core)?;
        self.delivery(id).await
    }

    async fn purge(&self, before: Timestamp) -> Result<u64> {
        let deleted = self
            .deliveries
            .delete_many(doc! {
                "status": { "$in": ["succeeded", "failed"] },
                "finishedAt": { "$lt": text(&before)? },
            })
            .await
            .map_err(to_core)?;
        Ok(deleted.deleted_count)
    }
}
