//! Inventory: a product's stock record, and the repository port.
//!
//! A record counts units in three places: `stock` (free to sell), `sold` (in placed orders)
//! and `reservations` (open holds: checkouts in flight, returns in flight). Invariant, checkable
//! from outside: `stock + sold + reserved() == everything ever received`, `stock` never
//! negative. A record holds only *open* reservations: a checkout's hold is settled into `sold`
//! once its order is placed, so the record's size does not grow with sales.
//!
//! Moves, each one atomic conditional write:
//!
//! ```text
//!            reserve              settle
//!   stock ───────────> open ───────────> sold
//!         <───────────      <───────────
//!            release              unsettle (a return in flight)
//! ```
//!
//! A reservation names the order it belongs to. A checkout's hold has the id of the order it
//! will create (and nothing else ever reuses that id); a return's hold has the id of the return
//! claim recorded on the order. Who owns a hold is decided by the order, so recovery can tell
//! what to do with a hold left open by a crashed process (see
//! [`CheckoutService::recover_stale_checkouts`](crate::service::CheckoutService::recover_stale_checkouts)).

use crate::clock::Timestamp;
use crate::error::Result;
use crate::id::{OrderId, ProductId, ShopId};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

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

/// The stock record of one product.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Inventory {
    /// The product (also the record's id).
    pub product_id: ProductId,
    /// The owning shop.
    pub shop_id: ShopId,
    /// Where the stock is.
    pub location: String,
    /// Units free to sell.
    pub stock: u64,
    /// Units in placed orders (not returned).
    pub sold: u64,
    /// Open holds only (checkouts and returns in flight).
    pub reservations: Vec<Reservation>,
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

    /// Everything ever received, net of adjustments: `stock + sold + reserved()`.
    pub fn received(&self) -> u64 {
        self.stock + self.sold + self.reserved()
    }
}

/// Storage of stock records. Every move of units is one atomic conditional write; every
/// method that takes holds is idempotent per hold id.
#[async_trait]
pub trait InventoryRepo: Send + Sync + Debug + 'static {
    /// Inserts a record; [`Error::AlreadyExists`](crate::Error::AlreadyExists) if one exists for the product.
    async fn insert(&self, inventory: &Inventory) -> Result<()>;

    /// The record of `product_id`, if any.
    async fn get(&self, product_id: &ProductId) -> Result<Option<Inventory>>;

    /// Deletes the record (only for undoing a product creation that failed half-way); false
    /// if there was none.
    async fn delete(&self, product_id: &ProductId) -> Result<bool>;

    /// Adds `quantity` units to `stock` (and sets `location` if given); returns the new state.
    /// [`Error::NotFound`](crate::Error::NotFound) if there is no record.
    async fn add_stock(
        &self,
        product_id: &ProductId,
        quantity: u32,
        location: Option<&str>,
        now: Timestamp,
    ) -> Result<Inventory>;

    /// Atomically, all or nothing: if `stock` covers the sum of `holds` and none of their ids
    /// is open, moves that sum from `stock` into these open holds. Otherwise changes nothing and
    /// returns [`Error::InsufficientStock`](crate::Error::InsufficientStock) (which also covers
    /// an id already open: a caller that may have reserved it before reads the record).
    /// [`Error::NotFound`](crate::Error::NotFound) if there is no record.
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
    /// and nothing changes. [`Error::Conflict`](crate::Error::Conflict) if `sold` is short;
    /// [`Error::NotFound`](crate::Error::NotFound) if there is no record.
    async fn unsettle(&self, product_id: &ProductId, hold: &Reservation) -> Result<()>;

    /// Up to `limit` open holds (with their product) opened before `before`, oldest first.
    async fn list_stale(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<(ProductId, Reservation)>>;
}
