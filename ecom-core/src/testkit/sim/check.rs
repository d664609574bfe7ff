//! The invariants, read from the store itself (the memory backend, never through the probe):
//! every read answers on its first poll, so a [`Snapshot`] is one instant, even with
//! checkouts, cancels and recovery passes half-way.
//!
//! Stock: an open hold is a checkout's before its commit point (its order does not exist), a
//! placed order's not yet settled, a return in flight (its units taken back out of `sold`), or
//! a return recorded on the order whose units are not yet given back. So per product, at every
//! instant:
//!
//! - `stock + sold + held == received` (the ledger's count of stock inserted and added);
//! - `sold + held for orders == units of order lines not returned`, where *held for orders*
//!   are the open holds of existing orders except those of a return the order recorded: a
//!   line's units are never given back while the order still holds the line.
//!
//! Codes, the same way: `uses <= max_uses`, and `uses` equals the uses of orders not returned,
//! plus open uses of checkouts before their commit point, plus open uses of returns recorded
//! but not yet given back; per customer the code's list of orders is exactly those, within
//! `max_uses_per_customer`.
//!
//! Events: every order's events (in the log, or still in its outbox) agree with the order —
//! each change told once, nothing told that did not happen — and at rest nothing waits.

use super::fixture::Fixture;
use crate::discount::Discount;
use crate::event::{AggregateKind, Cursor, Event, EventFilter};
use crate::id::{CustomerId, DiscountId, OrderId, ProductId};
use crate::inventory::Inventory;
use crate::order::{Order, OrderStatus};
use crate::page::{Page, MAX_PAGE_LIMIT};
use crate::payment::{Capture, PaymentStatus};
use crate::returns::ledger::{refunds_committed, units_taken};
use crate::service::MAX_EVENTS_PER_READ;
use crate::testkit::events::order_events_agree;
use std::collections::{BTreeMap, BTreeSet};

/// What the store holds at one instant.
#[derive(Debug)]
pub(super) struct Snapshot {
    /// Per product of the fixture, in its order.
    pub(super) stock: Vec<Inventory>,
    /// Per code of the fixture, in its order.
    pub(super) codes: Vec<Discount>,
    /// Every order of the fixture's customers.
    pub(super) orders: BTreeMap<OrderId, Order>,
    /// Per code, per customer of the fixture: the orders whose use of the code the store
    /// counts for the customer.
    using: Vec<Vec<BTreeSet<OrderId>>>,
    /// Per order (by id) with events: its events, in the log or still in its outbox, in the
    /// order they were made (each once).
    events: BTreeMap<String, Vec<Event>>,
    /// Events still waiting in the orders' outboxes.
    pub(super) waiting: usize,
}

/// `Err(message())` unless `ok`.
fn ensure(ok: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(message())
    }
}

fn failed(what: &str) -> impl Fn(crate::Error) -> String + '_ {
    move |e| format!("reading {what} failed: {e:?}")
}

impl Snapshot {
    /// Reads everything the checks need.
    pub(super) async fn take(fx: &Fixture) -> Result<Snapshot, String> {
        let raw = &fx.raw;
        let mut stock = Vec::with_capacity(fx.products.len());
        for product in &fx.products {
            let record = raw.inventory.get(&product.id).await;
            stock.push(
                record
                    .map_err(failed("stock"))?
                    .ok_or("a stock record is gone")?,
            );
        }
        let mut codes = Vec::with_capacity(fx.codes.len());
        let mut using = Vec::with_capacity(fx.codes.len());
        for code in &fx.codes {
            let found = raw
                .discounts
                .get(&code.id)
                .await
                .map_err(failed("a code"))?;
            codes.push(found.ok_or("a code is gone")?);
            let mut per_customer = Vec::with_capacity(fx.customers.len());
            for customer in &fx.customers {
                let orders = raw.discounts.orders_using(&code.id, customer).await;
                per_customer.push(orders.map_err(failed("code uses"))?.into_iter().collect());
            }
            using.push(per_customer);
        }
        let mut orders = BTreeMap::new();
        for customer in &fx.customers {
            for order in all_orders(fx, customer).await? {
                orders.insert(order.id.clone(), order);
            }
        }
        let (events, waiting) = order_events(raw).await?;
        Ok(Snapshot {
            stock,
            codes,
            orders,
            using,
            events,
            waiting,
        })
    }
}

