//! The in-process store of webhook endpoints and deliveries.

use crate::clock::Timestamp;
use crate::error::Result;
use crate::id::{DeliveryId, EndpointId, EventId, ShopId};
use crate::in_process::sync::{locked, Map, Set};
use crate::page::Page;
use crate::webhook::{
    ClaimLimits, Delivery, DeliveryStatus, Endpoint, EndpointOwner, Lease, WebhookRepo,
};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// In-process [`WebhookRepo`]: every call is one step under one mutex.
#[derive(Debug, Default)]
pub struct MemoryWebhooks {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    endpoints: BTreeMap<EndpointId, Endpoint>,
    /// Deliveries by id (ids sort by creation time).
    deliveries: BTreeMap<DeliveryId, Delivery>,
    /// The (endpoint, event) pairs delivered or to be.
    made: Set<(EndpointId, EventId)>,
}

#[async_trait]
impl WebhookRepo for MemoryWebhooks {
    async fn insert_endpoint(&self, endpoint: &Endpoint) -> Result<()> {
        let mut inner = locked(&self.inner);
        if inner.endpoints.contains_key(&endpoint.id) {
            return Err(crate::Error::already_exists("webhook endpoint"));
        }
        inner
            .endpoints
            .insert(endpoint.id.clone(), endpoint.clone());
        Ok(())
    }

    async fn endpoint(&self, id: &EndpointId) -> Result<Option<Endpoint>> {
        Ok(locked(&self.inner).endpoints.get(id).cloned())
    }

    async fn endpoints(&self, owner: &EndpointOwner) -> Result<Vec<Endpoint>> {
        Ok(locked(&self.inner)
            .endpoints
            .values()
            .filter(|e| &e.owner == owner)
            .cloned()
            .collect())
    }

    async fn enabled_endpoints(&self, shops: &[ShopId]) -> Result<Vec<Endpoint>> {
        Ok(locked(&self.inner)
            .endpoints
            .values()
            .filter(|e| e.enabled && e.owner.concerned(shops))
            .cloned()
            .collect())
    }

