//! Cases for events: each change emits its events exactly once and nothing else does (a failed
//! checkout, a refused cancel, a lost race emit nothing); a relay failing at every write loses
//! and repeats nothing; one aggregate's events stay in version order under concurrent changes
//! and relays; the log's retention, durable subscriptions and sinks.
//!
//! [`order_events_agree`] is the rule every order's events keep with the order itself: the
//! crash cases and the simulation check it too.

use super::checkout::{create_code, out_of_stock, place, request};
use super::payments::{clock, ecom_paying, genuine, TIMEOUT};
use super::probe::{Fault, FaultMode, Probe, Target};
use super::{customer, interleaved, published_product, rush, shop};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::event::{AggregateKind, CancelledBy, Cursor, Event, EventFilter, EventKind, Logged};
use crate::id::{CustomerId, OrderId, ShopId};
use crate::inventory::StockChange;
use crate::order::{Order, OrderStatus};
use crate::payment::PaymentStatus;
use crate::product::Product;
use crate::service::{
    CheckoutStrategy, Ecom, EventSink, LineStatusChange, ShopSettingsPatch, StatusUpdate,
    MAX_EVENTS_PER_READ,
};
use async_trait::async_trait;
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The whole log, read in pages.
pub(crate) async fn read_log(backend: &Backend) -> Vec<Logged> {
    let mut all: Vec<Logged> = Vec::new();
    loop {
        let after = all.last().map(|l| l.cursor).unwrap_or_default();
        let page = backend
            .events
            .list(after, &EventFilter::default(), MAX_EVENTS_PER_READ)
            .await
            .unwrap();
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

/// Settles what checkouts left in the background, relays every outbox, and reads the log;
/// checks that it is sound ([`assert_sound`]) and that nothing waits in an outbox.
pub async fn relayed_log(ecom: &Ecom, what: &str) -> Vec<Logged> {
    ecom.checkout.flush().await;
    ecom.events.relay_all(100).await.unwrap();
    let backend = ecom.backend();
    for kind in [
        AggregateKind::Order,
        AggregateKind::Product,
        AggregateKind::Stock,
        AggregateKind::Discount,
    ] {
        let waiting = backend.outboxes.waiting(kind, 10).await.unwrap();
        assert!(
            waiting.is_empty(),
            "{what}: {kind:?} outboxes left: {waiting:?}"
        );
    }
    let log = read_log(backend).await;
    assert_sound(&log, what);
    log
}

/// The log is sound: cursors rise, no event id twice, and each aggregate's events are in
/// version order.
pub fn assert_sound(log: &[Logged], what: &str) {
    let mut ids = BTreeSet::new();
    let mut versions: BTreeMap<(AggregateKind, &str), u64> = BTreeMap::new();
    for pair in log.windows(2) {
        assert!(pair[0].cursor < pair[1].cursor, "{what}: cursors rise");
    }
    for logged in log {
        let event = &logged.event;
        assert!(ids.insert(&event.id), "{what}: event {} twice", event.id);
        let key = (event.aggregate.kind, event.aggregate.id.as_str());
        let last = versions.entry(key).or_insert(0);
        assert!(
            event.aggregate.version >= *last,
            "{what}: {} of {key:?} at version {} after version {last}",
            event.kind.name(),
            event.aggregate.version
        );
        *last = event.aggregate.version;
    }
}

/// The events of order `id` in `log`, in log order.
pub fn of_order<'a>(log: &'a [Logged], id: &OrderId) -> Vec<&'a Event> {
    log.iter()
        .map(|l| &l.event)
        .filter(|e| e.aggregate.kind == AggregateKind::Order && e.aggregate.id == id.as_str())
        .collect()
}

fn count(events: &[&Event], kind: EventKind) -> usize {
    events.iter().filter(|e| e.kind == kind).count()
}

