//! Cases for holes found from outside and in the code: the one money limit, refunds of live
//! orders, removed models' units, the in-stock filter's cost, cancels over unrelated changes,
//! failing refunds in the payment sweep, removing a model while it is being bought, a
//! catalogue fill racing a write, and recovery keeping to the lease.

use super::checkout::{create_code, place, request};
use super::payments::{clock, ecom_paying, genuine};
use super::probe::Probe;
use super::{customer, new_product, published_product, shop};
use crate::backend::Backend;
use crate::clock::Clock;
use crate::error::Error;
use crate::id::{CustomerId, OrderId, ProductId, ShopId};
use crate::inventory::Reservation;
use crate::money::{Currency, Money, MAX_MAJOR_UNITS};
use crate::order::{Order, OrderStatus};
use crate::payment::PaymentStatus;
use crate::product::Product;
use crate::secret::Secret;
use crate::service::{
    CatalogueQuery, CheckoutStrategy, Ecom, EcomConfig, LineStatusChange, NewProduct, ProductPatch,
    ShopOrder, StatusUpdate,
};
use crate::variant::{ModelInput, Variation};
use std::sync::Arc;
use tokio::sync::Notify;

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::USD)
}

async fn stock_of(backend: &Backend, record: &ProductId) -> u64 {
    backend.inventory.get(record).await.unwrap().unwrap().stock
}

/// One money limit: a checkout refuses a total no payment callback could carry, and a total
/// exactly at the limit is placed and paid by a callback of that exact amount.
pub async fn a_checkout_total_is_at_most_what_a_payment_carries(backend: &Backend) {
    let clock = clock();
    let ecom = ecom_paying(backend, &clock, CheckoutStrategy::Atomic);
    let (shop, _) = shop(&ecom).await;
    let (buyer, _) = customer(&ecom).await;
    let limit = usd(MAX_MAJOR_UNITS * 100);
    let dear = ecom
        .products
        .create(
            &shop,
            NewProduct::new("Yacht", "Furniture", limit, 5).with_attribute("brand", "Sea"),
        )
        .await
        .unwrap();
    ecom.products.publish(&shop, &dear.id).await.unwrap();
    let two = place(request(&shop, &[(&dear, 2)], None), None).with_payment("online");
    let refused = ecom.checkout.place_order(&buyer, two).await;
    assert!(
        matches!(refused, Err(Error::Validation { ref field, .. }) if field == "items"),
        "{refused:?}"
    );
    assert_eq!(
        stock_of(backend, &dear.id).await,
        5,
        "a refusal holds nothing"
    );
    let one = place(request(&shop, &[(&dear, 1)], None), None).with_payment("online");
    let order = ecom.checkout.place_order(&buyer, one).await.unwrap();
    assert_eq!(order.payment.amount, limit);
    let paid = ecom
        .payments
        .callback(
            "online",
            &genuine(&ecom, "evt-max", "payment.succeeded", &order),
        )
        .await
        .unwrap();
    assert_eq!(paid.payment.status, PaymentStatus::Paid);
}

