//! Inventory: a product's stock and its reservations, and the repository port.
//!
//! Invariant, checkable from outside: for every product,
//! `stock + sum(reservations.quantity) == everything ever received`, and `stock` is never
//! negative. Reserving moves units from `stock` into a reservation; releasing moves them back.

use crate::clock::Timestamp;
use crate::error::Result;
use crate::id::{ProductId, ShopId};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// Units held for one checkout or order.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Reservation {
    /// Who holds it (a checkout id); at most one reservation per id per product.
    pub id: String,
    /// How many units.
    pub quantity: u32,
    /// When it was made.
    pub created_at: Timestamp,
}

/// The stock of one product.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Inventory {
    /// The product (also the inventory's id).
    pub product_id: ProductId,
    /// The owning shop.
    pub shop_id: ShopId,
    /// Where the stock is.
    pub location: String,
    /// Units available to reserve.
    pub stock: u64,
    /// Units held (sold or being checked out).
    pub reservations: Vec<Reservation>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Inventory {
    /// Units held by reservations.
    pub fn reserved(&self) -> u64 {
        self.reservations
            .iter()
            .map(|r| u64::from(r.quantity))
            .sum()
    }
}

/// Storage of inventories. Every stock change is one atomic conditional write.
#[async_trait]
pub trait InventoryRepo: Send + Sync + Debug + 'static {
    /// Inserts an inventory; [`Error::Conflict`](crate::Error::Conflict) if one exists for the product.
    async fn insert(&self, inventory: &Inventory) -> Result<()>;

    /// The inventory of `product_id`, if any.
    async fn get(&self, product_id: &ProductId) -> Result<Option<Inventory>>;

    /// Adds `quantity` units (and sets `location` if given); returns the new state.
    /// [`Error::NotFound`](crate::Error::NotFound) if there is no inventory.
    async fn add_stock(
        &self,
        product_id: &ProductId,
        quantity: u32,
        location: Option<&str>,
        now: Timestamp,
    ) -> Result<Inventory>;

    /// Atomically: if `stock >= quantity`, subtracts it and records a reservation `reservation_id`.
    /// Otherwise [`Error::InsufficientStock`](crate::Error::InsufficientStock) and nothing changes.
    /// Idempotent: if a reservation with this id already exists, nothing changes and `Ok` is
    /// returned. [`Error::NotFound`](crate::Error::NotFound) if there is no inventory.
    async fn reserve(
        &self,
        product_id: &ProductId,
        quantity: u32,
        reservation_id: &str,
        now: Timestamp,
    ) -> Result<Inventory>;

    /// Atomically removes reservation `reservation_id` and returns its units to `stock`.
    /// Returns the released quantity, or `None` if there was no such reservation (idempotent).
    async fn release(&self, product_id: &ProductId, reservation_id: &str) -> Result<Option<u32>>;
}
