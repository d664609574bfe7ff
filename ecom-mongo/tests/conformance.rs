//! The whole ecom-core conformance suite on MongoDB: every case on its own fresh database.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

async fn backend_factory() -> ecom_mongo::testkit::TestDatabase {
    ecom_mongo::testkit::TestDatabase::new()
        .await
        .expect("a MongoDB for tests (ECOM_TEST_MONGO_URI or secantusd-rs)")
}

ecom_core::conformance_suite!(backend_factory);
