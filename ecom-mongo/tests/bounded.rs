//! Stock and code records stay small whatever the sales: after 10,000 orders of one product
//! with one code (each by its own customer), the product's stock document and the code's
//! document are each under 64 KiB — they hold only open holds, none once everything settled.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use bson::{doc, Document};
use ecom_core::service::CheckoutStrategy;
use ecom_core::testkit::checkout::{create_code, ecom_with, place_many, request};
use ecom_core::testkit::{published_product, shop};
use ecom_mongo::testkit::TestDatabase;

const ORDERS: usize = 10_000;
const TASKS: usize = 64;
const LIMIT: usize = 64 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_orders_leave_small_records() {
    let db = TestDatabase::new().await.expect("a MongoDB");
    let ecom = ecom_with(db.backend(), CheckoutStrategy::Atomic);
    let (shop_id, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop_id, "1.00", 1_000_000).await;
    create_code(&ecom, &shop_id, "MANY", 1_000_000, 1).await;
    let req = request(&shop_id, &[(&product, 1)], Some("MANY"));
    place_many(&ecom, &req, ORDERS, TASKS).await;

    let size = |collection: &str, id: String| {
        let db = db.database().clone();
        let collection = collection.to_owned();
        async move {
            let raw = db
                .collection::<Document>(&collection)
                .find_one(doc! { "_id": id })
                .await
                .unwrap()
                .unwrap();
            bson::to_vec(&raw).unwrap().len()
        }
    };
    let stock = size("Inventories", product.id.to_string()).await;
    let code = db
        .backend()
        .discounts
        .find_active_by_code(&shop_id, "MANY")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(code.uses_count() as usize, ORDERS);
    let code_size = size("Discounts", code.id.to_string()).await;
    assert!(stock < LIMIT, "the stock document is {stock} bytes");
    assert!(code_size < LIMIT, "the code document is {code_size} bytes");
    let inventory = db
        .backend()
        .inventory
        .get(&product.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inventory.sold as usize, ORDERS);
    assert!(inventory.reservations.is_empty());
    println!(
        "after {ORDERS} orders: stock document {stock} bytes, code document {code_size} bytes"
    );
}
