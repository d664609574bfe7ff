//! A backend wrapper that injects one failure at the n-th write, for crash tests of the saga.
//!
//! Every write of the ports the checkout saga uses (checkout records, inventory, discounts,
//! orders, carts) counts as one step. At step `fail_at` the wrapper either returns
//! [`Error::Unavailable`] or panics, which aborts the task and drops the saga's future half-way,
//! like a process dying there. Reads pass through untouched.

use crate::backend::Backend;
use crate::cart::{Cart, CartLine, CartRepo};
use crate::checkout::{CheckoutRecord, CheckoutRepo, Transition};
use crate::clock::Timestamp;
use crate::discount::{Discount, DiscountRepo, Redemption};
use crate::error::{Error, Result};
use crate::id::{CheckoutId, CustomerId, DiscountId, OrderId, ProductId, ShopId};
use crate::inventory::{Inventory, InventoryRepo};
use crate::order::{Order, OrderRepo};
use crate::page::Page;
use async_trait::async_trait;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// What happens at the failing step.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FaultMode {
    /// The write returns `Error::Unavailable` without doing anything.
    Error,
    /// The write panics without doing anything (the caller's future is dropped).
    Panic,
}

/// The step counter shared by the wrappers.
#[derive(Debug)]
pub struct Faults {
    steps: AtomicUsize,
    fail_at: AtomicUsize,
    mode: FaultMode,
}

impl Faults {
    /// Fails at step `fail_at` (0-based); `usize::MAX` never fails.
    pub fn new(fail_at: usize, mode: FaultMode) -> Arc<Self> {
        Arc::new(Faults {
            steps: AtomicUsize::new(0),
            fail_at: AtomicUsize::new(fail_at),
            mode,
        })
    }

    /// Steps counted so far.
    pub fn steps(&self) -> usize {
        self.steps.load(Ordering::SeqCst)
    }

    /// Stops injecting.
    pub fn disarm(&self) {
        self.fail_at.store(usize::MAX, Ordering::SeqCst);
    }

    fn step(&self, op: &str) -> Result<()> {
        let n = self.steps.fetch_add(1, Ordering::SeqCst);
        if n != self.fail_at.load(Ordering::SeqCst) {
            return Ok(());
        }
        match self.mode {
            FaultMode::Error => Err(Error::Unavailable(format!("injected failure at {op}"))),
            FaultMode::Panic => panic!("injected crash at {op}"),
        }
    }
}

/// `backend` with its saga ports wrapped by `faults`.
pub fn faulty(backend: &Backend, faults: Arc<Faults>) -> Backend {
    let mut out = backend.clone();
    out.checkouts = Arc::new(Faulty(backend.checkouts.clone(), faults.clone()));
    out.inventory = Arc::new(Faulty(backend.inventory.clone(), faults.clone()));
    out.discounts = Arc::new(Faulty(backend.discounts.clone(), faults.clone()));
    out.orders = Arc::new(Faulty(backend.orders.clone(), faults.clone()));
    out.carts = Arc::new(Faulty(backend.carts.clone(), faults));
    out
}

#[derive(Debug)]
struct Faulty<T: ?Sized>(Arc<T>, Arc<Faults>);

#[async_trait]
impl CheckoutRepo for Faulty<dyn CheckoutRepo> {
    async fn insert(&self, record: &CheckoutRecord) -> Result<()> {
        self.1.step("checkouts.insert")?;
        self.0.insert(record).await
    }
    async fn get(&self, id: &CheckoutId) -> Result<Option<CheckoutRecord>> {
        self.0.get(id).await
    }
    async fn find_by_key(
        &self,
        customer_id: &CustomerId,
        key: &str,
    ) -> Result<Option<CheckoutRecord>> {
        self.0.find_by_key(customer_id, key).await
    }
    async fn transition(&self, id: &CheckoutId, change: &Transition) -> Result<bool> {
        self.1.step("checkouts.transition")?;
        self.0.transition(id, change).await
    }
    async fn list_stale(&self, now: Timestamp, limit: u32) -> Result<Vec<CheckoutRecord>> {
        self.0.list_stale(now, limit).await
    }
}