/// The rule an order's events (in the order they were made) keep with the order: placed
/// once, first; paid once iff the payment was ever paid; refunded iff it is refunded;
/// cancelled once iff it is cancelled; a failure of the payment told at most once; every line
/// a shop moved told with each status it moved to, once, and a line's last told status is its
/// status now (or cancelled, when the whole order was); versions never go back.
pub fn order_events_agree(order: &Order, events: &[&Event]) -> std::result::Result<(), String> {
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.name()).collect();
    let fail = |why: &str| Err(format!("order {}: {why}; events {kinds:?}", order.id));
    if events.first().map(|e| e.kind) != Some(EventKind::OrderPlaced)
        || count(events, EventKind::OrderPlaced) != 1
    {
        return fail("placed once, first");
    }
    if events
        .windows(2)
        .any(|w| w[0].aggregate.version > w[1].aggregate.version)
    {
        return fail("versions go back");
    }
    if count(events, EventKind::OrderPaid) != usize::from(order.payment.paid_at.is_some()) {
        return fail("paid once iff it was paid");
    }
    let refunded = order.payment.status == PaymentStatus::Refunded;
    if count(events, EventKind::OrderRefunded) != usize::from(refunded) {
        return fail("refunded iff it is");
    }
    let cancelled = order.status == OrderStatus::Cancelled;
    if count(events, EventKind::OrderCancelled) != usize::from(cancelled) {
        return fail("cancelled once iff it is");
    }
    if count(events, EventKind::OrderPaymentFailed) > 1
        || count(events, EventKind::OrderRefundRequested) > 1
    {
        return fail("a payment failure or a refund request told twice");
    }
    if count(events, EventKind::ReturnRequested) != order.returns.len() {
        return fail("each return requested once");
    }
    let refunded = order
        .returns
        .iter()
        .filter(|r| r.status == crate::returns::ReturnStatus::Refunded)
        .count();
    if count(events, EventKind::RefundSucceeded) != refunded {
        return fail("refund.succeeded once per refunded return");
    }
    let mut told: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for event in events {
        if !event
            .shops
            .iter()
            .all(|s| order.lines.iter().any(|l| &l.shop_id == s))
        {
            return fail("an event concerns a shop without lines");
        }
        for (line, status) in event.lines.iter().flat_map(|l| &l.lines) {
            told.entry(line.to_string())
                .or_default()
                .push(status.clone());
        }
    }
    for line in &order.lines {
        let now = format!("{:?}", line.status).to_lowercase();
        let statuses = told.remove(line.stock_id().as_str()).unwrap_or_default();
        let distinct: BTreeSet<&String> = statuses.iter().collect();
        if distinct.len() != statuses.len() {
            return fail("a line told twice with one status");
        }
        let last_ok = match statuses.last() {
            None => matches!(line.status, OrderStatus::Pending | OrderStatus::Cancelled),
            Some(last) => *last == now || line.status == OrderStatus::Cancelled,
        };
        if !last_ok {
            return fail(&format!(
                "line {} is {now}, told {statuses:?}",
                line.stock_id()
            ));
        }
    }
    if !told.is_empty() {
        return fail("an event moved a line the order does not have");
    }
    Ok(())
}

/// Checks [`order_events_agree`] for every order of `orders`, and that every order event in
/// `log` is of one of them or of an order in `others`.
pub fn assert_orders_agree(
    log: &[Logged],
    orders: &[Order],
    others: &BTreeSet<String>,
    what: &str,
) {
    let known: BTreeSet<&str> = orders.iter().map(|o| o.id.as_str()).collect();
    for logged in log {
        let aggregate = &logged.event.aggregate;
        if aggregate.kind == AggregateKind::Order {
            assert!(
                known.contains(aggregate.id.as_str()) || others.contains(&aggregate.id),
                "{what}: {} of an order that does not exist ({})",
                logged.event.kind.name(),
                aggregate.id
            );
        }
    }
    for order in orders {
        if let Err(e) = order_events_agree(order, &of_order(log, &order.id)) {
            panic!("{what}: {e}");
        }
    }
}

