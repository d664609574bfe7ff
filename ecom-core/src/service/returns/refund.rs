//! Asking the payment provider for a return's refund and recording its answer. A refund of a
//! cash-on-delivery order is the shop's to pay by hand
//! ([`ReturnService::confirm_refund`](super::ReturnService::confirm_refund)); an online one is
//! asked of the order's provider under the return's id, right after it becomes due and again by
//! the sweep until the provider takes it ([`ReturnRefund::retry_at`]).

use super::ReturnOf;
use crate::backend::Backend;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::payment::{Capture, PaymentProviders, RefundOutcome};
use crate::returns::{RefundStatus, ReturnRefund, ReturnStatus};
use crate::service::order_events::Actor;
use crate::service::order_update::{update_order, Edit};

/// Whether `found`'s return has a refund the provider must be asked for now or later.
pub(super) fn owed(found: &ReturnOf) -> bool {
    owes(&found.order, &found.ret)
}

/// Whether `ret` (a return of `order`) has a refund its provider must be asked for.
pub(super) fn owes(order: &crate::order::Order, ret: &crate::returns::OrderReturn) -> bool {
    ret.status == ReturnStatus::Refunding
        && ret
            .refund
            .as_ref()
            .is_some_and(|r| r.status == RefundStatus::Due)
        && order.payment.capture == Capture::Online
}

/// The sweep's next time for a return whose refund just became due: now for an online
/// payment (the provider is asked at once; if this process dies first, the sweep asks), never
/// for cash (the shop pays by hand).
pub(super) fn due_now(capture: Capture, now: Timestamp) -> Option<Timestamp> {
    (capture == Capture::Online).then_some(now)
}

/// Asks the provider for `found`'s refund if one is owed and records the answer; the return as
/// it stands after (as before when recording failed: logged, the sweep asks again).
pub(super) async fn request(
    backend: &Backend,
    payments: &PaymentProviders,
    found: ReturnOf,
) -> ReturnOf {
    if !owed(&found) {
        return found;
    }
    let Some(refund) = found.ret.refund.clone() else {
        return found;
    };
    let answer = match payments.get(&found.order.payment.method, "method") {
        // Nothing to pay back (an operator's decision of zero): done without the provider.
        Ok(_) if refund.amount.minor == 0 => Ok(RefundOutcome::Refunded),
        Ok(provider) => {
            provider
                .refund(&found.order, refund.amount, found.ret.id.as_str())
                .await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = &answer {
        tracing::warn!(return_id = %found.ret.id, error = %e, "a return's refund request failed; the sweep asks again");
    }
    match record(backend, &found, answer.ok()).await {
        Ok(after) => after,
        Err(e) => {
            tracing::warn!(return_id = %found.ret.id, error = %e, "recording a return's refund request failed");
            found
        }
    }
}

/// Records the provider's answer (`None`: the request failed) on the return, if its refund is
/// still owed.
async fn record(
    backend: &Backend,
    found: &ReturnOf,
    answer: Option<RefundOutcome>,
) -> Result<ReturnOf> {
    let id = found.ret.id.clone();
    let now = backend.clock.now();
    let done = update_order(backend, found.order.clone(), Actor::System, |current| {
        let mut next = current.clone();
        let ret = next
            .returns
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(|| Error::not_found("return"))?;
        let owed = ret.status == ReturnStatus::Refunding
            && ret
                .refund
                .as_ref()
                .is_some_and(|r| r.status == RefundStatus::Due);
        if !owed {
            return Ok(Edit::Keep);
        }
        match answer {
            Some(RefundOutcome::Refunded) => {
                ret.become_(ReturnStatus::Refunded, now, None)?;
                set(ret.refund.as_mut(), |r| r.status = RefundStatus::Succeeded);
            }
            Some(RefundOutcome::Requested) => {
                ret.set_due(None, now);
                ret.updated_at = now;
                set(ret.refund.as_mut(), |r| r.status = RefundStatus::Requested);
            }
            None => {
                set(ret.refund.as_mut(), |r| {
                    r.attempts = r.attempts.saturating_add(1)
                });
                let retry = ret.refund.as_ref().map(|r| r.retry_at(now));
                ret.set_due(retry, now);
            }
        }
        Ok(Edit::save(next))
    })
    .await?;
    ReturnOf::of(done.after, &id)
}

fn set(refund: Option<&mut ReturnRefund>, change: impl FnOnce(&mut ReturnRefund)) {
    if let Some(refund) = refund {
        change(refund);
    }
}
