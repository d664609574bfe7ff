//! Cases for placing orders: the concurrency invariants, idempotency, and the checks every
//! checkout case shares (the crash cases are in [`super::crash`]).

use super::{published_product, shop};
use crate::backend::Backend;
use crate::error::Error;
use crate::id::{CustomerId, ProductId, ShopId};
use crate::idempotency::IdempotencyKey;
use crate::order::Order;
use crate::page::Page;
use crate::product::Product;
use crate::secret::Secret;
use crate::service::{
    CheckoutRequest, CheckoutStrategy, Ecom, EcomConfig, NewDiscount, PlaceOrder, ShopOrder,
};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Services over `backend` with the given checkout strategy.
pub fn ecom_with(backend: &Backend, strategy: CheckoutStrategy) -> Ecom {
    let mut config = EcomConfig::new(Secret::new(b"conformance-suite-api-key-secret".to_vec()));
    config.checkout.strategy = strategy;
    config.checkout.lock_wait = Duration::from_secs(30);
    Ecom::new(backend.clone(), config)
}

/// A request buying `items` from `shop`, optionally with a code.
pub fn request(shop: &ShopId, items: &[(&Product, u32)], code: Option<&str>) -> CheckoutRequest {
    let part = ShopOrder::new(shop.clone(), items.iter().map(|(p, q)| (p.id.clone(), *q)));
    CheckoutRequest::new([match code {
        Some(code) => part.with_code(code),
        None => part,
    }])
}

/// A place-order input for `request`.
pub fn place(request: CheckoutRequest, key: Option<&str>) -> PlaceOrder {
    PlaceOrder {
        request,
        shipping: json!({"street": "1 Test Way", "city": "Testville"}),
        payment_method: "cod".to_owned(),
        idempotency_key: key.map(|k| IdempotencyKey::parse(k).expect("a valid key")),
    }
}

/// A 10%-off code of `shop`.
/// Places `count` copies of `request` (each by a new customer, no key) from `tasks` tasks at
/// once, then waits for their holds to settle. Panics if one is refused.
pub async fn place_many(ecom: &Ecom, request: &CheckoutRequest, count: usize, tasks: usize) {
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let running: Vec<_> = (0..tasks)
        .map(|_| {
            let (ecom, request, next) = (ecom.clone(), request.clone(), next.clone());
            tokio::spawn(async move {
                while next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < count {
                    ecom.checkout
                        .place_order(&CustomerId::generate(), place(request.clone(), None))
                        .await
                        .expect("order placed");
                }
            })
        })
        .collect();
    for task in running {
        task.await.expect("task ran");
    }
    ecom.checkout.flush().await;
}

pub async fn create_code(ecom: &Ecom, shop: &ShopId, code: &str, max_uses: u32, per_user: u32) {
    let now = ecom.backend().clock.now();
    let input = NewDiscount::new(
        code,
        crate::discount::DiscountValue::Percentage(1000),
        now - chrono::Duration::days(1),
        now + chrono::Duration::days(1),
        max_uses,
    )
    .with_name("Ten off")
    .with_max_uses_per_customer(per_user);
    ecom.discounts
        .create(shop, input)
        .await
        .expect("code created");
}

/// Checks, for each `(product, received)`, that `stock + sold + reserved == received`, that
/// the units sold (or still held open by the orders' own checkouts, whose holds settle in the
/// background) are exactly the lines of the live (not cancelled) `orders`, and that no other
/// hold is open.
pub async fn assert_stock_matches_orders(
    backend: &Backend,
    products: &[(ProductId, u64)],
    orders: &[Order],
) {
    assert_stock_matches(backend, products, orders, "").await;
}