/// After relaying everything through services over `backend`: every order event in the log is
/// of an order that exists and agrees with it ([`order_events_agree`]), and so do the events
/// of each of `orders` (so none of them lost its `order.placed`).
pub async fn assert_events_match_store(backend: &Backend, orders: &[Order], what: &str) {
    let log = relayed_log(&super::ecom(backend), what).await;
    let mut ids: BTreeSet<OrderId> = orders.iter().map(|o| o.id.clone()).collect();
    for logged in &log {
        if logged.event.aggregate.kind == AggregateKind::Order {
            ids.insert(OrderId::parse(&logged.event.aggregate.id).unwrap());
        }
    }
    for id in ids {
        let order = backend.orders.get(&id).await.unwrap();
        let order =
            order.unwrap_or_else(|| panic!("{what}: events of order {id}, which does not exist"));
        if let Err(e) = order_events_agree(&order, &of_order(&log, &id)) {
            panic!("{what}: {e}");
        }
    }
}

fn names(events: &[&Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.name()).collect()
}

fn move_lines(product: &Product, status: OrderStatus, tracking: Option<&str>) -> StatusUpdate {
    StatusUpdate {
        lines: vec![LineStatusChange {
            product_ids: vec![product.id.clone()],
            status,
        }],
        tracking_number: tracking.map(str::to_owned),
        ..Default::default()
    }
}

/// A shop's product, a customer and services paying `online` and `cod`.
struct Shop {
    ecom: Ecom,
    shop: ShopId,
    product: Product,
    buyer: CustomerId,
}

impl Shop {
    async fn new(backend: &Backend, units: u32) -> (Shop, Arc<crate::clock::ManualClock>) {
        let clock = clock();
        let ecom = ecom_paying(backend, &clock, CheckoutStrategy::Atomic);
        let (shop, _) = shop(&ecom).await;
        let product = published_product(&ecom, &shop, "10.00", units).await;
        let (buyer, _) = customer(&ecom).await;
        let fx = Shop {
            ecom,
            shop,
            product,
            buyer,
        };
        (fx, clock)
    }

    async fn buy(&self, method: &str) -> Order {
        let input = place(request(&self.shop, &[(&self.product, 1)], None), None);
        self.ecom
            .checkout
            .place_order(&self.buyer, input.with_payment(method))
            .await
            .unwrap()
    }

    async fn provider(&self, id: &str, kind: &str, order: &Order) -> Result<Order> {
        let callback = genuine(&self.ecom, id, kind, order);
        self.ecom.payments.callback("online", &callback).await
    }

    async fn shop_moves(&self, order: &Order, status: OrderStatus) -> Result<Order> {
        let tracking = (status == OrderStatus::Shipped).then_some("TRK-1");
        self.ecom
            .orders
            .update_status(
                &self.shop,
                &order.id,
                move_lines(&self.product, status, tracking),
            )
            .await
    }
}

