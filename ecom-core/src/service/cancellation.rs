//! Cancelled lines give their stock and code uses back, exactly once, whoever runs it and
//! however often: the return claim protocol (see [`finish_returns`]).

use crate::backend::Backend;
use crate::clock::Timestamp;
use crate::discount::Redemption;
use crate::error::{Error, Result};
use crate::id::{DiscountId, OrderId, ProductId, ShopId};
use crate::inventory::Reservation;
use crate::order::{Order, OrderStatus, ReturnClaim};
use crate::service::catalogue::sold::refresh_stock;
use crate::service::checkout::holds::{code_use, line_hold};
use crate::service::order_events::Actor;
use crate::service::order_update::{update_order, Edit};
use chrono::Duration;

/// `order` with every line cancelled and a return claim opened (due `lease` after `now`); an
/// unpaid payment fails, a paid one gets a refund due. [`Error::Conflict`] (refused) if the
/// order is no longer pending or confirmed, or a line can no longer be cancelled. Write it
/// with [`update_order`], then give back with [`finish_returns`].
pub(crate) fn cancelled(order: &Order, now: Timestamp, lease: Duration) -> Result<Order> {
    let cancellable = matches!(order.status, OrderStatus::Pending | OrderStatus::Confirmed)
        && order
            .lines
            .iter()
            .all(|l| l.status.can_become(OrderStatus::Cancelled));
    if !cancellable {
        return Err(Error::refused(
            "order",
            format!("is {:?} and can no longer be cancelled", order.status),
        ));
    }
    let mut next = order.clone();
    for line in &mut next.lines {
        line.status = OrderStatus::Cancelled;
    }
    next.status = OrderStatus::Cancelled;
    next.returning = Some(claim(now, lease));
    next.payment.on_cancelled(now);
    Ok(next)
}

/// A new return claim, due `lease` after `now`.
pub(crate) fn claim(now: Timestamp, lease: Duration) -> ReturnClaim {
    ReturnClaim {
        token: OrderId::generate().to_string(),
        deadline: now + lease,
    }
}

/// What an order owes back: its cancelled lines not yet returned, and the codes of shops whose
/// lines are all cancelled, not yet returned (indexes into `lines` and `discounts`).
struct Owed {
    lines: Vec<usize>,
    discounts: Vec<usize>,
}

impl Owed {
    fn of(order: &Order) -> Self {
        let lines = order
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.status == OrderStatus::Cancelled && l.returned.is_none())
            .map(|(i, _)| i)
            .collect();
        let shop_done = |shop: &ShopId| {
            order
                .lines
                .iter()
                .filter(|l| &l.shop_id == shop)
                .all(|l| l.status == OrderStatus::Cancelled)
        };
        let discounts = order
            .discounts
            .iter()
            .enumerate()
            .filter(|(_, d)| d.returned.is_none() && shop_done(&d.shop_id))
            .map(|(i, _)| i)
            .collect();
        Owed { lines, discounts }
    }

    /// The holds the claim `token` opens for the owed lines: (stock record, hold).
    fn holds(&self, order: &Order, token: &str, now: Timestamp) -> Vec<(ProductId, Reservation)> {
        self.lines
            .iter()
            .map(|&i| {
                let line = &order.lines[i];
                let hold = Reservation {
                    id: token.to_owned(),
                    order_id: order.id.clone(),
                    quantity: line.quantity,
                    created_at: now,
                };
                (line.stock_id().clone(), hold)
            })
            .collect()
    }

    /// The code uses the claim `token` opens for the owed codes.
    fn uses(&self, order: &Order, token: &str, now: Timestamp) -> Vec<(DiscountId, Redemption)> {
        self.discounts
            .iter()
            .map(|&i| {
                let use_ = Redemption {
                    id: token.to_owned(),
                    ..code_use(order, now)
                };
                (order.discounts[i].discount_id.clone(), use_)
            })
            .collect()
    }
}

/// Settles back to `sold` (and to the codes' taken uses) whatever the claim `token` opened
/// for `owed` of `order`: the claim lost, so its holds must not be given back.
async fn settle_back(
    backend: &Backend,
    order: &Order,
    owed: &Owed,
    token: &str,
    now: Timestamp,
) -> Result<()> {
    for (stock, hold) in owed.holds(order, token, now) {
        backend
            .inventory
            .settle(&stock, std::slice::from_ref(&hold))
            .await?;
    }
    for (discount, use_) in owed.uses(order, token, now) {
        backend.discounts.settle(&discount, &use_).await?;
    }
    Ok(())
}

