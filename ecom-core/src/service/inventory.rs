//! Stock: add, look at, and keep the stock gate in step.

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::id::{ProductId, ShopId};
use crate::inventory::Inventory;
use crate::validate;

/// The inventory use cases.
#[derive(Clone, Debug)]
pub struct InventoryService {
    backend: Backend,
}

impl InventoryService {
    pub(crate) fn new(backend: Backend) -> Self {
        InventoryService { backend }
    }

    /// Adds `quantity` units to a product of `shop`; optionally sets its location.
    pub async fn add_stock(
        &self,
        shop: &ShopId,
        product_id: &ProductId,
        quantity: u32,
        location: Option<&str>,
    ) -> Result<Inventory> {
        let quantity = validate::quantity("stock", quantity)?;
        let location = location
            .map(|l| validate::optional_text("location", l, 200))
            .transpose()?;
        self.owned(shop, product_id).await?;
        let inventory = self
            .backend
            .inventory
            .add_stock(
                product_id,
                quantity,
                location.as_deref(),
                self.backend.clock.now(),
            )
            .await?;
        if let Err(e) = self.backend.gate.add(product_id, quantity).await {
            // The stock is in the store (failing now would invite a double add on retry); the gate
            // only counts low until it is rebuilt.
            tracing::warn!(%product_id, error = %e, "stock gate add failed");
        }
        Ok(inventory)
    }

    /// Rebuilds the stock gate's count of a product of `shop` from the store (after the gate
    /// missed returned units, or after an outage of a shared gate). Units admitted but not yet
    /// reserved at that moment are counted twice until their checkouts end, which errs on the
    /// permissive side; the store still guards every sale. Returns the new count.
    pub async fn rebuild_gate(&self, shop: &ShopId, product_id: &ProductId) -> Result<u64> {
        self.owned(shop, product_id).await?;
        self.rebuild_gate_of(product_id).await
    }

    /// [`Self::rebuild_gate`] for an operator: any product, no shop check (`ecom-server gate
    /// rebuild --product ID`). [`Error::NotFound`] if the product has no inventory.
    pub async fn rebuild_gate_of(&self, product_id: &ProductId) -> Result<u64> {
        let inventory = self
            .backend
            .inventory
            .get(product_id)
            .await?
            .ok_or_else(|| Error::not_found("product"))?;
        self.backend.gate.reset(product_id).await?;
        self.backend.gate.seed(product_id, inventory.stock).await?;
        Ok(self
            .backend
            .gate
            .available(product_id)
            .await?
            .unwrap_or(inventory.stock))
    }

    /// The inventory of a product of `shop`.
    pub async fn get(&self, shop: &ShopId, product_id: &ProductId) -> Result<Inventory> {
        self.owned(shop, product_id).await
    }

    async fn owned(&self, shop: &ShopId, product_id: &ProductId) -> Result<Inventory> {
        self.backend
            .inventory
            .get(product_id)
            .await?
            .filter(|inv| &inv.shop_id == shop)
            .ok_or_else(|| Error::not_found("product"))
    }
}
