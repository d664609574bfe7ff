//! Stock reservations in process on the memory backend: 64 tasks reserving one unit at a time
//! on one hot product, against 64 tasks spread over 64 products, side by side in one run.
//!
//! Run with `cargo bench --bench reserve`.
#![allow(missing_docs)] // criterion_group! generates undocumented items
#![allow(clippy::expect_used)] // a failed setup aborts the bench

/// The allocator `ecom-server` runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ecom::core::id::{OrderId, ProductId, ShopId};
use ecom::core::inventory::{Inventory, Reservation};
use ecom::{memory, Backend};
use futures::future::join_all;

const TASKS: usize = 64;
const PER_TASK: usize = 200;

async fn inventories(backend: &Backend, count: usize) -> Vec<ProductId> {
    let mut ids = Vec::with_capacity(count);
    for _ in 0..count {
        let now = backend.clock.now();
        let inventory = Inventory {
            product_id: ProductId::generate(),
            model_of: None,
            shop_id: ShopId::generate(),
            location: String::new(),
            stock: u64::MAX / 2,
            sold: 0,
            damaged: 0,
            reservations: Vec::new(),
            retired: false,
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
    group.throughput(Throughput::Elements((TASKS * PER_TASK) as u64));
    for products in [1, TASKS] {
        group.bench_with_input(
            BenchmarkId::new("products", products),
            &products,
            |b, &products| {
                b.to_async(&runtime).iter_custom(|iters| async move {
                    let mut elapsed = std::time::Duration::ZERO;
                    for _ in 0..iters {
                        // A fresh backend per round: the holds of earlier rounds stay open.
                        let backend = memory::backend();
                        let ids = inventories(&backend, products).await;
                        let now = backend.clock.now();
                        let holds: Vec<Vec<Reservation>> = (0..TASKS)
                            .map(|_| {
                                (0..PER_TASK)
                                    .map(|_| {
                                        let order_id = OrderId::generate();
                                        Reservation {
                                            id: order_id.to_string(),
                                            order_id,
                                            quantity: 1,
                                            created_at: now,
                                        }
                                    })
                                    .collect()
                            })
                            .collect();
                        let start = std::time::Instant::now();
                        let tasks = holds.into_iter().enumerate().map(|(t, holds)| {
                            let backend = backend.clone();
                            let id = ids[t % ids.len()].clone();
                            tokio::spawn(async move {
                                for hold in holds {
                                    backend
                                        .inventory
                                        .reserve(&id, std::slice::from_ref(&hold))
                                        .await
                                        .expect("reserved");
                                }
                            })
                        });
                        for task in join_all(tasks).await {
                            task.expect("task");
                        }
                        elapsed += start.elapsed();
                    }
                    elapsed
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, reserve);
criterion_main!(benches);
