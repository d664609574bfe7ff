//! Payments: provider callbacks, the sweep that expires unpaid online orders and asks for
//! refunds due, and the counts of what happened to payments.
//!
//! Every change of a payment is one conditional write of its order (at the version read), so
//! any number of server processes may receive callbacks and run the sweep at once: of two
//! writers of one order exactly one wins, the other reads again and decides anew. A success
//! that lands before the expiry's write wins (the order stays, paid); an expiry that lands
//! first wins (the order is cancelled, its stock and code uses return exactly once, and the
//! late payment is recorded with a refund due, answered [`Error::Conflict`]).

use super::config::EcomConfig;
use super::order::cancel_all;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::order::{Order, OrderStatus};
use crate::payment::{Callback, PaymentEventKind, PaymentProvider, PaymentStatus, RefundOutcome};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// How often a conditional payment write is retried after losing to a concurrent one.
const ATTEMPTS: usize = 5;

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

/// A snapshot of [`PaymentService::stats`].
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

    fn expired(&self) {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .expired += 1;
    }

    fn refund_requested(&self) {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .refunds_requested += 1;
    }

    fn snapshot(&self) -> PaymentCounts {
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

/// What a [`PaymentService::sweep`] did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SweepReport {
    /// Unpaid online orders this sweep cancelled.
    pub expired: u32,
    /// Refunds this sweep asked providers for.
    pub refunds_requested: u32,
    /// Orders it could not handle now (retried by a later sweep).
    pub failed: u32,
}

/// The payment use cases.
#[derive(Clone, Debug)]
pub struct PaymentService {
    backend: Backend,
    config: Arc<EcomConfig>,
    stats: Arc<PaymentStats>,
}

impl PaymentService {
    pub(crate) fn new(backend: Backend, config: Arc<EcomConfig>, stats: Arc<PaymentStats>) -> Self {
        PaymentService {
            backend,
            config,
            stats,
        }
    }

    /// Applies a provider's callback for `method`: the provider verifies it, then the event
    /// moves the order's payment (one conditional write). Returns the order after.
    ///
    /// - an event id the order has seen: the order, unchanged (replays are harmless);
    /// - an amount or currency other than the order's: [`Error::Conflict`], nothing changed;
    /// - `succeeded`: pending (or failed) -> paid; for an order already cancelled (expired,
    ///   or cancelled by the customer) the payment is recorded with a refund due, the refund
    ///   is asked for, and the answer is [`Error::Conflict`];
    /// - `failed`: a pending payment fails and the order is cancelled (stock and code uses
    ///   return);
    /// - `refund succeeded`: paid -> refunded.
    ///
    /// An unknown method or order is [`Error::NotFound`]; a callback that is not genuine is
    /// [`Error::Validation`].
    pub async fn callback(&self, method: &str, callback: &Callback) -> Result<Order> {
        let provider = self
            .config
            .payments
            .get(method, "method")
            .map_err(|_| Error::not_found("payment method"))?
            .clone();
        let event = provider.verify(callback, self.backend.clock.now())?;
        for _ in 0..ATTEMPTS {
            let order = self
                .backend
                .orders
                .get(&event.order_id)
                .await?
                .ok_or_else(|| Error::not_found("order"))?;
            if order.payment.method != provider.name() {
                return Err(Error::refused(
                    "payment",
                    "the order is not paid by this method",
                ));
            }
            if order.payment.has_seen(&event.id) {
                return Ok(order);
            }
            if event.amount != order.payment.amount {
                return Err(Error::refused(
                    "payment",
                    format!(
                        "the amount {} does not match the order's {}",
                        event.amount, order.payment.amount
                    ),
                ));
            }
            let now = self.backend.clock.now();
            let mut next = order.clone();
            next.payment.remember(&event.id);
            let mut late = false;
            match (event.kind, order.payment.status) {
                (PaymentEventKind::Succeeded, PaymentStatus::Pending | PaymentStatus::Failed) => {
                    next.payment.become_(PaymentStatus::Paid, now)?;
                    if event.provider_ref.is_some() {
                        next.payment.provider_ref = event.provider_ref.clone();
                    }
                    if order.status == OrderStatus::Cancelled {
                        next.payment.refund_due_at = Some(now);
                        late = true;
                    }
                }
                (PaymentEventKind::Failed, PaymentStatus::Pending) => {
                    let remember = event.id.clone();
                    match cancel_all(&self.backend, &order, self.config.checkout.lease, |o| {
                        o.payment.remember(&remember)
                    })
                    .await
                    {
                        Ok(cancelled) => {
                            self.stats.moved(&order, &cancelled);
                            return Ok(cancelled);
                        }
                        Err(e) if e.is_changed() => continue,
                        Err(e) => return Err(e),
                    }
                }
                (PaymentEventKind::RefundSucceeded, PaymentStatus::Paid) => {
                    next.payment.become_(PaymentStatus::Refunded, now)?;
                }
                // Anything else changes nothing but is remembered (a failure after a success,
                // a second success, a refund of an unpaid payment).
                _ => {}
            }
            next.version = order.version + 1;
            next.updated_at = now;
            match self.backend.orders.replace(&next, order.version).await {
                Ok(()) => {
                    self.stats.moved(&order, &next);
                    if late {
                        refund_due(&self.backend, provider.as_ref(), &self.stats, next).await;
                        return Err(Error::refused(
                            "order",
                            "was cancelled before the payment arrived; a refund was requested",
                        ));
                    }
                    return Ok(next);
                }
                Err(e) if e.is_changed() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::changed("order"))
    }

    /// Handles up to `limit` payments due now: cancels unpaid online orders past their expiry
    /// (stock, stock gate counts and code uses return exactly once) and asks providers for
    /// refunds due. Safe to run in any number of processes at once: each order is expired by
    /// one of them. The server runs it periodically.
    pub async fn sweep(&self, limit: u32) -> Result<SweepReport> {
        let now = self.backend.clock.now();
        let due = self.backend.orders.list_payments_due(now, limit).await?;
        let mut report = SweepReport::default();
        for order in due {
            match order.payment.status {
                PaymentStatus::Pending => match self.expire(&order).await {
                    Ok(true) => report.expired += 1,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(order_id = %order.id, error = %e, "expiring an unpaid order failed");
                        report.failed += 1;
                    }
                },
                _ => {
                    let provider = match self.config.payments.get(&order.payment.method, "method") {
                        Ok(provider) => provider.clone(),
                        Err(_) => {
                            tracing::warn!(order_id = %order.id, method = %order.payment.method, "refund due for an unregistered payment method");
                            report.failed += 1;
                            continue;
                        }
                    };
                    let after =
                        refund_due(&self.backend, provider.as_ref(), &self.stats, order).await;
                    if after.payment.refund_requested
                        || after.payment.status == PaymentStatus::Refunded
                    {
                        report.refunds_requested += 1;
                    } else {
                        report.failed += 1;
                    }
                }
            }
        }
        Ok(report)
    }

