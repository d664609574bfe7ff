//! What a checkout strategy does, asked by the saga without knowing which strategy runs.

use crate::clock::Timestamp;
use crate::error::Result;
use crate::id::ProductId;
use crate::inventory::Reservation;
use crate::order::Order;
use async_trait::async_trait;
use std::fmt::Debug;
use std::time::Duration;

/// How one checkout strategy holds stock. Built once per checkout service
/// ([`CheckoutStrategy::build`](super::CheckoutStrategy::build)); the saga (holding, giving
/// back, settling, recovery) calls it and never asks which strategy it is.
///
/// Admissions are the strategy's own bookkeeping in front of the store (the stock gate's):
/// keyed by checkout (the id of the order it would place), so admitting, releasing and
/// settling twice never moves units twice. A strategy without admissions does nothing there.
#[async_trait]
pub(crate) trait Strategy: Send + Sync + Debug + 'static {
    /// Admits every line of `order` before anything is reserved, all or none; out of stock is
    /// [`Error::InsufficientStock`](crate::error::Error::InsufficientStock) with nothing held.
    async fn admit(&self, order: &Order, at: Timestamp) -> Result<()>;

    /// Reserves `hold` on the stock record `stock`: the conditional `stock >= qty` decrement,
    /// alone, batched with concurrent ones, or under a lock.
    async fn reserve(&self, stock: &ProductId, hold: Reservation) -> Result<()>;

    /// The checkout `checkout` will never place its order: gives its admission of `stock`
    /// back. Idempotent.
    async fn release(&self, checkout: &str, stock: &[ProductId]) -> Result<()>;

    /// The order of `checkout` is placed and its holds settled: forgets its admission of
    /// `stock`, keeping the units sold. Idempotent.
    async fn settled(&self, checkout: &str, stock: &[ProductId]) -> Result<()>;

    /// Admissions opened before `before`, oldest first, at most `limit`: what recovery settles
    /// or gives back for checkouts that died.
    async fn stale_admissions(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<(String, Vec<ProductId>)>>;
}

/// The settings a strategy is built with.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tuning {
    /// Whether concurrent reservations of one stock record coalesce into one write.
    pub(crate) group_commit: bool,
    /// TTL of a stock lock.
    pub(crate) lock_ttl: Duration,
    /// Longest wait for a stock lock.
    pub(crate) lock_wait: Duration,
    /// How often at most this process checks the store when the gate refuses a record.
    pub(crate) gate_heal_every: Duration,
}
