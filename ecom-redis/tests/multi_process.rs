//! Several OS processes (this test binary re-executed) place checkouts at the same moment
//! (released together by a barrier) through one Redis (the lock, or the stock gate) and one
//! MongoDB (secantusd-rs): 1,000 attempts by distinct buyers against stock 100, and repeats of
//! the same idempotency keys sent to both processes (for a second product with room for all).
//! Counted from the store: exactly 100 orders of the first product, every process placed some,
//! one order per repeated key (and every answer for it names it), stock 0, no hold left open,
//! no lock key left, the gate at 0.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use bson::doc;
use common::{prefix, redis_url};
use ecom_core::id::{CustomerId, ProductId, ShopId};
use ecom_core::product::Product;
use ecom_core::service::{CheckoutRequest, CheckoutStrategy, ShopOrder};
use ecom_core::testkit::checkout::{ecom_with, place};
use ecom_core::testkit::{published_product, shop};
use ecom_core::Error;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const PROCESSES: usize = 2;
const ATTEMPTS_PER_PROCESS: usize = 500;
/// Checkouts of the hot product in flight at once per process, each lane placing its share one
/// after another: the sell-out then spans many round trips, so every process takes part in it
/// (500 tasks released at once let the first process to reach the gate take every admission).
const LANES: usize = 16;
/// (customer, key) pairs every process sends.
const SHARED_KEYS: usize = 20;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set for worker processes"))
}

