//! A wrapper around every port of a [`Backend`] that sees each call: it records the calls,
//! can insert seeded pauses (yields, and short sleeps after reads) around them (so races between a service's read and its
//! compare-and-set happen on the memory backend too), and can inject one failure at a chosen
//! call, recording where it fired so a test can prove the fault hit the call it meant.
//!
//! ```no_run
//! # async fn demo(backend: &ecom_core::Backend) {
//! use ecom_core::testkit::probe::{Probe, Fault, FaultMode, Target};
//! let probe = Probe::new().with_jitter(7, 3);
//! let probed = probe.wrap(backend);
//! // ... run a use case on `probed`; then:
//! let writes = probe.calls().iter().filter(|c| c.write).count();
//! probe.arm(Fault::at(Target::Write(2), FaultMode::Error));
//! # let _ = (writes, probed);
//! # }
//! ```

use crate::account::{Account, AccountKind, AccountRepo, ShopSettings};
use crate::api_key::{ApiKey, ApiKeyRepo};
use crate::backend::Backend;
use crate::cart::{Cart, CartLine, CartRepo};
use crate::clock::Timestamp;
use crate::discount::{Discount, DiscountRepo, Redemption};
use crate::error::{Error, Result};
use crate::event::{AggregateKind, Cursor, Event, EventFilter, EventRepo, Logged, OutboxRepo};
use crate::gate::{Admission, GateLine, StockGate, Tally};
use crate::id::{
    AccountId, ApiKeyId, CustomerId, DiscountId, EventId, OrderId, ProductId, SessionId, ShopId,
};
use crate::inventory::{
    Adjusted, Inventory, InventoryRepo, NewAdjustment, Reservation, StockAdjustment, StockState,
};
use crate::key_store::{KeyStore, KeyStoreRepo};
use crate::lock::{DistributedLock, LockGuard};
use crate::order::{Order, OrderRepo, ShopOrderFilter};
use crate::page::Page;
use crate::product::{
    CatalogueFilter, Facets, Product, ProductFilter, ProductQuery, ProductRepo, StockRecord,
};
use async_trait::async_trait;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What happens at the failing call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FaultMode {
    /// The call returns `Error::Unavailable` without reaching the port.
    Error,
    /// The call panics without reaching the port: the caller's task dies and its future is
    /// dropped half-way, like a process dying there.
    Panic,
    /// The call reaches the port (its effect happens), then returns `Error::Unavailable`: an
    /// ambiguous outcome, like a reply lost on the network.
    ErrorAfter,
}

/// Which call a fault hits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The n-th write (0-based) seen after arming.
    Write(usize),
    /// The n-th call (0-based, reads and writes) seen after arming whose name is the given one
    /// (`"inventory.reserve"`).
    Named(&'static str, usize),
}

/// One armed failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// Where it hits.
    pub target: Target,
    /// What it does.
    pub mode: FaultMode,
}

impl Fault {
    /// A fault of `mode` at `target`.
    pub fn at(target: Target, mode: FaultMode) -> Self {
        Fault { target, mode }
    }
}

/// One call seen by the probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// `port.method`, e.g. `"inventory.reserve"`.
    pub name: &'static str,
    /// Whether the method changes state.
    pub write: bool,
}

#[derive(Debug, Default)]
struct State {
    calls: Vec<Call>,
    fault: Option<Fault>,
    /// Calls seen since arming: (writes, per-name counts).
    writes_since_armed: usize,
    named_since_armed: usize,
    fired: Option<Call>,
    rng: Option<(StdRng, u32)>,
    /// One pause: the next call with this name waits for `resume` (after telling `reached`).
    pause: Option<Pause>,
    /// Every call panics (the process is gone).
    dead: bool,
}

/// A call held back until the test lets it go (see [`Probe::pause_at`]).
#[derive(Debug, Clone)]
struct Pause {
    name: &'static str,
    reached: Arc<tokio::sync::Notify>,
    resume: Arc<tokio::sync::Notify>,
}

/// Sees every call of the ports it wraps. Cheap to clone (shared state).
#[derive(Clone, Debug, Default)]
pub struct Probe {
    state: Arc<Mutex<State>>,
}