/// A provider's `refund.succeeded` on a paid order that is not cancelled cancels it: its
/// stock and code uses return once, and the payment is refunded. On an order that already
/// shipped the refund is recorded and the order stays as it is.
pub async fn a_refund_of_a_live_order_cancels_it(backend: &Backend) {
    let clock = clock();
    let ecom = ecom_paying(backend, &clock, CheckoutStrategy::Gate);
    let (shop, _) = shop(&ecom).await;
    let (buyer, _) = customer(&ecom).await;
    let product = published_product(&ecom, &shop, "10.00", 4).await;
    create_code(&ecom, &shop, "BACK", 10, 5).await;
    let buy = |code| place(request(&shop, &[(&product, 1)], code), None).with_payment("online");
    let order = ecom
        .checkout
        .place_order(&buyer, buy(Some("BACK")))
        .await
        .unwrap();
    ecom.checkout.flush().await;
    let paid = ecom
        .payments
        .callback("online", &genuine(&ecom, "p1", "payment.succeeded", &order))
        .await
        .unwrap();
    assert_eq!(stock_of(backend, &product.id).await, 3);
    let refunded = ecom
        .payments
        .callback("online", &genuine(&ecom, "r1", "refund.succeeded", &paid))
        .await
        .unwrap();
    assert_eq!(refunded.status, OrderStatus::Cancelled);
    assert_eq!(refunded.payment.status, PaymentStatus::Refunded);
    assert!(refunded.returning.is_none(), "the return finished");
    assert_eq!(stock_of(backend, &product.id).await, 4, "the unit is back");
    let code = ecom
        .backend()
        .discounts
        .find_active_by_code(&shop, "BACK")
        .await
        .unwrap()
        .unwrap();
    assert!(
        ecom.backend()
            .discounts
            .uses_by(&code.id, &buyer)
            .await
            .unwrap()
            == 0,
        "the code use is back"
    );
    // The same refund again changes nothing.
    let again = ecom
        .payments
        .callback("online", &genuine(&ecom, "r1", "refund.succeeded", &paid))
        .await
        .unwrap();
    assert_eq!(again.version, refunded.version);
    assert_eq!(stock_of(backend, &product.id).await, 4);
    // A shipped order: the refund is recorded, the goods are out.
    let shipped = ecom.checkout.place_order(&buyer, buy(None)).await.unwrap();
    let shipped = ecom
        .payments
        .callback(
            "online",
            &genuine(&ecom, "p2", "payment.succeeded", &shipped),
        )
        .await
        .unwrap();
    for status in [OrderStatus::Confirmed, OrderStatus::Shipped] {
        let update = StatusUpdate {
            lines: vec![LineStatusChange {
                product_ids: vec![product.id.clone()],
                status,
            }],
            ..StatusUpdate::default()
        };
        ecom.orders
            .update_status(&shop, &shipped.id, update)
            .await
            .unwrap();
    }
    let current = backend.orders.get(&shipped.id).await.unwrap().unwrap();
    let after = ecom
        .payments
        .callback(
            "online",
            &genuine(&ecom, "r2", "refund.succeeded", &current),
        )
        .await
        .unwrap();
    assert_eq!(after.status, OrderStatus::Shipped);
    assert_eq!(after.payment.status, PaymentStatus::Refunded);
    assert_eq!(
        stock_of(backend, &product.id).await,
        3,
        "the shipped unit stays out"
    );
}

/// Color (Red, Blue): Red with `red` units, Blue with `blue`.
async fn two_models(ecom: &Ecom, shop: &ShopId, red: u32, blue: u32) -> Product {
    let tee = NewProduct::with_variants(
        "Two-colour tee",
        "Clothing",
        vec![Variation::new("Color", ["Red", "Blue"])],
        vec![
            ModelInput::new([0], usd(1000), red),
            ModelInput::new([1], usd(1100), blue),
        ],
    )
    .with_attribute("brand", "Suite");
    let product = ecom.products.create(shop, tee).await.unwrap();
    ecom.products.publish(shop, &product.id).await.unwrap()
}

/// Keeps only the model `keep` of `product`.
fn keep_only(product: &Product, keep: &ProductId) -> ProductPatch {
    ProductPatch {
        models: Some(
            product
                .models
                .iter()
                .filter(|m| &m.id == keep)
                .map(ModelInput::keep)
                .collect(),
        ),
        ..ProductPatch::default()
    }
}

async fn in_stock_ids(ecom: &Ecom, shop: &ShopId) -> Vec<ProductId> {
    let query = CatalogueQuery {
        shop: Some(shop.clone()),
        in_stock: true,
        ..CatalogueQuery::default()
    };
    let listing = ecom.catalogue.browse(&query).await.unwrap();
    assert_eq!(listing.total, listing.products.len() as u64);
    listing.products.into_iter().map(|p| p.id).collect()
}

