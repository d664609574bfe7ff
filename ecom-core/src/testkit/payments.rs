//! Cases for payments: the payment state machine through every entry point (provider
//! callbacks, shops' status updates, cancels, the expiry sweep), webhook signatures, expiry
//! racing a success, concurrent sweeps, and the seller's order desk.

use super::checkout::{assert_stock_matches_orders, create_code, place, request};
use super::{customer, published_product, rush, shop};
use crate::backend::Backend;
use crate::clock::{Clock, ManualClock, Timestamp};
use crate::error::Error;
use crate::id::{CustomerId, ShopId};
use crate::order::{Order, OrderStatus, ShopOrderFilter};
use crate::page::Page;
use crate::payment::{Callback, PaymentStatus, SignedWebhook, SIGNATURE_HEADER};
use crate::product::Product;
use crate::secret::Secret;
use crate::service::{
    CheckoutRequest, CheckoutStrategy, Ecom, EcomConfig, LineStatusChange, ShopOrder, StatusUpdate,
};
use chrono::{Duration, TimeZone, Utc};
use serde_json::json;
use std::sync::Arc;

/// The webhook secret of the suite's `online` provider.
pub const WEBHOOK_SECRET: &[u8] = b"suite-webhook-secret-0123456789";
/// The suite's payment timeout.
pub const TIMEOUT: Duration = Duration::minutes(15);

