//! Inventory: a product's stock record, its adjustments, and the repository port.
//!
//! A record counts units in three places: `stock` (free to sell), `sold` (in placed orders)
//! and `reservations` (open holds: checkouts in flight, returns in flight). Invariant, checkable
//! from outside: `stock + sold + reserved() == received()`, where `received()` is everything
//! ever received (the first stock, every addition) net of every adjustment, and `stock` is
//! never negative. A record holds only *open* reservations: a checkout's hold is settled into
//! `sold` once its order is placed, so the record's size does not grow with sales.
//!
//! Moves, each one atomic conditional write:
//!
//! ```text
//!            reserve              settle
//!   stock ───────────> open ───────────> sold
//!         <───────────      <───────────
//!            release              unsettle (a return in flight)
//!
//!   add_stock, adjust (up) ──> stock ──> adjust (down, free units only, never below zero)
//! ```
//!
//! The moves between the three places keep `received()` as it is; adding stock raises it, and
//! an adjustment ([`InventoryRepo::adjust`]) moves it by exactly the delta it records. Every
//! adjustment is recorded with the stock change, in one atomic step as callers see it, in a
//! bounded history ([`ADJUSTMENT_HISTORY`] per product, newest kept), so for any product
//! `received()` equals its first stock plus its additions plus the deltas of its adjustments.
//!
//! A reservation names the order it belongs to. A checkout's hold has the id of the order it
//! will create (and nothing else ever reuses that id); a return's hold has the id of the return
//! claim recorded on the order. Who owns a hold is decided by the order, so recovery can tell
//! what to do with a hold left open by a crashed process (see
//! [`CheckoutService::recover_stale_checkouts`](crate::service::CheckoutService::recover_stale_checkouts)).

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::id::{AdjustmentId, OrderId, ProductId, ShopId};
use crate::page::Page;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// What the catalogue keeps of a product's stock records.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct StockState {
    /// Units in placed orders, over all its records (removed models' included).
    pub sold: u64,
    /// Whether a record of it that is on sale (its own, or a live model's) has free stock.
    pub in_stock: bool,
    /// Its free stock over the records on sale.
    pub free: u64,
}

/// Units held open for one checkout or one return.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Reservation {
    /// Unique within the record: the order's id for a checkout's hold, the return claim's
    /// token for a return's.
    pub id: String,
    /// The order it belongs to.
    pub order_id: OrderId,
    /// How many units.
    pub quantity: u32,
    /// When it was opened; open past the checkout lease, it is recovery's to settle or release.
    pub created_at: Timestamp,
}

/// The stock record of one product, or of one model of a product with models
/// ([`crate::variant`]).
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Inventory {
    /// The record's id: the product's id, or for a model's record the model's id.
    pub product_id: ProductId,
    /// For a model's record, the product it belongs to.
    #[serde(default)]
    pub model_of: Option<ProductId>,
    /// The owning shop.
    pub shop_id: ShopId,
    /// Where the stock is.
    pub location: String,
    /// Units free to sell.
    pub stock: u64,
    /// Units in placed orders (not returned).
    pub sold: u64,
    /// Units that came back damaged from returns: out of `sold`, never on sale again.
    #[serde(default)]
    pub damaged: u64,
    /// Open holds only (checkouts and returns in flight).
    pub reservations: Vec<Reservation>,
    /// A removed model's record: it takes no reservation, and units returned to it (a
    /// cancelled old order) stay off sale.
    #[serde(default)]
    pub retired: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Inventory {
    /// Units in open holds.
    pub fn reserved(&self) -> u64 {
        self.reservations
            .iter()
            .map(|r| u64::from(r.quantity))
            .sum()
    }

    /// Everything ever received, net of adjustments: `stock + sold + reserved() + damaged`.
    pub fn received(&self) -> u64 {
        self.stock + self.sold + self.reserved() + self.damaged
    }
}

/// The most adjustments kept per product: recording one more drops the oldest.
pub const ADJUSTMENT_HISTORY: usize = 1_000;

/// The largest stock a [`StockChange::Set`] may ask for through the services.
pub const MAX_SET_STOCK: u64 = 1_000_000_000;

/// How an adjustment changes a product's free stock.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum StockChange {
    /// Adds (positive) or takes away (negative) this many free units; never zero.
    Delta(i64),
    /// Makes the free stock exactly this many units (a stock count); the adjustment records
    /// the delta this meant when it was applied.
    Set(u64),
    /// Units of a return came back: all of them leave `sold`, the `resellable` ones go back to
    /// free stock (the recorded delta), the `damaged` ones to `damaged`. Refused (nothing
    /// changes) when `sold` is short.
    Returned {
        /// Units fit to sell again.
        resellable: u32,
        /// Units not fit to sell.
        damaged: u32,
    },
}