/// Every kind of change of an order emits its events once, in the order they happened, with
/// who cancelled and which lines moved; relaying again, or from several tasks at once, adds
/// nothing.
pub async fn each_change_emits_its_events_once(backend: &Backend) {
    let (fx, clock) = Shop::new(backend, 50).await;
    let delivered = fx.buy("online").await;
    fx.provider("ev-paid", "payment.succeeded", &delivered)
        .await
        .unwrap();
    for status in [
        OrderStatus::Confirmed,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
    ] {
        fx.shop_moves(&delivered, status).await.unwrap();
    }
    let by_customer = fx.buy("online").await;
    fx.ecom
        .orders
        .cancel(&fx.buyer, &by_customer.id)
        .await
        .unwrap();
    let failed = fx.buy("online").await;
    fx.provider("ev-failed", "payment.failed", &failed)
        .await
        .unwrap();
    let by_shop = fx.buy("cod").await;
    fx.shop_moves(&by_shop, OrderStatus::Cancelled)
        .await
        .unwrap();
    let expired = fx.buy("online").await;
    clock.advance(TIMEOUT + chrono::Duration::minutes(1));
    assert_eq!(fx.ecom.payments.sweep(100).await.unwrap().expired, 1);

    let log = relayed_log(&fx.ecom, "after the changes").await;
    let line = |events: &[&Event], i: usize| events[i].lines.clone().unwrap();
    let events = of_order(&log, &delivered.id);
    assert_eq!(
        names(&events),
        [
            "order.placed",
            "order.paid",
            "order.line_status_changed",
            "order.line_status_changed",
            "order.line_status_changed"
        ]
    );
    let statuses: Vec<String> = (2..5)
        .map(|i| line(&events, i).lines[0].1.clone())
        .collect();
    assert_eq!(statuses, ["confirmed", "shipped", "delivered"]);
    assert_eq!(line(&events, 3).tracking_number.as_deref(), Some("TRK-1"));
    assert!(events.iter().all(|e| e.shops == [fx.shop.clone()]));
    for (order, by, kinds) in [
        (
            &by_customer,
            CancelledBy::Customer,
            vec!["order.placed", "order.cancelled"],
        ),
        (
            &failed,
            CancelledBy::PaymentFailure,
            vec!["order.placed", "order.payment_failed", "order.cancelled"],
        ),
        (
            &by_shop,
            CancelledBy::Shop,
            vec![
                "order.placed",
                "order.line_status_changed",
                "order.cancelled",
            ],
        ),
        (
            &expired,
            CancelledBy::UnpaidExpiry,
            vec!["order.placed", "order.cancelled"],
        ),
    ] {
        let events = of_order(&log, &order.id);
        assert_eq!(names(&events), kinds, "{by:?}");
        assert_eq!(events.last().unwrap().cancelled_by, Some(by));
    }
    let orders = fx
        .ecom
        .orders
        .list(&fx.buyer, crate::page::Page::default())
        .await
        .unwrap();
    assert_orders_agree(&log, &orders, &BTreeSet::new(), "each change");
    let product: Vec<&str> = log
        .iter()
        .filter(|l| l.event.aggregate.kind == AggregateKind::Product)
        .filter(|l| l.event.aggregate.id == fx.product.id.as_str())
        .map(|l| l.event.kind.name())
        .collect();
    assert_eq!(product, ["product.published"]);

    // Relaying again, from many tasks at once, moves nothing twice.
    let ecom = fx.ecom.clone();
    rush(6, |_| {
        let ecom = ecom.clone();
        async move { ecom.events.relay_all(10).await.unwrap() }
    })
    .await;
    assert_eq!(
        read_log(backend).await,
        log,
        "relaying again changes nothing"
    );
}

/// A refused checkout, a refused cancel, a refused move, a repeated checkout key and the
/// losers of a race emit nothing; the winner of the race emits once.
pub async fn no_event_without_its_change(backend: &Backend) {
    let (fx, _) = Shop::new(backend, 5).await;
    let keyed = place(
        request(&fx.shop, &[(&fx.product, 1)], None),
        Some("one-key"),
    );
    let order = fx
        .ecom
        .checkout
        .place_order(&fx.buyer, keyed.clone())
        .await
        .unwrap();
    let again = fx
        .ecom
        .checkout
        .place_order(&fx.buyer, keyed)
        .await
        .unwrap();
    assert_eq!(again.id, order.id);
    let before = relayed_log(&fx.ecom, "before the refusals").await;

    let too_many = place(request(&fx.shop, &[(&fx.product, 10)], None), None);
    let refused = fx.ecom.checkout.place_order(&fx.buyer, too_many).await;
    assert!(refused.as_ref().is_err_and(out_of_stock), "{refused:?}");
    fx.shop_moves(&order, OrderStatus::Confirmed).await.unwrap();
    fx.shop_moves(&order, OrderStatus::Shipped).await.unwrap();
    let cancel = fx.ecom.orders.cancel(&fx.buyer, &order.id).await;
    assert!(
        cancel.is_err(),
        "a shipped order cannot be cancelled: {cancel:?}"
    );
    let back = fx.shop_moves(&order, OrderStatus::Confirmed).await;
    assert!(back.is_err(), "lines never move back: {back:?}");
    let after = relayed_log(&fx.ecom, "after the refusals").await;
    let new: Vec<&str> = after[before.len()..]
        .iter()
        .map(|l| l.event.kind.name())
        .collect();
    assert_eq!(
        new,
        ["order.line_status_changed", "order.line_status_changed"],
        "only the two moves made events"
    );

    let raced = fx.buy("cod").await;
    let view = Ecom::new(interleaved(fx.ecom.backend()), fx.ecom.config().clone());
    let (buyer, id) = (fx.buyer.clone(), raced.id.clone());
    let results = rush(8, |_| {
        let (view, buyer, id) = (view.clone(), buyer.clone(), id.clone());
        async move { view.orders.cancel(&buyer, &id).await }
    })
    .await;
    super::assert_race(
        &results,
        1,
        |e| matches!(e, Error::Conflict { .. }),
        "cancels",
    );
    let log = relayed_log(&fx.ecom, "after the race").await;
    assert_eq!(
        names(&of_order(&log, &raced.id)),
        ["order.placed", "order.cancelled"]
    );
}