/// [`assert_stock_matches_orders`], saying `what` was checked when it fails.
pub async fn assert_stock_matches(
    backend: &Backend,
    products: &[(ProductId, u64)],
    orders: &[Order],
    what: &str,
) {
    let live: HashMap<String, &Order> = orders
        .iter()
        .filter(|o| o.status != crate::order::OrderStatus::Cancelled)
        .map(|o| (o.id.to_string(), o))
        .collect();
    for (product, received) in products {
        let inv = backend.inventory.get(product).await.unwrap().unwrap();
        assert_eq!(
            inv.received(),
            *received,
            "{what}: stock + sold + held == received for {product}"
        );
        let ordered: u64 = live
            .values()
            .flat_map(|o| o.lines.iter())
            .filter(|l| l.stock_id() == product)
            .map(|l| u64::from(l.quantity))
            .sum();
        let (by_orders, others): (Vec<_>, Vec<_>) = inv
            .reservations
            .iter()
            .partition(|r| r.id == r.order_id.as_str() && live.contains_key(&r.id));
        let held: u64 = by_orders.iter().map(|r| u64::from(r.quantity)).sum();
        assert_eq!(
            inv.sold + held,
            ordered,
            "{what}: units sold of {product} are exactly the orders' lines"
        );
        assert!(
            others.is_empty(),
            "{what}: holds of {product} open without a placed order: {others:?}"
        );
    }
}

/// The orders among `results`. A refusal is allowed only if `refusal_allowed` accepts it;
/// anything else fails the case, naming the error.
pub fn placed_orders(
    results: Vec<crate::Result<Order>>,
    refusal_allowed: fn(&Error) -> bool,
) -> Vec<Order> {
    let mut orders = Vec::new();
    for result in results {
        match result {
            Ok(order) => orders.push(order),
            Err(e) if refusal_allowed(&e) => {}
            Err(other) => panic!("refusal not allowed here: {other:?}"),
        }
    }
    orders
}

/// `n` checkouts of `request` by fresh customers (or `customer(i)`), all released at once on
/// an interleaving view of `ecom`'s backend; their outcomes in order.
pub async fn rush_checkouts(
    ecom: &Ecom,
    n: usize,
    input: impl Fn(usize) -> (CustomerId, PlaceOrder),
) -> Vec<crate::Result<Order>> {
    let racing = Ecom::new(super::interleaved(ecom.backend()), ecom.config().clone());
    let results = super::rush(n, |i| {
        let racing = racing.clone();
        let (customer, input) = input(i);
        async move { racing.checkout.place_order(&customer, input).await }
    })
    .await;
    racing.checkout.flush().await;
    results
}

/// Refusals for lack of stock.
pub fn out_of_stock(e: &Error) -> bool {
    matches!(e, Error::InsufficientStock { .. })
}

