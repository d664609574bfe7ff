//! What only the MongoDB adapter has: its indexes (partial unique ones included), its error
//! mapping, and its storage format.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use bson::{doc, Bson, Document};
use ecom_core::cart::CartLine;
use ecom_core::id::{CustomerId, OrderId, ProductId, ShopId};
use ecom_core::testkit::discounts::discount;
use ecom_core::{Currency, Error, Money};
use ecom_mongo::testkit::TestDatabase;
use std::time::Instant;

async fn fixture() -> TestDatabase {
    TestDatabase::new().await.expect("a MongoDB for tests")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensure_indexes_is_idempotent() {
    let t = fixture().await;
    ecom_mongo::ensure_indexes(t.database()).await.unwrap();
    ecom_mongo::ensure_indexes(t.database()).await.unwrap();
    let names: Vec<String> = t
        .database()
        .collection::<Document>("Discounts")
        .list_index_names()
        .await
        .unwrap();
    assert!(
        names.contains(&"shop_active_code_unique".to_owned()),
        "{names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_are_unique_only_among_active_discounts() {
    let t = fixture().await;
    let backend = t.backend();
    let shop = ShopId::generate();
    let mut retired = discount(backend, &shop, "REUSE", 1, 1);
    retired.is_active = false;
    backend.discounts.insert(&retired).await.unwrap();
    let mut also_retired = discount(backend, &shop, "REUSE", 1, 1);
    also_retired.is_active = false;
    backend.discounts.insert(&also_retired).await.unwrap();
    let live = discount(backend, &shop, "REUSE", 1, 1);
    backend.discounts.insert(&live).await.unwrap();
    match backend
        .discounts
        .insert(&discount(backend, &shop, "REUSE", 1, 1))
        .await
    {
        Err(e @ Error::AlreadyExists { entity }) => {
            assert_eq!(entity, "discount code");
            assert_eq!(
                e.to_string(),
                "an active discount code with this code already exists in the shop"
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let found = backend
        .discounts
        .find_active_by_code(&shop, "REUSE")
        .await
        .unwrap();
    assert_eq!(found.map(|d| d.id), Some(live.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_active_cart_per_customer_but_any_number_of_old_ones() {
    let t = fixture().await;
    let backend = t.backend();
    let customer = CustomerId::generate();
    let carts = t.database().collection::<Document>("Carts");
    for id in ["old-1", "old-2"] {
        carts
            .insert_one(doc! { "_id": id, "customerId": customer.as_str(), "state": "completed", "lines": [] })
            .await
            .unwrap();
    }
    let line = CartLine {
        model_id: None,
        model_name: None,
        product_id: ProductId::generate(),
        shop_id: ShopId::generate(),
        quantity: 2,
        name: "Thing".into(),
        price: Money::new(250, Currency::USD),
    };
    let cart = backend
        .carts
        .add_line(&customer, &line, 10, backend.clock.now())
        .await
        .unwrap();
    assert_eq!(cart.lines, vec![line]);
    let second_active = carts
        .insert_one(
            doc! { "_id": "dup", "customerId": customer.as_str(), "state": "active", "lines": [] },
        )
        .await;
    assert!(second_active.is_err(), "a second active cart is refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_use_string_ids_integer_money_and_exact_times() {
    let t = fixture().await;
    let backend = t.backend();
    let shop = ShopId::generate();
    let d = discount(backend, &shop, "SHAPE", 3, 1);
    backend.discounts.insert(&d).await.unwrap();
    let raw = t
        .database()
        .collection::<Document>("Discounts")
        .find_one(doc! { "_id": d.id.as_str() })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raw.get("_id"), Some(&Bson::String(d.id.to_string())));
    let min = raw.get_document("minOrderValue").unwrap();
    assert_eq!(min.get("minor"), Some(&Bson::Int64(0)));
    assert_eq!(min.get("currency"), Some(&Bson::String("USD".into())));
    assert_eq!(raw.get("uses"), Some(&Bson::Int64(0)));
    assert_eq!(raw.get("left"), Some(&Bson::Int64(3)));
    // Nanoseconds survive (BSON dates would keep only milliseconds).
    let stored = backend.discounts.get(&d.id).await.unwrap().unwrap();
    assert_eq!(stored.created_at, d.created_at);
    assert_eq!(stored, d);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_documents_stay_small_and_counters_stay_in_step() {
    let t = fixture().await;
    let backend = t.backend();
    let d = discount(backend, &ShopId::generate(), "COUNT", 1000, 2);
    backend.discounts.insert(&d).await.unwrap();
    let alice = CustomerId::generate();
    let redemption = |customer: &CustomerId| {
        let order_id = OrderId::generate();
        ecom_core::discount::Redemption {
            id: order_id.to_string(),
            order_id,
            customer_id: customer.clone(),
            at: backend.clock.now(),
        }
    };
    let (a, b, c) = (redemption(&alice), redemption(&alice), redemption(&alice));
    backend.discounts.redeem(&d.id, &a).await.unwrap();
    backend.discounts.redeem(&d.id, &b).await.unwrap();
    assert!(matches!(
        backend.discounts.redeem(&d.id, &c).await,
        Err(Error::DiscountNotApplicable(_))
    ));
    assert!(backend.discounts.release(&d.id, &a).await.unwrap());
    backend.discounts.redeem(&d.id, &c).await.unwrap();
    // Settled uses leave the code's document; 200 more customers do not grow it.
    backend.discounts.settle(&d.id, &b).await.unwrap();
    backend.discounts.settle(&d.id, &c).await.unwrap();
    for _ in 0..200 {
        let u = redemption(&CustomerId::generate());
        backend.discounts.redeem(&d.id, &u).await.unwrap();
        backend.discounts.settle(&d.id, &u).await.unwrap();
    }
    let raw = t
        .database()
        .collection::<Document>("Discounts")
        .find_one(doc! { "_id": d.id.as_str() })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raw.get("uses"), Some(&Bson::Int64(202)));
    assert_eq!(raw.get("left"), Some(&Bson::Int64(798)));
    assert_eq!(raw.get_array("open").unwrap().len(), 0);
    assert!(
        bson::to_vec(&raw).unwrap().len() < 2048,
        "the code's document stays small"
    );
    let mine = t
        .database()
        .collection::<Document>("DiscountUses")
        .find_one(doc! { "_id": format!("{}:{}", d.id, alice) })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        mine.get_array("orders").unwrap(),
        &vec![
            Bson::String(b.order_id.to_string()),
            Bson::String(c.order_id.to_string())
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_unavailable_without_driver_text() {
    // Port 9 (discard) on loopback: nothing listens there.
    let started = Instant::now();
    let result = ecom_mongo::connect(
        "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300&connectTimeoutMS=300",
        "ecom_unreachable",
    )
    .await;
    match result {
        Err(Error::Unavailable(message)) => {
            assert_eq!(message, "the database is unavailable");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(started.elapsed().as_secs() < 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_json_with_operator_like_keys_round_trips() {
    let t = fixture().await;
    let backend = t.backend();
    let mut placed = ecom_core::testkit::orders::order(backend, &CustomerId::generate(), 0);
    placed.shipping = serde_json::json!({
        "$where": "sleep(1000)",
        "street.name": "Main",
        "nested": {"$gt": "", "list": [1, 2.5, "x", null, {"$ne": 1}]},
        "big": 9_007_199_254_740_993_u64,
    });
    backend.orders.insert(&placed, &[]).await.unwrap();
    assert_eq!(backend.orders.get(&placed.id).await.unwrap(), Some(placed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fixture_has_its_own_database_and_drops_it() {
    let a = fixture().await;
    let b = fixture().await;
    assert_ne!(a.database().name(), b.database().name());
    let name = a.database().name().to_owned();
    a.database()
        .collection::<Document>("Probe")
        .insert_one(doc! { "x": 1 })
        .await
        .unwrap();
    let client = mongodb::Client::with_uri_str(a.uri()).await.unwrap();
    assert!(client.list_database_names().await.unwrap().contains(&name));
    drop(a);
    assert!(!client.list_database_names().await.unwrap().contains(&name));
}

/// An adjustment whose copy into `StockAdjustments` never happened (the process died after the
/// stock write) stays in its stock document's journal: a listing copies it, a retry of its id
/// finds it and applies nothing, and text that looks like a field path is stored as text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adjustment_left_in_the_journal_is_listed_and_applied_once() {
    use ecom_core::id::AdjustmentId;
    use ecom_core::inventory::{Inventory, NewAdjustment, StockChange};
    use ecom_core::page::Page;

    let t = fixture().await;
    let backend = t.backend();
    let now = backend.clock.now();
    let product = ProductId::generate();
    let shop = ShopId::generate();
    backend
        .inventory
        .insert(&Inventory {
            model_of: None,
            product_id: product.clone(),
            shop_id: shop.clone(),
            location: "Hanoi".into(),
            stock: 10,
            sold: 0,
            damaged: 0,
            reservations: Vec::new(),
            retired: false,
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
    let new = |change| NewAdjustment {
        id: AdjustmentId::generate(),
        product_id: product.clone(),
        model_id: None,
        change,
        reason: "$stock".into(),
        by: shop.clone(),
        at: now,
    };
    let history = t.database().collection::<Document>("StockAdjustments");
    let inventories = t.database().collection::<Document>("Inventories");
    // Puts a recorded adjustment back into the journal, as if its copy had never happened.
    let uncopy = |id: AdjustmentId| {
        let (history, inventories, product) =
            (history.clone(), inventories.clone(), product.clone());
        async move {
            let mut record = history
                .find_one_and_delete(doc! { "_id": id.as_str() })
                .await
                .unwrap()
                .expect("the adjustment is in the history");
            record.remove("_id");
            record.remove("productId");
            record.insert("id", id.as_str());
            inventories
                .update_one(
                    doc! { "_id": product.as_str() },
                    doc! { "$push": { "adjusting": record } },
                )
                .await
                .unwrap();
        }
    };
    let journal = || {
        let (inventories, product) = (inventories.clone(), product.clone());
        async move {
            let stock = inventories
                .find_one(doc! { "_id": product.as_str() })
                .await
                .unwrap()
                .unwrap();
            stock.get_array("adjusting").map_or(0, Vec::len)
        }
    };

    let first = new(StockChange::Delta(5));
    let applied = backend.inventory.adjust(&first).await.unwrap();
    assert_eq!(applied.adjustment.reason, "$stock", "a `$` reason is text");
    assert_eq!(
        (applied.adjustment.stock_after, applied.inventory.stock),
        (15, 15)
    );
    uncopy(first.id.clone()).await;
    assert_eq!(journal().await, 1);
    let again = backend.inventory.adjust(&first).await.unwrap();
    assert_eq!(again.adjustment, applied.adjustment);
    assert_eq!(again.inventory.stock, 15, "a retry applies nothing");
    assert_eq!(journal().await, 0, "the retry copied the journal");
    assert_eq!(history.count_documents(doc! {}).await.unwrap(), 1);

    let second = new(StockChange::Set(4));
    let set = backend.inventory.adjust(&second).await.unwrap();
    assert_eq!((set.adjustment.delta, set.adjustment.stock_after), (-11, 4));
    uncopy(second.id.clone()).await;
    let listed = backend
        .inventory
        .adjustments(&product, Page::default())
        .await
        .unwrap();
    let ids: Vec<&AdjustmentId> = listed.iter().map(|a| &a.id).collect();
    assert_eq!(ids, [&second.id, &first.id], "listed, newest first");
    assert_eq!(listed[0], set.adjustment);
    assert_eq!(journal().await, 0, "the listing copied the journal");
    let stored = history
        .find_one(doc! { "_id": second.id.as_str() })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.get_str("reason").unwrap(), "$stock");
    assert_eq!(stored.get_i64("seq").unwrap(), 2);
    assert_eq!(
        backend
            .inventory
            .get(&product)
            .await
            .unwrap()
            .unwrap()
            .stock,
        4
    );
}