/// A removed model's units that come back (its old order is cancelled) stay off sale: the
/// product is not in stock while its only live model has none.
pub async fn returned_units_of_a_removed_model_stay_off_sale(backend: &Backend) {
    let ecom = super::ecom(backend);
    let (shop, _) = shop(&ecom).await;
    let (buyer, _) = customer(&ecom).await;
    let product = two_models(&ecom, &shop, 1, 0).await;
    let (red, blue) = (product.models[0].id.clone(), product.models[1].id.clone());
    assert_eq!(
        in_stock_ids(&ecom, &shop).await,
        std::slice::from_ref(&product.id)
    );
    let order =
        ecom.checkout
            .place_order(
                &buyer,
                place(
                    crate::service::CheckoutRequest::new([ShopOrder::new(shop.clone(), [])
                        .with_model(product.id.clone(), red.clone(), 1)]),
                    None,
                ),
            )
            .await
            .unwrap();
    ecom.checkout.flush().await;
    assert!(in_stock_ids(&ecom, &shop).await.is_empty(), "sold out");
    ecom.products
        .update(&shop, &product.id, keep_only(&product, &blue))
        .await
        .unwrap();
    ecom.orders.cancel(&buyer, &order.id).await.unwrap();
    assert_eq!(
        stock_of(backend, &red).await,
        1,
        "the unit went back to its record"
    );
    assert!(
        in_stock_ids(&ecom, &shop).await.is_empty(),
        "a removed model's returned unit is not on sale"
    );
    let page = ecom.products.get(&product.id, None).await.unwrap();
    assert!(!page.in_stock);
}

/// An in-stock listing costs the store the same whatever the number of sold-out products: no
/// scan of the stock records, only the page's own.
pub async fn in_stock_listings_do_not_scan_the_stock(backend: &Backend) {
    let ecom = super::ecom(backend);
    let (shop, _) = shop(&ecom).await;
    let mut stocked = Vec::new();
    let mut calls_per_size = Vec::new();
    for round in 0..2 {
        // Each round adds 10 sold-out products and 2 in stock.
        for i in 0..12 {
            let stock = if i < 2 { 3 } else { 1 };
            let product = published_product(&ecom, &shop, "4.00", stock).await;
            if i >= 2 {
                let (buyer, _) = customer(&ecom).await;
                ecom.checkout
                    .place_order(&buyer, place(request(&shop, &[(&product, 1)], None), None))
                    .await
                    .unwrap();
            } else {
                stocked.push(product.id.clone());
            }
        }
        ecom.checkout.flush().await;
        let probe = Probe::new();
        // The store path (the read model reads no store at all).
        let mut config = ecom.config().clone();
        config.catalogue_index = false;
        let probed = Ecom::new(probe.wrap(backend), config);
        let mut listed = in_stock_ids(&probed, &shop).await;
        listed.sort();
        let mut expected = stocked.clone();
        expected.sort();
        assert_eq!(listed, expected, "round {round}: the in-stock products");
        let inventory_calls: Vec<&str> = probe
            .calls()
            .iter()
            .map(|c| c.name)
            .filter(|n| n.starts_with("inventory."))
            .collect();
        // The page's own units sold and stock, nothing else.
        assert_eq!(inventory_calls, ["inventory.stock_states"], "round {round}");
        calls_per_size.push(probe.calls().len());
    }
    assert_eq!(
        calls_per_size[0], calls_per_size[1],
        "twice the sold-out products, the same store calls"
    );
}

/// A customer's cancel that loses its write to an unrelated change of the order (a shop's
/// note) reads the order again and cancels it.
pub async fn a_cancel_survives_an_unrelated_change(backend: &Backend) {
    let ecom = super::ecom(backend);
    let (shop, _) = shop(&ecom).await;
    let (buyer, _) = customer(&ecom).await;
    let product = published_product(&ecom, &shop, "3.00", 5).await;
    let order = ecom
        .checkout
        .place_order(&buyer, place(request(&shop, &[(&product, 2)], None), None))
        .await
        .unwrap();
    ecom.checkout.flush().await;
    let probe = Probe::new();
    let (reached, resume) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    probe.pause_at("orders.replace", reached.clone(), resume.clone());
    let probed = Ecom::new(probe.wrap(backend), ecom.config().clone());
    let cancel = {
        let (buyer, id) = (buyer.clone(), order.id.clone());
        tokio::spawn(async move { probed.orders.cancel(&buyer, &id).await })
    };
    reached.notified().await;
    let note = StatusUpdate {
        note: Some("packed with care".into()),
        ..StatusUpdate::default()
    };
    ecom.orders
        .update_status(&shop, &order.id, note)
        .await
        .unwrap();
    resume.notify_one();
    let cancelled = cancel
        .await
        .unwrap()
        .expect("the cancel reads again and wins");
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(
        cancelled
            .fulfilment_of(&shop)
            .and_then(|f| f.note.as_deref()),
        Some("packed with care"),
        "the shop's change is kept"
    );
    assert_eq!(stock_of(backend, &product.id).await, 5);
}

