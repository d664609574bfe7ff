//! Refunds due: asking an order's provider for them and recording its answer.

use crate::backend::Backend;
use crate::order::Order;
use crate::payment::{PaymentProvider, PaymentStatus, RefundOutcome};
use crate::service::order_events::Actor;
use crate::service::order_update::{update_order, Edit};
use crate::service::payment_stats::PaymentStats;

/// Whether `order` has a refund due that its provider has not taken yet.
pub(crate) fn owes_refund(order: &Order) -> bool {
    order.payment.status == PaymentStatus::Paid
        && order.payment.refund_due_at.is_some()
        && !order.payment.refund_requested
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
    if !owes_refund(&order) {
        return order;
    }
    let outcome = match provider
        .refund(&order, order.payment.amount, order.id.as_str())
        .await
    {
        Ok(outcome) => outcome,
        Err(e) => {
            tracing::warn!(order_id = %order.id, error = %e, "refund request failed; the sweep retries later");
            return defer(backend, order).await;
        }
    };
    let fallback = order.clone();
    let recorded = update_order(backend, order, Actor::System, |current| {
        if !owes_refund(current) {
            return Ok(Edit::Keep);
        }
        let mut next = current.clone();
        next.payment.refund_requested = true;
        if outcome == RefundOutcome::Refunded {
            next.payment.status = PaymentStatus::Refunded;
        }
        Ok(Edit::save(next))
    })
    .await;
    match recorded {
        Ok(done) if done.saved => {
            stats.refund_requested();
            stats.moved(&done.before, &done.after);
            done.after
        }
        Ok(done) => done.after,
        Err(e) => {
            tracing::warn!(order_id = %fallback.id, error = %e, "recording a refund request failed; the sweep retries");
            fallback
        }
    }
}

/// A refund request of `order` failed (or cannot be made: its method is gone): the sweep asks
/// again later, backing off ([`Payment::refund_failed`](crate::payment::Payment::refund_failed)),
/// so failing refunds never keep the sweep from the payments due after them. Returns the order
/// as it stands after.
pub(crate) async fn defer(backend: &Backend, order: Order) -> Order {
    let now = backend.clock.now();
    let fallback = order.clone();
    let deferred = update_order(backend, order, Actor::System, |current| {
        if !owes_refund(current) {
            return Ok(Edit::Keep);
        }
        let mut next = current.clone();
        next.payment.refund_failed(now);
        Ok(Edit::save(next))
    })
    .await;
    match deferred {
        Ok(done) => done.after,
        Err(e) => {
            tracing::warn!(order_id = %fallback.id, error = %e, "deferring a failed refund failed");
            fallback
        }
    }
}