/// A relay pass whose every write fails in turn (an error, a dropped task, a lost reply):
/// the next clean pass leaves every event in the log exactly once, in order, and the outboxes
/// empty.
pub async fn relay_faults_lose_no_event(backend: &Backend) {
    let (fx, _) = Shop::new(backend, 200).await;
    let probe = Probe::new();
    let view = Ecom::new(probe.wrap(fx.ecom.backend()), fx.ecom.config().clone());
    // A clean pass over one order with two events, to learn the writes of a pass.
    fx.ecom.events.relay_all(10).await.unwrap();
    let order = fx.buy("online").await;
    fx.provider("ev-clean", "payment.succeeded", &order)
        .await
        .unwrap();
    fx.ecom.checkout.flush().await;
    probe.clear();
    view.events.relay_all(10).await.unwrap();
    let steps: Vec<_> = probe.calls().into_iter().filter(|c| c.write).collect();
    assert!(
        steps.iter().any(|c| c.name == "events.append")
            && steps.iter().any(|c| c.name == "outboxes.clear"),
        "a relay appends and clears: {steps:?}"
    );
    let mut orders = vec![order];
    for mode in [FaultMode::Error, FaultMode::Panic, FaultMode::ErrorAfter] {
        for (i, step) in steps.iter().enumerate() {
            let what = format!("{mode:?} at relay write {i} ({})", step.name);
            let order = fx.buy("online").await;
            fx.provider(&format!("ev-{mode:?}-{i}"), "payment.succeeded", &order)
                .await
                .unwrap();
            fx.ecom.checkout.flush().await;
            orders.push(order);
            probe.arm(Fault::at(Target::Write(i), mode));
            let relay = view.clone();
            let _ = tokio::spawn(async move { relay.events.relay().await }).await;
            assert_eq!(
                probe.disarm().map(|c| c.name),
                Some(step.name),
                "{what}: the fault fired"
            );
            let log = relayed_log(&fx.ecom, &what).await;
            let stored = fx
                .ecom
                .orders
                .list(&fx.buyer, crate::page::Page::default())
                .await
                .unwrap();
            assert_eq!(stored.len(), orders.len());
            assert_orders_agree(&log, &stored, &BTreeSet::new(), &what);
        }
    }
}