/// The events of every order: those the relay moved into the log, then those still waiting in
/// the orders' outboxes (an event in both, moved but not yet cleared, counts once).
async fn order_events(
    raw: &crate::Backend,
) -> Result<(BTreeMap<String, Vec<Event>>, usize), String> {
    let mut events: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut after = Cursor::default();
    loop {
        let page = raw
            .events
            .list(after, &EventFilter::default(), MAX_EVENTS_PER_READ)
            .await;
        let page = page.map_err(failed("the event log"))?;
        let Some(last) = page.last() else { break };
        after = last.cursor;
        for logged in page {
            if logged.event.aggregate.kind == AggregateKind::Order {
                seen.insert(logged.event.id.clone());
                events
                    .entry(logged.event.aggregate.id.clone())
                    .or_default()
                    .push(logged.event);
            }
        }
    }
    let waiting = raw.outboxes.waiting(AggregateKind::Order, u32::MAX).await;
    let waiting = waiting.map_err(failed("the outboxes"))?;
    let mut count = 0;
    for (id, outbox) in waiting {
        count += outbox.len();
        for event in outbox {
            if !seen.contains(&event.id) {
                events.entry(id.clone()).or_default().push(event);
            }
        }
    }
    Ok((events, count))
}

/// Every change of an order made its events, once, and nothing else made any: each order's
/// events agree with it, and no order that does not exist has events.
fn events(snap: &Snapshot) -> Result<(), String> {
    for (id, order) in &snap.orders {
        let events: Vec<&Event> = snap.events.get(id.as_str()).into_iter().flatten().collect();
        order_events_agree(order, &events)?;
    }
    match snap
        .events
        .keys()
        .find(|id| !snap.orders.keys().any(|o| o.as_str() == id.as_str()))
    {
        Some(invented) => Err(format!("events of order {invented}, which does not exist")),
        None => Ok(()),
    }
}

async fn all_orders(fx: &Fixture, customer: &CustomerId) -> Result<Vec<Order>, String> {
    let mut all = Vec::new();
    loop {
        let page = Page {
            limit: MAX_PAGE_LIMIT,
            skip: all.len() as u64,
        };
        let listed = fx.raw.orders.list_by_customer(customer, page).await;
        let listed = listed.map_err(failed("orders"))?;
        let last = listed.len() < MAX_PAGE_LIMIT as usize;
        all.extend(listed);
        if last {
            return Ok(all);
        }
    }
}

/// Every invariant that holds at any instant, even with operations half-way.
pub(super) fn mid_flight(fx: &Fixture, snap: &Snapshot) -> Result<(), String> {
    orders(snap)?;
    events(snap)?;
    for order in snap.orders.values() {
        payment(order)?;
    }
    stock(fx, snap)?;
    codes(fx, snap)
}

/// What must hold once everything has ended and recovery has run: nothing is open (holds,
/// code uses, return claims), every cancelled line and every code of an all-cancelled shop
/// part is returned and nothing else is, so stock and code uses are exactly the live orders.
pub(super) fn at_rest(fx: &Fixture, snap: &Snapshot) -> Result<(), String> {
    mid_flight(fx, snap)?;
    for (i, inv) in snap.stock.iter().enumerate() {
        ensure(inv.reservations.is_empty(), || {
            format!("p{i}: holds left open at rest: {:?}", inv.reservations)
        })?;
    }
    for (k, code) in snap.codes.iter().enumerate() {
        ensure(code.open.is_empty(), || {
            format!("c{k}: uses left open at rest: {:?}", code.open)
        })?;
    }
    for order in snap.orders.values() {
        returned_exactly_cancelled(order)?;
        for ret in &order.returns {
            ensure(!ret.restock_due(), || {
                format!(
                    "order {}: return {} not restocked at rest",
                    order.id, ret.id
                )
            })?;
            let asked = ret.refund.as_ref().is_some_and(|r| {
                r.status != crate::returns::RefundStatus::Due
                    || order.payment.capture == Capture::OnDelivery
            });
            ensure(ret.refund.is_none() || asked, || {
                format!(
                    "order {}: the refund of return {} never asked at rest",
                    order.id, ret.id
                )
            })?;
        }
    }
    ensure(snap.waiting == 0, || {
        format!("{} order events still waiting at rest", snap.waiting)
    })
}

