use super::outbox::{HasOutbox, Outbox};
use crate::clock::Timestamp;
use crate::error::{ConflictReason, Error, Result};
use crate::event::{adjusted, Event};
use crate::id::{EventId, ProductId, ShopId};
use crate::in_process::sync::locked;
use crate::in_process::sync::Map;
use crate::inventory::{
    Adjusted, Inventory, InventoryRepo, NewAdjustment, Reservation, StockAdjustment, StockState,
    ADJUSTMENT_HISTORY,
};
use crate::page::Page;
use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, RwLock};

/// In-process [`InventoryRepo`]: one mutex per product, so different products never contend;
/// open holds in a map, so a hold costs the same however many are open. A product's
/// adjustments are kept with its record, under the same mutex as its stock.
#[derive(Debug, Default)]
pub struct MemoryInventory {
    rows: RwLock<Map<ProductId, Arc<Mutex<Row>>>>,
    /// Per product with models, its models' records.
    models: RwLock<Map<ProductId, Vec<ProductId>>>,
    /// Events waiting, per record (pushed under the record's lock, with its change).
    outbox: Mutex<Outbox>,
}

#[derive(Debug)]
struct Row {
    model_of: Option<ProductId>,
    shop_id: ShopId,
    location: String,
    stock: u64,
    sold: u64,
    damaged: u64,
    open: Map<String, Reservation>,
    /// A removed model's record: no reservations, no free stock on sale.
    retired: bool,
    /// Adjustments ever applied (the version of `stock.adjusted` events).
    adjust_seq: u64,
    /// The newest adjustments, oldest first, at most [`ADJUSTMENT_HISTORY`].
    adjustments: VecDeque<StockAdjustment>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl Row {
    fn snapshot(&self, product_id: &ProductId) -> Inventory {
        let mut reservations: Vec<Reservation> = self.open.values().cloned().collect();
        reservations.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Inventory {
            product_id: product_id.clone(),
            model_of: self.model_of.clone(),
            shop_id: self.shop_id.clone(),
            location: self.location.clone(),
            stock: self.stock,
            sold: self.sold,
            damaged: self.damaged,
            reservations,
            retired: self.retired,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    /// Closes each hold open with that id and quantity; returns the units closed.
    fn close(&mut self, holds: &[Reservation]) -> u64 {
        let mut units = 0;
        for hold in holds {
            if self
                .open
                .get(&hold.id)
                .is_some_and(|open| open.quantity == hold.quantity)
            {
                self.open.remove(&hold.id);
                units += u64::from(hold.quantity);
            }
        }
        units
    }
}

impl MemoryInventory {
    fn row(&self, product_id: &ProductId) -> Option<Arc<Mutex<Row>>> {
        let rows = self.rows.read().unwrap_or_else(|p| p.into_inner());
        rows.get(product_id).cloned()
    }

    /// The records of `product`: its own, or its models'.
    fn records_of(&self, product: &ProductId) -> Vec<Arc<Mutex<Row>>> {
        if let Some(own) = self.row(product) {
            return vec![own];
        }
        let models = self.models.read().unwrap_or_else(|p| p.into_inner());
        models
            .get(product)
            .into_iter()
            .flatten()
            .filter_map(|m| self.row(m))
            .collect()
    }

    fn existing_row(&self, product_id: &ProductId) -> Result<Arc<Mutex<Row>>> {
        self.row(product_id)
            .ok_or_else(|| Error::not_found("inventory"))
    }
}

#[async_trait]
impl InventoryRepo for MemoryInventory {
    async fn insert(&self, inventory: &Inventory) -> Result<()> {
        let mut rows = self.rows.write().unwrap_or_else(|p| p.into_inner());
        if rows.contains_key(&inventory.product_id) {
            return Err(Error::already_exists("inventory"));
        }
        let row = Row {
            model_of: inventory.model_of.clone(),
            shop_id: inventory.shop_id.clone(),
            location: inventory.location.clone(),
            stock: inventory.stock,
            sold: inventory.sold,
            damaged: inventory.damaged,
            open: inventory
                .reservations
                .iter()
                .map(|r| (r.id.clone(), r.clone()))
                .collect(),
            retired: inventory.retired,
            adjust_seq: 0,
            adjustments: VecDeque::new(),
            created_at: inventory.created_at,
            updated_at: inventory.updated_at,
        };
        rows.insert(inventory.product_id.clone(), Arc::new(Mutex::new(row)));
        if let Some(product) = &inventory.model_of {
            let mut models = self.models.write().unwrap_or_else(|p| p.into_inner());
            models
                .entry(product.clone())
                .or_default()
                .push(inventory.product_id.clone());
        }
        Ok(())
    }

    async fn get(&self, product_id: &ProductId) -> Result<Option<Inventory>> {
        Ok(self
            .row(product_id)
            .map(|row| locked(&row).snapshot(product_id)))
    }

    async fn stock_states(
        &self,
        product_ids: &[ProductId],
    ) -> Result<Vec<(ProductId, StockState)>> {
        Ok(product_ids
            .iter()
            .filter_map(|id| {
                let records = self.records_of(id);
                let mut state = StockState::default();
                for row in &records {
                    let row = locked(row);
                    state.sold += row.sold;
                    if !row.retired {
                        state.in_stock |= row.stock > 0;
                        state.free += row.stock;
                    }
                }
                (!records.is_empty()).then(|| (id.clone(), state))
            })
            .collect())
    }

    async fn set_retired(&self, product_id: &ProductId, retired: bool) -> Result<()> {
        let row = self.existing_row(product_id)?;
        let mut row = locked(&row);
        if retired && !row.open.is_empty() {
            return Err(Error::refused(
                "inventory",
                "has stock held by a checkout or return",
            ));
        }
        row.retired = retired;
        Ok(())
    }

    async fn delete(&self, product_id: &ProductId) -> Result<bool> {
        let mut rows = self.rows.write().unwrap_or_else(|p| p.into_inner());
        let removed = rows.remove(product_id);
        if let Some(product) = removed.as_ref().and_then(|r| locked(r).model_of.clone()) {
            let mut models = self.models.write().unwrap_or_else(|p| p.into_inner());
            if let Some(list) = models.get_mut(&product) {
                list.retain(|m| m != product_id);
            }
        }
        Ok(removed.is_some())
    }

    async fn add_stock(
        &self,
        product_id: &ProductId,
        quantity: u32,
        location: Option<&str>,
        now: Timestamp,
    ) -> Result<Inventory> {
        let row = self.existing_row(product_id)?;
        let mut row = locked(&row);
        row.stock += u64::from(quantity);
        if let Some(location) = location {
            location.clone_into(&mut row.location);
        }
        row.updated_at = now;
        Ok(row.snapshot(product_id))
    }

    async fn reserve(&self, product_id: &ProductId, holds: &[Reservation]) -> Result<()> {
        let row = self.existing_row(product_id)?;
        let mut row = locked(&row);
        let sum: u64 = holds.iter().map(|h| u64::from(h.quantity)).sum();
        if row.retired || row.stock < sum || holds.iter().any(|h| row.open.contains_key(&h.id)) {
            return Err(Error::InsufficientStock {
                product_id: product_id.to_string(),
            });
        }
        row.stock -= sum;
        for hold in holds {
            row.open.insert(hold.id.clone(), hold.clone());
            row.updated_at = row.updated_at.max(hold.created_at);
        }
        Ok(())
    }

    async fn release(&self, product_id: &ProductId, holds: &[Reservation]) -> Result<u64> {
        let Some(row) = self.row(product_id) else {
            return Ok(0);
        };
        let mut row = locked(&row);
        let units = row.close(holds);
        row.stock += units;
        Ok(units)
    }

    async fn settle(&self, product_id: &ProductId, holds: &[Reservation]) -> Result<u64> {
        let Some(row) = self.row(product_id) else {
            return Ok(0);
        };
        let mut row = locked(&row);
        let units = row.close(holds);
        row.sold += units;
        Ok(units)
    }

    async fn unsettle(&self, product_id: &ProductId, hold: &Reservation) -> Result<()> {
        let row = self.existing_row(product_id)?;
        let mut row = locked(&row);
        if row.open.contains_key(&hold.id) {
            return Ok(());
        }
        let units = u64::from(hold.quantity);
        if row.sold < units {
            return Err(Error::Conflict {
                entity: "inventory",
                reason: ConflictReason::ReturnExceedsSold,
            });
        }
        row.sold -= units;
        row.open.insert(hold.id.clone(), hold.clone());
        Ok(())
    }

    async fn adjust(&self, adjustment: &NewAdjustment) -> Result<Adjusted> {
        let product_id = &adjustment.product_id;
        let row = self.existing_row(product_id)?;
        let mut row = locked(&row);
        if let Some(done) = row.adjustments.iter().find(|a| a.id == adjustment.id) {
            return Ok(Adjusted {
                adjustment: done.clone(),
                inventory: row.snapshot(product_id),
            });
        }
        let (delta, stock_after) = adjustment.change.apply_to(row.stock)?;
        let unsold = adjustment.change.unsold();
        if row.sold < unsold {
            return Err(adjustment.change.refusal());
        }
        row.sold -= unsold;
        row.damaged += adjustment.change.damaged();
        let recorded = StockAdjustment {
            id: adjustment.id.clone(),
            product_id: product_id.clone(),
            model_id: adjustment.model_id.clone(),
            delta,
            stock_after,
            reason: adjustment.reason.clone(),
            by: adjustment.by.clone(),
            created_at: adjustment.at,
        };
        row.stock = stock_after;
        row.updated_at = row.updated_at.max(adjustment.at);
        row.adjust_seq += 1;
        locked(&self.outbox).push(product_id.as_str(), &[adjusted(&recorded, row.adjust_seq)]);
        row.adjustments.push_back(recorded.clone());
        while row.adjustments.len() > ADJUSTMENT_HISTORY {
            row.adjustments.pop_front();
        }
        Ok(Adjusted {
            adjustment: recorded,
            inventory: row.snapshot(product_id),
        })
    }

    async fn adjustments(
        &self,
        product_id: &ProductId,
        page: Page,
    ) -> Result<Vec<StockAdjustment>> {
        let Some(row) = self.row(product_id) else {
            return Ok(Vec::new());
        };
        let row = locked(&row);
        Ok(page.apply(row.adjustments.iter().rev().cloned()))
    }

    async fn list_stale(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<(ProductId, Reservation)>> {
        let rows: Vec<(ProductId, Arc<Mutex<Row>>)> = {
            let rows = self.rows.read().unwrap_or_else(|p| p.into_inner());
            rows.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        let mut stale = Vec::new();
        for (product, row) in rows {
            let row = locked(&row);
            stale.extend(
                row.open
                    .values()
                    .filter(|h| h.created_at < before)
                    .map(|h| (product.clone(), h.clone())),
            );
        }
        // Oldest first; one order's holds on several products tie, broken by product id.
        stale.sort_by(|a, b| (a.1.created_at, &a.1.id, &a.0).cmp(&(b.1.created_at, &b.1.id, &b.0)));
        stale.truncate(limit as usize);
        Ok(stale)
    }
}

impl HasOutbox for MemoryInventory {
    fn outbox_waiting(&self, limit: u32) -> Vec<(String, Vec<Event>)> {
        locked(&self.outbox).waiting(limit)
    }

    fn outbox_clear(&self, id: &str, ids: &[EventId]) {
        locked(&self.outbox).clear(id, ids);
    }
}