pub async fn review_uses_server_prices(backend: &Backend) {
    let mut config = EcomConfig::new(Secret::random());
    config.checkout.fee_ship_minor = 500;
    let ecom = Ecom::new(backend.clone(), config);
    let (shop, _) = shop(&ecom).await;
    let a = published_product(&ecom, &shop, "10.00", 10).await;
    let b = published_product(&ecom, &shop, "2.50", 10).await;
    create_code(&ecom, &shop, "TEN", 5, 1).await;
    let customer = CustomerId::generate();
    let review = ecom
        .checkout
        .review(&customer, &request(&shop, &[(&a, 2), (&b, 1)], Some("TEN")))
        .await
        .unwrap();
    let t = review.totals;
    assert_eq!(
        (
            t.total_price.minor,
            t.total_discount.minor,
            t.fee_ship.minor,
            t.total_checkout.minor
        ),
        (2250, 225, 500, 2525)
    );
    assert_eq!(review.shops[0].subtotal.minor, 2250);
    assert_eq!(review.shops[0].after_discounts.minor, 2025);
    // The discount is shared over the lines by value, to the minor unit.
    let shares: Vec<i64> = review.shops[0]
        .items
        .iter()
        .map(|i| i.discount_share.minor)
        .collect();
    assert_eq!(shares, [200, 25]);
    // A draft, a product of another shop, an unknown code, or two codes: refused.
    let draft = ecom
        .products
        .create(&shop, super::new_product("Draft", "1", 1))
        .await
        .unwrap();
    assert!(matches!(
        ecom.checkout
            .review(&customer, &request(&shop, &[(&draft, 1)], None))
            .await,
        Err(Error::NotFound { .. })
    ));
    let other = ShopId::generate();
    assert!(matches!(
        ecom.checkout
            .review(&customer, &request(&other, &[(&a, 1)], None))
            .await,
        Err(Error::Validation { .. })
    ));
    assert!(matches!(
        ecom.checkout
            .review(&customer, &request(&shop, &[(&a, 1)], Some("NOPE")))
            .await,
        Err(Error::DiscountNotApplicable(_))
    ));
    let mut twice = request(&shop, &[(&a, 1)], None);
    twice.shops.push(twice.shops[0].clone());
    assert!(matches!(
        ecom.checkout.review(&customer, &twice).await,
        Err(Error::Validation { field, .. }) if field == "shop"
    ));
    for bad in [0, 2_000_000] {
        assert!(matches!(
            ecom.checkout
                .review(&customer, &request(&shop, &[(&a, bad)], None))
                .await,
            Err(Error::Validation { .. })
        ));
    }
    // Reviewing wrote nothing.
    assert_eq!(
        backend.inventory.get(&a.id).await.unwrap().map(|i| i.stock),
        Some(10)
    );
    // Placed, the order keeps the shares on its lines.
    let order = ecom
        .checkout
        .place_order(
            &CustomerId::generate(),
            place(request(&shop, &[(&a, 2), (&b, 1)], Some("TEN")), None),
        )
        .await
        .unwrap();
    let stored = backend.orders.get(&order.id).await.unwrap().unwrap();
    let kept: Vec<(&ProductId, Option<i64>)> = stored
        .lines
        .iter()
        .map(|l| (&l.product_id, l.discount_share.map(|m| m.minor)))
        .collect();
    assert_eq!(kept, [(&a.id, Some(200)), (&b.id, Some(25))]);
}

async fn thousand_orders(backend: &Backend, strategy: CheckoutStrategy) {
    let ecom = ecom_with(backend, strategy);
    let (shop, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop, "3.00", 100).await;
    let results = rush_checkouts(&ecom, 1000, |_| {
        let req = request(&shop, &[(&product, 1)], None);
        (CustomerId::generate(), place(req, None))
    })
    .await;
    super::assert_race(&results, 100, out_of_stock, "1,000 orders of stock 100");
    let orders = placed_orders(results, out_of_stock);
    assert_eq!(orders.len(), 100);
    let inv = backend.inventory.get(&product.id).await.unwrap().unwrap();
    assert_eq!(inv.stock, 0);
    assert_stock_matches_orders(backend, &[(product.id.clone(), 100)], &orders).await;
    // No lock is left behind.
    let guard = backend
        .lock
        .acquire(
            &format!("stock:{}", product.id),
            Duration::from_secs(1),
            Duration::ZERO,
        )
        .await
        .expect("stock lock is free");
    backend.lock.release(&guard).await.unwrap();
}

/// 1,000 concurrent single-line orders against stock 100, conditional writes only.
pub async fn thousand_orders_atomic(backend: &Backend) {
    thousand_orders(backend, CheckoutStrategy::Atomic).await;
}

/// 1,000 concurrent single-line orders against stock 100 under the lock strategy: nobody is
/// refused for lock contention while stock remains.
pub async fn thousand_orders_lock_then_reserve(backend: &Backend) {
    thousand_orders(backend, CheckoutStrategy::LockThenReserve).await;
}