/// A worker: connects, says `ready`, waits for `go` on stdin, places its checkouts, and prints
/// what it got for the shared keys (`shared <customer> <key> <order id or error kind>`) and how
/// many orders it placed (`placed=N`).
async fn worker() {
    let url = var("ECOM_TEST_REDIS_URL");
    let backend = ecom_mongo::connect(&var("ECOM_MP_MONGO_URI"), &var("ECOM_MP_DB"))
        .await
        .expect("mongo");
    let lock = ecom_redis::RedisLock::connect(&url, &var("ECOM_MP_PREFIX"))
        .await
        .expect("redis");
    let gate = ecom_redis::RedisStockGate::connect(&url, &var("ECOM_MP_PREFIX"))
        .await
        .expect("redis");
    let strategy = CheckoutStrategy::parse(&var("ECOM_MP_STRATEGY")).expect("strategy");
    let backend = backend.with_lock(Arc::new(lock)).with_gate(Arc::new(gate));
    let ecom = ecom_with(&backend, strategy);
    let buying = |product: &str| {
        CheckoutRequest::new([ShopOrder::new(
            ShopId::parse(&var("ECOM_MP_SHOP")).expect("shop id"),
            [(ProductId::parse(&var(product)).expect("product id"), 1)],
        )])
    };
    let (hot, repeated) = (buying("ECOM_MP_PRODUCT"), buying("ECOM_MP_REPEATED"));
    let shared: Vec<(CustomerId, String)> = var("ECOM_MP_SHARED")
        .split(',')
        .map(|pair| {
            let (customer, key) = pair.split_once(':').expect("customer:key");
            (
                CustomerId::parse(customer).expect("customer id"),
                key.to_owned(),
            )
        })
        .collect();
    // Every checkout task is spawned and parked before this process says it is ready, so
    // that on `go` the processes start at the same instant.
    let go = Arc::new(tokio::sync::Notify::new());
    let racing = ecom_core::Ecom::new(
        ecom_core::testkit::interleaved(ecom.backend()),
        ecom.config().clone(),
    );
    let mut repeats = Vec::new();
    for (customer, key) in &shared {
        let (racing, go) = (racing.clone(), go.clone());
        let (customer, input) = (customer.clone(), place(repeated.clone(), Some(key)));
        let parked = go.notified_owned();
        repeats.push(tokio::spawn(async move {
            parked.await;
            racing.checkout.place_order(&customer, input).await
        }));
    }
    let mut lanes = Vec::new();
    for _ in 0..LANES {
        let (racing, go, hot) = (racing.clone(), go.clone(), hot.clone());
        let parked = go.notified_owned();
        lanes.push(tokio::spawn(async move {
            parked.await;
            let mut results = Vec::new();
            for _ in 0..ATTEMPTS_PER_PROCESS / LANES {
                let input = place(hot.clone(), None);
                results.push(
                    racing
                        .checkout
                        .place_order(&CustomerId::generate(), input)
                        .await,
                );
            }
            results
        }));
    }
    // On a line of its own: the test harness may have written part of one.
    println!("\nready");
    let mut line = String::new();
    BufReader::new(tokio::io::stdin())
        .read_line(&mut line)
        .await
        .expect("the parent says go");
    go.notify_waiters();
    let mut repeated_results = Vec::with_capacity(repeats.len());
    for task in repeats {
        repeated_results.push(task.await.expect("no checkout task dies"));
    }
    let mut results = Vec::new();
    for lane in lanes {
        results.extend(lane.await.expect("no checkout lane dies"));
    }
    racing.checkout.flush().await;
    ecom.checkout.flush().await;
    for ((customer, key), result) in shared.iter().zip(&repeated_results) {
        let order = result.as_ref().expect("a repeated key gets its order");
        println!("shared {customer} {key} {}", order.id);
    }
    let mut placed = 0;
    for result in &results {
        match result {
            Ok(_) => placed += 1,
            Err(Error::InsufficientStock { .. }) => {}
            Err(other) => panic!("unexpected refusal: {other:?}"),
        }
    }
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

/// What the parent sets up for the workers: the store, the Redis and a key prefix on it, the
/// shop, the hot product (stock 100), the product the shared keys buy, and those keys.
struct Run {
    strategy: CheckoutStrategy,
    db: ecom_mongo::testkit::TestDatabase,
    url: String,
    prefix: common::Prefix,
    shop_id: ShopId,
    product: Product,
    repeated: Product,
    shared: Vec<(CustomerId, String)>,
}

/// A worker process and the lines of its stdout still to read.
type Worker = (Child, Lines<BufReader<ChildStdout>>);

/// Starts the workers (this binary running test `test` in worker mode), releases them together,
/// and checks the outcome in the store.
async fn parent(test: &str, strategy: CheckoutStrategy) {
    let db = ecom_mongo::testkit::TestDatabase::new()
        .await
        .expect("a MongoDB");
    let url = tokio::task::spawn_blocking(redis_url).await.unwrap();
    let ecom = ecom_with(db.backend(), strategy);
    let (shop_id, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop_id, "2.00", 100).await;
    let repeated = published_product(&ecom, &shop_id, "3.00", 1000).await;
    let prefix = prefix();
    let shared: Vec<(CustomerId, String)> = (0..SHARED_KEYS)
        .map(|i| (CustomerId::generate(), format!("shared-key-{i}")))
        .collect();
    let run = Run {
        strategy,
        db,
        url,
        prefix,
        shop_id,
        product,
        repeated,
        shared,
    };
    let workers = start_workers(&run, test).await;
    let answers = release_and_collect(workers).await;
    check_the_store(&run, &answers).await;
}

/// Starts the worker processes and waits until each says it is ready.
async fn start_workers(run: &Run, test: &str) -> Vec<Worker> {
    let Run {
        strategy,
        db,
        url,
        prefix,
        shop_id,
        product,
        repeated,
        shared,
    } = run;
    let shared_env = shared
        .iter()
        .map(|(c, k)| format!("{c}:{k}"))
        .collect::<Vec<_>>()
        .join(",");

    let exe = std::env::current_exe().expect("test binary");
    let mut workers = Vec::new();
    for _ in 0..PROCESSES {
        let mut child = Command::new(&exe)
            .args(["--exact", test, "--nocapture", "--test-threads", "1"])
            .env("ECOM_MP_ROLE", "worker")
            .env("ECOM_MP_STRATEGY", strategy.name())
            .env("ECOM_MP_MONGO_URI", db.uri())
            .env("ECOM_MP_DB", db.database().name())
            .env("ECOM_MP_PREFIX", prefix.as_str())
            .env("ECOM_MP_SHOP", shop_id.to_string())
            .env("ECOM_MP_PRODUCT", product.id.to_string())
            .env("ECOM_MP_REPEATED", repeated.id.to_string())
            .env("ECOM_MP_SHARED", &shared_env)
            .env("ECOM_TEST_REDIS_URL", url)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("worker starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("a worker exited before it was ready"));
            if line.trim_end().ends_with("ready") {
                break;
            }
        }
        workers.push((child, lines));
    }
    workers
}

/// Releases the workers together and collects what each answered for the shared keys, by
/// (customer, key); checks that each exited cleanly and placed some orders.
async fn release_and_collect(mut workers: Vec<Worker>) -> HashMap<(String, String), Vec<String>> {
    // The barrier: every worker is connected and waiting; release them together.
    for (child, _) in &mut workers {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"go\n")
            .await
            .unwrap();
    }
    let mut answers: HashMap<(String, String), Vec<String>> = HashMap::new();
    for (child, mut lines) in workers {
        let mut placed = None;
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(n) = line.strip_prefix("placed=") {
                placed = n.trim().parse::<usize>().ok();
            } else if let Some(rest) = line.strip_prefix("shared ") {
                let parts: Vec<&str> = rest.split_whitespace().collect();
                answers
                    .entry((parts[0].to_owned(), parts[1].to_owned()))
                    .or_default()
                    .push(parts[2].to_owned());
            }
        }
        let output = child.wait_with_output().await.unwrap();
        assert!(
            output.status.success(),
            "worker failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let placed = placed.expect("the worker reports its count");
        assert!(placed >= 1, "every process placed at least one order");
    }
    answers
}