/// An adjustment to apply ([`InventoryRepo::adjust`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NewAdjustment {
    /// Its id: applying the same id again changes nothing.
    pub id: AdjustmentId,
    /// The product.
    pub product_id: ProductId,
    /// The model (variant) of the product it adjusts (whose record `product_id` then names:
    /// the services set it to the model's id); `None` for a product without models.
    pub model_id: Option<ProductId>,
    /// The change.
    pub change: StockChange,
    /// Why (validated by the service).
    pub reason: String,
    /// The shop that made it.
    pub by: ShopId,
    /// When it is made.
    pub at: Timestamp,
}

/// One recorded adjustment of a product's free stock.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct StockAdjustment {
    /// Its id.
    pub id: AdjustmentId,
    /// The product.
    pub product_id: ProductId,
    /// The model (variant) adjusted; `None` for a product without models.
    pub model_id: Option<ProductId>,
    /// Units added (positive) or taken away (negative), as applied: for a
    /// [`StockChange::Set`], the new stock less the stock before (0 when they were equal).
    pub delta: i64,
    /// The free stock right after it.
    pub stock_after: u64,
    /// Why.
    pub reason: String,
    /// The shop that made it.
    pub by: ShopId,
    /// When it was made.
    pub created_at: Timestamp,
}

impl StockChange {
    /// Applied to a free stock of `stock` units: the delta it means and the stock after, or
    /// [`below_zero`] if that would be negative (or, past `i64::MAX`, a validation error).
    pub fn apply_to(self, stock: u64) -> Result<(i64, u64)> {
        let after = match self {
            StockChange::Delta(delta) => i128::from(stock) + i128::from(delta),
            StockChange::Set(units) => i128::from(units),
            StockChange::Returned { resellable, .. } => i128::from(stock) + i128::from(resellable),
        };
        if after < 0 {
            return Err(below_zero());
        }
        let too_large = || Error::validation("stock", "would be over 2^63 - 1 units");
        let stock_after = i64::try_from(after).map_err(|_| too_large())?;
        let delta = i64::try_from(after - i128::from(stock)).map_err(|_| too_large())?;
        // Not negative (checked above).
        Ok((delta, stock_after.unsigned_abs()))
    }
}

/// The refusal of an adjustment that would take the free stock below zero, in the words every
/// adapter answers it with.
pub fn below_zero() -> Error {
    Error::refused("inventory", "stock cannot go below zero")
}

impl StockChange {
    /// Units it takes out of `sold` (returned units), else 0.
    pub fn unsold(self) -> u64 {
        match self {
            StockChange::Returned {
                resellable,
                damaged,
            } => u64::from(resellable) + u64::from(damaged),
            _ => 0,
        }
    }

    /// Units it moves to `damaged`, else 0.
    pub fn damaged(self) -> u64 {
        match self {
            StockChange::Returned { damaged, .. } => u64::from(damaged),
            _ => 0,
        }
    }

    /// The refusal when the guard of this change failed: `sold` short for returned units,
    /// else the stock would go below zero.
    pub fn refusal(self) -> Error {
        match self {
            StockChange::Returned { .. } => Error::Conflict {
                entity: "inventory",
                reason: crate::error::ConflictReason::ReturnExceedsSold,
            },
            _ => below_zero(),
        }
    }
}

/// What [`InventoryRepo::adjust`] returns: the recorded adjustment and the record after it.
#[derive(Clone, PartialEq, Debug)]
pub struct Adjusted {
    /// The adjustment, as recorded.
    pub adjustment: StockAdjustment,
    /// The stock record: right after the adjustment, or (when the adjustment had been applied
    /// before) as it is now.
    pub inventory: Inventory,
}