/// Gives back the stock of `order`'s cancelled lines and the code uses of shops whose lines are
/// all cancelled, under the order's current return claim (taking over a claim past its
/// deadline with a fresh one). Exactly once whoever runs it and however often:
///
/// 1. for each owed line, the checkout's own hold is settled (if it was still open) and the
///    units reopen from `sold` as a hold named by the claim's token; the same for code uses;
/// 2. one conditional write records the token on those lines and codes and clears the claim —
///    the commit point of the return;
/// 3. the token's holds are given back (stock, code use, stock gate).
///
/// A claimant that loses step 2 to a newer claim settles its own token's holds back to `sold`;
/// recovery does that for a claimant that died. A failure before step 2 leaves the claim for
/// recovery to take over after its deadline; after it, the open holds are recovery's to give
/// back.
pub(crate) async fn finish_returns(
    backend: &Backend,
    mut order: Order,
    lease: Duration,
) -> Result<Order> {
    let now = backend.clock.now();
    if let Some(stale) = order.returning.clone().filter(|c| c.deadline <= now) {
        // Take over a claim whose claimant stalled or died.
        let taken = update_order(backend, order, Actor::System, |current| {
            Ok(match current.returning.as_ref() == Some(&stale) {
                true => Edit::save(Order {
                    returning: Some(claim(now, lease)),
                    ..current.clone()
                }),
                false => Edit::Keep,
            })
        })
        .await?;
        if !taken.saved {
            // Another claimant moved first; it finishes the returns.
            return Ok(taken.after);
        }
        let owed = Owed::of(&taken.before);
        settle_back(backend, &taken.before, &owed, &stale.token, now).await?;
        order = taken.after;
    }
    let Some(claim) = order.returning.clone() else {
        return Ok(order);
    };
    let owed = Owed::of(&order);
    let returns = owed.holds(&order, &claim.token, now);
    let uses = owed.uses(&order, &claim.token, now);
    // 1. Reopen what is owed under the claim's token.
    for (&i, (stock, hold)) in owed.lines.iter().zip(&returns) {
        let own = line_hold(&order, &order.lines[i], now);
        backend
            .inventory
            .settle(stock, std::slice::from_ref(&own))
            .await?;
        backend.inventory.unsettle(stock, hold).await?;
    }
    for (discount, use_) in &uses {
        backend
            .discounts
            .settle(discount, &code_use(&order, now))
            .await?;
        backend.discounts.unsettle(discount, use_).await?;
    }
    // 2. Record the return: the commit point.
    let recorded = update_order(backend, order.clone(), Actor::System, |current| {
        if current.returning.as_ref() != Some(&claim) {
            return Ok(Edit::Keep);
        }
        let mut next = current.clone();
        for &i in &owed.lines {
            next.lines[i].returned = Some(claim.token.clone());
        }
        for &i in &owed.discounts {
            next.discounts[i].returned = Some(claim.token.clone());
        }
        next.returning = None;
        Ok(Edit::save(next))
    })
    .await?;
    if !recorded.saved {
        // Superseded (or finished by another claimant): undo what this claim opened.
        settle_back(backend, &order, &owed, &claim.token, now).await?;
        return Ok(recorded.after);
    }
    let done = recorded.after;
    // 3. Give back.
    for (stock, hold) in &returns {
        let units = backend
            .inventory
            .release(stock, std::slice::from_ref(hold))
            .await?;
        if units > 0 {
            let units = u32::try_from(units).unwrap_or(u32::MAX);
            if let Err(e) = backend.gate.add(stock, units).await {
                // The store has the units back; a gate that missed them only counts low.
                tracing::warn!(order_id = %done.id, error = %e, "stock gate add failed");
            }
        }
    }
    for (discount, use_) in &uses {
        backend.discounts.release(discount, use_).await?;
    }
    let products = owed.lines.iter().map(|&i| done.lines[i].product_id.clone());
    refresh_stock(backend, products).await;
    Ok(done)
}
