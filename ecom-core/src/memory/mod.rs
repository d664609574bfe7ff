//! The in-process backend: every port on thread-safe maps. The default; used by tests, examples
//! and the server when no database is configured. Each write is atomic under a mutex, so the
//! conditional-write contracts of the ports hold exactly as on a database.

mod accounts;
mod api_keys;
mod carts;
mod discounts;
mod gate;
mod inventory;
mod key_stores;
mod lock;
mod orders;
mod products;

pub use accounts::MemoryAccounts;
pub use api_keys::MemoryApiKeys;
pub use carts::MemoryCarts;
pub use discounts::MemoryDiscounts;
pub use gate::MemoryGate;
pub use inventory::MemoryInventory;
pub use key_stores::MemoryKeyStores;
pub use lock::MemoryLock;
pub use orders::MemoryOrders;
pub use products::MemoryProducts;

use crate::backend::Backend;
use crate::clock::SystemClock;
use std::sync::{Arc, Mutex, MutexGuard};

/// A fresh, empty in-process backend on the system clock.
pub fn backend() -> Backend {
    Backend {
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
type Set<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// Locks a mutex, ignoring poisoning: every critical section leaves its data consistent
/// before anything in it can panic.
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