/// An order's payment agrees with its lines at every instant (each move is one write of the
/// order): a cancelled order's payment is not pending, a paid one has its refund due; an
/// online order's shipped or delivered lines were paid for; a cash order is paid exactly when
/// it is delivered.
fn payment(order: &Order) -> Result<(), String> {
    let (id, pay) = (&order.id, &order.payment);
    let committed = refunds_committed(order).map_err(|e| format!("order {id}: {e:?}"))?;
    ensure(committed.minor <= pay.amount.minor, || {
        format!(
            "order {id}: returns refund {committed} of {} paid",
            pay.amount
        )
    })?;
    let mut shops: Vec<&crate::id::ShopId> = order.lines.iter().map(|l| &l.shop_id).collect();
    shops.dedup();
    for shop in shops {
        let part = order
            .subtotal_of(shop)
            .map_err(|e| format!("order {id}: {e:?}"))?
            .total_checkout;
        let back: i64 = order
            .returns
            .iter()
            .filter(|r| &r.shop_id == shop)
            .filter_map(|r| r.refund.as_ref())
            .map(|r| r.amount.minor - r.shipping.minor)
            .sum();
        ensure(back <= part.minor, || {
            format!("order {id}: returns of shop {shop} refund {back} of its part {part}")
        })?;
    }
    for line in &order.lines {
        let taken = units_taken(order, line);
        ensure(taken <= line.quantity, || {
            format!(
                "order {id}: {taken} units of a line of {} asked back",
                line.quantity
            )
        })?;
    }
    if order.status == OrderStatus::Cancelled {
        ensure(pay.status != PaymentStatus::Pending, || {
            format!("order {id}: cancelled with its payment pending")
        })?;
        ensure(
            pay.status != PaymentStatus::Paid || pay.refund_due_at.is_some(),
            || format!("order {id}: cancelled, paid, and no refund due"),
        )?;
    }
    let sent = order
        .lines
        .iter()
        .any(|l| matches!(l.status, OrderStatus::Shipped | OrderStatus::Delivered));
    match pay.capture {
        Capture::Online => ensure(
            !sent || matches!(pay.status, PaymentStatus::Paid | PaymentStatus::Refunded),
            || format!("order {id}: online, shipped, and {:?}", pay.status),
        ),
        Capture::OnDelivery => ensure(
            (pay.status == PaymentStatus::Paid) == (order.status == OrderStatus::Delivered),
            || {
                format!(
                    "order {id}: cash order {:?} with its payment {:?}",
                    order.status, pay.status
                )
            },
        ),
    }
}

/// At rest, with the clock past every expiry and the sweeps done: no online order is left
/// unpaid past its expiry, no refund is due without a request.
pub(super) fn payments_at_rest(
    snap: &Snapshot,
    now: crate::clock::Timestamp,
) -> Result<(), String> {
    for order in snap.orders.values() {
        ensure(order.payment.due_at().is_none_or(|at| at > now), || {
            format!(
                "order {}: its payment was due at rest: {:?}",
                order.id, order.payment
            )
        })?;
    }
    Ok(())
}

fn returned_exactly_cancelled(order: &Order) -> Result<(), String> {
    let id = &order.id;
    ensure(order.returning.is_none(), || {
        format!("order {id}: a return claim left at rest")
    })?;
    for line in &order.lines {
        let cancelled = line.status == OrderStatus::Cancelled;
        ensure(cancelled == line.returned.is_some(), || {
            format!(
                "order {id}: line {} is {:?} with returned {:?} at rest",
                line.product_id, line.status, line.returned
            )
        })?;
    }
    for applied in &order.discounts {
        let all_cancelled = shop_cancelled(order, applied);
        ensure(all_cancelled == applied.returned.is_some(), || {
            format!("order {id}: code {} returned {:?} with its shop's lines all cancelled: {all_cancelled}", applied.code, applied.returned)
        })?;
    }
    Ok(())
}

fn shop_cancelled(order: &Order, applied: &crate::order::AppliedDiscount) -> bool {
    order
        .lines_of(&applied.shop_id)
        .all(|l| l.status == OrderStatus::Cancelled)
}

