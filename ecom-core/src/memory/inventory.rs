use super::locked;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::id::ProductId;
use crate::inventory::{Inventory, InventoryRepo, Reservation};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

/// In-process [`InventoryRepo`]: one mutex per product, so different products never contend.
#[derive(Debug, Default)]
pub struct MemoryInventory {
    rows: RwLock<HashMap<ProductId, Arc<Mutex<Inventory>>>>,
}

impl MemoryInventory {
    fn row(&self, product_id: &ProductId) -> Option<Arc<Mutex<Inventory>>> {
        let rows = self.rows.read().unwrap_or_else(|p| p.into_inner());
        rows.get(product_id).cloned()
    }

    fn existing_row(&self, product_id: &ProductId) -> Result<Arc<Mutex<Inventory>>> {
        self.row(product_id)
            .ok_or_else(|| Error::not_found("inventory"))
    }
}

#[async_trait]
impl InventoryRepo for MemoryInventory {
    async fn insert(&self, inventory: &Inventory) -> Result<()> {
        let mut rows = self.rows.write().unwrap_or_else(|p| p.into_inner());
        if rows.contains_key(&inventory.product_id) {
            return Err(Error::Conflict("inventory exists".into()));
        }
        rows.insert(
            inventory.product_id.clone(),
            Arc::new(Mutex::new(inventory.clone())),
        );
        Ok(())
    }

    async fn get(&self, product_id: &ProductId) -> Result<Option<Inventory>> {
        Ok(self.row(product_id).map(|row| locked(&row).clone()))
    }

    async fn add_stock(
        &self,
        product_id: &ProductId,
        quantity: u32,
        location: Option<&str>,
        now: Timestamp,
    ) -> Result<Inventory> {
        let row = self.existing_row(product_id)?;
        let mut inv = locked(&row);
        inv.stock += u64::from(quantity);
        if let Some(location) = location {
            inv.location = location.to_owned();
        }
        inv.updated_at = now;
        Ok(inv.clone())
    }

    async fn reserve(
        &self,
        product_id: &ProductId,
        quantity: u32,
        reservation_id: &str,
        now: Timestamp,
    ) -> Result<Inventory> {
        let row = self.existing_row(product_id)?;
        let mut inv = locked(&row);
        if inv.reservations.iter().any(|r| r.id == reservation_id) {
            return Ok(inv.clone());
        }
        if inv.stock < u64::from(quantity) {
            return Err(Error::InsufficientStock {
                product_id: product_id.to_string(),
            });
        }
        inv.stock -= u64::from(quantity);
        inv.reservations.push(Reservation {
            id: reservation_id.to_owned(),
            quantity,
            created_at: now,
        });
        inv.updated_at = now;
        Ok(inv.clone())
    }

    async fn release(&self, product_id: &ProductId, reservation_id: &str) -> Result<Option<u32>> {
        let Some(row) = self.row(product_id) else {
            return Ok(None);
        };
        let mut inv = locked(&row);
        let Some(pos) = inv.reservations.iter().position(|r| r.id == reservation_id) else {
            return Ok(None);
        };
        let released = inv.reservations.swap_remove(pos);
        inv.stock += u64::from(released.quantity);
        Ok(Some(released.quantity))
    }
}