/// Counts the outcome in the store (and Redis): exactly 100 orders of the hot product, one
/// order per shared key named by every answer for it, nothing held, no lock key left, the
/// gate at 0.
async fn check_the_store(run: &Run, answers: &HashMap<(String, String), Vec<String>>) {
    let Run {
        strategy,
        db,
        url,
        prefix,
        product,
        repeated,
        shared,
        ..
    } = run;
    // Counted from the store.
    let orders = db.database().collection::<bson::Document>("Orders");
    let placed = orders
        .count_documents(doc! {
            "customerId": { "$exists": true },
            "lines.product_id": product.id.as_str(),
        })
        .await
        .unwrap();
    assert_eq!(placed, 100, "exactly 100 orders over {PROCESSES} processes");
    let inventory = db
        .backend()
        .inventory
        .get(&product.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!((inventory.stock, inventory.sold), (0, 100));
    assert!(inventory.reservations.is_empty(), "no hold left open");
    for (customer, key) in shared {
        let stored = db
            .backend()
            .orders
            .find_by_key(customer, key)
            .await
            .unwrap()
            .expect("the repeated key placed its order");
        let said = &answers[&(customer.to_string(), key.clone())];
        assert_eq!(
            said.len(),
            PROCESSES,
            "every process answered the shared key"
        );
        assert!(
            said.iter().all(|a| *a == stored.id.to_string()),
            "every answer for {key} is its one order: {said:?}"
        );
        let theirs = db
            .backend()
            .orders
            .list_by_customer(customer, ecom_core::page::Page::default())
            .await
            .unwrap();
        assert_eq!(theirs.len(), 1, "one order for the key");
    }
    let repeated = db
        .backend()
        .inventory
        .get(&repeated.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (repeated.stock, repeated.sold, repeated.reservations.len()),
        (1000 - SHARED_KEYS as u64, SHARED_KEYS as u64, 0),
        "repeats held nothing in the end"
    );
    let locks = tokio::task::block_in_place(|| prefix.keys("lock:*")).expect("Redis answers");
    assert!(locks.is_empty(), "lock keys left behind: {locks:?}");
    if *strategy == CheckoutStrategy::Gate {
        let gate = ecom_redis::RedisStockGate::connect(url, prefix.as_str())
            .await
            .expect("redis");
        use ecom_core::gate::StockGate;
        assert_eq!(
            gate.available(&product.id).await.expect("read"),
            Some(0),
            "the gate agrees with the store"
        );
        let later = db.backend().clock.now() + chrono::Duration::hours(1);
        assert!(
            gate.list_stale(later, 10).await.unwrap().is_empty(),
            "no admission held"
        );
    }
}
