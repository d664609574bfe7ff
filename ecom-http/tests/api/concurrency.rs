//! 500 concurrent HTTP orders against a stock of 100 through one server on MongoDB + Redis
//! with `lock_then_reserve` and with `gate`: exactly 100 orders, 400 refusals, stock 0.

use crate::support::{self, create_product, signup, tee, Account, TestServer, KEY};
use futures::StreamExt;
use reqwest::Method;
use serde_json::json;

const ORDERS: usize = 500;
const STOCK: u64 = 100;
const CUSTOMERS: usize = 8;
/// Requests in flight at once (the client's pool keeps at most this many connections busy).
const IN_FLIGHT: usize = 64;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_orders_against_stock_100_sell_exactly_100_with_the_redis_lock() {
    sell_exactly_the_stock("lock_then_reserve").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_orders_against_stock_100_sell_exactly_100_through_the_redis_gate() {
    sell_exactly_the_stock("gate").await;
}

async fn sell_exactly_the_stock(strategy: &str) {
    let (config, fixtures) = support::mongo_redis_config(strategy).await;
    let server = TestServer::start(config).await;
    let shop = signup(&server, "shop", "seller@rush.example").await;
    let mut body = tee("Limited Tee", json!(25));
    body["product_quantity"] = json!(STOCK);
    let product = create_product(&server, &shop, body).await;
    server
        .api(
            Method::POST,
            &format!("/products/publish/{product}"),
            &shop.auth(),
            None,
        )
        .await
        .ok(200);
    let emails: Vec<String> = (0..CUSTOMERS)
        .map(|i| format!("buyer{i}@rush.example"))
        .collect();
    let customers: Vec<Account> =
        futures::future::join_all(emails.iter().map(|email| signup(&server, "user", email))).await;

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(IN_FLIGHT)
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap();
    let url = server.url("/v1/api/checkout/order");
    let order = json!({
        "shop_order_ids": [{"shopId": shop.id, "item_products": [{"productId": product, "quantity": 1}]}],
        "user_address": {"street": "1 Main St"},
        "user_payment": {"method": "cod"}
    });
    let started = std::time::Instant::now();
    let statuses: Vec<u16> = futures::stream::iter(0..ORDERS)
        .map(|i| {
            let customer = &customers[i % CUSTOMERS];
            let request = client
                .post(&url)
                .header("x-api-key", KEY)
                .header("x-client-id", &customer.id)
                .header("authorization", &customer.access)
                .json(&order);
            async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let body: serde_json::Value = response.json().await.unwrap();
                match status {
                    201 => assert_eq!(body["metadata"]["order_status"], "pending"),
                    409 => assert!(
                        body["message"]
                            .as_str()
                            .unwrap()
                            .contains("insufficient stock"),
                        "{body}"
                    ),
                    other => panic!("unexpected {other}: {body}"),
                }
                status
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let placed = statuses.iter().filter(|s| **s == 201).count();
    let refused = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((placed, refused), (100, ORDERS - 100), "in {elapsed:?}");

    // Stock 0, 100 units sold (or, for a moment, still held by the placed orders), and
    // exactly 100 orders exist.
    let (stock, sold, held) = support::inventory(&server, &shop, &product).await;
    assert_eq!(stock, 0);
    let sold = sold + held;
    assert_eq!(sold, STOCK);
    let mut orders = 0;
    for customer in &customers {
        let answer = server
            .api(Method::GET, "/orders?limit=100", &customer.auth(), None)
            .await;
        orders += answer.ok(200).as_array().unwrap().len();
    }
    assert_eq!(orders, 100);

    // Each server has its own registry, so the counters are exact.
    let metrics = server.call(Method::GET, "/metrics", &[], None).await.text;
    for line in [
        "ecom_checkouts_placed_total 100",
        "ecom_checkouts_rejected_total{reason=\"out_of_stock\"} 400",
        "ecom_oversell_guard_rejections_total 400",
        "ecom_checkouts_rejected_total{reason=\"busy\"} 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line}\n{metrics}");
    }
    server.stop().await;
    drop(fixtures);
}
