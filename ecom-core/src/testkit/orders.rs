//! Cases for [`OrderRepo`](crate::order::OrderRepo).

use crate::backend::Backend;
use crate::error::Error;
use crate::id::{CustomerId, OrderId, ProductId, ShopId};
use crate::money::{Currency, Money};
use crate::order::{CheckoutTotals, Order, OrderLine, OrderStatus};
use crate::page::Page;
use serde_json::json;

/// A pending one-line order of `customer`.
pub fn order(backend: &Backend, customer: &CustomerId, seconds: i64) -> Order {
    let now = backend.clock.now() + chrono::Duration::seconds(seconds);
    let usd = |minor| Money::new(minor, Currency::USD);
    Order {
        id: OrderId::generate(),
        customer_id: customer.clone(),
        idempotency_key: format!("key-{}", uuid::Uuid::new_v4().simple()),
        totals: CheckoutTotals {
            total_price: usd(1000),
            fee_ship: usd(0),
            total_discount: usd(100),
            total_checkout: usd(900),
        },
        shipping: json!({"street": "1 Main St"}),
        payment: crate::payment::Payment::new(
            "cod",
            crate::payment::Capture::OnDelivery,
            usd(900),
            now,
            chrono::Duration::zero(),
        ),
        lines: vec![OrderLine {
            model_id: None,
            model_name: None,
            discount_share: None,
            delivered_at: None,
            shop_id: ShopId::generate(),
            product_id: ProductId::generate(),
            name: "Thing".into(),
            quantity: 2,
            unit_price: usd(500),
            status: OrderStatus::Pending,
            returned: None,
        }],
        discounts: Vec::new(),
        fulfilment: Vec::new(),
        status: OrderStatus::Pending,
        returning: None,
        returns: Vec::new(),
        version: 0,
        created_at: now,
        updated_at: now,
    }
}

pub async fn insert_get_list_replace(backend: &Backend) {
    let customer = CustomerId::generate();
    let first = order(backend, &customer, 0);
    let second = order(backend, &customer, 1);
    backend.orders.insert(&first, &[]).await.unwrap();
    backend.orders.insert(&second, &[]).await.unwrap();
    assert!(matches!(
        backend.orders.insert(&first, &[]).await,
        Err(Error::AlreadyExists { .. })
    ));
    backend
        .orders
        .insert(&order(backend, &CustomerId::generate(), 2), &[])
        .await
        .unwrap();
    assert_eq!(
        backend.orders.get(&first.id).await.unwrap(),
        Some(first.clone())
    );
    assert!(backend
        .orders
        .get(&OrderId::generate())
        .await
        .unwrap()
        .is_none());
    let listed = backend
        .orders
        .list_by_customer(&customer, Page::default())
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|o| &o.id).collect::<Vec<_>>(),
        [&second.id, &first.id]
    );
    let one = backend
        .orders
        .list_by_customer(&customer, Page::offset(1, 1).unwrap())
        .await
        .unwrap();
    assert_eq!(one.iter().map(|o| &o.id).collect::<Vec<_>>(), [&first.id]);
    let mut next = first.clone();
    next.status = OrderStatus::Cancelled;
    next.version = 1;
    backend.orders.replace(&next, 0, &[]).await.unwrap();
    assert!(matches!(
        backend.orders.replace(&next, 0, &[]).await,
        Err(Error::Conflict { .. })
    ));
    assert_eq!(backend.orders.get(&first.id).await.unwrap(), Some(next));
    assert!(matches!(
        backend
            .orders
            .replace(&order(backend, &customer, 3), 0, &[])
            .await,
        Err(Error::NotFound { .. })
    ));
}