/// Each order on its own: one order per customer and key, the status rolled up from the
/// lines, only cancelled lines (and codes of all-cancelled shop parts) returned.
fn orders(snap: &Snapshot) -> Result<(), String> {
    let mut keys = BTreeSet::new();
    for order in snap.orders.values() {
        let id = &order.id;
        ensure(
            keys.insert((&order.customer_id, &order.idempotency_key)),
            || format!("two orders for the key {:?}", order.idempotency_key),
        )?;
        let rolled = OrderStatus::roll_up(order.lines.iter().map(|l| l.status));
        ensure(order.status == rolled, || {
            format!(
                "order {id} is {:?}, its lines roll up to {rolled:?}",
                order.status
            )
        })?;
        for line in &order.lines {
            ensure(
                line.returned.is_none() || line.status == OrderStatus::Cancelled,
                || format!("order {id}: a {:?} line was returned", line.status),
            )?;
        }
        for applied in &order.discounts {
            ensure(
                applied.returned.is_none() || shop_cancelled(order, applied),
                || format!("order {id}: code {} returned with live lines", applied.code),
            )?;
        }
    }
    Ok(())
}

/// Whether an open hold `id` of `product` carries units `order` still owns: its checkout's
/// own hold, or the hold of a return the order has not recorded (in flight, or superseded and
/// about to be settled back).
fn owns(order: &Order, product: &ProductId, id: &str) -> bool {
    id == order.id.as_str()
        || !order
            .lines
            .iter()
            .any(|l| &l.product_id == product && l.returned.as_deref() == Some(id))
}

fn stock(fx: &Fixture, snap: &Snapshot) -> Result<(), String> {
    for (i, inv) in snap.stock.iter().enumerate() {
        let product = &inv.product_id;
        let received = fx.ledger.received(product);
        ensure(inv.received() == received, || {
            format!(
                "p{i}: stock {} + sold {} + held {} + damaged {} != received {received}",
                inv.stock,
                inv.sold,
                inv.reserved(),
                inv.damaged
            )
        })?;
        let lines: u64 = snap
            .orders
            .values()
            .flat_map(|o| o.lines.iter())
            .filter(|l| &l.product_id == product && l.returned.is_none())
            .map(|l| u64::from(l.quantity))
            .sum();
        // Units a return received left `sold` with its adjustment (applied once it is in the
        // ledger; the return forgets the id after).
        let taken_back: u64 = snap
            .orders
            .values()
            .flat_map(|o| o.returns.iter())
            .flat_map(|r| r.lines.iter())
            .filter(|l| &l.product_id == product && l.received() > 0)
            .filter(|l| l.restock.as_ref().is_none_or(|id| fx.ledger.applied(id)))
            .map(|l| u64::from(l.received()))
            .sum();
        let owed = lines.checked_sub(taken_back).ok_or_else(|| {
            format!("p{i}: returns took back {taken_back} units of {lines} bought")
        })?;
        let mut held = 0;
        for hold in &inv.reservations {
            match snap.orders.get(&hold.order_id) {
                None if hold.id == hold.order_id.as_str() => {}
                None => return Err(format!("p{i}: a return hold {hold:?} of no order")),
                Some(order) if owns(order, product, &hold.id) => held += u64::from(hold.quantity),
                Some(_) => {}
            }
        }
        ensure(inv.sold + held == owed, || {
            format!(
                "p{i}: sold {} + held for orders {held} != units of lines not returned {owed} (holds {:?})",
                inv.sold, inv.reservations
            )
        })?;
    }
    Ok(())
}

/// Whether `order` recorded the use `id` of `discount` as its return.
fn returned_with(order: &Order, discount: &DiscountId, id: &str) -> bool {
    order
        .discounts
        .iter()
        .any(|d| &d.discount_id == discount && d.returned.as_deref() == Some(id))
}

fn codes(fx: &Fixture, snap: &Snapshot) -> Result<(), String> {
    for (k, code) in snap.codes.iter().enumerate() {
        ensure(code.uses <= code.max_uses, || {
            format!("c{k}: {} uses of at most {}", code.uses, code.max_uses)
        })?;
        let mut taken: BTreeMap<&CustomerId, BTreeSet<OrderId>> = BTreeMap::new();
        let mut count = 0;
        for order in snap.orders.values() {
            let live = order
                .discounts
                .iter()
                .filter(|d| d.discount_id == code.id && d.returned.is_none())
                .count();
            if live > 0 {
                count += live;
                taken
                    .entry(&order.customer_id)
                    .or_default()
                    .insert(order.id.clone());
            }
        }
        for use_ in &code.open {
            let counted = match snap.orders.get(&use_.order_id) {
                None if use_.id == use_.order_id.as_str() => true,
                None => return Err(format!("c{k}: a return use {use_:?} of no order")),
                Some(order) => {
                    use_.id != order.id.as_str() && returned_with(order, &code.id, &use_.id)
                }
            };
            if counted {
                count += 1;
                taken
                    .entry(&use_.customer_id)
                    .or_default()
                    .insert(use_.order_id.clone());
            }
        }
        ensure(code.uses as usize == count, || {
            format!(
                "c{k}: {} uses counted, {count} held by orders and checkouts (open {:?})",
                code.uses, code.open
            )
        })?;
        per_customer(fx, snap, k, &taken)?;
    }
    Ok(())
}

