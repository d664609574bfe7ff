//! Payments: provider callbacks, the sweep that expires unpaid online orders and asks for
//! refunds due, and the counts of what happened to payments.
//!
//! Every change of a payment is one conditional write of its order (at the version read), so
//! any number of server processes may receive callbacks and run the sweep at once: of two
//! writers of one order exactly one wins, the other reads again and decides anew. A success
//! that lands before the expiry's write wins (the order stays, paid); an expiry that lands
//! first wins (the order is cancelled, its stock and code uses return exactly once, and the
//! late payment is recorded with a refund due, answered [`Error::Conflict`]).

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::order::{Order, OrderStatus};
use crate::payment::{Callback, PaymentEvent, PaymentEventKind, PaymentProvider, PaymentStatus};
use crate::returns::{RefundStatus, ReturnStatus};
use crate::service::cancellation::{cancelled, finish_returns};
use crate::service::config::EcomConfig;
use crate::service::order_events::Actor;
use crate::service::order_update::{update_order, Edit};
use crate::service::payment_stats::{PaymentCounts, PaymentStats};
use crate::service::refunds::{defer, refund_due};
use std::sync::Arc;

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
    /// - `refund succeeded`: paid -> refunded; a live order (not cancelled) is cancelled with
    ///   it, its stock and code uses returning, unless its lines already shipped (then only the
    ///   refund is recorded).
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
        let order = self
            .backend
            .orders
            .get(&event.order_id)
            .await?
            .ok_or_else(|| Error::not_found("order"))?;
        let lease = self.config.checkout.lease;
        let now = self.backend.clock.now();
        let applied = update_order(&self.backend, order, Actor::Provider, |current| {
            apply(current, &event, provider.name(), now, lease)
        })
        .await?;
        if !applied.saved {
            return Ok(applied.after);
        }
        self.stats.moved(&applied.before, &applied.after);
        let (before, after) = (&applied.before, applied.after.clone());
        if before.status != OrderStatus::Cancelled && after.status == OrderStatus::Cancelled {
            // The payment failed: the order's stock and code uses go back.
            return finish_returns(&self.backend, after, lease).await;
        }
        let late = before.payment.status != PaymentStatus::Paid
            && after.payment.status == PaymentStatus::Paid
            && after.status == OrderStatus::Cancelled;
        if late {
            refund_due(&self.backend, provider.as_ref(), &self.stats, after).await;
            return Err(Error::refused(
                "order",
                "was cancelled before the payment arrived; a refund was requested",
            ));
        }
        Ok(after)
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
                PaymentStatus::Pending => match self.expire(order.clone()).await {
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
                            defer(&self.backend, order).await;
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
    async fn expire(&self, order: Order) -> Result<bool> {
        let lease = self.config.checkout.lease;
        let now = self.backend.clock.now();
        let expired = update_order(&self.backend, order, Actor::Expiry, |current| {
            let due = current.payment.status == PaymentStatus::Pending
                && current.payment.expires_at.is_some_and(|at| at <= now)
                && current.status != OrderStatus::Cancelled;
            Ok(match due {
                true => Edit::save(cancelled(current, now, lease)?),
                false => Edit::Keep,
            })
        })
        .await?;
        if !expired.saved {
            return Ok(false);
        }
        self.stats.moved(&expired.before, &expired.after);
        self.stats.expired();
        finish_returns(&self.backend, expired.after, lease).await?;
        Ok(true)
    }

    /// Counts of payment outcomes, expiries and refunds in this process so far.
    pub fn stats(&self) -> PaymentCounts {
        self.stats.snapshot()
    }
}

