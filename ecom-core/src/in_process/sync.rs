//! The maps and the mutex rule of the in-process adapters.

use std::sync::{Mutex, MutexGuard};

/// The maps of the in-process adapters: a fast hasher with a random seed per map.
pub(crate) type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// The sets of the in-process adapters (see [`Map`]).
#[cfg(feature = "memory")]
pub(crate) type Set<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// Locks a mutex, ignoring poisoning: every critical section leaves its data consistent
/// before anything in it can panic.
pub(crate) fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