enum Decision {
    Pass,
    Fail(FaultMode, &'static str),
}

impl Probe {
    /// A probe that only records.
    pub fn new() -> Self {
        Probe::default()
    }

    /// Also yields to the scheduler up to `max_yields` times before and after every call, the
    /// number drawn from a generator seeded with `seed` (so a run can be replayed).
    pub fn with_jitter(self, seed: u64, max_yields: u32) -> Self {
        self.lock().rng = Some((StdRng::seed_from_u64(seed), max_yields));
        self
    }

    /// `backend` with every port (and the lock and gate) going through this probe.
    pub fn wrap(&self, backend: &Backend) -> Backend {
        let mut out = backend.clone();
        out.accounts = Arc::new(Probed(backend.accounts.clone(), self.clone()));
        out.key_stores = Arc::new(Probed(backend.key_stores.clone(), self.clone()));
        out.api_keys = Arc::new(Probed(backend.api_keys.clone(), self.clone()));
        out.products = Arc::new(Probed(backend.products.clone(), self.clone()));
        out.inventory = Arc::new(Probed(backend.inventory.clone(), self.clone()));
        out.carts = Arc::new(Probed(backend.carts.clone(), self.clone()));
        out.discounts = Arc::new(Probed(backend.discounts.clone(), self.clone()));
        out.orders = Arc::new(Probed(backend.orders.clone(), self.clone()));
        out.events = Arc::new(Probed(backend.events.clone(), self.clone()));
        out.outboxes = Arc::new(Probed(backend.outboxes.clone(), self.clone()));
        out.lock = Arc::new(Probed(backend.lock.clone(), self.clone()));
        out.gate = Arc::new(Probed(backend.gate.clone(), self.clone()));
        out
    }

    /// Arms one failure (replacing any armed one); counting for its target starts now.
    pub fn arm(&self, fault: Fault) {
        let mut state = self.lock();
        state.fault = Some(fault);
        state.writes_since_armed = 0;
        state.named_since_armed = 0;
        state.fired = None;
    }

    /// Stops injecting; returns the call the fault hit, if it fired.
    pub fn disarm(&self) -> Option<Call> {
        let mut state = self.lock();
        state.fault = None;
        state.fired.take()
    }

    /// The call the armed fault hit, if it fired.
    pub fn fired(&self) -> Option<Call> {
        self.lock().fired.clone()
    }

    /// Every call seen so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Holds back the next call named `name` (before it reaches the port) until `resume` is
    /// notified, notifying `reached` when it gets there: a slow process, on any backend.
    pub fn pause_at(
        &self,
        name: &'static str,
        reached: Arc<tokio::sync::Notify>,
        resume: Arc<tokio::sync::Notify>,
    ) {
        self.lock().pause = Some(Pause {
            name,
            reached,
            resume,
        });
    }

    /// Kills the process this probe stands for: from now on every call panics before it
    /// reaches the port, so each of its tasks dies at its next call (a crash of the whole
    /// process, its in-memory state lost with its tasks). There is no way back; a restarted
    /// process is a new probe.
    pub fn kill(&self) {
        self.lock().dead = true;
    }

