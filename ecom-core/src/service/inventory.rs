//! Stock: add, adjust, look at, and keep the stock gate in step.

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::id::{AdjustmentId, ProductId, ShopId};
use crate::inventory::{
    Adjusted, Inventory, NewAdjustment, StockAdjustment, StockChange, MAX_SET_STOCK,
};
use crate::page::Page;
use crate::product::Product;
use crate::service::catalogue::sold::refresh_stock;
use crate::validate;
use std::cmp::Ordering;

use crate::service::checkout::gate_heal;

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

    /// Adds `quantity` units to a product of `shop` (to its model `model`, for a product with
    /// models: required for one, refused for one without, errors naming `model_id`); optionally
    /// sets its location. Returns the stock record changed.
    pub async fn add_stock(
        &self,
        shop: &ShopId,
        product_id: &ProductId,
        model: Option<&ProductId>,
        quantity: u32,
        location: Option<&str>,
    ) -> Result<Inventory> {
        let quantity = validate::quantity("stock", quantity)?;
        let location = location
            .map(|l| validate::optional_text("location", l, 200))
            .transpose()?;
        let product = product_id.clone();
        let record = self.owned(shop, product_id, model).await?;
        let product_id = &record.product_id;
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
        refresh_stock(&self.backend, [product]).await;
        Ok(inventory)
    }

    /// Adjusts the free stock of a product of `shop` (of its model `model`, as for
    /// [`Self::add_stock`]) by `change` for `reason` (1 to 200
    /// characters), records the adjustment in the product's history (by `shop`, now) and moves
    /// the stock gate with it. Returns the adjustment and the stock after it.
    ///
    /// A [`StockChange::Delta`] is a non-zero number of units from `-1000000` to `1000000`; a
    /// [`StockChange::Set`] is at most [`MAX_SET_STOCK`] units and is recorded with the delta it
    /// meant (read and written in one atomic step, so units sold meanwhile are never overwritten).
    /// Setting the stock it already has is not refused: it is recorded with delta 0 (a stock
    /// count that found the stock right) and leaves the gate as it is.
    ///
    /// Only free units are taken away, never units held by checkouts or sold: a result below
    /// zero is [`Error::Conflict`] and nothing changes. Another shop's product (or an unknown
    /// one) is [`Error::NotFound`]. A failure of the gate after the store changed is logged, not
    /// returned (the gate heals, see [`crate::gate`]).
    pub async fn adjust(
        &self,
        shop: &ShopId,
        product_id: &ProductId,
        model: Option<&ProductId>,
        change: StockChange,
        reason: &str,
    ) -> Result<Adjusted> {
        let change = match change {
            StockChange::Delta(delta)
                if delta == 0 || delta.unsigned_abs() > u64::from(validate::MAX_QUANTITY) =>
            {
                return Err(Error::validation(
                    "delta",
                    format!(
                        "must be a non-zero whole number from -{max} to {max}",
                        max = validate::MAX_QUANTITY
                    ),
                ));
            }
            StockChange::Set(units) if units > MAX_SET_STOCK => {
                return Err(Error::validation(
                    "set",
                    format!("must be between 0 and {MAX_SET_STOCK}"),
                ));
            }
            valid => valid,
        };
        let reason = validate::text("reason", reason, 200)?;
        let product = product_id.clone();
        let record = self.owned(shop, product_id, model).await?;
        let product_id = &record.product_id;
        let adjusted = self
            .backend
            .inventory
            .adjust(&NewAdjustment {
                id: AdjustmentId::generate(),
                product_id: product_id.clone(),
                model_id: model.cloned(),
                change,
                reason,
                by: shop.clone(),
                at: self.backend.clock.now(),
            })
            .await?;
        // The id is new, so the store applied this adjustment for this call: the gate follows
        // once. The store stays the final guard while the gate lags.
        follow_adjustment(&self.backend, product_id, adjusted.adjustment.delta).await;
        refresh_stock(&self.backend, [product]).await;
        Ok(adjusted)
    }

    /// The recorded adjustments of a product of `shop` (of its model `model`, as for
    /// [`Self::add_stock`]), newest first, windowed by `page`; the newest
    /// [`ADJUSTMENT_HISTORY`](crate::inventory::ADJUSTMENT_HISTORY) are kept.
    /// [`Error::NotFound`] for another shop's product.
    pub async fn adjustments(
        &self,
        shop: &ShopId,
        product_id: &ProductId,
        model: Option<&ProductId>,
        page: Page,
    ) -> Result<Vec<StockAdjustment>> {
        let record = self.owned(shop, product_id, model).await?;
        self.backend
            .inventory
            .adjustments(&record.product_id, page)
            .await
    }

    /// Rebuilds the stock gate's count of a product of `shop` (of each of its models) from
    /// the store: the store's stock less the units of open admissions (see [`crate::gate`]).
    /// Returns the new count (the sum over the models).
    pub async fn rebuild_gate(&self, shop: &ShopId, product_id: &ProductId) -> Result<u64> {
        let product = self.product(shop, product_id).await?;
        let mut total = 0;
        for id in product.stock_ids() {
            total += self.rebuild_gate_of(&id).await?;
        }
        Ok(total)
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

    /// The stock of a product of `shop`: the record of a product without models; for one
    /// with models, their records (in the product's order) and their sum.
    pub async fn get(&self, shop: &ShopId, product_id: &ProductId) -> Result<ProductStock> {
        let product = self.product(shop, product_id).await?;
        let mut models = Vec::with_capacity(product.models.len());
        for model in &product.models {
            models.push(self.record(&model.id).await?);
        }
        let total = match models.is_empty() {
            true => self.record(product_id).await?,
            false => Inventory {
                product_id: product_id.clone(),
                model_of: None,
                shop_id: shop.clone(),
                location: models[0].location.clone(),
                stock: models.iter().map(|m| m.stock).sum(),
                sold: models.iter().map(|m| m.sold).sum(),
                damaged: models.iter().map(|m| m.damaged).sum(),
                reservations: models.iter().flat_map(|m| m.reservations.clone()).collect(),
                retired: false,
                created_at: models
                    .iter()
                    .map(|m| m.created_at)
                    .min()
                    .unwrap_or(product.created_at),
                updated_at: models
                    .iter()
                    .map(|m| m.updated_at)
                    .max()
                    .unwrap_or(product.updated_at),
            },
        };
        Ok(ProductStock { total, models })
    }

    async fn product(&self, shop: &ShopId, product_id: &ProductId) -> Result<Product> {
        self.backend
            .products
            .get(product_id)
            .await?
            .filter(|p| &p.shop_id == shop)
            .ok_or_else(|| Error::not_found("product"))
    }

    async fn record(&self, id: &ProductId) -> Result<Inventory> {
        self.backend
            .inventory
            .get(id)
            .await?
            .ok_or_else(|| Error::not_found("inventory"))
    }

    /// The stock record of a product of `shop`, or of its model `model`.
    async fn owned(
        &self,
        shop: &ShopId,
        product_id: &ProductId,
        model: Option<&ProductId>,
    ) -> Result<Inventory> {
        let product = self.product(shop, product_id).await?;
        let model = product.model_of_line(model)?;
        self.record(crate::variant::stock_id(product_id, model.map(|m| &m.id)))
            .await
    }
}

/// Moves the stock gate's count of `stock_id` by an adjustment's applied `delta` (the store
/// has it already); a failure is logged, not returned: the gate heals (see [`crate::gate`]).
pub(super) async fn follow_adjustment(backend: &Backend, stock_id: &ProductId, delta: i64) {
    let gate = &backend.gate;
    let followed = match delta.cmp(&0) {
        Ordering::Equal => Ok(()),
        Ordering::Less => gate.take(stock_id, delta.unsigned_abs()).await,
        Ordering::Greater => match u32::try_from(delta) {
            Ok(units) => gate.add(stock_id, units).await,
            // More than one addition carries: the count is seeded again from the store.
            Err(_) => gate.reset(stock_id).await,
        },
    };
    if let Err(e) = followed {
        tracing::warn!(%stock_id, delta, error = %e, "stock gate did not follow an adjustment");
    }
}

/// The stock of one product ([`InventoryService::get`]).
#[derive(Clone, PartialEq, Debug)]
pub struct ProductStock {
    /// Its stock record, or for a product with models the sum of theirs (`stock`, `sold` and
    /// every open reservation), under the product's id.
    pub total: Inventory,
    /// Its models' stock records, in the product's order; empty without models.
    pub models: Vec<Inventory>,
}
