//! The units each product has received, counted at the store (below the probe): a stock
//! record is inserted or stock is added only when the store's call succeeds, so a lost reply or
//! a task that dies after the call still counts, and a call that never reached the store does not.
//! An adjustment counts its delta once, however often its id is applied.

use crate::clock::Timestamp;
use crate::error::Result;
use crate::id::{AdjustmentId, ProductId};
use crate::inventory::{
    Adjusted, Inventory, InventoryRepo, NewAdjustment, Reservation, StockAdjustment, StockChange,
    StockState,
};
use crate::page::Page;
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// An [`InventoryRepo`] that passes every call on and counts the units received per product.
#[derive(Debug)]
pub(super) struct Ledger {
    inner: Arc<dyn InventoryRepo>,
    received: Mutex<BTreeMap<ProductId, u64>>,
    adjustments: Mutex<BTreeSet<AdjustmentId>>,
}

impl Ledger {
    /// A ledger in front of `inner`, with nothing received yet.
    pub(super) fn new(inner: Arc<dyn InventoryRepo>) -> Self {
        Ledger {
            inner,
            received: Mutex::default(),
            adjustments: Mutex::default(),
        }
    }

    /// Units `product` has received so far (its first stock, every addition, and the deltas of
    /// its adjustments).
    pub(super) fn received(&self, product: &ProductId) -> u64 {
        self.map().get(product).copied().unwrap_or(0)
    }

    /// Whether the adjustment `id` was applied.
    pub(super) fn applied(&self, id: &AdjustmentId) -> bool {
        self.adjustments
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(id)
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<ProductId, u64>> {
        self.received.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn count(&self, product: &ProductId, units: u64) {
        *self.map().entry(product.clone()).or_insert(0) += units;
    }
}

#[async_trait]
impl InventoryRepo for Ledger {
    async fn insert(&self, inventory: &Inventory) -> Result<()> {
        self.inner.insert(inventory).await?;
        self.count(&inventory.product_id, inventory.received());
        Ok(())
    }

    async fn get(&self, product_id: &ProductId) -> Result<Option<Inventory>> {
        self.inner.get(product_id).await
    }

    async fn stock_states(
        &self,
        product_ids: &[ProductId],
    ) -> Result<Vec<(ProductId, StockState)>> {
        self.inner.stock_states(product_ids).await
    }

    async fn set_retired(&self, product_id: &ProductId, retired: bool) -> Result<()> {
        self.inner.set_retired(product_id, retired).await
    }

    async fn delete(&self, product_id: &ProductId) -> Result<bool> {
        let deleted = self.inner.delete(product_id).await?;
        if deleted {
            self.map().remove(product_id);
        }
        Ok(deleted)
    }

    async fn add_stock(
        &self,
        product_id: &ProductId,
        quantity: u32,
        location: Option<&str>,
        now: Timestamp,
    ) -> Result<Inventory> {
        let inventory = self
            .inner
            .add_stock(product_id, quantity, location, now)
            .await?;
        self.count(product_id, u64::from(quantity));
        Ok(inventory)
    }

    async fn reserve(&self, product_id: &ProductId, holds: &[Reservation]) -> Result<()> {
        self.inner.reserve(product_id, holds).await
    }

    async fn reserve_many(
        &self,
        batch: &[(ProductId, Vec<Reservation>)],
    ) -> Result<Vec<Result<()>>> {
        self.inner.reserve_many(batch).await
    }

    async fn release(&self, product_id: &ProductId, holds: &[Reservation]) -> Result<u64> {
        self.inner.release(product_id, holds).await
    }

    async fn settle(&self, product_id: &ProductId, holds: &[Reservation]) -> Result<u64> {
        self.inner.settle(product_id, holds).await
    }

    async fn settle_many(&self, batch: &[(ProductId, Vec<Reservation>)]) -> Result<()> {
        self.inner.settle_many(batch).await
    }

    async fn unsettle(&self, product_id: &ProductId, hold: &Reservation) -> Result<()> {
        self.inner.unsettle(product_id, hold).await
    }

    async fn adjust(&self, adjustment: &NewAdjustment) -> Result<Adjusted> {
        let adjusted = self.inner.adjust(adjustment).await?;
        let first = self
            .adjustments
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(adjusted.adjustment.id.clone());
        // Units a return took back were received before: they only move.
        let returned = matches!(adjustment.change, StockChange::Returned { .. });
        if first && !returned {
            let mut map = self.map();
            let received = map.entry(adjustment.product_id.clone()).or_insert(0);
            *received = received.saturating_add_signed(adjusted.adjustment.delta);
        }
        Ok(adjusted)
    }

    async fn adjustments(
        &self,
        product_id: &ProductId,
        page: Page,
    ) -> Result<Vec<StockAdjustment>> {
        self.inner.adjustments(product_id, page).await
    }

    async fn list_stale(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<(ProductId, Reservation)>> {
        self.inner.list_stale(before, limit).await
    }
}
