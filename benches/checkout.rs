//! Complete checkouts in process on the memory backend, 64 tasks on one hot product, the
//! strategies side by side in one run (and atomic without group commit, to show what it buys).
//! Each task places its orders one after another; stock never runs out.
//!
//! Run with `cargo bench --bench checkout`.
#![allow(missing_docs)] // criterion_group! generates undocumented items
#![allow(clippy::expect_used)] // a failed setup aborts the bench

/// The allocator `ecom-server` runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ecom::core::id::CustomerId;
use ecom::core::service::{CheckoutStrategy, Ecom};
use ecom::core::testkit::checkout::{ecom_with, place, request};
use ecom::core::testkit::{published_product, shop};
use ecom::memory;
use futures::future::join_all;

const TASKS: usize = 64;
const ORDERS_PER_TASK: usize = 20;

fn variants() -> Vec<(&'static str, CheckoutStrategy, bool)> {
    vec![
        ("atomic", CheckoutStrategy::Atomic, true),
        (
            "atomic_without_group_commit",
            CheckoutStrategy::Atomic,
            false,
        ),
        ("gate", CheckoutStrategy::Gate, true),
        ("lock_then_reserve", CheckoutStrategy::LockThenReserve, true),
    ]
}

fn services(strategy: CheckoutStrategy, group_commit: bool) -> Ecom {
    let ecom = ecom_with(&memory::backend(), strategy);
    let mut config = ecom.config().clone();
    config.group_commit = group_commit;
    Ecom::new(ecom.backend().clone(), config)
}

fn checkout(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("checkout");
    group.throughput(Throughput::Elements((TASKS * ORDERS_PER_TASK) as u64));
    for (name, strategy, group_commit) in variants() {
        group.bench_function(BenchmarkId::new("hot_product", name), |b| {
            b.to_async(&runtime).iter_custom(|iters| async move {
                let ecom = services(strategy, group_commit);
                let (shop_id, _) = shop(&ecom).await;
                let product = published_product(&ecom, &shop_id, "1.00", 1_000_000).await;
                let req = request(&shop_id, &[(&product, 1)], None);
                let mut elapsed = std::time::Duration::ZERO;
                for _ in 0..iters {
                    let start = std::time::Instant::now();
                    let tasks = (0..TASKS).map(|_| {
                        let (ecom, req) = (ecom.clone(), req.clone());
                        tokio::spawn(async move {
                            for _ in 0..ORDERS_PER_TASK {
                                ecom.checkout
                                    .place_order(&CustomerId::generate(), place(req.clone(), None))
                                    .await
                                    .expect("order placed");
                            }
                        })
                    });
                    for task in join_all(tasks).await {
                        task.expect("task");
                    }
                    elapsed += start.elapsed();
                    ecom.checkout.flush().await;
                }
                elapsed
            });
        });
    }
    group.finish();
}

criterion_group!(benches, checkout);
criterion_main!(benches);