/// A manual clock at a fixed start.
pub fn clock() -> Arc<ManualClock> {
    let start: Timestamp = Utc
        .with_ymd_and_hms(2030, 1, 1, 12, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    Arc::new(ManualClock::new(start))
}

/// Services over `backend` (on `clock`) offering `cod` and `online`, with `strategy`.
pub fn ecom_paying(
    backend: &Backend,
    clock: &Arc<ManualClock>,
    strategy: CheckoutStrategy,
) -> Ecom {
    let mut config = paying_config();
    config.checkout.strategy = strategy;
    Ecom::new(backend.clone().with_clock(clock.clone()), config)
}

/// The suite's configuration offering `cod` and `online`.
pub fn paying_config() -> EcomConfig {
    let mut config = EcomConfig::new(Secret::new(b"conformance-suite-api-key-secret".to_vec()));
    config
        .payments
        .register(Arc::new(SignedWebhook::new(
            Secret::new(WEBHOOK_SECRET),
            TIMEOUT,
        )))
        .unwrap();
    config
}

/// A provider callback of `kind` for `order` with `amount` (major units) and `currency`,
/// signed at `at` with `secret`.
pub fn signed(
    secret: &[u8],
    at: Timestamp,
    id: &str,
    kind: &str,
    order: &Order,
    amount: &str,
    currency: &str,
) -> Callback {
    let body = json!({
        "id": id, "type": kind, "order_id": order.id.to_string(),
        "amount": amount, "currency": currency, "provider_ref": format!("psp_{id}"),
    })
    .to_string()
    .into_bytes();
    let signature = SignedWebhook::sign(&Secret::new(secret), at.timestamp(), &body);
    Callback {
        headers: vec![(SIGNATURE_HEADER.to_owned(), signature)],
        body,
    }
}

/// A genuine callback of `kind` for `order`, its amount and currency, signed now.
pub fn genuine(ecom: &Ecom, id: &str, kind: &str, order: &Order) -> Callback {
    signed(
        WEBHOOK_SECRET,
        ecom.backend().clock.now(),
        id,
        kind,
        order,
        &order.payment.amount.major_string(),
        order.payment.amount.currency.code(),
    )
}

/// Places an order of `units` of `product` by `customer`, paid by `method`, optionally with
/// `code`.
async fn buy(ecom: &Ecom, customer: &CustomerId, request: CheckoutRequest, method: &str) -> Order {
    ecom.checkout
        .place_order(customer, place(request, None).with_payment(method))
        .await
        .expect("order placed")
}

fn lines(shop_lines: &[&crate::id::ProductId], status: OrderStatus) -> StatusUpdate {
    StatusUpdate {
        lines: vec![LineStatusChange {
            product_ids: shop_lines.iter().map(|p| (*p).clone()).collect(),
            status,
        }],
        ..Default::default()
    }
}

/// The online provider reports `kind` (event `id`) on `order`, genuinely signed.
async fn pay(ecom: &Ecom, id: &str, kind: &str, order: &Order) -> crate::Result<Order> {
    ecom.payments
        .callback("online", &genuine(ecom, id, kind, order))
        .await
}

/// `shop` moves its line of `product` in `order` to `status`.
async fn move_line(
    ecom: &Ecom,
    shop: &crate::id::ShopId,
    order: &Order,
    product: &crate::id::ProductId,
    status: OrderStatus,
) -> crate::Result<Order> {
    ecom.orders
        .update_status(shop, &order.id, lines(&[product], status))
        .await
}

async fn stored(backend: &Backend, order: &Order) -> Order {
    backend.orders.get(&order.id).await.unwrap().unwrap()
}

/// The services on a manual clock offering `cod` and `online`, a shop's product with 50 units
/// and a customer: what the steps of [`payment_moves_follow_the_rules`] share.
struct Moves {
    clock: Arc<ManualClock>,
    ecom: Ecom,
    shop: ShopId,
    product: Product,
    buyer: CustomerId,
}

/// Every allowed move once, through each entry point; every forbidden one refused or
/// ignored with nothing changed.
pub async fn payment_moves_follow_the_rules(backend: &Backend) {
    let clock = clock();
    let ecom = ecom_paying(backend, &clock, CheckoutStrategy::Atomic);
    let (shop, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop, "10.00", 50).await;
    let (buyer, _) = customer(&ecom).await;

    // Unknown methods are refused before anything is held.
    let refused = ecom
        .checkout
        .place_order(
            &buyer,
            place(request(&shop, &[(&product, 1)], None), None).with_payment("card"),
        )
        .await;
    assert!(
        matches!(&refused, Err(Error::Validation { field, .. }) if field == "payment.method"),
        "{refused:?}"
    );
    let fx = Moves {
        clock,
        ecom,
        shop,
        product,
        buyer,
    };
    let online = online_paid_then_delivered(backend, &fx).await;
    let cod = cod_paid_on_delivery(&fx).await;
    customer_cancels_refund_or_fail(backend, &fx).await;
    failures_and_shop_cancels_return_stock(&fx).await;
    let Moves { ecom, product, .. } = &fx;

    ecom.checkout.flush().await;
    let live: Vec<Order> = [&online, &cod].iter().map(|o| (*o).clone()).collect();
    assert_stock_matches_orders(backend, &[(product.id.clone(), 50)], &live).await;
    let counts = ecom.payments.stats();
    let count = |method: &str, status: PaymentStatus| {
        counts
            .outcomes
            .iter()
            .find(|(m, s, _)| m == method && *s == status)
            .map_or(0, |(_, _, n)| *n)
    };
    assert_eq!(count("online", PaymentStatus::Paid), 4, "{counts:?}");
    assert_eq!(count("online", PaymentStatus::Failed), 2, "{counts:?}");
    assert_eq!(count("online", PaymentStatus::Refunded), 1, "{counts:?}");
    assert_eq!(count("cod", PaymentStatus::Paid), 1, "{counts:?}");
    assert_eq!(counts.refunds_requested, 3, "{counts:?}");
}

/// online: pending -> paid (a callback) -> the shop ships -> delivered; unpaid, the shop may
/// confirm, not ship; refunds before and failures after the money arrived change nothing.
async fn online_paid_then_delivered(backend: &Backend, fx: &Moves) -> Order {
    let Moves {
        clock,
        ecom,
        shop,
        product,
        buyer,
    } = fx;
    // online: pending -> paid (a callback) -> the shop ships -> delivered.
    let online = buy(ecom, buyer, request(shop, &[(product, 2)], None), "online").await;
    assert_eq!(online.payment.status, PaymentStatus::Pending);
    assert_eq!(online.payment.amount.minor, 2000);
    assert_eq!(online.payment.expires_at, Some(online.created_at + TIMEOUT));
    // Unpaid: the shop may confirm, not ship.
    move_line(ecom, shop, &online, &product.id, OrderStatus::Confirmed)
        .await
        .unwrap();
    let early = move_line(ecom, shop, &online, &product.id, OrderStatus::Shipped).await;
    assert!(matches!(early, Err(Error::Conflict { .. })), "{early:?}");
    assert_eq!(
        stored(backend, &online).await.lines[0].status,
        OrderStatus::Confirmed
    );
    // A refund of an unpaid payment changes nothing but is remembered.
    let ignored = pay(ecom, "evt_r0", "refund.succeeded", &online)
        .await
        .unwrap();
    assert_eq!(ignored.payment.status, PaymentStatus::Pending);
    let paid = pay(ecom, "evt_1", "payment.succeeded", &online)
        .await
        .unwrap();
    assert_eq!(paid.payment.status, PaymentStatus::Paid);
    assert_eq!(paid.payment.paid_at, Some(clock.now()));
    assert_eq!(paid.payment.provider_ref.as_deref(), Some("psp_evt_1"));
    assert_eq!(
        paid.payment.due_at(),
        None,
        "nothing is due on a paid order"
    );
    // A second success (another event id) changes nothing.
    let again = pay(ecom, "evt_2", "payment.succeeded", &online)
        .await
        .unwrap();
    assert_eq!(again.payment.status, PaymentStatus::Paid);
    assert_eq!(again.payment.paid_at, paid.payment.paid_at);
    move_line(ecom, shop, &online, &product.id, OrderStatus::Shipped)
        .await
        .unwrap();
    let delivered = move_line(ecom, shop, &online, &product.id, OrderStatus::Delivered)
        .await
        .unwrap();
    assert_eq!(delivered.status, OrderStatus::Delivered);
    assert_eq!(delivered.payment.status, PaymentStatus::Paid);
    // A failure after the money arrived changes nothing.
    let late_failure = pay(ecom, "evt_3", "payment.failed", &online).await.unwrap();
    assert_eq!(late_failure.status, OrderStatus::Delivered);
    assert_eq!(late_failure.payment.status, PaymentStatus::Paid);
    online
}

/// cod: pending until every line is delivered, then paid; the shop ships unpaid; no callbacks.
async fn cod_paid_on_delivery(fx: &Moves) -> Order {
    let Moves {
        ecom,
        shop,
        product,
        buyer,
        ..
    } = fx;
    // cod: pending until every line is delivered, then paid; the shop ships unpaid.
    let cod = buy(ecom, buyer, request(shop, &[(product, 1)], None), "cod").await;
    assert_eq!(cod.payment.status, PaymentStatus::Pending);
    assert_eq!(
        cod.payment.expires_at, None,
        "cash on delivery never expires"
    );
    for status in [OrderStatus::Confirmed, OrderStatus::Shipped] {
        let moved = move_line(ecom, shop, &cod, &product.id, status)
            .await
            .unwrap();
        assert_eq!(moved.payment.status, PaymentStatus::Pending);
    }
    let cod_done = move_line(ecom, shop, &cod, &product.id, OrderStatus::Delivered)
        .await
        .unwrap();
    assert_eq!(cod_done.payment.status, PaymentStatus::Paid);
    assert!(cod_done.payment.paid_at.is_some());
    // cod takes no callbacks.
    let no_callbacks = ecom
        .payments
        .callback("cod", &genuine(ecom, "evt_4", "payment.succeeded", &cod))
        .await;
    assert!(
        matches!(no_callbacks, Err(Error::Validation { .. })),
        "{no_callbacks:?}"
    );
    cod
}

/// Cancelled by the customer: paid, a refund is asked for, then confirmed; unpaid, the payment
/// fails, and money arriving later is recorded, refused and its refund asked for.
async fn customer_cancels_refund_or_fail(backend: &Backend, fx: &Moves) {
    let Moves {
        ecom,
        shop,
        product,
        buyer,
        ..
    } = fx;
    // online, paid, then cancelled by the customer: a refund is asked for, then confirmed.
    let refunded = buy(ecom, buyer, request(shop, &[(product, 1)], None), "online").await;
    pay(ecom, "evt_5", "payment.succeeded", &refunded)
        .await
        .unwrap();
    let cancelled = ecom.orders.cancel(buyer, &refunded.id).await.unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(cancelled.payment.status, PaymentStatus::Paid);
    assert!(cancelled.payment.refund_due_at.is_some());
    assert!(
        cancelled.payment.refund_requested,
        "the provider took the refund request"
    );
    assert_eq!(cancelled.payment.due_at(), None);
    let confirmed = pay(ecom, "evt_6", "refund.succeeded", &refunded)
        .await
        .unwrap();
    assert_eq!(confirmed.payment.status, PaymentStatus::Refunded);

    // online, unpaid, cancelled by the customer: the payment fails; money arriving later is
    // recorded, refused (409) and its refund asked for.
    let dropped = buy(ecom, buyer, request(shop, &[(product, 1)], None), "online").await;
    let cancelled = ecom.orders.cancel(buyer, &dropped.id).await.unwrap();
    assert_eq!(cancelled.payment.status, PaymentStatus::Failed);
    assert_eq!(cancelled.payment.due_at(), None);
    let late = pay(ecom, "evt_7", "payment.succeeded", &dropped).await;
    assert!(matches!(late, Err(Error::Conflict { .. })), "{late:?}");
    let after = stored(backend, &dropped).await;
    assert_eq!(after.status, OrderStatus::Cancelled);
    assert_eq!(after.payment.status, PaymentStatus::Paid);
    assert!(after.payment.refund_requested);
}

/// payment.failed cancels an unpaid order and returns its stock; the shop cancelling every
/// line of a paid order refunds it.
async fn failures_and_shop_cancels_return_stock(fx: &Moves) {
    let Moves {
        ecom,
        shop,
        product,
        buyer,
        ..
    } = fx;
    // payment.failed cancels an unpaid order and returns its stock.
    let failing = buy(ecom, buyer, request(shop, &[(product, 4)], None), "online").await;
    let failed = pay(ecom, "evt_8", "payment.failed", &failing)
        .await
        .unwrap();
    assert_eq!(failed.status, OrderStatus::Cancelled);
    assert_eq!(failed.payment.status, PaymentStatus::Failed);
    assert!(
        failed.lines.iter().all(|l| l.returned.is_some()),
        "stock returned"
    );

    // The shop cancelling every line of a paid order refunds it too.
    let shop_cancel = buy(ecom, buyer, request(shop, &[(product, 1)], None), "online").await;
    pay(ecom, "evt_9", "payment.succeeded", &shop_cancel)
        .await
        .unwrap();
    let by_shop = move_line(
        ecom,
        shop,
        &shop_cancel,
        &product.id,
        OrderStatus::Cancelled,
    )
    .await
    .unwrap();
    assert_eq!(by_shop.status, OrderStatus::Cancelled);
    assert!(by_shop.payment.refund_requested);
}

/// Good, bad, stale, future, missing and replayed signatures; wrong amounts and currencies.
pub async fn webhook_signatures_are_checked(backend: &Backend) {
    let clock = clock();
    let ecom = ecom_paying(backend, &clock, CheckoutStrategy::Atomic);
    let (shop, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop, "12.34", 10).await;
    let (buyer, _) = customer(&ecom).await;
    let order = buy(
        &ecom,
        &buyer,
        request(&shop, &[(&product, 1)], None),
        "online",
    )
    .await;
    let now = clock.now();
    let refused: Vec<(&str, Callback)> = vec![
        (
            "wrong secret",
            signed(
                b"another-secret-0123456789",
                now,
                "e1",
                "payment.succeeded",
                &order,
                "12.34",
                "USD",
            ),
        ),
        (
            "stale",
            signed(
                WEBHOOK_SECRET,
                now - Duration::seconds(301),
                "e1",
                "payment.succeeded",
                &order,
                "12.34",
                "USD",
            ),
        ),
        (
            "from the future",
            signed(
                WEBHOOK_SECRET,
                now + Duration::seconds(301),
                "e1",
                "payment.succeeded",
                &order,
                "12.34",
                "USD",
            ),
        ),
        (
            "no signature",
            Callback {
                headers: Vec::new(),
                ..genuine(&ecom, "e1", "payment.succeeded", &order)
            },
        ),
        ("tampered body", {
            let mut callback = genuine(&ecom, "e1", "payment.succeeded", &order);
            callback.body = String::from_utf8(callback.body)
                .unwrap()
                .replace("12.34", "0.01")
                .into_bytes();
            callback
        }),
        (
            "unknown type",
            genuine(&ecom, "e1", "payment.maybe", &order),
        ),
    ];
    for (what, callback) in refused {
        let outcome = ecom.payments.callback("online", &callback).await;
        assert!(
            matches!(outcome, Err(Error::Validation { .. })),
            "{what}: {outcome:?}"
        );
    }
    for (what, amount, currency) in [("amount", "12.33", "USD"), ("currency", "12.34", "EUR")] {
        let outcome = ecom
            .payments
            .callback(
                "online",
                &signed(
                    WEBHOOK_SECRET,
                    now,
                    "e2",
                    "payment.succeeded",
                    &order,
                    amount,
                    currency,
                ),
            )
            .await;
        assert!(
            matches!(outcome, Err(Error::Conflict { .. })),
            "wrong {what}: {outcome:?}"
        );
    }
    assert_eq!(
        stored(backend, &order).await,
        order,
        "nothing changed by a refused callback"
    );
    // Within the tolerance, the amount written as a number: applied once.
    let edge = signed(
        WEBHOOK_SECRET,
        now - Duration::seconds(299),
        "e3",
        "payment.succeeded",
        &order,
        "12.34",
        "USD",
    );
    let paid = ecom.payments.callback("online", &edge).await.unwrap();
    assert_eq!(paid.payment.status, PaymentStatus::Paid);
    // The same event again: answered with the order, nothing changes.
    let replay = ecom.payments.callback("online", &edge).await.unwrap();
    assert_eq!(replay, stored(backend, &order).await);
    assert_eq!(replay.version, paid.version);
    // An event for an unknown order, or an unknown method.
    let mut ghost = order.clone();
    ghost.id = crate::id::OrderId::generate();
    let outcome = pay(&ecom, "e4", "payment.succeeded", &ghost).await;
    assert!(
        matches!(outcome, Err(Error::NotFound { .. })),
        "{outcome:?}"
    );
    let outcome = ecom
        .payments
        .callback("card", &genuine(&ecom, "e5", "payment.succeeded", &order))
        .await;
    assert!(
        matches!(outcome, Err(Error::NotFound { .. })),
        "{outcome:?}"
    );
}

/// An expiry and a success webhook race over one order from two services on one store: one
/// outcome wins, and stock, stock gate and code uses match it.
pub async fn expiry_races_a_success(backend: &Backend) {
    let clock = clock();
    let sweeper = ecom_paying(backend, &clock, CheckoutStrategy::Gate);
    let hook = ecom_paying(&super::interleaved(backend), &clock, CheckoutStrategy::Gate);
    let (shop, _) = shop(&sweeper).await;
    let product = published_product(&sweeper, &shop, "5.00", 100).await;
    create_code(&sweeper, &shop, "RACE", 100, 100).await;
    let (buyer, _) = customer(&sweeper).await;
    let mut orders = Vec::new();
    for _ in 0..10 {
        orders.push(
            buy(
                &sweeper,
                &buyer,
                request(&shop, &[(&product, 2)], Some("RACE")),
                "online",
            )
            .await,
        );
        clock.advance(Duration::minutes(1));
    }
    sweeper.checkout.flush().await;
    for (i, order) in orders.iter().enumerate() {
        // Only this order is due (the ones before it are settled one way or the other).
        clock.set(order.payment.expires_at.unwrap() + Duration::seconds(1));
        let callback = genuine(&hook, &format!("race_{i}"), "payment.succeeded", order);
        let (sweep, paid) = tokio::join!(
            {
                let sweeper = sweeper.clone();
                async move { sweeper.payments.sweep(100).await }
            },
            {
                let hook = hook.clone();
                async move { hook.payments.callback("online", &callback).await }
            },
        );
        let sweep = sweep.unwrap();
        let after = stored(backend, order).await;
        match paid {
            Ok(won) => {
                assert_eq!(won.payment.status, PaymentStatus::Paid);
                assert_eq!(
                    after.status,
                    OrderStatus::Pending,
                    "order {i}: the payment won"
                );
                assert_eq!(after.payment.refund_due_at, None);
                assert_eq!(sweep.expired, 0, "order {i}");
            }
            Err(Error::Conflict { .. }) => {
                assert_eq!(
                    after.status,
                    OrderStatus::Cancelled,
                    "order {i}: the expiry won"
                );
                assert_eq!(
                    after.payment.status,
                    PaymentStatus::Paid,
                    "the late money is recorded"
                );
                assert!(after.payment.refund_requested, "and refunded");
                assert_eq!(sweep.expired, 1, "order {i}");
            }
            Err(e) => panic!("order {i}: {e:?}"),
        }
    }
    let finals: Vec<Order> =
        futures::future::join_all(orders.iter().map(|o| stored(backend, o))).await;
    let live = finals
        .iter()
        .filter(|o| o.status != OrderStatus::Cancelled)
        .count();
    assert_stock_matches_orders(backend, &[(product.id.clone(), 100)], &finals).await;
    let code = backend
        .discounts
        .find_active_by_code(&shop, "RACE")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        code.uses_count() as usize,
        live,
        "code uses match the live orders"
    );
    if let Some(count) = backend.gate.available(&product.id).await.unwrap() {
        let stock = backend
            .inventory
            .get(&product.id)
            .await
            .unwrap()
            .unwrap()
            .stock;
        assert_eq!(count, stock, "the gate counts the returned units");
    }
}