/// The commit point's rules: one order per id and per (customer, key); a voided id can never
/// be inserted; of an insert and a void racing, exactly one wins.
pub async fn keys_and_voids(backend: &Backend) {
    let customer = CustomerId::generate();
    let first = order(backend, &customer, 0);
    backend.orders.insert(&first, &[]).await.unwrap();
    let mut same_key = order(backend, &customer, 1);
    same_key.idempotency_key = first.idempotency_key.clone();
    assert!(matches!(
        backend.orders.insert(&same_key, &[]).await,
        Err(Error::AlreadyExists { .. })
    ));
    // Another customer may use the same key.
    let mut other = order(backend, &CustomerId::generate(), 1);
    other.idempotency_key = first.idempotency_key.clone();
    backend.orders.insert(&other, &[]).await.unwrap();
    assert_eq!(
        backend
            .orders
            .find_by_key(&customer, &first.idempotency_key)
            .await
            .unwrap()
            .map(|o| o.id),
        Some(first.id.clone())
    );
    assert!(backend
        .orders
        .find_by_key(&customer, "no-such-key")
        .await
        .unwrap()
        .is_none());
    // Voiding an existing order returns it and changes nothing.
    assert_eq!(
        backend.orders.void(&first.id).await.unwrap().map(|o| o.id),
        Some(first.id.clone())
    );
    assert!(backend.orders.get(&first.id).await.unwrap().is_some());
    // A voided id: never inserted, never listed, voiding again is fine.
    let voided = order(backend, &customer, 2);
    assert!(backend.orders.void(&voided.id).await.unwrap().is_none());
    assert!(backend.orders.void(&voided.id).await.unwrap().is_none());
    assert!(matches!(
        backend.orders.insert(&voided, &[]).await,
        Err(Error::AlreadyExists { .. })
    ));
    assert!(backend.orders.get(&voided.id).await.unwrap().is_none());
    assert!(backend
        .orders
        .find_by_key(&customer, &voided.idempotency_key)
        .await
        .unwrap()
        .is_none());
    let listed = backend
        .orders
        .list_by_customer(&customer, Page::default())
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|o| &o.id).collect::<Vec<_>>(),
        [&first.id]
    );
    // Concurrent inserts with one key: one wins.
    let racing = super::interleaved(backend);
    let key = format!("race-{}", uuid::Uuid::new_v4().simple());
    let results = super::rush(10, |i| {
        let racing = racing.clone();
        let mut o = order(&racing, &customer, 10 + i64::try_from(i).unwrap());
        o.idempotency_key = key.clone();
        async move { racing.orders.insert(&o, &[]).await }
    })
    .await;
    super::assert_race(
        &results,
        1,
        |e| matches!(e, Error::AlreadyExists { .. }),
        "inserts with one key",
    );
    // An insert racing voids of its id: exactly one side wins.
    for _ in 0..20 {
        let contested = order(backend, &customer, 30);
        let (inserted, voided) = {
            let (a, b) = (racing.clone(), racing.clone());
            let (o1, o2) = (contested.clone(), contested.clone());
            tokio::join!(
                tokio::spawn(async move { a.orders.insert(&o1, &[]).await }),
                tokio::spawn(async move { b.orders.void(&o2.id).await })
            )
        };
        let inserted = inserted.unwrap();
        let voided = voided.unwrap().unwrap();
        assert_eq!(
            inserted.is_ok(),
            voided.is_some(),
            "the void sees the order iff the insert won: {inserted:?}"
        );
        assert_eq!(
            backend.orders.get(&contested.id).await.unwrap().is_some(),
            inserted.is_ok()
        );
    }
}

use super::checkout::{assert_stock_matches_orders, create_code, ecom_with, place, request};
use super::{published_product, shop};
use crate::service::CheckoutRequest;
use crate::service::{CheckoutStrategy, LineStatusChange, ShopOrder, StatusUpdate};

