//! What a simulation sells and who buys, and the store it checks.

use super::ledger::Ledger;
use crate::backend::Backend;
use crate::id::{CustomerId, DiscountId, ShopId};
use crate::product::Product;
use std::sync::Arc;

/// What the run sells and who buys, and the store to check.
#[derive(Debug)]
pub(super) struct Fixture {
    /// The memory backend itself (the checks read it, never through the probe).
    pub(super) raw: Backend,
    /// Units received per product.
    pub(super) ledger: Arc<Ledger>,
    pub(super) shops: Vec<ShopId>,
    pub(super) products: Vec<Product>,
    pub(super) codes: Vec<Code>,
    pub(super) customers: Vec<CustomerId>,
}

impl Fixture {
    pub(super) fn product_index(&self, id: &crate::id::ProductId) -> usize {
        self.products
            .iter()
            .position(|p| &p.id == id)
            .unwrap_or(usize::MAX)
    }
}

/// A shop's code.
#[derive(Debug)]
pub(super) struct Code {
    pub(super) code: String,
    pub(super) id: DiscountId,
}
