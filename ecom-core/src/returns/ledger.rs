//! What an order's returns have taken so far, read off the order itself: units asked back per
//! line, units and money refunded, and the price of a new refund. Every number here is derived
//! from the returns stored in the order, so the write that records a return checks it against
//! the same document it changes.

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::money::Money;
use crate::order::{Order, OrderLine, OrderStatus};
use crate::payment::PaymentStatus;
use crate::returns::value::refund_value;
use crate::returns::{OrderReturn, RefundStatus, ReturnLine, ReturnRefund, ReturnStatus};

/// Whether `return_line` names `line` of the order (same product and model).
pub fn names(return_line: &ReturnLine, line: &OrderLine) -> bool {
    return_line.product_id == line.product_id && return_line.model_id == line.model_id
}

/// The units of `return_line` (a line of `ret`) that count against the order line now: none
/// once the return is cancelled or closed, the refunded units once a refund is due, else the
/// units asked.
fn counted(ret: &OrderReturn, index: usize, return_line: &ReturnLine) -> u32 {
    match (ret.status, &ret.refund) {
        (ReturnStatus::Cancelled | ReturnStatus::Closed, _) => 0,
        (_, Some(refund)) => refund.units.get(index).copied().unwrap_or(0),
        _ => return_line.quantity,
    }
}

/// Units of `line` that returns of `order` have asked back and not given up.
pub fn units_taken(order: &Order, line: &OrderLine) -> u32 {
    order
        .returns
        .iter()
        .flat_map(|r| {
            r.lines
                .iter()
                .enumerate()
                .filter(|(_, l)| names(l, line))
                .map(move |(i, l)| counted(r, i, l))
        })
        .fold(0u32, u32::saturating_add)
}

/// Units of `line` that refunds of `order` cover (due, requested or paid).
pub fn units_refunded(order: &Order, line: &OrderLine) -> u32 {
    order
        .returns
        .iter()
        .filter_map(|r| r.refund.as_ref().map(|refund| (r, refund)))
        .flat_map(|(r, refund)| {
            r.lines
                .iter()
                .zip(&refund.units)
                .filter(|(l, _)| names(l, line))
                .map(|(_, units)| *units)
        })
        .fold(0u32, u32::saturating_add)
}

/// Money the returns of `order` give back: every refund due, requested or paid.
pub fn refunds_committed(order: &Order) -> Result<Money> {
    let mut total = Money::zero(order.payment.amount.currency);
    for refund in order.returns.iter().filter_map(|r| r.refund.as_ref()) {
        total = total.checked_add(refund.amount)?;
    }
    Ok(total)
}

/// Money the returns of `order` have paid back (confirmed by the provider).
pub fn refunded(order: &Order) -> Result<Money> {
    let mut total = Money::zero(order.payment.amount.currency);
    for refund in order.returns.iter().filter_map(|r| r.refund.as_ref()) {
        if refund.status == RefundStatus::Succeeded {
            total = total.checked_add(refund.amount)?;
        }
    }
    Ok(total)
}

/// What may still be refunded of `order`: what was paid less every refund committed (nothing
/// for a payment that is not paid, or that went back whole).
pub fn refundable(order: &Order) -> Result<Money> {
    if order.payment.status != PaymentStatus::Paid || order.payment.refund_due_at.is_some() {
        return Ok(Money::zero(order.payment.amount.currency));
    }
    order
        .payment
        .amount
        .checked_sub(refunds_committed(order)?.min(order.payment.amount))
}

/// The refund that returning `units` (per line of `ret`, in its order) of `order` makes due at
/// `now`: each line's next units at their worth ([`refund_value`]), plus the order's shipping
/// fee when these are the last units of the order not yet refunded (lines cancelled before
/// delivery aside), capped by what is still [`refundable`] (never more than was paid). With
/// `limit`, at most that much (an operator's decision).
pub fn price_refund(
    order: &Order,
    ret: &OrderReturn,
    units: Vec<u32>,
    limit: Option<Money>,
    now: Timestamp,
) -> Result<ReturnRefund> {
    let zero = Money::zero(order.payment.amount.currency);
    let mut amount = zero;
    for (return_line, units) in ret.lines.iter().zip(&units) {
        let line = order
            .lines
            .iter()
            .find(|l| names(return_line, l))
            .ok_or_else(|| Error::not_found("order line"))?;
        amount = amount.checked_add(refund_value(line, units_refunded(order, line), *units)?)?;
    }
    let last = order
        .lines
        .iter()
        .filter(|l| l.status != OrderStatus::Cancelled)
        .all(|line| {
            let now_refunded: u32 = ret
                .lines
                .iter()
                .zip(&units)
                .filter(|(l, _)| names(l, line))
                .map(|(_, u)| *u)
                .sum();
            units_refunded(order, line).saturating_add(now_refunded) >= line.quantity
        });
    let shipping = if last { order.totals.fee_ship } else { zero };
    amount = amount.checked_add(shipping)?;
    if let Some(limit) = limit {
        amount = amount.min(limit);
    }
    amount = amount.min(refundable(order)?);
    Ok(ReturnRefund {
        amount,
        shipping: shipping.min(amount),
        status: RefundStatus::Due,
        units,
        due_at: now,
        attempts: 0,
    })
}
