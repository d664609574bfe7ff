//! Redis dies while checkouts are in flight (holding stock locks and gate admissions): the
//! requests fail with clear 503-class errors (or finish), nothing is oversold, and once Redis is
//! back (empty: it kept nothing) and recovery has run, no hold is left open without an order,
//! the gate agrees with the store, and orders work again. Uses a Redis of its own.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use ecom_core::id::{CustomerId, ShopId};
use ecom_core::lock::DistributedLock;
use ecom_core::order::Order;
use ecom_core::product::Product;
use ecom_core::service::{CheckoutRequest, CheckoutStrategy, Ecom};
use ecom_core::testkit::checkout::{assert_stock_matches_orders, ecom_with, place, request};
use ecom_core::testkit::{published_product, shop};
use ecom_core::{Backend, Error};
use ecom_redis::testkit::RedisServer;
use ecom_redis::RedisLock;
use std::sync::Arc;
use std::time::{Duration, Instant};

const STOCK: u32 = 100;
const WORKERS: usize = 16;
const RESTOCK: u32 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lock_strategy_survives_redis_dying_in_flight() {
    outage(CheckoutStrategy::LockThenReserve).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gate_strategy_survives_redis_dying_in_flight() {
    outage(CheckoutStrategy::Gate).await;
}

async fn start(port: Option<u16>) -> RedisServer {
    tokio::task::spawn_blocking(move || RedisServer::start(port))
        .await
        .expect("joined")
        .expect("redis-server starts (scripts/dev-services.sh installs it)")
}

/// The services over the memory backend with the lock and gate on this test's Redis, the shop,
/// its product and the request of one unit of it, shared by the steps of an outage.
struct Rig {
    strategy: CheckoutStrategy,
    backend: Backend,
    ecom: Ecom,
    lock: RedisLock,
    shop: ShopId,
    product: Product,
    req: CheckoutRequest,
}

/// One order of `req` by a new customer.
async fn place_one(ecom: Ecom, req: CheckoutRequest) -> ecom_core::Result<Order> {
    ecom.checkout
        .place_order(&CustomerId::generate(), place(req, None))
        .await
}

async fn outage(strategy: CheckoutStrategy) {
    let redis = start(None).await;
    let port = redis.port();
    let url = redis.url();
    let lock = ecom_redis::RedisLock::connect(&url, "outage:")
        .await
        .expect("connects");
    let gate = ecom_redis::RedisStockGate::connect(&url, "outage:")
        .await
        .expect("connects");
    let backend = ecom_core::memory::backend()
        .with_lock(Arc::new(lock.clone()))
        .with_gate(Arc::new(gate));
    let ecom = ecom_with(&backend, strategy);
    let (shop, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop, "1.00", STOCK).await;
    let req = request(&shop, &[(&product, 1)], None);
    let mut orders: Vec<Order> = vec![place_one(ecom.clone(), req.clone())
        .await
        .expect("works while Redis is up")];
    let rig = Rig {
        strategy,
        backend,
        ecom,
        lock,
        shop,
        product,
        req,
    };
    redis_dies_in_flight(&rig, redis, &mut orders).await;
    redis_comes_back_empty(&rig, port, orders).await;
}

/// Redis dies while workers keep checking out: 503-class errors (or finished orders), never a
/// hang, nothing oversold; checkouts fail while it is down.
async fn redis_dies_in_flight(rig: &Rig, redis: RedisServer, orders: &mut Vec<Order>) {
    let Rig {
        backend,
        ecom,
        lock,
        product,
        req,
        ..
    } = rig;
    // Redis dies while workers keep checking out (holding locks and admissions, or asking the
    // gate); each worker stops at its first 503-class error.
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let ecom = ecom.clone();
            let req = req.clone();
            tokio::spawn(async move {
                let mut placed = Vec::new();
                let until = Instant::now() + Duration::from_secs(2);
                while Instant::now() < until {
                    match place_one(ecom.clone(), req.clone()).await {
                        Ok(order) => placed.push(order),
                        Err(e @ (Error::Unavailable(_) | Error::Busy(_))) => {
                            assert!(e.is_retryable());
                            return (placed, true);
                        }
                        Err(Error::InsufficientStock { .. }) => {}
                        Err(other) => panic!("unexpected outcome while Redis died: {other:?}"),
                    }
                }
                (placed, false)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    tokio::task::spawn_blocking(move || redis.kill())
        .await
        .expect("joined")
        .expect("redis killed");
    let started = Instant::now();
    let mut failed = 0;
    for worker in workers {
        let (placed, met_the_outage) = worker.await.expect("no checkout task dies");
        orders.extend(placed);
        failed += usize::from(met_the_outage);
    }
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "errors, never hangs"
    );
    // (Under the lock strategy a sold-out product is refused from the store alone, without
    // asking Redis, so not every worker need meet the outage.)
    assert!(failed > 0, "checkouts in flight met the outage");
    ecom.checkout.flush().await;
    let left = backend
        .inventory
        .get(&product.id)
        .await
        .unwrap()
        .unwrap()
        .stock;
    for _ in 0..3 {
        match place_one(ecom.clone(), req.clone()).await {
            Err(Error::Unavailable(_)) => {}
            // Sold out: the lock strategy refuses from the store without asking Redis.
            Err(Error::InsufficientStock { .. }) if left == 0 => {}
            other => panic!("expected a 503-class error while Redis is down, got {other:?}"),
        }
    }
    assert!(matches!(lock.ping().await, Err(Error::Unavailable(_))));
    assert!(matches!(
        backend.gate.ping().await,
        Err(Error::Unavailable(_))
    ));
    // Nothing oversold, nothing held for an order that does not exist.
    assert!(orders.len() <= STOCK as usize);
    assert_stock_matches_orders(backend, &[(product.id.clone(), u64::from(STOCK))], orders).await;
}

/// Redis comes back with nothing in it; recovery runs; everything agrees, new stock reaches the
/// gate and orders work again.
async fn redis_comes_back_empty(rig: &Rig, port: u16, mut orders: Vec<Order>) {
    let Rig {
        strategy,
        backend,
        ecom,
        lock,
        shop,
        product,
        req,
    } = rig;
    // Redis comes back with nothing in it; recovery runs; everything agrees.
    let _redis = start(Some(port)).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while lock.ping().await.is_err() || backend.gate.ping().await.is_err() {
        assert!(Instant::now() < deadline, "Redis answers again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let later = backend.clock.now() + chrono::Duration::hours(1);
    ecom.checkout
        .recover_stale_checkouts(later)
        .await
        .expect("recovery runs");
    assert!(
        backend
            .inventory
            .list_stale(later, 100)
            .await
            .unwrap()
            .is_empty(),
        "no hold left open"
    );
    assert!(
        backend
            .gate
            .list_stale(later, 100)
            .await
            .unwrap()
            .is_empty(),
        "no admission left held"
    );
    assert_stock_matches_orders(backend, &[(product.id.clone(), u64::from(STOCK))], &orders).await;
    // New stock reaches a gate that lost its counts (it seeds again from the store).
    ecom.inventory
        .add_stock(shop, &product.id, None, RESTOCK, None)
        .await
        .expect("stock added");
    for _ in 0..3 {
        orders.push(
            place_one(ecom.clone(), req.clone())
                .await
                .expect("works again"),
        );
    }
    ecom.checkout.flush().await;
    let store = backend.inventory.get(&product.id).await.unwrap().unwrap();
    let received = u64::from(STOCK + RESTOCK);
    assert_eq!(store.stock, received - orders.len() as u64);
    if *strategy == CheckoutStrategy::Gate {
        assert_eq!(
            backend.gate.available(&product.id).await.unwrap(),
            Some(store.stock),
            "the gate, seeded again from the store, agrees with it"
        );
    }
    assert_stock_matches_orders(backend, &[(product.id.clone(), received)], &orders).await;
    let guard = lock
        .acquire(
            &format!("stock:{}", product.id),
            Duration::from_secs(1),
            Duration::ZERO,
        )
        .await
        .expect("no stock lock is left held");
    lock.release(&guard).await.unwrap();
}
