//! Which events a change of an order makes: the one rule, applied to every write of an order
//! ([`order_events`], by [`update_order`](crate::service::order_update::update_order)) and to
//! its insert ([`placed`]).

use crate::clock::Timestamp;
use crate::event::{Aggregate, AggregateKind, CancelledBy, Event, EventKind, LinesMoved};
use crate::id::ShopId;
use crate::order::{Order, OrderStatus};
use crate::payment::PaymentStatus;
use crate::returns::ReturnStatus;

/// Who changed an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Actor {
    /// The customer (a cancel).
    Customer,
    /// A shop (its lines, its note and tracking number).
    Shop(ShopId),
    /// The server: an unpaid order past its timeout.
    Expiry,
    /// The payment provider (a callback).
    Provider,
    /// The server finishing what a change started (returns, refund requests, references).
    System,
}

fn aggregate(order: &Order) -> Aggregate {
    Aggregate {
        kind: AggregateKind::Order,
        id: order.id.to_string(),
        version: order.version,
    }
}

/// The shops of `order`, in the order of its lines, once each.
fn shops(order: &Order) -> Vec<ShopId> {
    let mut shops: Vec<ShopId> = Vec::new();
    for line in &order.lines {
        if !shops.contains(&line.shop_id) {
            shops.push(line.shop_id.clone());
        }
    }
    shops
}

fn of(kind: EventKind, order: &Order, at: Timestamp) -> Event {
    Event::new(kind, at, aggregate(order), shops(order), order)
}

/// The event of a placed order (its insert).
pub(crate) fn placed(order: &Order) -> Event {
    of(EventKind::OrderPlaced, order, order.created_at)
}

/// The events of the change of an order from `before` to `after` made by `actor` at `at`, in
/// the order they happened: line moves, payment moves, then the cancellation.
pub(crate) fn order_events(
    before: &Order,
    after: &Order,
    actor: &Actor,
    at: Timestamp,
) -> Vec<Event> {
    let mut events = Vec::new();
    if let Actor::Shop(shop) = actor {
        let moved: Vec<(crate::id::ProductId, String)> = before
            .lines
            .iter()
            .zip(&after.lines)
            .filter(|(old, new)| &new.shop_id == shop && old.status != new.status)
            .map(|(_, new)| (new.stock_id().clone(), status_name(new.status).to_owned()))
            .collect();
        if !moved.is_empty() {
            let mut event = of(EventKind::OrderLineStatusChanged, after, at);
            event.shops = vec![shop.clone()];
            event.lines = Some(LinesMoved {
                shop_id: shop.clone(),
                lines: moved,
                tracking_number: after
                    .fulfilment_of(shop)
                    .and_then(|f| f.tracking_number.clone()),
            });
            events.push(event);
        }
    }
    let (was, is) = (before.payment.status, after.payment.status);
    if was != is && is == PaymentStatus::Paid {
        events.push(of(EventKind::OrderPaid, after, at));
    }
    if was == PaymentStatus::Pending && is == PaymentStatus::Failed && *actor == Actor::Provider {
        events.push(of(EventKind::OrderPaymentFailed, after, at));
    }
    if !before.payment.refund_requested && after.payment.refund_requested {
        events.push(of(EventKind::OrderRefundRequested, after, at));
    }
    if was != is && is == PaymentStatus::Refunded {
        events.push(of(EventKind::OrderRefunded, after, at));
    }
    events.extend(return_events(before, after, at));
    if before.status != OrderStatus::Cancelled && after.status == OrderStatus::Cancelled {
        let by = match actor {
            Actor::Customer => Some(CancelledBy::Customer),
            Actor::Shop(_) => Some(CancelledBy::Shop),
            Actor::Expiry => Some(CancelledBy::UnpaidExpiry),
            Actor::Provider if is == PaymentStatus::Refunded => Some(CancelledBy::Refund),
            Actor::Provider => Some(CancelledBy::PaymentFailure),
            Actor::System => None,
        };
        let mut event = of(EventKind::OrderCancelled, after, at);
        event.cancelled_by = by;
        events.push(event);
    }
    events
}

/// The events of the returns of an order that moved from `before` to `after`: a new request,
/// each move of one (to accepted, rejected, received, closed or cancelled, refunded), and each
/// failed refund request. Each
/// is about the order (its version orders them with the order's own events), concerns the
/// return's shop, and carries the return.
fn return_events(before: &Order, after: &Order, at: Timestamp) -> Vec<Event> {
    let mut events = Vec::new();
    for ret in &after.returns {
        let old = before.return_of(&ret.id);
        let refund_failed = old
            .and_then(|o| o.refund.as_ref())
            .zip(ret.refund.as_ref())
            .is_some_and(|(old, new)| new.attempts > old.attempts);
        let was = old.map(|r| r.status);
        let kind = match (was, ret.status) {
            _ if refund_failed => Some(EventKind::RefundFailed),
            (None, _) => Some(EventKind::ReturnRequested),
            (Some(was), is) if was == is => None,
            (Some(ReturnStatus::Accepted), ReturnStatus::Refunding) => {
                Some(EventKind::ReturnReceived)
            }
            (_, ReturnStatus::Accepted | ReturnStatus::Refunding) => {
                Some(EventKind::ReturnAccepted)
            }
            (_, ReturnStatus::Rejected) => Some(EventKind::ReturnRejected),
            (_, ReturnStatus::Closed | ReturnStatus::Cancelled) => Some(EventKind::ReturnClosed),
            (_, ReturnStatus::Refunded) => Some(EventKind::RefundSucceeded),
            (_, ReturnStatus::Requested | ReturnStatus::Disputed) => None,
        };
        if let Some(kind) = kind {
            events.push(Event::new(
                kind,
                at,
                aggregate(after),
                vec![ret.shop_id.clone()],
                ret,
            ));
        }
    }
    events
}

fn status_name(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Pending => "pending",
        OrderStatus::Confirmed => "confirmed",
        OrderStatus::Shipped => "shipped",
        OrderStatus::Delivered => "delivered",
        OrderStatus::Cancelled => "cancelled",
    }
}