    /// Forgets the calls seen so far.
    pub fn clear(&self) {
        self.lock().calls.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long to hold the caller back: a number of yields, or (after a read, half the
    /// time) a millisecond's sleep, so that every other racer reads too before anyone writes.
    fn draw_pause(&self, after_read: bool) -> (u32, bool) {
        match &mut self.lock().rng {
            Some((rng, max)) if *max > 0 => {
                (rng.gen_range(0..=*max), after_read && rng.gen_bool(0.5))
            }
            _ => (0, false),
        }
    }

    async fn jitter(&self, after_read: bool) {
        let (yields, sleep) = self.draw_pause(after_read);
        if sleep {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        for _ in 0..yields {
            tokio::task::yield_now().await;
        }
    }

    fn decide(&self, name: &'static str, write: bool) -> Decision {
        let mut state = self.lock();
        let call = Call { name, write };
        state.calls.push(call.clone());
        if state.dead {
            return Decision::Fail(FaultMode::Panic, name);
        }
        let Some(fault) = state.fault.clone() else {
            return Decision::Pass;
        };
        if state.fired.is_some() {
            return Decision::Pass;
        }
        let hit = match fault.target {
            Target::Write(n) if write => {
                state.writes_since_armed += 1;
                state.writes_since_armed == n + 1
            }
            Target::Named(wanted, n) if wanted == name => {
                state.named_since_armed += 1;
                state.named_since_armed == n + 1
            }
            _ => false,
        };
        if !hit {
            return Decision::Pass;
        }
        state.fired = Some(call);
        Decision::Fail(fault.mode, name)
    }

    /// Runs `call` as the port method `name`.
    async fn around<T>(
        &self,
        name: &'static str,
        write: bool,
        call: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        self.jitter(false).await;
        let pause = {
            let mut state = self.lock();
            match &state.pause {
                Some(p) if p.name == name && !state.dead => state.pause.take(),
                _ => None,
            }
        };
        if let Some(pause) = pause {
            pause.reached.notify_one();
            pause.resume.notified().await;
        }
        let decision = self.decide(name, write);
        let out = match decision {
            Decision::Pass => call.await,
            Decision::Fail(FaultMode::Error, name) => {
                return Err(Error::Unavailable(format!("injected failure at {name}")))
            }
            Decision::Fail(FaultMode::Panic, name) => panic!("injected crash at {name}"),
            Decision::Fail(FaultMode::ErrorAfter, name) => {
                let _ = call.await;
                return Err(Error::Unavailable(format!(
                    "injected lost reply after {name}"
                )));
            }
        };
        self.jitter(!write).await;
        out
    }
}

/// A port behind a probe.
#[derive(Debug)]
struct Probed<T: ?Sized>(Arc<T>, Probe);

/// Implements a port trait for `Probed<dyn Trait>`, each method going through the probe.
/// `read`/`write` says whether the method changes state.
macro_rules! probed {
    ($trait:ident, $port:literal, {
        $( $kind:ident fn $method:ident(&self $(, $arg:ident : $ty:ty)* $(,)?) -> $ret:ty; )*
    }) => {
        #[async_trait]
        impl $trait for Probed<dyn $trait> {
            $(
                async fn $method(&self $(, $arg: $ty)*) -> $ret {
                    self.1
                        .around(
                            concat!($port, ".", stringify!($method)),
                            probed!(@write $kind),
                            self.0.$method($($arg),*),
                        )
                        .await
                }
            )*
        }
    };
    (@write read) => { false };
    (@write write) => { true };
}

probed!(AccountRepo, "accounts", {
    write fn insert(&self, account: &Account) -> Result<()>;
    read fn get(&self, kind: AccountKind, id: &AccountId) -> Result<Option<Account>>;
    read fn find_by_email(&self, kind: AccountKind, email: &str) -> Result<Option<Account>>;
    write fn set_settings(&self, kind: AccountKind, id: &AccountId, settings: &ShopSettings, at: Timestamp) -> Result<bool>;
});

probed!(KeyStoreRepo, "key_stores", {
    write fn insert(&self, store: &KeyStore) -> Result<()>;
    read fn get(&self, id: &SessionId) -> Result<Option<KeyStore>>;
    read fn get_many(&self, ids: &[SessionId]) -> Result<Vec<KeyStore>>;
    write fn rotate_refresh(&self, id: &SessionId, current: &str, next: &str, expires_at: Timestamp) -> Result<bool>;
    write fn delete(&self, id: &SessionId) -> Result<bool>;
    write fn delete_for_account(&self, account_id: &AccountId) -> Result<u64>;
    write fn delete_expired(&self, now: Timestamp) -> Result<u64>;
});

probed!(ApiKeyRepo, "api_keys", {
    write fn insert(&self, key: &ApiKey) -> Result<()>;
    read fn find_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>>;
    read fn find_many_by_hash(&self, key_hashes: &[String]) -> Result<Vec<ApiKey>>;
    write fn set_active(&self, id: &ApiKeyId, active: bool) -> Result<bool>;
});

probed!(ProductRepo, "products", {
    write fn insert(&self, product: &Product) -> Result<()>;
    read fn get(&self, id: &ProductId) -> Result<Option<Product>>;
    read fn get_many(&self, ids: &[ProductId]) -> Result<Vec<Product>>;
    write fn replace(&self, product: &Product, expected_version: u64, events: &[Event]) -> Result<()>;
    read fn list(&self, query: &ProductQuery) -> Result<Vec<Product>>;
    read fn count(&self, filter: &ProductFilter) -> Result<u64>;
    read fn facets(&self, filter: &CatalogueFilter) -> Result<Facets>;
    write fn record_stock(&self, records: &[StockRecord]) -> Result<u64>;
    read fn published_after(&self, after: Option<&ProductId>, limit: u32) -> Result<Vec<Product>>;
    read fn changed_since(&self, since: Timestamp, limit: u32) -> Result<Vec<Product>>;
});

probed!(InventoryRepo, "inventory", {
    write fn insert(&self, inventory: &Inventory) -> Result<()>;
    read fn get(&self, product_id: &ProductId) -> Result<Option<Inventory>>;
    read fn stock_states(&self, product_ids: &[ProductId]) -> Result<Vec<(ProductId, StockState)>>;
    write fn set_retired(&self, product_id: &ProductId, retired: bool) -> Result<()>;
    write fn delete(&self, product_id: &ProductId) -> Result<bool>;
    write fn add_stock(&self, product_id: &ProductId, quantity: u32, location: Option<&str>, now: Timestamp) -> Result<Inventory>;
    write fn reserve(&self, product_id: &ProductId, holds: &[Reservation]) -> Result<()>;
    write fn reserve_many(&self, batch: &[(ProductId, Vec<Reservation>)]) -> Result<Vec<Result<()>>>;
    write fn release(&self, product_id: &ProductId, holds: &[Reservation]) -> Result<u64>;
    write fn settle(&self, product_id: &ProductId, holds: &[Reservation]) -> Result<u64>;
    write fn settle_many(&self, batch: &[(ProductId, Vec<Reservation>)]) -> Result<()>;
    write fn unsettle(&self, product_id: &ProductId, hold: &Reservation) -> Result<()>;
    read fn list_stale(&self, before: Timestamp, limit: u32) -> Result<Vec<(ProductId, Reservation)>>;
    write fn adjust(&self, adjustment: &NewAdjustment) -> Result<Adjusted>;
    read fn adjustments(&self, product_id: &ProductId, page: Page) -> Result<Vec<StockAdjustment>>;
});

probed!(CartRepo, "carts", {
    read fn get_active(&self, customer_id: &CustomerId) -> Result<Option<Cart>>;
    write fn add_line(&self, customer_id: &CustomerId, line: &CartLine, max_quantity: u32, now: Timestamp) -> Result<Cart>;
    write fn adjust_line(&self, customer_id: &CustomerId, product_id: &ProductId, delta: i64, max_quantity: u32, now: Timestamp) -> Result<Cart>;
    write fn remove_lines(&self, customer_id: &CustomerId, product_ids: &[ProductId], now: Timestamp) -> Result<Option<Cart>>;
    write fn remove_lines_many(&self, removals: &[(CustomerId, Vec<ProductId>)], now: Timestamp) -> Result<()>;
});

probed!(DiscountRepo, "discounts", {
    write fn insert(&self, discount: &Discount) -> Result<()>;
    read fn get(&self, id: &DiscountId) -> Result<Option<Discount>>;
    read fn find_active_by_code(&self, shop_id: &ShopId, code: &str) -> Result<Option<Discount>>;
    read fn list_active(&self, shop_id: &ShopId, page: Page) -> Result<Vec<Discount>>;
    write fn delete(&self, shop_id: &ShopId, code: &str) -> Result<bool>;
    read fn uses_by(&self, id: &DiscountId, customer: &CustomerId) -> Result<u32>;
    read fn orders_using(&self, id: &DiscountId, customer: &CustomerId) -> Result<Vec<OrderId>>;
    write fn redeem(&self, id: &DiscountId, use_: &Redemption) -> Result<()>;
    write fn release(&self, id: &DiscountId, use_: &Redemption) -> Result<bool>;
    write fn settle(&self, id: &DiscountId, use_: &Redemption) -> Result<bool>;
    write fn settle_many(&self, id: &DiscountId, uses: &[Redemption]) -> Result<u32>;
    write fn unsettle(&self, id: &DiscountId, use_: &Redemption) -> Result<()>;
    read fn list_stale(&self, before: Timestamp, limit: u32) -> Result<Vec<(DiscountId, Redemption)>>;
    write fn mark_exhausted(&self, id: &DiscountId, event: &Event) -> Result<bool>;
});

probed!(EventRepo, "events", {
    write fn append(&self, events: &[Event]) -> Result<Vec<Cursor>>;
    read fn list(&self, after: Cursor, filter: &EventFilter, limit: u32) -> Result<Vec<Logged>>;
    read fn get_many(&self, ids: &[EventId]) -> Result<Vec<Logged>>;
    read fn head(&self) -> Result<Cursor>;
    write fn purge(&self, before: Timestamp) -> Result<u64>;
    read fn cursor(&self, name: &str) -> Result<Cursor>;
    write fn save_cursor(&self, name: &str, from: Cursor, to: Cursor) -> Result<bool>;
});

probed!(OutboxRepo, "outboxes", {
    read fn waiting(&self, kind: AggregateKind, limit: u32) -> Result<Vec<(String, Vec<Event>)>>;
    write fn clear(&self, kind: AggregateKind, cleared: &[(String, Vec<EventId>)]) -> Result<()>;
});

probed!(OrderRepo, "orders", {
    write fn insert(&self, order: &Order, events: &[Event]) -> Result<()>;
    write fn insert_many(&self, orders: &[(&Order, &[Event])]) -> Result<Vec<Result<()>>>;
    read fn get(&self, id: &OrderId) -> Result<Option<Order>>;
    read fn find_by_key(&self, customer_id: &CustomerId, idempotency_key: &str) -> Result<Option<Order>>;
    write fn void(&self, id: &OrderId) -> Result<Option<Order>>;
    read fn list_by_customer(&self, customer_id: &CustomerId, page: Page) -> Result<Vec<Order>>;
    write fn replace(&self, order: &Order, expected_version: u64, events: &[Event]) -> Result<()>;
    read fn list_returning(&self, now: Timestamp, limit: u32) -> Result<Vec<Order>>;
    read fn list_payments_due(&self, now: Timestamp, limit: u32) -> Result<Vec<Order>>;
    read fn find_by_return(&self, id: &crate::id::ReturnId) -> Result<Option<Order>>;
    read fn list_with_returns(&self, filter: &crate::returns::ReturnFilter, page: Page) -> Result<Vec<Order>>;
    read fn list_returns_due(&self, now: Timestamp, limit: u32) -> Result<Vec<Order>>;
    read fn list_by_shop(&self, shop: &ShopId, filter: ShopOrderFilter, page: Page) -> Result<Vec<Order>>;
});

probed!(DistributedLock, "lock", {
    write fn acquire(&self, key: &str, ttl: Duration, wait: Duration) -> Result<LockGuard>;
    write fn release(&self, guard: &LockGuard) -> Result<bool>;
    read fn ping(&self) -> Result<()>;
});

probed!(StockGate, "gate", {
    write fn admit(&self, checkout: &str, lines: &[GateLine], at: Timestamp) -> Result<Admission>;
    read fn list_stale(&self, before: Timestamp, limit: u32) -> Result<Vec<(String, Vec<ProductId>)>>;
    write fn release(&self, checkout: &str, products: &[ProductId]) -> Result<()>;
    write fn commit(&self, checkout: &str, products: &[ProductId]) -> Result<()>;
    write fn seed(&self, product: &ProductId, units: u64) -> Result<()>;
    write fn add(&self, product: &ProductId, units: u32) -> Result<()>;
    write fn take(&self, product: &ProductId, units: u64) -> Result<()>;
    read fn tally(&self, product: &ProductId) -> Result<Tally>;
    write fn heal(&self, product: &ProductId, stock: u64, epoch: u64, exact_when_idle: bool) -> Result<Option<u64>>;
    read fn counted(&self, after: Option<&ProductId>, limit: u32) -> Result<Vec<ProductId>>;
    write fn reset(&self, product: &ProductId) -> Result<()>;
    read fn available(&self, product: &ProductId) -> Result<Option<u64>>;
    read fn ping(&self) -> Result<()>;
});
