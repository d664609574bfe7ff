//! Several OS processes (this test binary re-executed) place checkouts concurrently through one
//! Redis (the lock, or the stock gate) and one MongoDB (secantusd-rs) against stock 100, 1,000
//! attempts in all: exactly 100 orders, final stock 0, no lock key left behind.
#![allow(clippy::expect_used)]

mod common;

use common::{redis_url, Prefix};
use ecom_core::gate::StockGate;
use ecom_core::id::{CustomerId, ProductId, ShopId};
use ecom_core::service::{CheckoutRequest, CheckoutStrategy, ItemRequest, ShopOrderRequest};
use ecom_core::testkit::checkout::{ecom_with, out_of_stock, place, placed_orders, rush_checkouts};
use ecom_core::testkit::{published_product, shop};
use futures::future::join_all;
use std::sync::Arc;

const PROCESSES: usize = 2;
const ATTEMPTS_PER_PROCESS: usize = 500;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set for worker processes"))
}

/// A worker: places its share of checkouts and prints how many succeeded.
async fn worker() {
    let backend = ecom_mongo::connect(&var("ECOM_MP_MONGO_URI"), &var("ECOM_MP_DB"))
        .await
        .expect("mongo");
    let lock = ecom_redis::RedisLock::connect(&redis_url(), &var("ECOM_MP_PREFIX"))
        .await
        .expect("redis");
    let gate = ecom_redis::RedisStockGate::connect(&redis_url(), &var("ECOM_MP_PREFIX"))
        .await
        .expect("redis");
    let strategy = CheckoutStrategy::parse(&var("ECOM_MP_STRATEGY")).expect("strategy");
    let backend = backend.with_lock(Arc::new(lock)).with_gate(Arc::new(gate));
    let ecom = ecom_with(&backend, strategy);
    let shop_id = ShopId::parse(&var("ECOM_MP_SHOP")).expect("shop id");
    let product_id = ProductId::parse(&var("ECOM_MP_PRODUCT")).expect("product id");
    let request = CheckoutRequest {
        shop_order_ids: vec![ShopOrderRequest {
            shop_id,
            shop_discounts: vec![],
            item_products: vec![ItemRequest {
                product_id,
                quantity: 1,
            }],
        }],
    };
    let results = rush_checkouts(&ecom, ATTEMPTS_PER_PROCESS, |_| {
        (CustomerId::generate(), place(request.clone(), None))
    })
    .await;
    let placed = placed_orders(results, out_of_stock).len();
    println!("placed={placed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn processes_sharing_the_redis_lock_never_oversell() {
    if std::env::var("ECOM_MP_ROLE").as_deref() == Ok("worker") {
        return worker().await;
    }
    parent(
        "processes_sharing_the_redis_lock_never_oversell",
        CheckoutStrategy::LockThenReserve,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn processes_sharing_the_redis_gate_never_oversell() {
    if std::env::var("ECOM_MP_ROLE").as_deref() == Ok("worker") {
        return worker().await;
    }
    parent(
        "processes_sharing_the_redis_gate_never_oversell",
        CheckoutStrategy::Gate,
    )
    .await;
}

/// Starts the workers (this binary running test `test` in worker mode) and checks the outcome.
async fn parent(test: &str, strategy: CheckoutStrategy) {
    let db = ecom_mongo::testkit::TestDatabase::new()
        .await
        .expect("a MongoDB");
    let ecom = ecom_with(db.backend(), strategy);
    let (shop_id, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop_id, "2.00", 100).await;
    let prefix = Prefix::new();

    let exe = std::env::current_exe().expect("test binary");
    let workers: Vec<_> = (0..PROCESSES)
        .map(|_| {
            tokio::process::Command::new(&exe)
                .args(["--exact", test, "--nocapture", "--test-threads", "1"])
                .env("ECOM_MP_ROLE", "worker")
                .env("ECOM_MP_STRATEGY", strategy.name())
                .env("ECOM_MP_MONGO_URI", db.uri())
                .env("ECOM_MP_DB", db.database().name())
                .env("ECOM_MP_PREFIX", &prefix.0)
                .env("ECOM_MP_SHOP", shop_id.to_string())
                .env("ECOM_MP_PRODUCT", product.id.to_string())
                .kill_on_drop(true)
                .output()
        })
        .collect();
    let mut placed = 0;
    for output in join_all(workers).await {
        let output = output.expect("worker ran");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "worker failed: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let count: usize = stdout
            .lines()
            .find_map(|l| l.split_once("placed=").map(|(_, rest)| rest))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .expect("worker reports its count");
        placed += count;
    }
    assert_eq!(placed, 100, "exactly 100 orders over {PROCESSES} processes");
    let inventory = db
        .backend()
        .inventory
        .get(&product.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(inventory.stock, 0);
    assert_eq!(inventory.reservations.len(), 100);

    let client = redis::Client::open(redis_url()).expect("redis url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let locks: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}lock:*", prefix.0))
        .query_async(&mut conn)
        .await
        .expect("keys");
    assert!(locks.is_empty(), "lock keys left behind: {locks:?}");
    if strategy == CheckoutStrategy::Gate {
        let gate = ecom_redis::RedisStockGate::connect(&redis_url(), &prefix.0)
            .await
            .expect("redis");
        assert_eq!(
            gate.available(&product.id).await.expect("read"),
            Some(0),
            "the gate agrees with the store"
        );
    }
}