/// Concurrent cancels: one wins, stock and the discount use return exactly once.
pub async fn cancel_restocks_exactly_once(backend: &Backend) {
    let ecom = ecom_with(backend, CheckoutStrategy::Atomic);
    let (shop, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop, "8.00", 10).await;
    create_code(&ecom, &shop, "BACK", 1, 1).await;
    let customer = CustomerId::generate();
    let order = ecom
        .checkout
        .place_order(
            &customer,
            place(request(&shop, &[(&product, 3)], Some("BACK")), None),
        )
        .await
        .unwrap();
    assert_stock_matches_orders(
        backend,
        &[(product.id.clone(), 10)],
        std::slice::from_ref(&order),
    )
    .await;
    let racing = ecom_with(&super::interleaved(backend), CheckoutStrategy::Atomic);
    let results = super::rush(10, |_| {
        let (racing, customer, id) = (racing.clone(), customer.clone(), order.id.clone());
        async move { racing.orders.cancel(&customer, &id).await }
    })
    .await;
    super::assert_race(
        &results,
        1,
        |e| matches!(e, Error::Conflict { .. }),
        "concurrent cancels",
    );
    let stored = backend.orders.get(&order.id).await.unwrap().unwrap();
    assert_eq!(stored.status, OrderStatus::Cancelled);
    assert!(stored.returning.is_none());
    assert!(stored.lines.iter().all(|l| l.returned.is_some()));
    assert!(stored.discounts.iter().all(|d| d.returned.is_some()));
    assert_stock_matches_orders(backend, &[(product.id.clone(), 10)], &[]).await;
    let code = backend
        .discounts
        .find_active_by_code(&shop, "BACK")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(code.uses_count(), 0, "the use went back");
    // Cancelling again is refused and changes nothing.
    assert!(matches!(
        ecom.orders.cancel(&customer, &order.id).await,
        Err(Error::Conflict { .. })
    ));
    assert_eq!(
        backend
            .inventory
            .get(&product.id)
            .await
            .unwrap()
            .map(|i| i.stock),
        Some(10)
    );
    // The code can be used again.
    ecom.checkout
        .place_order(
            &customer,
            place(request(&shop, &[(&product, 1)], Some("BACK")), None),
        )
        .await
        .unwrap();
}