/// Refunds due that keep failing (their method is gone) back off instead of holding the head
/// of the payment sweep: an unpaid order behind 120 of them still expires.
pub async fn failing_refunds_do_not_hold_up_expiries(backend: &Backend) {
    let clock = clock();
    let ecom = ecom_paying(backend, &clock, CheckoutStrategy::Atomic);
    let (shop, _) = shop(&ecom).await;
    let (buyer, _) = customer(&ecom).await;
    let product = published_product(&ecom, &shop, "2.00", 10).await;
    let now = clock.now();
    for _ in 0..120 {
        let mut order = refund_due_of_a_gone_method(&buyer, now);
        order.payment.refund_due_at = Some(now);
        backend.orders.insert(&order, &[]).await.unwrap();
    }
    clock.advance(chrono::Duration::seconds(1));
    let unpaid = ecom
        .checkout
        .place_order(
            &buyer,
            place(request(&shop, &[(&product, 1)], None), None).with_payment("online"),
        )
        .await
        .unwrap();
    ecom.checkout.flush().await;
    clock.advance(super::payments::TIMEOUT + chrono::Duration::seconds(1));
    let mut expired = 0;
    for _ in 0..3 {
        expired += ecom.payments.sweep(100).await.unwrap().expired;
    }
    assert_eq!(expired, 1, "the unpaid order expired");
    let after = backend.orders.get(&unpaid.id).await.unwrap().unwrap();
    assert_eq!(after.status, OrderStatus::Cancelled);
    assert_eq!(stock_of(backend, &product.id).await, 10);
}

/// A cancelled order with a refund due for a payment method no longer registered.
fn refund_due_of_a_gone_method(customer: &CustomerId, now: crate::clock::Timestamp) -> Order {
    let amount = usd(500);
    let mut payment = crate::payment::Payment::new(
        "gone",
        crate::payment::Capture::Online,
        amount,
        now,
        chrono::Duration::minutes(15),
    );
    payment.status = PaymentStatus::Paid;
    payment.paid_at = Some(now);
    Order {
        id: OrderId::generate(),
        customer_id: customer.clone(),
        idempotency_key: OrderId::generate().to_string(),
        totals: crate::order::CheckoutTotals {
            total_price: amount,
            fee_ship: usd(0),
            total_discount: usd(0),
            total_checkout: amount,
        },
        shipping: serde_json::json!({}),
        payment,
        lines: Vec::new(),
        discounts: Vec::new(),
        fulfilment: Vec::new(),
        status: OrderStatus::Cancelled,
        returning: None,
        returns: Vec::new(),
        version: 0,
        created_at: now,
        updated_at: now,
    }
}

/// Removing a model while it is being bought: exactly one of them wins, whichever comes
/// first at the model's stock record.
pub async fn removing_a_model_races_its_checkout(backend: &Backend) {
    let ecom = super::ecom(backend);
    let (shop, _) = shop(&ecom).await;
    for checkout_first in [false, true] {
        let (buyer, _) = customer(&ecom).await;
        let product = two_models(&ecom, &shop, 5, 5).await;
        let (red, blue) = (product.models[0].id.clone(), product.models[1].id.clone());
        let probe = Probe::new();
        let (reached, resume) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        // The checkout stops before its reserve, or with its hold open before its insert.
        let at = if checkout_first {
            "orders.insert"
        } else {
            "inventory.reserve"
        };
        probe.pause_at(at, reached.clone(), resume.clone());
        let probed = Ecom::new(probe.wrap(backend), ecom.config().clone());
        let checkout = {
            let (buyer, request) = (
                buyer.clone(),
                crate::service::CheckoutRequest::new([
                    ShopOrder::new(shop.clone(), []).with_model(product.id.clone(), red.clone(), 2)
                ]),
            );
            tokio::spawn(async move {
                probed
                    .checkout
                    .place_order(&buyer, place(request, None))
                    .await
            })
        };
        reached.notified().await;
        let removed = ecom
            .products
            .update(&shop, &product.id, keep_only(&product, &blue))
            .await;
        resume.notify_one();
        let placed = checkout.await.unwrap();
        ecom.checkout.flush().await;
        if checkout_first {
            assert!(placed.is_ok(), "{placed:?}");
            assert!(
                matches!(removed, Err(Error::Conflict { .. })),
                "a held model is not removed: {removed:?}"
            );
        } else {
            assert!(removed.is_ok(), "{removed:?}");
            assert!(
                matches!(placed, Err(Error::InsufficientStock { .. })),
                "a removed model is not sold: {placed:?}"
            );
            let record = backend.inventory.get(&red).await.unwrap().unwrap();
            assert!(record.reservations.is_empty() && record.retired);
        }
    }
}