    async fn replace_endpoint(&self, endpoint: &Endpoint, expected: u64) -> Result<bool> {
        let mut inner = locked(&self.inner);
        match inner.endpoints.get_mut(&endpoint.id) {
            Some(stored) if stored.version == expected => {
                *stored = endpoint.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete_endpoint(&self, id: &EndpointId) -> Result<bool> {
        let mut inner = locked(&self.inner);
        let existed = inner.endpoints.remove(id).is_some();
        inner.deliveries.retain(|_, d| &d.endpoint_id != id);
        inner.made.retain(|(e, _)| e != id);
        Ok(existed)
    }

    async fn endpoint_failed(&self, id: &EndpointId, at: Timestamp) -> Result<Option<Timestamp>> {
        let mut inner = locked(&self.inner);
        let Some(endpoint) = inner.endpoints.get_mut(id) else {
            return Ok(None);
        };
        if endpoint.failing_since.is_none() {
            endpoint.failing_since = Some(at);
            endpoint.version += 1;
        }
        Ok(endpoint.failing_since)
    }

    async fn endpoint_succeeded(&self, id: &EndpointId) -> Result<()> {
        let mut inner = locked(&self.inner);
        if let Some(endpoint) = inner.endpoints.get_mut(id) {
            if endpoint.failing_since.take().is_some() {
                endpoint.version += 1;
            }
        }
        Ok(())
    }

    async fn disable_endpoint(&self, id: &EndpointId, reason: &str) -> Result<bool> {
        let mut inner = locked(&self.inner);
        match inner.endpoints.get_mut(id) {
            Some(endpoint) if endpoint.enabled => {
                endpoint.enabled = false;
                endpoint.disabled_reason = Some(reason.to_owned());
                endpoint.version += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn insert_deliveries(&self, deliveries: &[Delivery]) -> Result<u64> {
        let mut inner = locked(&self.inner);
        let mut new = 0;
        for d in deliveries {
            if inner
                .made
                .insert((d.endpoint_id.clone(), d.event_id.clone()))
            {
                inner.deliveries.insert(d.id.clone(), d.clone());
                new += 1;
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
        let mut inner = locked(&self.inner);
        let mut leased: Map<EndpointId, u32> = Map::default();
        // The lowest pending cursor of each (endpoint, order key): only it may go.
        let mut first: Map<(EndpointId, String), crate::event::Cursor> = Map::default();
        for d in inner.deliveries.values() {
            if d.status != DeliveryStatus::Pending {
                continue;
            }
            if d.lease.as_ref().is_some_and(|l| l.until > now) {
                *leased.entry(d.endpoint_id.clone()).or_default() += 1;
            }
            let lowest = first
                .entry((d.endpoint_id.clone(), d.order_key()))
                .or_insert(d.cursor);
            *lowest = (*lowest).min(d.cursor);
        }
        let mut due: Vec<&Delivery> = inner
            .deliveries
            .values()
            .filter(|d| d.claimable(now))
            .collect();
        due.sort_by_key(|d| (d.next_try_at, d.cursor));
        let mut chosen = Vec::new();
        for d in due {
            if chosen.len() >= limits.max as usize {
                break;
            }
            let count = leased.entry(d.endpoint_id.clone()).or_default();
            let blocked = first
                .get(&(d.endpoint_id.clone(), d.order_key()))
                .is_some_and(|lowest| *lowest < d.cursor);
            if *count >= limits.per_endpoint || blocked {
                continue;
            }
            *count += 1;
            chosen.push(d.id.clone());
        }
        let mut claimed = Vec::with_capacity(chosen.len());
        for id in chosen {
            if let Some(d) = inner.deliveries.get_mut(&id) {
                d.lease = Some(Lease {
                    holder: holder.to_owned(),
                    until,
                });
                d.fence += 1;
                claimed.push(d.clone());
            }
        }
        Ok(claimed)
    }

    async fn finish_many(&self, finished: &[(Delivery, u64)]) -> Result<Vec<bool>> {
        let mut inner = locked(&self.inner);
        Ok(finished
            .iter()
            .map(|(delivery, fence)| finish_one(&mut inner, delivery, *fence))
            .collect())
    }

    async fn delivery(&self, id: &DeliveryId) -> Result<Option<Delivery>> {
        Ok(locked(&self.inner).deliveries.get(id).cloned())
    }

    async fn deliveries(
        &self,
        endpoint: &EndpointId,
        status: Option<DeliveryStatus>,
        page: Page,
    ) -> Result<Vec<Delivery>> {
        Ok(locked(&self.inner)
            .deliveries
            .values()
            .rev()
            .filter(|d| &d.endpoint_id == endpoint && status.is_none_or(|s| d.status == s))
            .skip(usize::try_from(page.skip).unwrap_or(usize::MAX))
            .take(page.limit as usize)
            .cloned()
            .collect())
    }

    async fn retry(&self, id: &DeliveryId, now: Timestamp) -> Result<Option<Delivery>> {
        let mut inner = locked(&self.inner);
        let Some(d) = inner.deliveries.get_mut(id) else {
            return Ok(None);
        };
        if d.status != DeliveryStatus::Succeeded {
            d.status = DeliveryStatus::Pending;
            d.next_try_at = now;
            d.finished_at = None;
        }
        Ok(Some(d.clone()))
    }

    async fn purge(&self, before: Timestamp) -> Result<u64> {
        let mut inner = locked(&self.inner);
        let gone: Vec<(DeliveryId, EndpointId, EventId)> = inner
            .deliveries
            .values()
            .filter(|d| {
                d.status != DeliveryStatus::Pending && d.finished_at.is_some_and(|at| at < before)
            })
            .map(|d| (d.id.clone(), d.endpoint_id.clone(), d.event_id.clone()))
            .collect();
        for (id, endpoint, event) in &gone {
            inner.deliveries.remove(id);
            inner.made.remove(&(endpoint.clone(), event.clone()));
        }
        Ok(gone.len() as u64)
    }
}

/// Stores `delivery` if its fence is still `fence`, waking the next of its chain when it left
/// `pending`; whether it was stored.
fn finish_one(inner: &mut Inner, delivery: &Delivery, fence: u64) -> bool {
    match inner.deliveries.get_mut(&delivery.id) {
        Some(stored) if stored.fence == fence => *stored = delivery.clone(),
        _ => return false,
    }
    if delivery.status != DeliveryStatus::Pending {
        let key = delivery.order_key();
        let next = inner
            .deliveries
            .values_mut()
            .filter(|d| {
                d.endpoint_id == delivery.endpoint_id
                    && d.status == DeliveryStatus::Pending
                    && d.cursor > delivery.cursor
                    && d.order_key() == key
            })
            .min_by_key(|d| d.cursor);
        if let Some(next) = next {
            let now = delivery.finished_at.unwrap_or(delivery.next_try_at);
            if next.attempt_count == 0 && next.next_try_at > now {
                next.next_try_at = now;
            }
        }
    }
    true
}
