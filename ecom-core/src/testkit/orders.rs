//! Cases for [`OrderRepo`](crate::order::OrderRepo).

use crate::backend::Backend;
use crate::error::Error;
use crate::id::{CheckoutId, CustomerId, OrderId, ProductId, ShopId};
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
        checkout_id: CheckoutId::generate(),
        totals: CheckoutTotals {
            total_price: usd(1000),
            fee_ship: usd(0),
            total_discount: usd(100),
            total_checkout: usd(900),
        },
        shipping: json!({"street": "1 Main St"}),
        payment: json!({"method": "cod"}),
        lines: vec![OrderLine {
            shop_id: ShopId::generate(),
            product_id: ProductId::generate(),
            name: "Thing".into(),
            quantity: 2,
            unit_price: usd(500),
            status: OrderStatus::Pending,
        }],
        discounts: Vec::new(),
        tracking_number: None,
        note: None,
        status: OrderStatus::Pending,
        version: 0,
        created_at: now,
        updated_at: now,
    }
}

pub async fn insert_get_list_replace(backend: &Backend) {
    let customer = CustomerId::generate();
    let first = order(backend, &customer, 0);
    let second = order(backend, &customer, 1);
    backend.orders.insert(&first).await.unwrap();
    backend.orders.insert(&second).await.unwrap();
    assert!(matches!(
        backend.orders.insert(&first).await,
        Err(Error::Conflict(_))
    ));
    backend
        .orders
        .insert(&order(backend, &CustomerId::generate(), 2))
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
    backend.orders.replace(&next, 0).await.unwrap();
    assert!(matches!(
        backend.orders.replace(&next, 0).await,
        Err(Error::Conflict(_))
    ));
    assert_eq!(backend.orders.get(&first.id).await.unwrap(), Some(next));
    assert!(matches!(
        backend
            .orders
            .replace(&order(backend, &customer, 3), 0)
            .await,
        Err(Error::NotFound { .. })
    ));
}
