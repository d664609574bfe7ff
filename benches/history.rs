//! An order's cost does not depend on history: one order (with a code) for a product and code
//! that have barely been used, side by side with one for a product with 100,000 earlier sales
//! and a code used 100,000 times. On the memory backend always; on MongoDB too when
//! `ECOM_BENCH_MONGO_URI` names one (a fresh database is used and dropped).
//!
//! Run with `cargo bench --bench history` (`ECOM_BENCH_HISTORY` sets the number of earlier
//! sales, default 100,000).
#![allow(missing_docs)] // criterion_group! generates undocumented items
#![allow(clippy::expect_used)] // a failed setup aborts the bench

/// The allocator `ecom-server` runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ecom::core::id::{CustomerId, ShopId};
use ecom::core::product::Product;
use ecom::core::service::{CheckoutStrategy, Ecom};
use ecom::core::testkit::checkout::{create_code, ecom_with, place, place_many, request};
use ecom::core::testkit::{published_product, shop};
use ecom::{memory, Backend};
use ecom_mongo::testkit::TestDatabase;

const TASKS: usize = 64;

fn history_size() -> usize {
    std::env::var("ECOM_BENCH_HISTORY")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000)
}

/// A product and its code, `sales` orders into their history.
async fn with_history(ecom: &Ecom, shop_id: &ShopId, code: &str, sales: usize) -> Product {
    let product = published_product(ecom, shop_id, "1.00", 1_000_000).await;
    create_code(ecom, shop_id, code, 10_000_000, 1).await;
    let req = request(shop_id, &[(&product, 1)], Some(code));
    place_many(ecom, &req, sales, TASKS).await;
    product
}

/// The backends to compare on; the MongoDB one (a fresh database, dropped afterwards) when
/// `ECOM_BENCH_MONGO_URI` is set.
fn backends(
    runtime: &tokio::runtime::Runtime,
) -> (Vec<(&'static str, Backend)>, Option<TestDatabase>) {
    let mut out = vec![("memory", memory::backend())];
    let db = std::env::var("ECOM_BENCH_MONGO_URI")
        .ok()
        .filter(|u| !u.is_empty())
        .map(|uri| {
            runtime
                .block_on(TestDatabase::on(&uri))
                .expect("MongoDB at ECOM_BENCH_MONGO_URI")
        });
    if let Some(db) = &db {
        out.push(("mongo", db.backend().clone()));
    }
    (out, db)
}

fn history(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sales = history_size();
    let mut group = c.benchmark_group("history");
    let (backends, _db) = backends(&runtime);
    for (name, backend) in backends {
        let ecom = ecom_with(&backend, CheckoutStrategy::Atomic);
        let (shop_id, fresh, old) = runtime.block_on(async {
            let (shop_id, _) = shop(&ecom).await;
            let fresh = with_history(&ecom, &shop_id, "FRESH", 0).await;
            let old = with_history(&ecom, &shop_id, "OLD", sales).await;
            (shop_id, fresh, old)
        });
        for (label, product, code) in [
            ("first_orders", &fresh, "FRESH"),
            ("after_history", &old, "OLD"),
        ] {
            let req = request(&shop_id, &[(product, 1)], Some(code));
            group.bench_function(BenchmarkId::new(name, label), |b| {
                b.to_async(&runtime).iter(|| {
                    let (ecom, req) = (ecom.clone(), req.clone());
                    async move {
                        ecom.checkout
                            .place_order(&CustomerId::generate(), place(req, None))
                            .await
                            .expect("order placed")
                    }
                });
            });
        }
        runtime.block_on(ecom.checkout.flush());
    }
    group.finish();
}

criterion_group!(benches, history);
criterion_main!(benches);