/// Storage of stock records. Every move of units is one atomic conditional write; every
/// method that takes holds is idempotent per hold id.
#[async_trait]
pub trait InventoryRepo: Send + Sync + Debug + 'static {
    /// Inserts a record; [`Error::AlreadyExists`] if one exists for the product.
    async fn insert(&self, inventory: &Inventory) -> Result<()>;

    /// The record of `product_id`, if any.
    async fn get(&self, product_id: &ProductId) -> Result<Option<Inventory>>;

    /// The [`StockState`] of each of `product_ids` that has records, from its own record or
    /// the records of its models ([`Inventory::model_of`]); in any order.
    async fn stock_states(&self, product_ids: &[ProductId])
        -> Result<Vec<(ProductId, StockState)>>;

    /// Retires the record (a removed model's), or brings it back (`retired` false): atomic.
    /// Retiring refuses a record with open holds ([`Error::Conflict`], nothing changed), so a
    /// checkout holding it and the retirement cannot both succeed; a retired record takes no
    /// reservation, and units returned to it stay off sale. [`Error::NotFound`] if there is
    /// no record.
    async fn set_retired(&self, product_id: &ProductId, retired: bool) -> Result<()>;

    /// Deletes the record (only for undoing a product creation that failed half-way); false
    /// if there was none.
    async fn delete(&self, product_id: &ProductId) -> Result<bool>;

    /// Adds `quantity` units to `stock` (and sets `location` if given); returns the new state.
    /// [`Error::NotFound`] if there is no record.
    async fn add_stock(
        &self,
        product_id: &ProductId,
        quantity: u32,
        location: Option<&str>,
        now: Timestamp,
    ) -> Result<Inventory>;

    /// Atomically, all or nothing: if the record is not retired, `stock` covers the sum of
    /// `holds` and none of their ids is open, moves that sum from `stock` into these open
    /// holds. Otherwise changes nothing and returns [`Error::InsufficientStock`] (which also
    /// covers an id already open: a caller that may have reserved it before reads the record).
    /// [`Error::NotFound`] if there is no record.
    async fn reserve(&self, product_id: &ProductId, holds: &[Reservation]) -> Result<()>;

    /// [`Self::reserve`] for several products at once (group commit): each product's holds
    /// all or nothing, one result per product, in order. `Err` when the outcome of the whole
    /// call is unknown. The default reserves product by product.
    async fn reserve_many(
        &self,
        batch: &[(ProductId, Vec<Reservation>)],
    ) -> Result<Vec<Result<()>>> {
        let mut results = Vec::with_capacity(batch.len());
        for (product, holds) in batch {
            results.push(self.reserve(product, holds).await);
        }
        Ok(results)
    }

    /// Closes each of `holds` that is open with that id and quantity, returning its units to
    /// `stock`; returns the units moved. Each hold moves at most once, whoever calls.
    async fn release(&self, product_id: &ProductId, holds: &[Reservation]) -> Result<u64>;

    /// Closes each of `holds` that is open with that id and quantity, moving its units to
    /// `sold`; returns the units moved. Each hold moves at most once, whoever calls.
    async fn settle(&self, product_id: &ProductId, holds: &[Reservation]) -> Result<u64>;

    /// [`Self::settle`] for several products at once (group commit). The default settles
    /// product by product.
    async fn settle_many(&self, batch: &[(ProductId, Vec<Reservation>)]) -> Result<()> {
        for (product, holds) in batch {
            self.settle(product, holds).await?;
        }
        Ok(())
    }

    /// Atomically: if `hold`'s id is not open and `sold` covers it, moves its units from `sold`
    /// into the open hold (a return in flight). Idempotent: if the id is already open, `Ok`
    /// and nothing changes. [`Error::Conflict`] if `sold` is short;
    /// [`Error::NotFound`] if there is no record.
    async fn unsettle(&self, product_id: &ProductId, hold: &Reservation) -> Result<()>;

    /// Up to `limit` open holds (with their product) opened before `before`, oldest first.
    async fn list_stale(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<(ProductId, Reservation)>>;

    /// Atomically, as every caller sees it: changes the free `stock` of the adjustment's
    /// product as its `change` says and records the adjustment (with the delta applied and
    /// the stock after it) in the product's history; returns the record and the stock after.
    ///
    /// Only free units are taken away (never those held or sold): if the result would be below
    /// zero, changes and records nothing and returns [`Error::Conflict`].
    /// A [`StockChange::Set`] to the current stock is recorded with delta 0.
    /// [`Error::NotFound`] if there is no record.
    ///
    /// In the same atomic write, the record's outbox gets the adjustment's `stock.adjusted`
    /// event ([`crate::event::adjusted`], at the record's count of adjustments as version).
    ///
    /// Idempotent by `adjustment.id`: if that id is in the history already, changes nothing and
    /// returns the recorded adjustment (whatever this call asked for) with the current record,
    /// so a retry after a lost reply never applies an adjustment twice. The history keeps the
    /// newest [`ADJUSTMENT_HISTORY`] adjustments of each product; recording one more drops the
    /// oldest (an id dropped that way is no longer known).
    async fn adjust(&self, adjustment: &NewAdjustment) -> Result<Adjusted>;

    /// The recorded adjustments of `product_id`, newest first (in the order they were applied),
    /// windowed by `page`; every adjustment [`Self::adjust`] has returned is listed (until
    /// [`ADJUSTMENT_HISTORY`] newer ones drop it). Empty if there are none.
    async fn adjustments(&self, product_id: &ProductId, page: Page)
        -> Result<Vec<StockAdjustment>>;
}
