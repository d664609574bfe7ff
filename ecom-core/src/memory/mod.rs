//! In-process adapters. Always here: [`MemoryLock`] and [`MemoryGate`], the in-process lock and
//! stock gate every backend uses unless given shared ones (Redis). With the `memory` feature
//! (on by default in the `ecom` crate): the in-process backend, every port on thread-safe maps
//! ([`backend`]), the default used by tests, examples and the server when no database is
//! configured. Each write is atomic under a mutex, so the conditional-write contracts of the
//! ports hold exactly as on a database.

#[cfg(feature = "memory")]
mod accounts;
#[cfg(feature = "memory")]
mod api_keys;
#[cfg(feature = "memory")]
mod carts;
#[cfg(feature = "memory")]
mod discounts;
mod gate;
#[cfg(feature = "memory")]
mod inventory;
#[cfg(feature = "memory")]
mod key_stores;
mod lock;
#[cfg(feature = "memory")]
mod orders;
#[cfg(feature = "memory")]
mod products;

#[cfg(feature = "memory")]
pub use accounts::MemoryAccounts;
#[cfg(feature = "memory")]
pub use api_keys::MemoryApiKeys;
#[cfg(feature = "memory")]
pub use carts::MemoryCarts;
#[cfg(feature = "memory")]
pub use discounts::MemoryDiscounts;
pub use gate::MemoryGate;
#[cfg(feature = "memory")]
pub use inventory::MemoryInventory;
#[cfg(feature = "memory")]
pub use key_stores::MemoryKeyStores;
pub use lock::MemoryLock;
#[cfg(feature = "memory")]
pub use orders::MemoryOrders;
#[cfg(feature = "memory")]
pub use products::MemoryProducts;

use std::sync::{Mutex, MutexGuard};

/// A fresh, empty in-process backend on the system clock.
#[cfg(feature = "memory")]
#[cfg_attr(docsrs, doc(cfg(feature = "memory")))]
pub fn backend() -> crate::Backend {
    use crate::clock::SystemClock;
    use std::sync::Arc;
    crate::Backend {
        accounts: Arc::new(MemoryAccounts::default()),
        key_stores: Arc::new(MemoryKeyStores::default()),
        api_keys: Arc::new(MemoryApiKeys::default()),
        products: Arc::new(MemoryProducts::default()),
        inventory: Arc::new(MemoryInventory::default()),
        carts: Arc::new(MemoryCarts::default()),
        discounts: Arc::new(MemoryDiscounts::default()),
        orders: Arc::new(MemoryOrders::default()),
        lock: Arc::new(MemoryLock::default()),
        gate: Arc::new(MemoryGate::default()),
        clock: Arc::new(SystemClock),
    }
}

/// The maps of the memory backend: a fast hasher with a random seed per map.
type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// The sets of the memory backend (see [`Map`]).
#[cfg(feature = "memory")]
type Set<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// Locks a mutex, ignoring poisoning: every critical section leaves its data consistent
/// before anything in it can panic.
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