#[async_trait]
impl InventoryRepo for Faulty<dyn InventoryRepo> {
    async fn insert(&self, inventory: &Inventory) -> Result<()> {
        self.0.insert(inventory).await
    }
    async fn get(&self, product_id: &ProductId) -> Result<Option<Inventory>> {
        self.0.get(product_id).await
    }
    async fn add_stock(
        &self,
        product_id: &ProductId,
        quantity: u32,
        location: Option<&str>,
        now: Timestamp,
    ) -> Result<Inventory> {
        self.0.add_stock(product_id, quantity, location, now).await
    }
    async fn reserve(
        &self,
        product_id: &ProductId,
        quantity: u32,
        id: &str,
        now: Timestamp,
    ) -> Result<Inventory> {
        self.1.step("inventory.reserve")?;
        self.0.reserve(product_id, quantity, id, now).await
    }
    async fn release(&self, product_id: &ProductId, id: &str) -> Result<Option<u32>> {
        self.1.step("inventory.release")?;
        self.0.release(product_id, id).await
    }
}

#[async_trait]
impl DiscountRepo for Faulty<dyn DiscountRepo> {
    async fn insert(&self, discount: &Discount) -> Result<()> {
        self.0.insert(discount).await
    }
    async fn get(&self, id: &DiscountId) -> Result<Option<Discount>> {
        self.0.get(id).await
    }
    async fn find_active_by_code(&self, shop_id: &ShopId, code: &str) -> Result<Option<Discount>> {
        self.0.find_active_by_code(shop_id, code).await
    }
    async fn list_active(&self, shop_id: &ShopId, page: Page) -> Result<Vec<Discount>> {
        self.0.list_active(shop_id, page).await
    }
    async fn delete(&self, shop_id: &ShopId, code: &str) -> Result<bool> {
        self.0.delete(shop_id, code).await
    }
    async fn redeem(&self, id: &DiscountId, redemption: &Redemption) -> Result<Discount> {
        self.1.step("discounts.redeem")?;
        self.0.redeem(id, redemption).await
    }
    async fn unredeem(&self, id: &DiscountId, redemption_id: &str) -> Result<bool> {
        self.1.step("discounts.unredeem")?;
        self.0.unredeem(id, redemption_id).await
    }
}

#[async_trait]
impl OrderRepo for Faulty<dyn OrderRepo> {
    async fn insert(&self, order: &Order) -> Result<()> {
        self.1.step("orders.insert")?;
        self.0.insert(order).await
    }
    async fn get(&self, id: &OrderId) -> Result<Option<Order>> {
        self.0.get(id).await
    }
    async fn list_by_customer(&self, customer_id: &CustomerId, page: Page) -> Result<Vec<Order>> {
        self.0.list_by_customer(customer_id, page).await
    }
    async fn replace(&self, order: &Order, expected_version: u64) -> Result<()> {
        self.1.step("orders.replace")?;
        self.0.replace(order, expected_version).await
    }
    async fn list_returns_pending(&self, limit: u32) -> Result<Vec<Order>> {
        self.0.list_returns_pending(limit).await
    }
}

#[async_trait]
impl CartRepo for Faulty<dyn CartRepo> {
    async fn get_active(&self, customer_id: &CustomerId) -> Result<Option<Cart>> {
        self.0.get_active(customer_id).await
    }
    async fn add_line(
        &self,
        customer_id: &CustomerId,
        line: &CartLine,
        max: u32,
        now: Timestamp,
    ) -> Result<Cart> {
        self.0.add_line(customer_id, line, max, now).await
    }
    async fn adjust_line(
        &self,
        customer_id: &CustomerId,
        product_id: &ProductId,
        delta: i64,
        max: u32,
        now: Timestamp,
    ) -> Result<Cart> {
        self.0
            .adjust_line(customer_id, product_id, delta, max, now)
            .await
    }
    async fn remove_lines(
        &self,
        customer_id: &CustomerId,
        product_ids: &[ProductId],
        now: Timestamp,
    ) -> Result<Option<Cart>> {
        self.1.step("carts.remove_lines")?;
        self.0.remove_lines(customer_id, product_ids, now).await
    }
}
