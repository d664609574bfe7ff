//! The `StockGate` port: an optional admission layer in front of the store for hot products.
//!
//! A gate keeps, per product, a count of units it may still admit. A checkout first asks the
//! gate to admit all of its lines at once (all or none), and only admitted checkouts go on to
//! the store's conditional decrement — which stays the final guard, so a gate that is out of
//! sync can never cause an oversell: a gate that counts too high only lets the store refuse.
//! One that counts too low (it missed units coming back) would refuse sales the store could
//! make, so the gate heals itself: a checkout it refuses checks the store (at most once per
//! product per [`CheckoutSettings::gate_heal_every`](crate::service::CheckoutSettings) in each
//! process) and raises the count with [`StockGate::heal`]; the server reconciles every counted
//! product periodically; an operator can rebuild one or all (`ecom-server gate rebuild`).
//!
//! Counts are seeded lazily from the store, grow when stock is added (or adjusted up), shrink
//! when stock is adjusted down ([`StockGate::take`]), and get units back when a checkout rolls
//! back or an order line is cancelled. Admissions are keyed by checkout (the id
//! of the order it would place), so admitting or releasing twice never moves units twice; an
//! admission is forgotten once its order is placed. An admission lives until its checkout or
//! recovery ends it (no expiry), so the units it holds are always known.
//!
//! # Healing without counting twice
//!
//! Per product the gate keeps, besides its count, the units in open admissions (`open`) and an
//! `epoch` that moves whenever units enter or leave the gate other than through an admission or
//! its release (a commit, an addition, a take). The store's stock minus `open` never exceeds what the
//! gate may truly admit (admitted units are either still in the store's stock or already taken
//! from it and counted in `open`), so raising the count to it never oversells, and a heal whose
//! epoch moved between [`StockGate::tally`] and [`StockGate::heal`] changes nothing (the store
//! read may be stale). Two races remain. A heal that runs entirely between the store taking back
//! units (a cancel, a stock addition) and the gate's [`StockGate::add`] counts those units
//! twice; the gate then counts high, which the store guards, and the next reconcile of the
//! product while no admission is open sets the count exactly. A heal that raises a count
//! entirely between the store losing free units (an adjustment down) and the gate's
//! [`StockGate::take`] has them taken twice; the gate then counts low, and the next checkout it
//! refuses heals it from the store. Between the store's write and the gate's, the gate counts
//! high for an adjustment down (the store guards) and low for one up (healed likewise).

use crate::clock::Timestamp;
use crate::error::Result;
use crate::id::ProductId;
use async_trait::async_trait;
use std::fmt::Debug;

/// One line a checkout wants admitted.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GateLine {
    /// The product.
    pub product_id: ProductId,
    /// Units.
    pub quantity: u32,
}

/// The gate's answer to an admission.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Admission {
    /// Every line was admitted (or already had been, for this checkout).
    Admitted,
    /// Nothing was admitted: this product has fewer units left in the gate than asked for.
    Refused {
        /// The first product short.
        product_id: ProductId,
    },
    /// Nothing was admitted: the gate has no count for these products yet; seed them from the
    /// store with [`StockGate::seed`] and ask again.
    Unseeded {
        /// The products without a count.
        product_ids: Vec<ProductId>,
    },
}

/// What the gate knows of a product, to check it against the store ([`StockGate::tally`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Tally {
    /// Units the gate may still admit, if it has a count.
    pub count: Option<u64>,
    /// Units held by open admissions.
    pub open: u64,
    /// Moves whenever units enter or leave the gate other than by admission or release.
    pub epoch: u64,
}

/// An admission layer shared by every process that uses the same gate.
#[async_trait]
pub trait StockGate: Send + Sync + Debug + 'static {
    /// Atomically admits every line for `checkout` or none, noting the admission's time `at`.
    /// Idempotent: if `checkout` already holds an admission, returns [`Admission::Admitted`]
    /// and changes nothing.
    async fn admit(&self, checkout: &str, lines: &[GateLine], at: Timestamp) -> Result<Admission>;

    /// Returns the units `checkout` was admitted for `products` to their counts and forgets
    /// them (the checkout did not place its order, or some of its lines were cancelled).
    /// Idempotent; products the checkout holds nothing of are ignored.
    async fn release(&self, checkout: &str, products: &[ProductId]) -> Result<()>;

    /// Forgets `checkout`'s admission of `products` (all it holds), keeping its units taken
    /// (its order was placed). Idempotent.
    async fn commit(&self, checkout: &str, products: &[ProductId]) -> Result<()>;

    /// Up to `limit` admissions made before `before` and still held (neither released nor
    /// committed), oldest first, with the products each holds: what a checkout that died
    /// between its admission and its end left behind, for recovery.
    async fn list_stale(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<(String, Vec<ProductId>)>>;

    /// Sets the product's count to `units` unless it already has one.
    async fn seed(&self, product: &ProductId, units: u64) -> Result<()>;

    /// Adds `units` to the product's count if it has one (stock received or returned), and
    /// moves its epoch.
    async fn add(&self, product: &ProductId, units: u32) -> Result<()>;

    /// Takes `units` from the product's count if it has one, never below zero (free stock
    /// taken away by an adjustment), and moves its epoch.
    async fn take(&self, product: &ProductId, units: u64) -> Result<()>;

    /// The product's count, open units and epoch, read at one instant.
    async fn tally(&self, product: &ProductId) -> Result<Tally>;

    /// Brings the product's count in line with `stock`, the store's stock read after
    /// [`Self::tally`] returned `epoch`: unless the epoch has moved since (then `None`, nothing
    /// changed), a missing count is seeded with `stock - open`, a count below `stock - open` is
    /// raised to it, and with `exact_when_idle` a count of a product without open admissions
    /// is set to `stock` (lowered too). Returns the count after.
    async fn heal(
        &self,
        product: &ProductId,
        stock: u64,
        epoch: u64,
        exact_when_idle: bool,
    ) -> Result<Option<u64>>;

    /// Up to `limit` products the gate has counted, in id order, after `after`: what a
    /// reconcile walks.
    async fn counted(&self, after: Option<&ProductId>, limit: u32) -> Result<Vec<ProductId>>;

    /// Forgets the product's count, so the next admission seeds it again from the store
    /// (rebuild on demand).
    async fn reset(&self, product: &ProductId) -> Result<()>;

    /// The product's count, if it has one.
    async fn available(&self, product: &ProductId) -> Result<Option<u64>>;

    /// Checks that the gate answers (for readiness probes). In-process gates always do.
    async fn ping(&self) -> Result<()> {
        Ok(())
    }
}