/// Orders changed at once by two shops, the customer, the provider and the expiry sweep,
/// while relays run alongside: every order's events agree with it, in version order.
pub async fn concurrent_changes_keep_each_aggregates_order(backend: &Backend) {
    let (fx, clock) = Shop::new(backend, 100).await;
    let view = Ecom::new(interleaved(fx.ecom.backend()), fx.ecom.config().clone());
    let other_shop = shop(&fx.ecom).await.0;
    let other = published_product(&fx.ecom, &other_shop, "3.00", 100).await;
    let mut orders = Vec::new();
    for i in 0..6 {
        let items = [(&fx.product, 1)];
        let mut input = place(request(&fx.shop, &items, None), None);
        input
            .request
            .shops
            .push(request(&other_shop, &[(&other, 2)], None).shops.remove(0));
        let method = if i % 2 == 0 { "online" } else { "cod" };
        let order = fx
            .ecom
            .checkout
            .place_order(&fx.buyer, input.with_payment(method))
            .await
            .unwrap();
        orders.push(order);
    }
    clock.advance(TIMEOUT + chrono::Duration::minutes(1));
    let steps = orders.len() * 7;
    let (fx, orders, other, other_shop) = (
        Arc::new(fx),
        Arc::new(orders),
        Arc::new(other),
        Arc::new(other_shop),
    );
    let done = rush(steps, |n| {
        let (fx, orders, other, other_shop, view) = (
            fx.clone(),
            orders.clone(),
            other.clone(),
            other_shop.clone(),
            view.clone(),
        );
        async move {
            let order = &orders[n % orders.len()];
            let move_other = |status| {
                view.orders
                    .update_status(&other_shop, &order.id, move_lines(&other, status, None))
            };
            let _ = match n / orders.len() {
                0 => {
                    fx.provider(&format!("ev-race-{n}"), "payment.succeeded", order)
                        .await
                }
                1 => {
                    view.orders
                        .update_status(
                            &fx.shop,
                            &order.id,
                            move_lines(&fx.product, OrderStatus::Confirmed, None),
                        )
                        .await
                }
                2 => move_other(OrderStatus::Confirmed).await,
                3 => move_other(OrderStatus::Shipped).await,
                4 => view.orders.cancel(&fx.buyer, &order.id).await,
                5 => view.payments.sweep(100).await.map(|_| order.clone()),
                _ => view.events.relay().await.map(|_| order.clone()),
            };
        }
    })
    .await;
    assert_eq!(done.len(), steps);
    let log = relayed_log(&fx.ecom, "after the races").await;
    let stored = fx
        .ecom
        .orders
        .list(&fx.buyer, crate::page::Page::default())
        .await
        .unwrap();
    assert_eq!(stored.len(), orders.len());
    assert_orders_agree(&log, &stored, &BTreeSet::new(), "concurrent changes");
}

/// Stock levels: stock falling to the threshold tells `stock.low` once; draining the rest
/// from many buyers at once tells `stock.out` once; stock coming back tells `stock.back_in_stock` once; each recorded
/// adjustment tells `stock.adjusted` once, with its id; a code's last use tells
/// `discount.exhausted` once.
pub async fn stock_and_code_events_are_told_once(backend: &Backend) {
    let (fx, _) = Shop::new(backend, 8).await;
    create_code(&fx.ecom, &fx.shop, "LASTFEW", 3, 1).await;
    for _ in 0..3 {
        fx.buy("cod").await;
        fx.ecom.checkout.flush().await;
    }
    let plenty = published_product(&fx.ecom, &fx.shop, "5.00", 50).await;
    let view = Ecom::new(interleaved(fx.ecom.backend()), fx.ecom.config().clone());
    let (shop, scarce) = (fx.shop.clone(), fx.product.clone());
    // Six buyers of the scarce product's last five units; six of the other with a code that
    // has three uses.
    let results = rush(12, |i| {
        let (view, shop) = (view.clone(), shop.clone());
        let (product, code) = match i < 6 {
            true => (plenty.clone(), Some("LASTFEW")),
            false => (scarce.clone(), None),
        };
        async move {
            let buyer = CustomerId::generate();
            view.checkout
                .place_order(&buyer, place(request(&shop, &[(&product, 1)], code), None))
                .await
        }
    })
    .await;
    let refusals: Vec<&Error> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(results.len() - refusals.len(), 8, "{refusals:?}");
    view.checkout.flush().await;
    let adjusted = fx
        .ecom
        .inventory
        .adjust(
            &fx.shop,
            &fx.product.id,
            None,
            StockChange::Delta(10),
            "found ten",
        )
        .await
        .unwrap();
    let log = relayed_log(&fx.ecom, "after the rush").await;
    let told = |kind: EventKind| {
        log.iter()
            .filter(|l| l.event.kind == kind)
            .map(|l| &l.event)
            .collect::<Vec<_>>()
    };
    for kind in [
        EventKind::StockLow,
        EventKind::StockOut,
        EventKind::StockBackInStock,
        EventKind::DiscountExhausted,
        EventKind::StockAdjusted,
    ] {
        assert_eq!(told(kind).len(), 1, "{} once", kind.name());
    }
    let levels: Vec<&str> = log
        .iter()
        .filter(|l| l.event.aggregate.kind == AggregateKind::Product)
        .filter(|l| l.event.aggregate.id == fx.product.id.as_str())
        .map(|l| l.event.kind.name())
        .collect();
    assert_eq!(
        levels,
        [
            "product.published",
            "stock.low",
            "stock.out",
            "stock.back_in_stock"
        ]
    );
    let adjustment = told(EventKind::StockAdjusted)[0];
    assert_eq!(adjustment.id.as_str(), adjusted.adjustment.id.as_str());
    assert_eq!(adjustment.aggregate.kind, AggregateKind::Stock);
    assert_eq!(
        told(EventKind::DiscountExhausted)[0].shops,
        std::slice::from_ref(&fx.shop)
    );
}