pub async fn orders_are_private(backend: &Backend) {
    let ecom = ecom_with(backend, CheckoutStrategy::Atomic);
    let (shop, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop, "1.00", 10).await;
    let alice = CustomerId::generate();
    let order = ecom
        .checkout
        .place_order(&alice, place(request(&shop, &[(&product, 1)], None), None))
        .await
        .unwrap();
    assert_eq!(
        ecom.orders.get(&alice, &order.id).await.unwrap().id,
        order.id
    );
    assert_eq!(
        ecom.orders
            .list(&alice, Page::default())
            .await
            .unwrap()
            .len(),
        1
    );
    let mallory = CustomerId::generate();
    assert!(matches!(
        ecom.orders.get(&mallory, &order.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        ecom.orders.cancel(&mallory, &order.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(ecom
        .orders
        .list(&mallory, Page::default())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        backend
            .orders
            .get(&order.id)
            .await
            .unwrap()
            .map(|o| o.status),
        Some(OrderStatus::Pending)
    );
}

/// Two shops in one order: each moves only its own lines; the order's status rolls up; a
/// cancelled line returns its stock, and its shop's code use once all its lines are cancelled.
pub async fn shops_update_only_their_lines(backend: &Backend) {
    let ecom = ecom_with(backend, CheckoutStrategy::Atomic);
    let (shop_a, _) = shop(&ecom).await;
    let (shop_b, _) = shop(&ecom).await;
    let a = published_product(&ecom, &shop_a, "10.00", 5).await;
    let b = published_product(&ecom, &shop_b, "20.00", 5).await;
    create_code(&ecom, &shop_b, "BSHOP", 5, 1).await;
    let customer = CustomerId::generate();
    let req = CheckoutRequest::new([
        ShopOrder::new(shop_a.clone(), [(a.id.clone(), 1)]),
        ShopOrder::new(shop_b.clone(), [(b.id.clone(), 2)]).with_code("BSHOP"),
    ]);
    let order = ecom
        .checkout
        .place_order(&customer, place(req, None))
        .await
        .unwrap();
    assert_eq!(order.totals.total_price.minor, 5000);
    assert_eq!(order.totals.total_discount.minor, 400);
    let change = |ids: &[&ProductId], status| StatusUpdate {
        lines: vec![LineStatusChange {
            product_ids: ids.iter().map(|i| (*i).clone()).collect(),
            status,
        }],
        ..StatusUpdate::default()
    };
    // Shop A may not touch B's line, nor skip steps.
    assert!(matches!(
        ecom.orders
            .update_status(&shop_a, &order.id, change(&[&b.id], OrderStatus::Confirmed))
            .await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        ecom.orders
            .update_status(&shop_a, &order.id, change(&[&a.id], OrderStatus::Shipped))
            .await,
        Err(Error::Conflict { .. })
    ));
    assert!(matches!(
        ecom.orders
            .update_status(
                &ShopId::generate(),
                &order.id,
                change(&[&a.id], OrderStatus::Confirmed)
            )
            .await,
        Err(Error::NotFound { .. })
    ));
    let o = ecom
        .orders
        .update_status(&shop_a, &order.id, change(&[&a.id], OrderStatus::Confirmed))
        .await
        .unwrap();
    assert_eq!(o.status, OrderStatus::Pending, "B's line is still pending");
    let o = ecom
        .orders
        .update_status(&shop_b, &order.id, change(&[&b.id], OrderStatus::Confirmed))
        .await
        .unwrap();
    assert_eq!(o.status, OrderStatus::Confirmed);
    let mut shipped = change(&[&a.id], OrderStatus::Shipped);
    shipped.tracking_number = Some("TRACK-1".into());
    shipped.note = Some("on its way".into());
    let o = ecom
        .orders
        .update_status(&shop_a, &order.id, shipped)
        .await
        .unwrap();
    assert_eq!(o.status, OrderStatus::Confirmed);
    let a_part = o.fulfilment_of(&shop_a).unwrap();
    assert_eq!(a_part.tracking_number.as_deref(), Some("TRACK-1"));
    assert_eq!(a_part.note.as_deref(), Some("on its way"));
    assert!(o.fulfilment_of(&shop_b).is_none());
    // B's tracking number and note are its own: A's stay as they were.
    let mut b_note = change(&[&b.id], OrderStatus::Confirmed);
    b_note.tracking_number = Some("B-TRACK".into());
    b_note.note = Some("B packs tomorrow".into());
    let o = ecom
        .orders
        .update_status(&shop_b, &order.id, b_note)
        .await
        .unwrap();
    let stored = backend.orders.get(&order.id).await.unwrap().unwrap();
    assert_eq!(stored, o);
    let a_part = o.fulfilment_of(&shop_a).unwrap();
    assert_eq!(a_part.tracking_number.as_deref(), Some("TRACK-1"));
    assert_eq!(a_part.note.as_deref(), Some("on its way"));
    let b_part = o.fulfilment_of(&shop_b).unwrap();
    assert_eq!(b_part.tracking_number.as_deref(), Some("B-TRACK"));
    assert_eq!(b_part.note.as_deref(), Some("B packs tomorrow"));
    // B cancels its line: its stock and its code use come back; A's line is untouched.
    let o = ecom
        .orders
        .update_status(&shop_b, &order.id, change(&[&b.id], OrderStatus::Cancelled))
        .await
        .unwrap();
    assert_eq!(o.status, OrderStatus::Shipped);
    assert!(o.returning.is_none());
    assert_eq!(
        backend
            .inventory
            .get(&b.id)
            .await
            .unwrap()
            .map(|i| (i.stock, i.sold + i.reserved())),
        Some((5, 0))
    );
    assert_eq!(
        backend
            .inventory
            .get(&a.id)
            .await
            .unwrap()
            .map(|i| (i.stock, i.sold + i.reserved())),
        Some((4, 1))
    );
    let code = backend
        .discounts
        .find_active_by_code(&shop_b, "BSHOP")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(code.uses_count(), 0);
    // The customer can no longer cancel a shipped order.
    assert!(matches!(
        ecom.orders.cancel(&customer, &order.id).await,
        Err(Error::Conflict { .. })
    ));
    let o = ecom
        .orders
        .update_status(&shop_a, &order.id, change(&[&a.id], OrderStatus::Delivered))
        .await
        .unwrap();
    assert_eq!(o.status, OrderStatus::Delivered);
    assert!(matches!(
        ecom.orders
            .update_status(&shop_a, &order.id, StatusUpdate::default())
            .await,
        Err(Error::Validation { .. })
    ));
}