/// What `event` does to `order`'s payment (see [`PaymentService::callback`]): the one table
/// of callback moves.
fn apply(
    order: &Order,
    event: &PaymentEvent,
    method: &str,
    now: crate::clock::Timestamp,
    lease: chrono::Duration,
) -> Result<Edit> {
    if order.payment.method != method {
        return Err(Error::refused(
            "payment",
            "the order is not paid by this method",
        ));
    }
    if order.payment.has_seen(&event.id) {
        return Ok(Edit::Keep);
    }
    match event.reference.as_deref() {
        Some(reference) if reference != order.id.as_str() => {
            return return_refund(order, reference, event, now)
        }
        _ => {}
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
    let mut next = match (event.kind, order.payment.status) {
        (PaymentEventKind::Failed, PaymentStatus::Pending) => cancelled(order, now, lease)?,
        // The money went back while the order is live: it is cancelled (stock, gate and code
        // uses back once, through the cancel path). An order whose lines already shipped
        // cannot be: the refund is recorded and the goods stay with the customer.
        (PaymentEventKind::RefundSucceeded, PaymentStatus::Paid)
            if order.status != OrderStatus::Cancelled =>
        {
            cancelled(order, now, lease).unwrap_or_else(|_| {
                tracing::warn!(order_id = %order.id, status = ?order.status, "a refund of an order that already shipped: recorded, the order left as it is");
                order.clone()
            })
        }
        _ => order.clone(),
    };
    next.payment.remember(&event.id);
    match (event.kind, order.payment.status) {
        (PaymentEventKind::Succeeded, PaymentStatus::Pending | PaymentStatus::Failed) => {
            next.payment.become_(PaymentStatus::Paid, now)?;
            if event.provider_ref.is_some() {
                next.payment.provider_ref = event.provider_ref.clone();
            }
            if order.status == OrderStatus::Cancelled {
                next.payment.refund_due_at = Some(now);
            }
        }
        (PaymentEventKind::RefundSucceeded, PaymentStatus::Paid) => {
            next.payment.refund_requested = true;
            next.payment.become_(PaymentStatus::Refunded, now)?;
        }
        // The provider could not make a refund it took: the sweep asks again, backing off.
        (PaymentEventKind::RefundFailed, PaymentStatus::Paid) if order.payment.refund_requested => {
            next.payment.refund_requested = false;
            next.payment.refund_failed(now);
        }
        // A failure of a pending payment cancelled the order above; anything else changes
        // nothing but is remembered (a failure after a success, a second success, a refund of
        // an unpaid payment).
        _ => {}
    }
    Ok(Edit::save(next))
}

/// What the refund event `event` for the return `reference` of `order` does: the refund's amount
/// must be the event's; `refund succeeded` pays the return's refund (refunding -> refunded),
/// `refund failed` makes it due again, asked anew by the return sweep after a back-off. A
/// refund already paid stays paid; any other event naming a return is refused.
fn return_refund(
    order: &Order,
    reference: &str,
    event: &PaymentEvent,
    now: crate::clock::Timestamp,
) -> Result<Edit> {
    let not_ours = || Error::refused("payment", "no refund of this order has that reference");
    let id = crate::id::ReturnId::parse(reference).map_err(|_| not_ours())?;
    let mut next = order.clone();
    let ret = next
        .returns
        .iter_mut()
        .find(|r| r.id == id)
        .ok_or_else(not_ours)?;
    let Some(refund) = ret.refund.clone() else {
        return Err(Error::refused("return", "has no refund due"));
    };
    if event.amount != refund.amount {
        return Err(Error::refused(
            "payment",
            format!(
                "the amount {} does not match the refund's {}",
                event.amount, refund.amount
            ),
        ));
    }
    match (event.kind, refund.status) {
        (_, RefundStatus::Succeeded) => {}
        (PaymentEventKind::RefundSucceeded, _) => {
            ret.become_(ReturnStatus::Refunded, now, None)?;
            if let Some(refund) = ret.refund.as_mut() {
                refund.status = RefundStatus::Succeeded;
            }
        }
        (PaymentEventKind::RefundFailed, _) => {
            if let Some(refund) = ret.refund.as_mut() {
                refund.status = RefundStatus::Due;
                refund.attempts = refund.attempts.saturating_add(1);
                let retry = refund.retry_at(now);
                ret.set_due(Some(retry), now);
            }
            ret.updated_at = now;
        }
        _ => {
            return Err(Error::refused(
                "payment",
                "only refund events may name a return",
            ))
        }
    }
    next.payment.remember(&event.id);
    Ok(Edit::save(next))
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
    let fallback = order.clone();
    let recorded = update_order(backend, order, Actor::System, |current| {
        Ok(Edit::save(Order {
            payment: crate::payment::Payment {
                provider_ref: Some(reference.clone()),
                ..current.payment.clone()
            },
            ..current.clone()
        }))
    })
    .await;
    match recorded {
        Ok(done) => done.after,
        Err(e) => {
            tracing::warn!(order_id = %fallback.id, error = %e, "recording the provider's reference failed");
            fallback
        }
    }
}
