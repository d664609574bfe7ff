//! Webhook endpoints (`webhook_endpoints`) and deliveries (`webhook_deliveries`).
//!
//! Each document is the core type as serde writes it, with `_id` (its id) and fields for the
//! queries: an endpoint's `ownerKey` (the shop's id, or `platform`); a delivery's `orderKey`
//! (its endpoint's deliveries of one aggregate go in cursor order), `due` (when it is next
//! due, fixed-width text: the truth of `next_try_at`), `leaseUntil` (text, while a worker holds
//! it), `finishedAt` and `expiresAt` (a BSON date: the TTL index drops finished deliveries
//! after the retention). A delivery is unique per `(endpoint_id, event_id)`.
//!
//! A claim takes due deliveries one by one with `find_one_and_update` on the fence it read
//! (which it moves up); a worker's result is written with `replace_one` on the fence its claim
//! got. A delivery waiting behind an earlier pending one of its chain is parked (its `due`
//! moved past the earlier one's next try or lease, and `parked` set) so it does not crowd the
//! due ones; when a delivery leaves `pending`, the next one of its chain is woken (made due at
//! once) if parked, and a park that comes after the head left `pending` wakes itself.

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
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{Collection, Database, IndexModel};
use std::collections::BTreeMap;

/// The collection of endpoints.
pub(crate) const ENDPOINTS: &str = "webhook_endpoints";
/// The collection of deliveries.
pub(crate) const DELIVERIES: &str = "webhook_deliveries";

/// MongoDB's duplicate-key error code.
const DUPLICATE_KEY: i32 = 11000;
/// How much longer than what it waits for a blocked delivery is parked (a lost wake-up only
/// delays it by this much).
const PARK_MARGIN: chrono::Duration = chrono::Duration::minutes(1);
/// Candidates read per claim, per delivery wanted (some are blocked or taken).
const CANDIDATES_PER_CLAIM: u32 = 4;

/// The indexes of endpoints: by owner (lists, and the endpoints an event may go to).
pub(crate) fn endpoint_indexes() -> Vec<IndexModel> {
    vec![index("owner_enabled", doc! { "ownerKey": 1, "enabled": 1 })]
}

