//! Redis stopped while checkouts run: clear 503-class errors, nothing oversold or leaked, and
//! everything works again once Redis is back. Uses a Redis of its own on a free port.
#![allow(clippy::expect_used)]

use ecom_core::id::CustomerId;
use ecom_core::lock::DistributedLock;
use ecom_core::service::{CheckoutStrategy, Ecom};
use ecom_core::testkit::checkout::{assert_stock_matches_orders, ecom_with, place, request};
use ecom_core::testkit::{published_product, shop};
use ecom_core::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn start_redis(port: u16) -> Child {
    let child = Command::new("redis-server")
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server is installed (scripts/dev-services.sh)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "redis-server did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child
}

async fn order(
    ecom: &Ecom,
    req: &ecom_core::service::CheckoutRequest,
) -> Result<ecom_core::order::Order, Error> {
    ecom.checkout
        .place_order(&CustomerId::generate(), place(req.clone(), None))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_strategy_fails_cleanly_while_redis_is_down_and_recovers() {
    outage(CheckoutStrategy::LockThenReserve).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gate_strategy_fails_cleanly_while_redis_is_down_and_recovers() {
    outage(CheckoutStrategy::Gate).await;
}

async fn outage(strategy: CheckoutStrategy) {
    let port = free_port();
    let mut redis = start_redis(port).await;
    let url = format!("redis://127.0.0.1:{port}");
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
    let product = published_product(&ecom, &shop, "1.00", 10).await;
    let req = request(&shop, &[(&product, 1)], None);
    let mut orders = vec![order(&ecom, &req).await.expect("works while Redis is up")];

    redis.kill().await.expect("redis stopped");
    let _ = redis.wait().await;
    for _ in 0..5 {
        let started = Instant::now();
        match order(&ecom, &req).await {
            Err(e @ Error::Unavailable(_)) => assert!(e.is_retryable()),
            other => panic!("expected a 503-class error while Redis is down, got {other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "errors, never hangs"
        );
    }
    assert!(matches!(
        lock.acquire("k", Duration::from_secs(1), Duration::from_millis(10))
            .await,
        Err(Error::Unavailable(_))
    ));
    assert!(matches!(lock.ping().await, Err(Error::Unavailable(_))));
    assert!(matches!(
        backend.gate.ping().await,
        Err(Error::Unavailable(_))
    ));
    // Nothing was reserved by the failed attempts.
    assert_stock_matches_orders(&backend, &[(product.id.clone(), 10)], &orders).await;

    let _redis = start_redis(port).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let recovered = loop {
        match order(&ecom, &req).await {
            Ok(o) => break o,
            Err(Error::Unavailable(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(other) => panic!("did not recover: {other:?}"),
        }
    };
    orders.push(recovered);
    lock.ping().await.expect("the lock answers again");
    backend.gate.ping().await.expect("the gate answers again");
    for _ in 0..3 {
        orders.push(order(&ecom, &req).await.expect("works again"));
    }
    assert_stock_matches_orders(&backend, &[(product.id.clone(), 10)], &orders).await;
    let inv = backend
        .inventory
        .get(&product.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(inv.stock, 10 - orders.len() as u64);
}
