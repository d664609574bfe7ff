//! One checkout per (customer, idempotency key) at a time in this process.

use crate::id::CustomerId;
use crate::idempotency::IdempotencyKey;
use std::collections::HashMap;
use std::sync::Arc;

/// One checkout per (customer, key) at a time in this process: a repeat waits for the first.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    keys: std::sync::Mutex<HashMap<(CustomerId, IdempotencyKey), KeyLock>>,
}

/// Serializes the checkouts of one (customer, key) in this process.
type KeyLock = Arc<tokio::sync::Mutex<()>>;

/// A checkout's turn at its key; frees the key's entry when the last one ends.
pub(crate) struct Turn {
    in_flight: Arc<InFlight>,
    key: (CustomerId, IdempotencyKey),
    gate: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// Whether another checkout with the key ran first.
    pub(crate) waited: bool,
}

impl InFlight {
    /// Waits for the turn of (`customer`, `key`).
    pub(crate) async fn turn(
        self: &Arc<Self>,
        customer: &CustomerId,
        key: &IdempotencyKey,
    ) -> Turn {
        let key = (customer.clone(), key.clone());
        let lock = self
            .keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.clone())
            .or_default()
            .clone();
        let (gate, waited) = match lock.clone().try_lock_owned() {
            Ok(gate) => (gate, false),
            Err(_) => (lock.lock_owned().await, true),
        };
        Turn {
            in_flight: self.clone(),
            key,
            gate: Some(gate),
            waited,
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        drop(self.gate.take());
        let mut keys = self
            .in_flight
            .keys
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if keys
            .get(&self.key)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            keys.remove(&self.key);
        }
    }
}