pub async fn oversized_order_is_refused_cleanly(backend: &Backend) {
    for strategy in [CheckoutStrategy::Atomic, CheckoutStrategy::LockThenReserve] {
        let ecom = ecom_with(backend, strategy);
        let (shop, _) = shop(&ecom).await;
        let p = published_product(&ecom, &shop, "1.00", 5).await;
        let customer = CustomerId::generate();
        let result = ecom
            .checkout
            .place_order(&customer, place(request(&shop, &[(&p, 6)], None), None))
            .await;
        assert!(
            matches!(result, Err(Error::InsufficientStock { .. })),
            "{result:?}"
        );
        assert_stock_matches_orders(backend, &[(p.id.clone(), 5)], &[]).await;
        let guard = backend
            .lock
            .acquire(
                &format!("stock:{}", p.id),
                Duration::from_secs(1),
                Duration::ZERO,
            )
            .await
            .expect("no lock left behind");
        backend.lock.release(&guard).await.unwrap();
        let order = ecom
            .checkout
            .place_order(&customer, place(request(&shop, &[(&p, 5)], None), None))
            .await
            .unwrap();
        assert_stock_matches_orders(backend, &[(p.id.clone(), 5)], &[order]).await;
    }
}

/// Products of `shop` with the given stocks, returned sorted by id (the order in which a
/// checkout reserves them).
async fn products_by_id(ecom: &Ecom, shop: &ShopId, stocks: &[u32]) -> Vec<Product> {
    let mut products = Vec::new();
    for _ in stocks {
        products.push(published_product(ecom, shop, "1.00", 1).await);
    }
    products.sort_by(|a, b| a.id.cmp(&b.id));
    for (product, stock) in products.iter().zip(stocks) {
        if *stock > 1 {
            ecom.inventory
                .add_stock(shop, &product.id, None, *stock - 1, None)
                .await
                .unwrap();
        }
    }
    products
}

/// 200 concurrent 3-line orders. First the last line (by reservation order) is the bottleneck
/// (the others have room for every order), so most orders hold their first two lines before
/// being refused: exactly 10 orders, every refusal names the bottleneck, and nothing stays held. Then mixed quantities over stocks 30,
/// 20 and 10: whatever wins, no order is partially held and stock + sold == received.
pub async fn multi_line_orders_are_all_or_nothing(backend: &Backend) {
    let ecom = ecom_with(backend, CheckoutStrategy::Atomic);
    let (shop, _) = shop(&ecom).await;
    let p = products_by_id(&ecom, &shop, &[200, 400, 10]).await;
    let results = rush_checkouts(&ecom, 200, |_| {
        let req = request(&shop, &[(&p[0], 1), (&p[1], 2), (&p[2], 1)], None);
        (CustomerId::generate(), place(req, None))
    })
    .await;
    let bottleneck = p[2].id.to_string();
    super::assert_race(
        &results,
        10,
        |e| matches!(e, Error::InsufficientStock { product_id } if *product_id == bottleneck),
        "3-line orders with a 10-unit last line",
    );
    let orders = placed_orders(results, out_of_stock);
    let received = [
        (p[0].id.clone(), 200),
        (p[1].id.clone(), 400),
        (p[2].id.clone(), 10),
    ];
    assert_stock_matches_orders(backend, &received, &orders).await;
    let stocks: Vec<u64> = futures::future::join_all(
        p.iter()
            .map(|p| async { backend.inventory.get(&p.id).await.unwrap().unwrap().stock }),
    )
    .await;
    assert_eq!(stocks, [190, 380, 0]);

    let stocks = [30_u32, 20, 10];
    let products = products_by_id(&ecom, &shop, &stocks).await;
    let results = rush_checkouts(&ecom, 200, |i| {
        let qty = |k: usize| u32::try_from((i + k) % 3 + 1).unwrap();
        let req = request(
            &shop,
            &[
                (&products[0], qty(0)),
                (&products[1], qty(1)),
                (&products[2], qty(2)),
            ],
            None,
        );
        (CustomerId::generate(), place(req, None))
    })
    .await;
    let orders = placed_orders(results, out_of_stock);
    assert!(!orders.is_empty(), "the first order to run always fits");
    for order in &orders {
        assert_eq!(order.lines.len(), 3);
    }
    let received: Vec<(ProductId, u64)> = products
        .iter()
        .zip(stocks)
        .map(|(p, s)| (p.id.clone(), u64::from(s)))
        .collect();
    assert_stock_matches_orders(backend, &received, &orders).await;
}