/// A shop's default low-stock threshold is what its new products get unless they name their
/// own, and `stock.low` follows each product's threshold; a bad threshold changes nothing.
pub async fn low_stock_follows_each_products_threshold(backend: &Backend) {
    let ecom = super::ecom(backend);
    let (shop, _) = shop(&ecom).await;
    assert_eq!(
        ecom.shops
            .settings(&shop)
            .await
            .unwrap()
            .low_stock_threshold,
        None
    );
    let refused = ecom
        .shops
        .update_settings(
            &shop,
            ShopSettingsPatch {
                low_stock_threshold: Some(Some(2_000_000)),
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(refused, Err(Error::Validation { ref field, .. }) if field == "low_stock_threshold"),
        "{refused:?}"
    );
    assert_eq!(
        ecom.shops
            .settings(&shop)
            .await
            .unwrap()
            .low_stock_threshold,
        None
    );
    let default = published_product(&ecom, &shop, "2.00", 20).await;
    assert_eq!(
        default.low_stock_threshold,
        ecom.config().low_stock_threshold
    );
    let patch = ShopSettingsPatch {
        low_stock_threshold: Some(Some(15)),
        ..Default::default()
    };
    assert_eq!(
        ecom.shops
            .update_settings(&shop, patch)
            .await
            .unwrap()
            .low_stock_threshold,
        Some(15)
    );
    let shops_default = published_product(&ecom, &shop, "2.00", 20).await;
    assert_eq!(shops_default.low_stock_threshold, 15);
    let own = ecom
        .products
        .create(
            &shop,
            super::new_product("Own", "2.00", 20).with_low_stock_threshold(1),
        )
        .await
        .unwrap();
    assert_eq!(own.low_stock_threshold, 1);
    let stranger = ShopId::generate();
    assert!(matches!(
        ecom.shops.settings(&stranger).await,
        Err(Error::NotFound { .. })
    ));
    // Five units go from each: only the product whose threshold is 15 is low.
    for product in [&default, &shops_default, &own] {
        let stock = ecom
            .inventory
            .adjust(&shop, &product.id, None, StockChange::Delta(-5), "count")
            .await;
        stock.unwrap();
    }
    let log = relayed_log(&ecom, "thresholds").await;
    let low: Vec<&str> = log
        .iter()
        .filter(|l| l.event.kind == EventKind::StockLow)
        .map(|l| l.event.aggregate.id.as_str())
        .collect();
    assert_eq!(low, [shops_default.id.as_str()]);
}

/// Retention: purging removes exactly the events that happened before the cutoff; the others
/// keep their cursors, and the head never moves back.
pub async fn retention_purges_only_old_events(backend: &Backend) {
    let (fx, clock) = Shop::new(backend, 20).await;
    fx.buy("cod").await;
    let old = relayed_log(&fx.ecom, "old").await;
    clock.advance(chrono::Duration::days(8));
    let cutoff = fx.ecom.backend().clock.now() - chrono::Duration::days(1);
    fx.buy("cod").await;
    let all = relayed_log(&fx.ecom, "all").await;
    let head = backend.events.head().await.unwrap();
    let purged = backend.events.purge(cutoff).await.unwrap();
    assert_eq!(purged, old.len() as u64);
    let kept = read_log(backend).await;
    assert_eq!(
        kept,
        all[old.len()..].to_vec(),
        "the newer events keep their cursors"
    );
    assert_eq!(backend.events.head().await.unwrap(), head);
    let wanted = [old[0].event.id.clone(), all[old.len()].event.id.clone()];
    let found = backend.events.get_many(&wanted).await.unwrap();
    assert_eq!(
        found,
        vec![all[old.len()].clone()],
        "a purged event is gone, a kept one is found"
    );
    fx.buy("cod").await;
    let next = relayed_log(&fx.ecom, "after the purge").await;
    assert!(
        next.last().unwrap().cursor > head,
        "cursors never go back after a purge"
    );
}

/// A sink that fails its first `failures` calls, then records what it takes.
#[derive(Debug, Default)]
struct Recorder {
    failures: Mutex<u32>,
    taken: Mutex<Vec<Logged>>,
}

#[async_trait]
impl EventSink for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }

    async fn take(&self, events: &[Logged]) -> Result<()> {
        let mut failures = self.failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return Err(Error::Unavailable("the sink is down".into()));
        }
        self.taken.lock().unwrap().extend_from_slice(events);
        Ok(())
    }
}