/// Three tasks sweep at once: each expired order is cancelled once, its stock, gate count and
/// code use return once; paid and cash orders are left alone; orders not yet due stay.
pub async fn concurrent_sweeps_expire_each_order_once(backend: &Backend) {
    let clock = clock();
    let ecom = ecom_paying(backend, &clock, CheckoutStrategy::Gate);
    let (shop, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop, "3.00", 60).await;
    create_code(&ecom, &shop, "SWEEP", 100, 100).await;
    let (buyer, _) = customer(&ecom).await;
    let mut unpaid = Vec::new();
    for _ in 0..12 {
        unpaid.push(
            buy(
                &ecom,
                &buyer,
                request(&shop, &[(&product, 3)], Some("SWEEP")),
                "online",
            )
            .await,
        );
    }
    let paid = buy(
        &ecom,
        &buyer,
        request(&shop, &[(&product, 1)], None),
        "online",
    )
    .await;
    pay(&ecom, "sweep_paid", "payment.succeeded", &paid)
        .await
        .unwrap();
    let cod = buy(&ecom, &buyer, request(&shop, &[(&product, 1)], None), "cod").await;
    ecom.checkout.flush().await;
    // Not due yet: nothing happens.
    assert_eq!(ecom.payments.sweep(100).await.unwrap(), Default::default());
    clock.advance(TIMEOUT);
    let fresh = buy(
        &ecom,
        &buyer,
        request(&shop, &[(&product, 1)], None),
        "online",
    )
    .await;
    let racing =
        crate::service::Ecom::new(super::interleaved(ecom.backend()), ecom.config().clone());
    let reports = rush(3, |_| {
        let racing = racing.clone();
        async move { racing.payments.sweep(5).await }
    })
    .await;
    let mut expired: u32 = reports.iter().map(|r| r.as_ref().unwrap().expired).sum();
    // Small batches: sweep on until nothing is due.
    loop {
        let more = ecom.payments.sweep(5).await.unwrap();
        if more.expired == 0 {
            break;
        }
        expired += more.expired;
    }
    assert_eq!(expired, 12, "each expired order once");
    for order in &unpaid {
        let after = stored(backend, order).await;
        assert_eq!(after.status, OrderStatus::Cancelled);
        assert_eq!(after.payment.status, PaymentStatus::Failed);
        assert!(after.lines.iter().all(|l| l.returned.is_some()));
        assert!(after.discounts.iter().all(|d| d.returned.is_some()));
    }
    for untouched in [&paid, &cod, &fresh] {
        assert_eq!(
            stored(backend, untouched).await.status,
            OrderStatus::Pending
        );
    }
    let live = vec![
        stored(backend, &paid).await,
        stored(backend, &cod).await,
        stored(backend, &fresh).await,
    ];
    ecom.checkout.flush().await;
    assert_stock_matches_orders(backend, &[(product.id.clone(), 60)], &live).await;
    let code = backend
        .discounts
        .find_active_by_code(&shop, "SWEEP")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(code.uses_count(), 0, "every use came back once");
    if let Some(count) = backend.gate.available(&product.id).await.unwrap() {
        assert_eq!(count, 60 - 3, "the gate has the returned units, once");
    }
    assert_eq!(
        ecom.payments.stats().expired + racing.payments.stats().expired,
        12
    );
}