/// A catalogue answer being filled when a product write drops the cache is never served after
/// the write: the next read sees the write.
pub async fn a_catalogue_fill_cannot_outlive_a_write(backend: &Backend) {
    let mut config = EcomConfig::new(Secret::new(b"conformance-suite-api-key-secret".to_vec()));
    config.catalogue_cache = std::time::Duration::from_secs(3600);
    // The cache over the store path (whose fill reads units sold last).
    config.catalogue_index = false;
    let probe = Probe::new();
    let (reached, resume) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let ecom = Ecom::new(probe.wrap(backend), config);
    let (shop, _) = shop(&ecom).await;
    let first = published_product(&ecom, &shop, "1.00", 1).await;
    let query = CatalogueQuery {
        shop: Some(shop.clone()),
        ..CatalogueQuery::default()
    };
    // The fill has read the listing and its count; it waits before reading units sold.
    probe.pause_at("inventory.stock_states", reached.clone(), resume.clone());
    let fill = {
        let (ecom, query) = (ecom.clone(), query.clone());
        tokio::spawn(async move { ecom.catalogue.browse(&query).await })
    };
    reached.notified().await;
    let second = ecom
        .products
        .create(&shop, new_product("Second", "2.00", 1))
        .await
        .unwrap();
    ecom.products.publish(&shop, &second.id).await.unwrap();
    resume.notify_one();
    let stale = fill.await.unwrap().unwrap();
    assert_eq!(stale.products.len(), 1, "the fill read before the write");
    let after = ecom.catalogue.browse(&query).await.unwrap();
    let mut ids: Vec<ProductId> = after.products.into_iter().map(|p| p.id).collect();
    ids.sort();
    let mut expected = vec![first.id, second.id];
    expected.sort();
    assert_eq!(ids, expected, "the write shows at once");
}

/// Recovery keeps to the lease: a hold just younger than the lease is left alone by any
/// number of passes; just older, it is given back.
pub async fn recovery_keeps_to_the_lease(backend: &Backend) {
    let clock = clock();
    let ecom = Ecom::new(
        backend.clone().with_clock(clock.clone()),
        EcomConfig::new(Secret::new(b"conformance-suite-api-key-secret".to_vec())),
    );
    let lease = ecom.config().checkout.lease;
    let (shop, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop, "1.00", 5).await;
    // A checkout that died holding 2 units: its order was never placed.
    let order_id = OrderId::generate();
    let hold = Reservation {
        id: order_id.to_string(),
        order_id,
        quantity: 2,
        created_at: clock.now(),
    };
    backend
        .inventory
        .reserve(&product.id, std::slice::from_ref(&hold))
        .await
        .unwrap();
    clock.advance(lease - chrono::Duration::milliseconds(1));
    for _ in 0..3 {
        let report = ecom
            .checkout
            .recover_stale_checkouts(clock.now())
            .await
            .unwrap();
        assert_eq!(report, Default::default(), "within the lease nothing moves");
    }
    assert_eq!(stock_of(backend, &product.id).await, 3);
    clock.advance(chrono::Duration::milliseconds(2));
    let report = ecom
        .checkout
        .recover_stale_checkouts(clock.now())
        .await
        .unwrap();
    assert_eq!(
        report.rolled_back, 1,
        "past the lease the hold is given back"
    );
    assert_eq!(stock_of(backend, &product.id).await, 5);
}