/// The indexes of deliveries: one per (endpoint, event); the due ones; each endpoint's chains
/// (order checks, wake-ups, leases counted); an endpoint's lists; retention.
pub(crate) fn delivery_indexes() -> Vec<IndexModel> {
    vec![
        unique(
            "endpoint_event_unique",
            doc! { "endpoint_id": 1, "event_id": 1 },
        ),
        partial(
            "pending_due",
            doc! { "due": 1, "cursor": 1 },
            doc! { "status": "pending" },
            false,
        ),
        index(
            "endpoint_chain",
            doc! { "endpoint_id": 1, "status": 1, "orderKey": 1, "cursor": 1 },
        ),
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
    let due = doc
        .get_str("due")
        .map_err(|_| malformed("a webhook delivery without its due time"))?
        .to_owned();
    doc.remove("_id");
    let mut delivery: Delivery =
        bson::from_document(doc).map_err(|e| malformed(&format!("a webhook delivery: {e}")))?;
    delivery.next_try_at = chrono::DateTime::parse_from_rfc3339(&due)
        .map_err(|_| malformed("a webhook delivery's due time"))?
        .with_timezone(&chrono::Utc);
    Ok(delivery)
}

/// The filter of a delivery with no lease, or a lapsed one, at `now`.
fn free(now: &Bson) -> Bson {
    Bson::Array(vec![
        Bson::Document(doc! { "leaseUntil": Bson::Null }),
        Bson::Document(doc! { "leaseUntil": { "$lte": now.clone() } }),
    ])
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
        doc.insert("due", text(&d.next_try_at)?);
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
        let docs = Self::find_all(
            &self.deliveries,
            doc! {
                "endpoint_id": { "$in": endpoints },
                "status": "pending",
                "leaseUntil": { "$gt": now.clone() },
            },
            doc! {},
        )
        .await?;
        let mut leased = BTreeMap::new();
        for d in docs {
            if let Ok(e) = d.get_str("endpoint_id") {
                *leased.entry(e.to_owned()).or_default() += 1;
            }
        }
        Ok(leased)
    }

    /// For the chains of `candidates`, the earliest pending delivery of each (endpoint, order
    /// key) below the highest candidate's cursor.
    async fn chain_heads(
        &self,
        candidates: &[Delivery],
    ) -> Result<BTreeMap<(String, String), ChainHead>> {
        let clauses: Vec<Document> = candidates
            .iter()
            .map(|c| -> Result<Document> {
                Ok(doc! {
                    "endpoint_id": c.endpoint_id.as_str(),
                    "orderKey": c.order_key(),
                    "cursor": { "$lt": i64_of(c.cursor.0)? },
                })
            })
            .collect::<Result<_>>()?;
        let docs = Self::find_all(
            &self.deliveries,
            doc! { "status": "pending", "$or": clauses },
            doc! { "cursor": 1 },
        )
        .await?;
        let mut heads = BTreeMap::new();
        for doc in docs {
            let d = delivery_of(doc)?;
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

    /// Parks a blocked delivery: moves its due time past what it waits for, and marks it for
    /// the wake-up of the head of its chain. If the head left `pending` meanwhile (its wake-up
    /// may have come before the park), it is woken at once: a head that was still pending
    /// after the park wakes it when it finishes.
    async fn park(&self, d: &Delivery, head: &ChainHead, now: Timestamp) -> Result<()> {
        let waits_for = head.due.max(head.lease.unwrap_or(now)).max(now) + PARK_MARGIN;
        self.deliveries
            .update_one(
                doc! { "_id": d.id.as_str(), "fence": i64_of(d.fence)?, "status": "pending" },
                doc! { "$max": { "due": text(&waits_for)? }, "$set": { "parked": true } },
            )
            .await
            .map_err(to_core)?;
        let head_pending = self
            .deliveries
            .find_one(doc! { "_id": head.id.as_str(), "status": "pending" })
            .projection(doc! { "_id": 1 })
            .await
            .map_err(to_core)?
            .is_some();
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
    async fn unclaim(&self, d: &Delivery) -> Result<()> {
        self.deliveries
            .update_one(
                doc! { "_id": d.id.as_str(), "fence": i64_of(d.fence)? },
                doc! { "$set": { "lease": Bson::Null, "leaseUntil": Bson::Null } },
            )
            .await
            .map_err(to_core)?;
        Ok(())
    }

    /// Takes `d` (read as due and free at `now`) for `holder` until `until`, if it is still
    /// as read.
    async fn take(
        &self,
        d: &Delivery,
        now: &Bson,
        holder: &str,
        until: Timestamp,
    ) -> Result<Option<Delivery>> {
        let lease = bson::to_bson(&Lease {
            holder: holder.to_owned(),
            until,
        })
        .map_err(to_core)?;
        let taken = self
            .deliveries
            .find_one_and_update(
                doc! {
                    "_id": d.id.as_str(),
                    "fence": i64_of(d.fence)?,
                    "status": "pending",
                    "due": { "$lte": now.clone() },
                    "$or": free(now),
                },
                doc! {
                    "$set": { "lease": lease, "leaseUntil": text(&until)?, "parked": false },
                    "$inc": { "fence": 1_i64 },
                },
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(to_core)?;
        taken.map(delivery_of).transpose()
    }

    /// Makes the next pending delivery of `d`'s chain due at `now`, if it is parked.
    async fn wake_next(&self, d: &Delivery, now: Timestamp) -> Result<()> {
        let next = self
            .deliveries
            .find_one(doc! {
                "endpoint_id": d.endpoint_id.as_str(),
                "status": "pending",
                "orderKey": d.order_key(),
                "cursor": { "$gt": i64_of(d.cursor.0)? },
            })
            .sort(doc! { "cursor": 1 })
            .projection(doc! { "_id": 1 })
            .await
            .map_err(to_core)?;
        if let Some(Ok(id)) = next.as_ref().map(|n| n.get_str("_id")) {
            self.unpark(id, now).await?;
        }
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
            .find(doc! {
                "status": "pending",
                "due": { "$lte": now_text.clone() },
                "$or": free(&now_text),
            })
            .sort(doc! { "due": 1, "cursor": 1 })
            .limit(i64::from(limits.max.saturating_mul(CANDIDATES_PER_CLAIM)))
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
        let heads = self.chain_heads(&candidates).await?;
        let endpoints: Vec<String> = candidates
            .iter()
            .map(|c| c.endpoint_id.to_string())
            .collect();
        let mut leased = self.leased(&endpoints, &now_text).await?;
        let mut claimed = Vec::new();
        for c in candidates {
            if claimed.len() >= limits.max as usize {
                break;
            }
            let chain = (c.endpoint_id.to_string(), c.order_key());
            if let Some(head) = heads.get(&chain) {
                if head.cursor < c.cursor.0 {
                    self.park(&c, head, now).await?;
                    continue;
                }
            }
            let count = leased.entry(chain.0.clone()).or_default();
            if *count >= limits.per_endpoint {
                continue;
            }
            let Some(taken) = self.take(&c, &now_text, holder, until).await? else {
                continue;
            };
            // Another worker may have leased one of the endpoint's deliveries meanwhile: count
            // again, and give this one back if the endpoint is over its limit.
            let now_leased = self
                .leased(std::slice::from_ref(&chain.0), &now_text)
                .await?
                .get(&chain.0)
                .copied()
                .unwrap_or(0);
            if now_leased > limits.per_endpoint {
                self.unclaim(&taken).await?;
                *count = now_leased.saturating_sub(1);
                continue;
            }
            *count = now_leased;
            claimed.push(taken);
        }
        Ok(claimed)
    }

    async fn finish(&self, delivery: &Delivery, fence: u64) -> Result<bool> {
        let replaced = self
            .deliveries
            .replace_one(
                doc! { "_id": delivery.id.as_str(), "fence": i64_of(fence)? },
                self.delivery_doc(delivery)?,
            )
            .await
            .map_err(to_core)?;
        if replaced.matched_count != 1 {
            return Ok(false);
        }
        if delivery.status != DeliveryStatus::Pending {
            let now = delivery.finished_at.unwrap_or(delivery.next_try_at);
            self.wake_next(delivery, now).await?;
        }
        Ok(true)
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
        self.deliveries
            .update_one(
                doc! { "_id": id.as_str(), "status": { "$ne": "succeeded" } },
                doc! {
                    "$set": { "status": "pending", "due": text(&now)?, "finished_at": Bson::Null },
                    "$unset": { "finishedAt": "", "expiresAt": "" },
                },
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
