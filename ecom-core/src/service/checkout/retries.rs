//! Backing off orders whose recovery keeps failing.

use crate::clock::Timestamp;
use crate::id::OrderId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Longest wait before an order whose recovery keeps failing is tried again.
const MAX_BACKOFF_SECS: i64 = 600;

/// Orders whose recovery failed, with when to try each again (exponential backoff: 2, 4, 8 s
/// ... up to 10 minutes), and how many recoveries failed in all. One bad record therefore
/// neither stops a pass nor takes every pass's time, and it is still retried.
#[derive(Debug, Default)]
pub(crate) struct Retries {
    backoff: Mutex<HashMap<OrderId, (u32, Timestamp)>>,
    failures: AtomicU64,
}

impl Retries {
    fn map(&self) -> MutexGuard<'_, HashMap<OrderId, (u32, Timestamp)>> {
        self.backoff.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `order` is waiting out its backoff at `now`.
    pub(crate) fn deferred(&self, order: &OrderId, now: Timestamp) -> bool {
        self.map().get(order).is_some_and(|(_, at)| *at > now)
    }

    /// Notes a failed recovery of `order` at `now`: it waits twice as long as last time.
    pub(crate) fn failed(&self, order: &OrderId, now: Timestamp) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let mut map = self.map();
        let entry = map.entry(order.clone()).or_insert((0, now));
        entry.0 = entry.0.saturating_add(1);
        let wait = 2_i64.saturating_pow(entry.0.min(20)).min(MAX_BACKOFF_SECS);
        entry.1 = now + chrono::Duration::seconds(wait);
    }

    /// Notes that `order` recovered: no more backoff.
    pub(crate) fn recovered(&self, order: &OrderId) {
        self.map().remove(order);
    }

    /// How many recoveries failed in all.
    pub(crate) fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
}
