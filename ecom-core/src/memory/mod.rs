//! The in-process backend (feature `memory`, on by default in the `ecom` crate): every port on
//! thread-safe maps ([`backend`]), the default used by tests, examples and the server when no
//! database is configured. Each write is atomic under a mutex, so the conditional-write
//! contracts of the ports hold exactly as on a database. Its lock and gate are the in-process
//! ones of [`crate::in_process`], re-exported here.

mod accounts;
mod api_keys;
mod carts;
mod discounts;
mod events;
mod inventory;
mod key_stores;
mod orders;
mod outbox;
mod products;
mod webhooks;

pub use crate::in_process::{MemoryGate, MemoryLock};
pub use accounts::MemoryAccounts;
pub use api_keys::MemoryApiKeys;
pub use carts::MemoryCarts;
pub use discounts::MemoryDiscounts;
pub use events::MemoryEvents;
pub use inventory::MemoryInventory;
pub use key_stores::MemoryKeyStores;
pub use orders::MemoryOrders;
pub use outbox::MemoryOutboxes;
pub use products::MemoryProducts;
pub use webhooks::MemoryWebhooks;

/// A fresh, empty in-process backend on the system clock.
pub fn backend() -> crate::backend::Backend {
    use crate::clock::SystemClock;
    use std::sync::Arc;
    let products = Arc::new(MemoryProducts::default());
    let inventory = Arc::new(MemoryInventory::default());
    let discounts = Arc::new(MemoryDiscounts::default());
    let orders = Arc::new(MemoryOrders::default());
    crate::backend::Backend {
        accounts: Arc::new(MemoryAccounts::default()),
        key_stores: Arc::new(MemoryKeyStores::default()),
        api_keys: Arc::new(MemoryApiKeys::default()),
        outboxes: Arc::new(MemoryOutboxes::new(
            orders.clone(),
            products.clone(),
            inventory.clone(),
            discounts.clone(),
        )),
        products,
        inventory,
        carts: Arc::new(MemoryCarts::default()),
        discounts,
        orders,
        events: Arc::new(MemoryEvents::default()),
        webhooks: Arc::new(MemoryWebhooks::default()),
        lock: Arc::new(MemoryLock::default()),
        gate: Arc::new(MemoryGate::default()),
        clock: Arc::new(SystemClock),
    }
}