/// Two shops in one order: each sees only its part in its desk; filters by line status and
/// payment status; newest first and paged; another shop's order is not found.
pub async fn shops_see_their_orders(backend: &Backend) {
    let clock = clock();
    let ecom = ecom_paying(backend, &clock, CheckoutStrategy::Atomic);
    let (north, _) = shop(&ecom).await;
    let (south, _) = shop(&ecom).await;
    let (idle, _) = shop(&ecom).await;
    let tee = published_product(&ecom, &north, "9.00", 50).await;
    let cap = published_product(&ecom, &south, "4.00", 50).await;
    let (buyer, _) = customer(&ecom).await;
    let both = |n: u32| {
        CheckoutRequest::new([
            ShopOrder::new(north.clone(), [(tee.id.clone(), n)]),
            ShopOrder::new(south.clone(), [(cap.id.clone(), 1)]),
        ])
    };
    let mut placed = Vec::new();
    for n in 1..=3 {
        placed.push(buy(&ecom, &buyer, both(n), "cod").await);
        clock.advance(Duration::seconds(1));
    }
    let north_only = buy(&ecom, &buyer, request(&north, &[(&tee, 1)], None), "online").await;
    move_line(&ecom, &south, &placed[0], &cap.id, OrderStatus::Confirmed)
        .await
        .unwrap();
    let ids = |list: Vec<Order>| list.into_iter().map(|o| o.id).collect::<Vec<_>>();
    let all = Page::numbered(1, 50).unwrap();
    let desk = ecom
        .orders
        .list_for_shop(&north, ShopOrderFilter::default(), all)
        .await
        .unwrap();
    assert_eq!(
        ids(desk),
        vec![
            north_only.id.clone(),
            placed[2].id.clone(),
            placed[1].id.clone(),
            placed[0].id.clone()
        ],
        "newest first"
    );
    let south_desk = ecom
        .orders
        .list_for_shop(&south, ShopOrderFilter::default(), all)
        .await
        .unwrap();
    assert_eq!(
        ids(south_desk),
        vec![
            placed[2].id.clone(),
            placed[1].id.clone(),
            placed[0].id.clone()
        ]
    );
    let confirmed = ShopOrderFilter {
        line_status: Some(OrderStatus::Confirmed),
        ..Default::default()
    };
    assert_eq!(
        ids(ecom
            .orders
            .list_for_shop(&south, confirmed, all)
            .await
            .unwrap()),
        vec![placed[0].id.clone()]
    );
    assert!(
        ecom.orders
            .list_for_shop(&north, confirmed, all)
            .await
            .unwrap()
            .is_empty(),
        "the line status is the shop's own"
    );
    let unpaid_online = ShopOrderFilter {
        payment_status: Some(PaymentStatus::Pending),
        line_status: Some(OrderStatus::Pending),
    };
    assert_eq!(
        ids(ecom
            .orders
            .list_for_shop(&north, unpaid_online, all)
            .await
            .unwrap())
        .len(),
        4
    );
    pay(&ecom, "desk_paid", "payment.succeeded", &north_only)
        .await
        .unwrap();
    let paid = ShopOrderFilter {
        payment_status: Some(PaymentStatus::Paid),
        ..Default::default()
    };
    assert_eq!(
        ids(ecom.orders.list_for_shop(&north, paid, all).await.unwrap()),
        vec![north_only.id.clone()]
    );
    assert!(ecom
        .orders
        .list_for_shop(&south, paid, all)
        .await
        .unwrap()
        .is_empty());
    let second_page = ecom
        .orders
        .list_for_shop(
            &north,
            ShopOrderFilter::default(),
            Page::numbered(2, 3).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(ids(second_page), vec![placed[0].id.clone()]);
    assert!(ecom
        .orders
        .list_for_shop(&idle, ShopOrderFilter::default(), all)
        .await
        .unwrap()
        .is_empty());
    // One order, each shop's reading.
    let seen = ecom
        .orders
        .get_for_shop(&south, &placed[1].id)
        .await
        .unwrap();
    assert_eq!(seen.lines_of(&south).count(), 1);
    for (shop, order) in [(&south, &north_only), (&idle, &placed[0])] {
        let outcome = ecom.orders.get_for_shop(shop, &order.id).await;
        assert!(
            matches!(outcome, Err(Error::NotFound { .. })),
            "{outcome:?}"
        );
    }
}
