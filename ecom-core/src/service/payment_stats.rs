//! Counts of what happened to payments in this process, for metrics.

use crate::order::Order;
use crate::payment::PaymentStatus;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Counts of what happened to payments in this process (for metrics).
#[derive(Debug, Default)]
pub(crate) struct PaymentStats {
    counts: Mutex<Counts>,
}

#[derive(Debug, Default, Clone)]
struct Counts {
    outcomes: BTreeMap<(String, PaymentStatus), u64>,
    expired: u64,
    refunds_requested: u64,
}

/// A snapshot of [`PaymentService::stats`](crate::service::PaymentService::stats).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct PaymentCounts {
    /// Payments that reached a status, per (method, status): `paid`, `failed`, `refunded`.
    pub outcomes: Vec<(String, PaymentStatus, u64)>,
    /// Unpaid online orders the server cancelled at their expiry.
    pub expired: u64,
    /// Refunds the providers took a request for (or made at once).
    pub refunds_requested: u64,
}

impl PaymentStats {
    /// Counts the move from `before` to `after`, if the status moved.
    pub(crate) fn moved(&self, before: &Order, after: &Order) {
        if before.payment.status != after.payment.status {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            *counts
                .outcomes
                .entry((after.payment.method.clone(), after.payment.status))
                .or_default() += 1;
        }
    }

    /// Counts an unpaid order the server cancelled at its expiry.
    pub(crate) fn expired(&self) {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .expired += 1;
    }

    /// Counts a refund a provider took.
    pub(crate) fn refund_requested(&self) {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .refunds_requested += 1;
    }

    /// What was counted so far.
    pub(crate) fn snapshot(&self) -> PaymentCounts {
        let counts = self
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        PaymentCounts {
            outcomes: counts
                .outcomes
                .into_iter()
                .map(|((method, status), n)| (method, status, n))
                .collect(),
            expired: counts.expired,
            refunds_requested: counts.refunds_requested,
        }
    }
}