/// A code with max_uses 10 and max_uses_per_customer 1, hit by 200 concurrent checkouts from 50
/// customers: exactly 10 redemptions, no customer twice.
pub async fn discount_limits_hold_under_concurrent_checkouts(backend: &Backend) {
    let ecom = ecom_with(backend, CheckoutStrategy::Atomic);
    let (shop, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop, "20.00", 1000).await;
    create_code(&ecom, &shop, "RUSH10", 10, 1).await;
    let customers: Vec<CustomerId> = (0..50).map(|_| CustomerId::generate()).collect();
    let results = rush_checkouts(&ecom, 200, |i| {
        let req = request(&shop, &[(&product, 1)], Some("RUSH10"));
        (customers[i % 50].clone(), place(req, None))
    })
    .await;
    let refused = |e: &Error| matches!(e, Error::DiscountNotApplicable(_));
    super::assert_race(&results, 10, refused, "checkouts with a 10-use code");
    let orders = placed_orders(results, refused);
    assert_eq!(orders.len(), 10);
    let buyers: HashSet<&CustomerId> = orders.iter().map(|o| &o.customer_id).collect();
    assert_eq!(buyers.len(), 10, "no customer twice");
    for order in &orders {
        assert_eq!(order.totals.total_discount.minor, 200);
    }
    let code = backend
        .discounts
        .find_active_by_code(&shop, "RUSH10")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(code.uses_count(), 10);
    for customer in &customers {
        let using: HashSet<crate::id::OrderId> = backend
            .discounts
            .orders_using(&code.id, customer)
            .await
            .unwrap()
            .into_iter()
            .collect();
        let theirs: HashSet<crate::id::OrderId> = orders
            .iter()
            .filter(|o| &o.customer_id == customer)
            .map(|o| o.id.clone())
            .collect();
        assert_eq!(
            using, theirs,
            "every use belongs to an order of its customer"
        );
    }
    assert_stock_matches_orders(backend, &[(product.id.clone(), 1000)], &orders).await;
}

/// The same Idempotency-Key sent 20 times concurrently creates one order; every answer is it.
pub async fn idempotency_key_gives_one_order(backend: &Backend) {
    let ecom = ecom_with(backend, CheckoutStrategy::Atomic);
    let (shop, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop, "5.00", 50).await;
    let customer = CustomerId::generate();
    let key = format!("key-{}", uuid::Uuid::new_v4().simple());
    let results = rush_checkouts(&ecom, 20, |_| {
        let input = place(request(&shop, &[(&product, 2)], None), Some(&key));
        (customer.clone(), input)
    })
    .await;
    let mut ids = HashSet::new();
    for result in results {
        ids.insert(result.expect("every repeat gets the order").id);
    }
    assert_eq!(ids.len(), 1);
    let orders = backend
        .orders
        .list_by_customer(&customer, Page::default())
        .await
        .unwrap();
    assert_eq!(orders.len(), 1);
    assert!(ids.contains(&orders[0].id));
    assert_stock_matches_orders(backend, &[(product.id.clone(), 50)], &orders).await;
    // A different key is a different order.
    ecom.checkout
        .place_order(
            &customer,
            place(request(&shop, &[(&product, 1)], None), Some("other-key")),
        )
        .await
        .unwrap();
    // A malformed key never reaches the service: it is not an `IdempotencyKey`.
    for bad in ["", "has space", &"k".repeat(256)] {
        assert!(
            matches!(
                IdempotencyKey::parse(bad),
                Err(Error::Validation { ref field, .. }) if field == "idempotency_key"
            ),
            "{bad:?}"
        );
    }
}

