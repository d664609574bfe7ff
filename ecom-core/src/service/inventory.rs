//! Stock: add, look at, and keep the stock gate in step.

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::id::{ProductId, ShopId};
use crate::inventory::Inventory;
use crate::validate;

use super::gate_heal;

/// Products read per page by [`InventoryService::reconcile_gate`].
const RECONCILE_PAGE: u32 = 200;

/// What [`InventoryService::reconcile_gate`] did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct GateReconcile {
    /// Products checked.
    pub checked: u64,
    /// Products whose count changed.
    pub corrected: u64,
    /// Products skipped because their stock kept moving (checked again next time).
    pub busy: u64,
}

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

    /// Rebuilds the stock gate's count of a product of `shop` from the store: the store's
    /// stock less the units of open admissions (see [`crate::gate`]). Returns the new count.
    pub async fn rebuild_gate(&self, shop: &ShopId, product_id: &ProductId) -> Result<u64> {
        self.owned(shop, product_id).await?;
        self.rebuild_gate_of(product_id).await
    }

    /// [`Self::rebuild_gate`] for an operator: any product, no shop check (`ecom-server gate
    /// rebuild --product ID`). [`Error::NotFound`] if the product has no inventory;
    /// [`Error::Busy`] if stock kept moving under the rebuild.
    pub async fn rebuild_gate_of(&self, product_id: &ProductId) -> Result<u64> {
        self.backend
            .inventory
            .get(product_id)
            .await?
            .ok_or_else(|| Error::not_found("product"))?;
        self.backend.gate.reset(product_id).await?;
        gate_heal::heal(&self.backend, product_id, true)
            .await?
            .map(|healed| healed.after)
            .ok_or_else(|| Error::Busy("stock kept moving during the rebuild; retry".into()))
    }

    /// Checks every product the stock gate counts against the store: a count below the
    /// store's stock less open admissions is raised, and a product without open admissions
    /// gets exactly the store's stock (what corrects a gate that counts high). The server runs
    /// it periodically, and `ecom-server gate rebuild` without `--product` on demand.
    pub async fn reconcile_gate(&self) -> Result<GateReconcile> {
        let mut report = GateReconcile::default();
        let mut after: Option<ProductId> = None;
        loop {
            let page = self
                .backend
                .gate
                .counted(after.as_ref(), RECONCILE_PAGE)
                .await?;
            for product in &page {
                report.checked += 1;
                match gate_heal::heal(&self.backend, product, true).await? {
                    Some(healed) if healed.before != Some(healed.after) => report.corrected += 1,
                    Some(_) => {}
                    None => report.busy += 1,
                }
            }
            match page.last() {
                Some(last) if page.len() == RECONCILE_PAGE as usize => after = Some(last.clone()),
                _ => return Ok(report),
            }
        }
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
