//! Checkout throughput on the memory backend, the three strategies side by side in one run:
//! 100 concurrent buyers of one hot product per iteration (stock never runs out).
//!
//! Run with `cargo bench --bench checkout`.
#![allow(missing_docs)] // criterion_group! generates undocumented items
#![allow(clippy::expect_used)] // a failed setup aborts the bench

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ecom::core::id::CustomerId;
use ecom::core::service::CheckoutStrategy;
use ecom::core::testkit::checkout::{ecom_with, place, request};
use ecom::core::testkit::{published_product, shop};
use ecom::memory;
use futures::future::join_all;

const BUYERS: usize = 100;

fn checkout(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("checkout");
    group.throughput(Throughput::Elements(BUYERS as u64));
    for (name, strategy) in CheckoutStrategy::ALL {
        group.bench_with_input(
            BenchmarkId::new("strategy", name),
            strategy,
            |b, &strategy| {
                b.to_async(&runtime).iter_custom(|iters| async move {
                    let ecom = ecom_with(&memory::backend(), strategy);
                    let (shop_id, _) = shop(&ecom).await;
                    let product = published_product(&ecom, &shop_id, "1.00", 1_000_000).await;
                    let req = request(&shop_id, &[(&product, 1)], None);
                    let start = std::time::Instant::now();
                    for _ in 0..iters {
                        let tasks = (0..BUYERS).map(|_| {
                            let ecom = ecom.clone();
                            let input = place(req.clone(), None);
                            tokio::spawn(async move {
                                ecom.checkout
                                    .place_order(&CustomerId::generate(), input)
                                    .await
                            })
                        });
                        for r in join_all(tasks).await {
                            r.expect("task").expect("order placed");
                        }
                    }
                    start.elapsed()
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, checkout);
criterion_main!(benches);