/// A subscription sees every event from its cursor on, in log order, then new ones as they
/// come, and resumes from any cursor; a sink that fails gets the events again, and each once
/// it took them.
pub async fn subscriptions_and_sinks_resume(backend: &Backend) {
    let (fx, _) = Shop::new(backend, 20).await;
    let sink = Arc::new(Recorder {
        failures: Mutex::new(2),
        ..Recorder::default()
    });
    let mut config = fx.ecom.config().clone();
    config.sinks.push(sink.clone());
    let ecom = Ecom::new(fx.ecom.backend().clone(), config);
    for _ in 0..3 {
        fx.buy("cod").await;
    }
    let log = relayed_log(&ecom, "three orders").await;
    let every = Duration::from_millis(5);
    let first: Vec<Logged> = ecom
        .events
        .subscribe(Cursor::default(), EventFilter::default(), every)
        .take(log.len())
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert_eq!(first, log);
    let from = log[1].cursor;
    let mut resumed = Box::pin(ecom.events.subscribe(from, EventFilter::default(), every));
    assert_eq!(resumed.next().await.unwrap().unwrap(), log[2]);
    for _ in 3..log.len() {
        resumed.next().await.unwrap().unwrap();
    }
    let later = fx.buy("cod").await;
    ecom.events.relay_all(10).await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(10), resumed.next())
        .await
        .unwrap();
    assert_eq!(next.unwrap().unwrap().event.aggregate.id, later.id.as_str());

    for _ in 0..2 {
        assert_eq!(
            ecom.events.feed_sinks().await.unwrap(),
            0,
            "the sink is down"
        );
    }
    let all = read_log(backend).await;
    assert_eq!(ecom.events.feed_sinks().await.unwrap(), all.len() as u64);
    assert_eq!(ecom.events.feed_sinks().await.unwrap(), 0, "nothing new");
    assert_eq!(
        *sink.taken.lock().unwrap(),
        all,
        "each event once, in order"
    );
}
