//! Data survives a restart of the server process: everything written before a clean stop reads
//! back, equal, from a new process on the same storage directory. Always uses `secantusd-rs`
//! (an external `ECOM_TEST_MONGO_URI` server cannot be restarted from here).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use ecom_core::account::AccountKind;
use ecom_core::api_key::Permission;
use ecom_core::id::SessionId;
use ecom_core::key_store::KeyStore;
use ecom_core::testkit::{self, discounts::discount, orders::order};
use ecom_core::{Backend, Error, Secret};
use ecom_mongo::testkit::MongoServer;
use std::path::PathBuf;

async fn start(storage: PathBuf) -> MongoServer {
    tokio::task::spawn_blocking(move || MongoServer::start(storage))
        .await
        .unwrap()
        .expect("secantusd-rs starts")
}

async fn stop(server: MongoServer) {
    tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap()
        .expect("secantusd-rs stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("data");
    let server = start(storage.clone()).await;
    let backend: Backend = ecom_mongo::connect(&server.uri(), "ecom_restart")
        .await
        .unwrap();
    let ecom = testkit::ecom(&backend);

    // One of everything.
    let (shop, _) = testkit::shop(&ecom).await;
    let session = KeyStore {
        id: SessionId::generate(),
        account_id: shop.clone().into(),
        kind: AccountKind::Shop,
        salt: Secret::random(),
        refresh_jti: "jti-1".into(),
        used_refresh_jtis: vec!["jti-0".into()],
        created_at: backend.clock.now(),
        expires_at: backend.clock.now() + chrono::Duration::days(7),
    };
    backend.key_stores.insert(&session).await.unwrap();
    let (customer, _) = testkit::customer(&ecom).await;
    let product = testkit::published_product(&ecom, &shop, "12.34", 7).await;
    let now = backend.clock.now();
    let held = ecom_core::testkit::inventory::hold(&backend, 2);
    backend
        .inventory
        .reserve(&product.id, std::slice::from_ref(&held))
        .await
        .unwrap();
    let key = ecom.api_keys.create(vec![Permission::P0000]).await.unwrap();
    let code = discount(&backend, &shop, "RESTART", 5, 1);
    backend.discounts.insert(&code).await.unwrap();
    let redemption = ecom_core::testkit::discounts::redemption(&backend, &customer);
    backend
        .discounts
        .redeem(&code.id, &redemption)
        .await
        .unwrap();
    let line = ecom_core::cart::CartLine {
        model_id: None,
        model_name: None,
        product_id: product.id.clone(),
        shop_id: shop.clone(),
        quantity: 3,
        name: product.name.clone(),
        price: product.price,
    };
    let cart = backend
        .carts
        .add_line(&customer, &line, 100, now)
        .await
        .unwrap();
    let placed = order(&backend, &customer, 0);
    backend.orders.insert(&placed, &[]).await.unwrap();

    let before = (
        backend
            .accounts
            .get(AccountKind::Shop, &shop.clone().into())
            .await
            .unwrap(),
        backend.key_stores.get(&session.id).await.unwrap(),
        backend
            .api_keys
            .find_by_hash(&key.record.key_hash)
            .await
            .unwrap(),
        backend.products.get(&product.id).await.unwrap(),
        backend.inventory.get(&product.id).await.unwrap(),
        backend.discounts.get(&code.id).await.unwrap(),
        backend.orders.get(&placed.id).await.unwrap(),
    );
    assert!(before.0.is_some() && before.1.is_some() && before.2.is_some());
    assert!(before.3.is_some() && before.4.is_some() && before.5.is_some() && before.6.is_some());
    drop(backend);
    stop(server).await;

    let server = start(storage).await;
    let backend = ecom_mongo::connect(&server.uri(), "ecom_restart")
        .await
        .unwrap();
    let after = (
        backend
            .accounts
            .get(AccountKind::Shop, &shop.clone().into())
            .await
            .unwrap(),
        backend.key_stores.get(&session.id).await.unwrap(),
        backend
            .api_keys
            .find_by_hash(&key.record.key_hash)
            .await
            .unwrap(),
        backend.products.get(&product.id).await.unwrap(),
        backend.inventory.get(&product.id).await.unwrap(),
        backend.discounts.get(&code.id).await.unwrap(),
        backend.orders.get(&placed.id).await.unwrap(),
    );
    assert_eq!(after, before);
    let inventory = after.4.unwrap();
    assert_eq!((inventory.stock, inventory.reserved()), (5, 2));
    assert_eq!(after.5.unwrap().open, vec![redemption.clone()]);
    assert_eq!(
        backend
            .discounts
            .uses_by(&code.id, &customer)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        backend.carts.get_active(&customer).await.unwrap(),
        Some(cart)
    );
    // The unique indexes came back too.
    assert!(matches!(
        backend
            .discounts
            .insert(&discount(&backend, &shop, "RESTART", 1, 1))
            .await,
        Err(Error::AlreadyExists { .. })
    ));
    stop(server).await;
}