fn per_customer(
    fx: &Fixture,
    snap: &Snapshot,
    k: usize,
    taken: &BTreeMap<&CustomerId, BTreeSet<OrderId>>,
) -> Result<(), String> {
    let code = &snap.codes[k];
    for (c, customer) in fx.customers.iter().enumerate() {
        let counted = &snap.using[k][c];
        let expected = taken.get(customer).cloned().unwrap_or_default();
        ensure(*counted == expected, || {
            format!("c{k}: customer c{c} counted for orders {counted:?}, holds {expected:?}")
        })?;
        ensure(counted.len() <= code.max_uses_per_customer as usize, || {
            format!(
                "c{k}: customer c{c} holds {} uses of at most {}",
                counted.len(),
                code.max_uses_per_customer
            )
        })?;
    }
    Ok(())
}

/// A short, deterministic summary of the store: per product `stock/held/sold`, per code
/// `uses/open`, and the number of orders.
pub(super) fn digest(snap: &Snapshot) -> String {
    let mut out = String::new();
    for (i, inv) in snap.stock.iter().enumerate() {
        out.push_str(&format!(
            "p{i} {}/{}/{} ",
            inv.stock,
            inv.reserved(),
            inv.sold
        ));
    }
    for (k, code) in snap.codes.iter().enumerate() {
        out.push_str(&format!("c{k} {}/{} ", code.uses, code.open.len()));
    }
    out.push_str(&format!("orders {}", snap.orders.len()));
    out
}

/// The store in full, for a failure's trace: every open hold and use, every order with its
/// lines and claims (ids shortened to their last 6 characters).
pub(super) fn dump(fx: &Fixture, snap: &Snapshot) -> Vec<String> {
    let short = |id: &str| id[id.len().saturating_sub(6)..].to_owned();
    let mut out = Vec::new();
    for (i, inv) in snap.stock.iter().enumerate() {
        let holds: Vec<String> = inv
            .reservations
            .iter()
            .map(|h| {
                format!(
                    "{}@{}x{}",
                    short(&h.id),
                    short(h.order_id.as_str()),
                    h.quantity
                )
            })
            .collect();
        out.push(format!(
            "p{i}: stock {} sold {} received {} holds [{}]",
            inv.stock,
            inv.sold,
            fx.ledger.received(&inv.product_id),
            holds.join(" ")
        ));
    }
    for (k, code) in snap.codes.iter().enumerate() {
        let open: Vec<String> = code
            .open
            .iter()
            .map(|u| format!("{}@{}", short(&u.id), short(u.order_id.as_str())))
            .collect();
        out.push(format!(
            "c{k}: uses {} open [{}]",
            code.uses,
            open.join(" ")
        ));
    }
    for order in snap.orders.values() {
        let lines: Vec<String> = order
            .lines
            .iter()
            .map(|l| {
                let p = fx.product_index(&l.product_id);
                let returned = l.returned.as_deref().map(short).unwrap_or_default();
                format!("p{p}x{} {:?} {returned}", l.quantity, l.status)
            })
            .collect();
        let codes: Vec<String> = order
            .discounts
            .iter()
            .map(|d| {
                format!(
                    "{} {}",
                    d.code,
                    d.returned.as_deref().map(short).unwrap_or_default()
                )
            })
            .collect();
        out.push(format!(
            "order {} {:?} v{} claim {:?}: [{}] codes [{}]",
            short(order.id.as_str()),
            order.status,
            order.version,
            order.returning.as_ref().map(|c| short(&c.token)),
            lines.join(", "),
            codes.join(", ")
        ));
    }
    out
}
