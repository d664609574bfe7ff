//! Stock reservation throughput on the memory backend: 100 concurrent buyers of one hot
//! product against 100 buyers spread over 100 products, side by side in one run.
//!
//! Run with `cargo bench --bench reserve`.
#![allow(missing_docs)] // criterion_group! generates undocumented items
#![allow(clippy::expect_used)] // a failed setup aborts the bench

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ecom::core::id::{ProductId, ShopId};
use ecom::core::inventory::Inventory;
use ecom::{memory, Backend};
use futures::future::join_all;

const BUYERS: usize = 100;

async fn inventories(backend: &Backend, count: usize) -> Vec<ProductId> {
    let mut ids = Vec::with_capacity(count);
    for _ in 0..count {
        let now = backend.clock.now();
        let inventory = Inventory {
            product_id: ProductId::generate(),
            shop_id: ShopId::generate(),
            location: String::new(),
            stock: u64::MAX / 2,
            sold: 0,
            reservations: Vec::new(),
            created_at: now,
            updated_at: now,
        };
        backend.inventory.insert(&inventory).await.expect("insert");
        ids.push(inventory.product_id);
    }
    ids
}

fn reserve(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("reserve");
    group.throughput(Throughput::Elements(BUYERS as u64));
    for products in [1, BUYERS] {
        group.bench_with_input(
            BenchmarkId::new("products", products),
            &products,
            |b, &products| {
                b.to_async(&runtime).iter_custom(|iters| async move {
                    let backend = memory::backend();
                    let ids = inventories(&backend, products).await;
                    let start = std::time::Instant::now();
                    for round in 0..iters {
                        let tasks = (0..BUYERS).map(|i| {
                            let backend = backend.clone();
                            let id = ids[i % ids.len()].clone();
                            tokio::spawn(async move {
                                let hold = ecom::core::inventory::Reservation {
                                    id: format!("{round}-{i}"),
                                    order_id: ecom::core::id::OrderId::generate(),
                                    quantity: 1,
                                    created_at: backend.clock.now(),
                                };
                                backend.inventory.reserve(&id, &[hold]).await
                            })
                        });
                        for r in join_all(tasks).await {
                            r.expect("task").expect("reserved");
                        }
                    }
                    start.elapsed()
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, reserve);
criterion_main!(benches);
