//! The lock strategy (the seed's): each line's conditional decrement runs under the backend's
//! lock of its stock record.

use super::port::{Strategy, Tuning};
use crate::backend::Backend;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::id::ProductId;
use crate::inventory::Reservation;
use crate::order::Order;
use async_trait::async_trait;
use std::time::Duration;

/// A lock per stock record around its conditional decrement; no admissions.
#[derive(Debug)]
pub(crate) struct LockThenReserve {
    backend: Backend,
    ttl: Duration,
    wait: Duration,
}

impl LockThenReserve {
    pub(crate) fn new(backend: &Backend, tuning: Tuning) -> Self {
        LockThenReserve {
            backend: backend.clone(),
            ttl: tuning.lock_ttl,
            wait: tuning.lock_wait,
        }
    }
}

#[async_trait]
impl Strategy for LockThenReserve {
    async fn admit(&self, _order: &Order, _at: Timestamp) -> Result<()> {
        Ok(())
    }

    async fn reserve(&self, stock: &ProductId, hold: Reservation) -> Result<()> {
        let inventory = &self.backend.inventory;
        // Fail fast without queueing for the lock when the stock is clearly short.
        let free = inventory.get(stock).await?.map_or(0, |i| i.stock);
        if free < u64::from(hold.quantity) {
            return Err(Error::InsufficientStock {
                product_id: stock.to_string(),
            });
        }
        let key = format!("stock:{stock}");
        let guard = self.backend.lock.acquire(&key, self.ttl, self.wait).await?;
        let reserved = inventory.reserve(stock, std::slice::from_ref(&hold)).await;
        if let Err(e) = self.backend.lock.release(&guard).await {
            tracing::warn!(%key, error = %e, "stock lock release failed; it expires by TTL");
        }
        reserved
    }

    async fn release(&self, _checkout: &str, _stock: &[ProductId]) -> Result<()> {
        Ok(())
    }

    async fn settled(&self, _checkout: &str, _stock: &[ProductId]) -> Result<()> {
        Ok(())
    }

    async fn stale_admissions(
        &self,
        _before: Timestamp,
        _limit: u32,
    ) -> Result<Vec<(String, Vec<ProductId>)>> {
        Ok(Vec::new())
    }
}