/// The calls one order makes on the hot path (one shop, one line, no code, a customer with no
/// cart), per strategy, as a probe counts them: at most 4 store round trips (the lock strategy
/// reads the stock first to refuse without queueing: 5); the gate and the lock are Redis round
/// trips. Settling the holds afterwards is one more write, in the background, shared by every
/// order of the product in the same batch.
pub async fn round_trips_per_order(backend: &Backend) {
    let store = |calls: &[super::probe::Call]| -> Vec<&'static str> {
        calls
            .iter()
            .map(|c| c.name)
            .filter(|n| !n.starts_with("gate.") && !n.starts_with("lock."))
            .collect()
    };
    for (strategy, expected) in [
        (
            CheckoutStrategy::Atomic,
            vec![
                "products.get_many",
                "inventory.reserve",
                "orders.insert",
                "carts.remove_lines",
            ],
        ),
        (
            CheckoutStrategy::Gate,
            vec![
                "products.get_many",
                "inventory.reserve",
                "orders.insert",
                "carts.remove_lines",
            ],
        ),
        (
            CheckoutStrategy::LockThenReserve,
            vec![
                "products.get_many",
                "inventory.get",
                "inventory.reserve",
                "orders.insert",
                "carts.remove_lines",
            ],
        ),
    ] {
        let ecom = ecom_with(backend, strategy);
        let (shop, _) = shop(&ecom).await;
        let product = published_product(&ecom, &shop, "2.00", 100).await;
        let probe = super::probe::Probe::new();
        let probed = Ecom::new(probe.wrap(backend), ecom.config().clone());
        let order = |key: &str| place(request(&shop, &[(&product, 1)], None), Some(key));
        // A first order seeds what is seeded lazily (the gate's count).
        probed
            .checkout
            .place_order(&CustomerId::generate(), order("warm-up"))
            .await
            .unwrap();
        probed.checkout.flush().await;
        probe.clear();
        probed
            .checkout
            .place_order(&CustomerId::generate(), order("counted"))
            .await
            .unwrap();
        probed.checkout.flush().await;
        // The settlement runs in the background, after the bought lines left the cart: split it
        // off there (with the refresh of the products' units sold and stock that follows it).
        let calls = probe.calls();
        let split = calls
            .iter()
            .position(|c| c.name == "carts.remove_lines")
            .map_or(calls.len(), |at| at + 1);
        let (hot, settled) = calls.split_at(split);
        assert_eq!(
            store(hot),
            expected,
            "{strategy:?}: store calls of one order"
        );
        let redis: Vec<&str> = hot
            .iter()
            .map(|c| c.name)
            .filter(|n| n.starts_with("gate.") || n.starts_with("lock."))
            .collect();
        let expected_redis: &[&str] = match strategy {
            CheckoutStrategy::Gate => &["gate.admit"],
            CheckoutStrategy::LockThenReserve => &["lock.acquire", "lock.release"],
            _ => &[],
        };
        assert_eq!(redis, expected_redis, "{strategy:?}: gate and lock calls");
        // One settle per product per batch, then one refresh of the products' units sold and
        // stock (the records, the products, one write).
        let expected_after: &[&str] = match strategy {
            CheckoutStrategy::Gate => &[
                "inventory.settle",
                "products.get_many",
                "inventory.stock_states",
                "products.record_stock",
                "gate.commit",
            ],
            _ => &[
                "inventory.settle",
                "products.get_many",
                "inventory.stock_states",
                "products.record_stock",
            ],
        };
        assert_eq!(
            settled.iter().map(|c| c.name).collect::<Vec<_>>(),
            expected_after,
            "{strategy:?}: settling afterwards"
        );
    }
}