    /// Cancels `order` if it is still unpaid past its expiry; whether this call did.
    async fn expire(&self, order: &Order) -> Result<bool> {
        let mut order = order.clone();
        for _ in 0..ATTEMPTS {
            let now = self.backend.clock.now();
            let expired = order.payment.status == PaymentStatus::Pending
                && order.payment.expires_at.is_some_and(|at| at <= now)
                && order.status != OrderStatus::Cancelled;
            if !expired {
                return Ok(false);
            }
            match cancel_all(&self.backend, &order, self.config.checkout.lease, |_| {}).await {
                Ok(cancelled) => {
                    self.stats.moved(&order, &cancelled);
                    self.stats.expired();
                    return Ok(true);
                }
                Err(e) if e.is_changed() => {
                    order = self
                        .backend
                        .orders
                        .get(&order.id)
                        .await?
                        .ok_or_else(|| Error::not_found("order"))?;
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::changed("order"))
    }

    /// Counts of payment outcomes, expiries and refunds in this process so far.
    pub fn stats(&self) -> PaymentCounts {
        self.stats.snapshot()
    }
}

/// After a checkout placed `order`: lets its provider start the payment, and records the
/// provider's reference if it gave one. A failure leaves the payment pending (an online one
/// expires); the order is placed either way, so this never fails.
pub(crate) async fn start(
    backend: &Backend,
    provider: &dyn PaymentProvider,
    order: Order,
) -> Order {
    let reference = match provider.create(&order).await {
        Ok(Some(reference)) => reference,
        Ok(None) => return order,
        Err(e) => {
            tracing::warn!(order_id = %order.id, error = %e, "the payment provider did not start the payment");
            return order;
        }
    };
    let mut current = order;
    for _ in 0..ATTEMPTS {
        let mut next = current.clone();
        next.payment.provider_ref = Some(reference.clone());
        next.version = current.version + 1;
        next.updated_at = backend.clock.now();
        match backend.orders.replace(&next, current.version).await {
            Ok(()) => return next,
            Err(e) if e.is_changed() => match backend.orders.get(&current.id).await {
                Ok(Some(fresh)) => current = fresh,
                _ => return current,
            },
            Err(e) => {
                tracing::warn!(order_id = %current.id, error = %e, "recording the provider's reference failed");
                return current;
            }
        }
    }
    current
}

/// If `order` has a refund due that its provider has not taken yet, asks the provider and
/// records the answer (one conditional write). Failures are logged and left for the sweep;
/// returns the order as it stands after.
pub(crate) async fn refund_due(
    backend: &Backend,
    provider: &dyn PaymentProvider,
    stats: &PaymentStats,
    order: Order,
) -> Order {
    let owes = |o: &Order| {
        o.payment.status == PaymentStatus::Paid
            && o.payment.refund_due_at.is_some()
            && !o.payment.refund_requested
    };
    if !owes(&order) {
        return order;
    }
    let outcome = match provider.refund(&order).await {
        Ok(outcome) => outcome,
        Err(e) => {
            tracing::warn!(order_id = %order.id, error = %e, "refund request failed; the sweep retries");
            return order;
        }
    };
    let mut current = order;
    for _ in 0..ATTEMPTS {
        if !owes(&current) {
            return current;
        }
        let now = backend.clock.now();
        let mut next = current.clone();
        match outcome {
            RefundOutcome::Refunded => {
                next.payment.refund_requested = true;
                next.payment.status = PaymentStatus::Refunded;
            }
            RefundOutcome::Requested => next.payment.refund_requested = true,
        }
        next.version = current.version + 1;
        next.updated_at = now;
        match backend.orders.replace(&next, current.version).await {
            Ok(()) => {
                stats.refund_requested();
                stats.moved(&current, &next);
                return next;
            }
            Err(e) if e.is_changed() => match backend.orders.get(&current.id).await {
                Ok(Some(fresh)) => current = fresh,
                _ => return current,
            },
            Err(e) => {
                tracing::warn!(order_id = %current.id, error = %e, "recording a refund request failed; the sweep retries");
                return current;
            }
        }
    }
    current
}
