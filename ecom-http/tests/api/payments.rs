//! The order lifecycle over HTTP, on the memory backend and on MongoDB + Redis: an online
//! order paid by a signed webhook, shipped and delivered; an online order left unpaid and
//! cancelled by the server itself; a cash order paid on delivery; webhook signatures, replays
//! and wrong amounts; the seller's order desk with two shops in one order. Every answer is
//! checked against the OpenAPI document.

use crate::support::{self, published, signup, webhook, Account, Api, Body, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The webhook secret the test servers share with their "provider".
const SECRET: &str = "whsec-test-0123456789abcdef";
/// Seconds an online order may stay unpaid on the test servers.
const TIMEOUT: u64 = 2;

fn with_payments(mut config: ecom_http::Config) -> ecom_http::Config {
    config.payment_webhook_secret = Some(SECRET.into());
    config.payment_timeout = Duration::from_secs(TIMEOUT);
    config
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn event(id: &str, kind: &str, order: &Value) -> Value {
    json!({
        "id": id, "type": kind, "order_id": order["_id"],
        "amount": order["order_payment"]["amount"], "currency": order["order_payment"]["currency"],
    })
}

async fn buy(api: &Api, user: &Account, parts: &[(&Account, &str, u32)], method: &str) -> Value {
    let shops: Vec<Value> = parts
        .iter()
        .map(|(shop, product, quantity)| {
            json!({"shopId": shop.id, "item_products": [{"productId": product, "quantity": quantity}]})
        })
        .collect();
    let body = json!({"shop_order_ids": shops, "user_address": {"street": "1 Pay St"},
        "user_payment": {"method": method}});
    api.api(Method::POST, "/checkout/order", &user.auth(), Some(body))
        .await
        .ok(201)
        .clone()
}

async fn set_status(
    api: &Api,
    shop: &Account,
    order: &Value,
    product: &str,
    status: &str,
) -> support::Answer {
    let body = json!({"orderProducts": [{"productIds": [product], "status": status}]});
    api.api(
        Method::PATCH,
        &format!("/orders/{}/status", order["_id"].as_str().unwrap()),
        &shop.auth(),
        Some(body),
    )
    .await
}

/// The shop's desk with `query`.
async fn desk(api: &Api, shop: &Account, query: &str) -> Vec<Value> {
    let answer = api
        .api(
            Method::GET,
            &format!("/shop/orders{query}"),
            &shop.auth(),
            None,
        )
        .await;
    answer.ok(200).as_array().unwrap().clone()
}

async fn customer_view(api: &Api, user: &Account, order: &Value) -> Value {
    api.api(
        Method::GET,
        &format!("/orders/{}", order["_id"].as_str().unwrap()),
        &user.auth(),
        None,
    )
    .await
    .ok(200)
    .clone()
}

/// Two shops with a product each and a customer, shared by every step of the lifecycle.
struct Shops {
    api: Api,
    shop: Account,
    other: Account,
    user: Account,
    tee: String,
    cap: String,
}

async fn lifecycle(api: Api) {
    let shop = signup(&api, "shop", "pay@shop.example").await;
    let other = signup(&api, "shop", "pay@other.example").await;
    let user = signup(&api, "user", "pay@buyer.example").await;
    let tee = published(&api, &shop, "Pay Tee", json!(10), 20).await;
    let cap = published(&api, &other, "Pay Cap", json!(10), 20).await;
    let fx = Shops {
        api,
        shop,
        other,
        user,
        tee,
        cap,
    };
    let online = online_paid_by_webhook(&fx).await;
    let unpaid = online_left_unpaid(&fx).await;
    let cod = failed_and_cash_on_delivery(&fx).await;
    order_desks(&fx, &online, &unpaid, &cod).await;
    let api = &fx.api;

    // Metrics count the payments.
    let metrics = api.call(Method::GET, "/metrics", &[], None).await.text;
    for line in [
        "ecom_payments_total{method=\"online\",outcome=\"paid\"} 2",
        "ecom_payments_total{method=\"online\",outcome=\"failed\"} 2",
        "ecom_payments_total{method=\"online\",outcome=\"refunded\"} 1",
        "ecom_payments_total{method=\"cod\",outcome=\"paid\"} 1",
        "ecom_payment_expiries_total 1",
        "ecom_refunds_requested_total 1",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    support::contract::assert_answers_follow_the_document(api).await;
}

/// Online: pending, unshippable until paid; webhooks not genuine or for the wrong amount are
/// refused; the signed webhook pays it (a replay changes nothing); shipped, delivered.
async fn online_paid_by_webhook(fx: &Shops) -> Value {
    let Shops {
        api,
        shop,
        user,
        tee,
        ..
    } = fx;
    // Online: pending, unshippable until paid; the signed webhook pays it; shipped, delivered.
    let online = buy(api, user, &[(shop, tee, 2)], "online").await;
    assert_eq!(online["order_payment"]["method"], "online");
    assert_eq!(online["order_payment"]["status"], "pending");
    assert_eq!(
        online["order_payment"]["amount"],
        json!(22.5),
        "2 x 10 + 2.50 shipping"
    );
    assert!(online["order_payment"]["expires_at"].is_string());
    set_status(api, shop, &online, tee, "confirmed")
        .await
        .ok(200);
    set_status(api, shop, &online, tee, "shipped")
        .await
        .err(409, "not paid");
    // Not genuine: refused, nothing changes.
    let paid = event("evt_pay_1", "payment.succeeded", &online);
    webhook(api, "not-the-secret-0123456789", now(), &paid)
        .await
        .err(400, "x-ecom-signature");
    webhook(api, SECRET, now() - 301, &paid)
        .await
        .err(400, "too old");
    let unsigned = api
        .call(
            Method::POST,
            "/webhooks/payments",
            &[],
            Some(Body::Raw(paid.to_string())),
        )
        .await;
    unsigned.err(400, "x-ecom-signature");
    let mut short = paid.clone();
    short["amount"] = json!(22.49);
    webhook(api, SECRET, now(), &short)
        .await
        .err(409, "does not match");
    let mut yen = paid.clone();
    yen["currency"] = json!("JPY");
    yen["amount"] = json!(22);
    webhook(api, SECRET, now(), &yen)
        .await
        .err(409, "does not match");
    assert_eq!(
        customer_view(api, user, &online).await["order_payment"]["status"],
        "pending"
    );
    // Genuine: paid; the same event again changes nothing.
    let ack = webhook(api, SECRET, now(), &paid).await;
    assert_eq!(ack.ok(200)["payment_status"], "paid");
    let before = customer_view(api, user, &online).await;
    let replay = webhook(api, SECRET, now(), &paid).await;
    assert_eq!(replay.ok(200)["payment_status"], "paid");
    assert_eq!(
        customer_view(api, user, &online).await,
        before,
        "a replay changes nothing"
    );
    assert!(before["order_payment"]["paid_at"].is_string());
    set_status(api, shop, &online, tee, "shipped").await.ok(200);
    let delivered = set_status(api, shop, &online, tee, "delivered").await;
    assert_eq!(
        delivered.ok(200)["order_payment"],
        json!({"method": "online", "status": "paid"})
    );
    online
}

/// Online, never paid: the server cancels it after the timeout and its stock returns; money
/// arriving later is refused and its refund requested.
async fn online_left_unpaid(fx: &Shops) -> Value {
    let Shops {
        api,
        shop,
        user,
        tee,
        ..
    } = fx;
    // Online, never paid: the server cancels it after the timeout; its stock returns.
    let (stock_before, _, _) = support::inventory(api, shop, tee).await;
    let unpaid = buy(api, user, &[(shop, tee, 5)], "online").await;
    assert_eq!(support::inventory(api, shop, tee).await.0, stock_before - 5);
    let mut expired = Value::Null;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        expired = customer_view(api, user, &unpaid).await;
        if expired["order_status"] == "cancelled" {
            break;
        }
    }
    assert_eq!(
        expired["order_status"], "cancelled",
        "the server expired it: {expired}"
    );
    assert_eq!(expired["order_payment"]["status"], "failed");
    let mut restocked = 0;
    for _ in 0..50 {
        restocked = support::inventory(api, shop, tee).await.0;
        if restocked == stock_before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(restocked, stock_before, "the stock came back");
    // Money arriving after that is refused, and its refund is requested.
    let late = webhook(
        api,
        SECRET,
        now(),
        &event("evt_late", "payment.succeeded", &unpaid),
    )
    .await;
    late.err(409, "cancelled before the payment arrived");
    let after = customer_view(api, user, &unpaid).await;
    assert_eq!(after["order_payment"]["status"], "paid");
    assert_eq!(after["order_payment"]["refund_requested"], true);
    let refunded = webhook(
        api,
        SECRET,
        now(),
        &event("evt_refund", "refund.succeeded", &unpaid),
    )
    .await;
    assert_eq!(refunded.ok(200)["payment_status"], "refunded");
    unpaid
}

/// payment.failed cancels at once; cash on delivery is paid when delivered; payment details
/// are never taken.
async fn failed_and_cash_on_delivery(fx: &Shops) -> Value {
    let Shops {
        api,
        shop,
        user,
        tee,
        ..
    } = fx;
    // payment.failed cancels at once.
    let failing = buy(api, user, &[(shop, tee, 1)], "online").await;
    let failed = webhook(
        api,
        SECRET,
        now(),
        &event("evt_fail", "payment.failed", &failing),
    )
    .await;
    let failed = failed.ok(200);
    assert_eq!(failed["order_status"], "cancelled");
    assert_eq!(failed["payment_status"], "failed");

    // Cash on delivery: shipped unpaid, paid when delivered.
    let cod = buy(api, user, &[(shop, tee, 1)], "cod").await;
    assert_eq!(cod["order_payment"]["status"], "pending");
    assert!(cod["order_payment"].get("expires_at").is_none());
    for status in ["confirmed", "shipped"] {
        set_status(api, shop, &cod, tee, status).await.ok(200);
    }
    let done = set_status(api, shop, &cod, tee, "delivered").await;
    assert_eq!(
        done.ok(200)["order_payment"],
        json!({"method": "cod", "status": "paid"})
    );
    // Payment details are never taken.
    let body = json!({"shop_order_ids": [{"shopId": shop.id, "item_products": [{"productId": tee, "quantity": 1}]}],
        "user_address": {}, "user_payment": {"method": "online", "card_number": "4242424242424242"}});
    api.api(Method::POST, "/checkout/order", &user.auth(), Some(body))
        .await
        .err(400, "user_payment");
    cod
}

/// Two shops in one order: each desk shows its own part only; filters and pages.
async fn order_desks(fx: &Shops, online: &Value, unpaid: &Value, cod: &Value) {
    let Shops {
        api,
        shop,
        other,
        user,
        tee,
        cap,
    } = fx;
    // Two shops in one order: each desk shows its own part only.
    let shared = buy(api, user, &[(shop, tee, 1), (other, cap, 3)], "cod").await;
    let shared_id = shared["_id"].as_str().unwrap();
    set_status(api, other, &shared, cap, "confirmed")
        .await
        .ok(200);
    let mine = desk(api, shop, "").await;
    assert_eq!(
        mine.len(),
        5,
        "every order with a line of the shop, the failed and expired too"
    );
    assert_eq!(mine[0]["_id"], shared_id, "newest first");
    for view in &mine {
        assert_eq!(view["order_products"].as_array().unwrap().len(), 1);
        assert_eq!(view["order_products"][0]["shopId"], shop.id);
        assert!(
            view["order_payment"].get("amount").is_none(),
            "no payment details"
        );
    }
    let theirs = desk(api, other, "").await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(
        theirs[0]["order_products"][0]["item_products"][0]["productId"],
        *cap
    );
    assert_eq!(
        theirs[0]["order_status"], "confirmed",
        "the other shop's roll-up"
    );
    assert_eq!(theirs[0]["order_subtotal"]["totalPrice"], json!(30.0));
    assert!(
        !serde_json::to_string(&theirs)
            .unwrap()
            .contains(tee.as_str()),
        "never the other shop's lines"
    );
    assert_eq!(desk(api, other, "?status=confirmed").await.len(), 1);
    assert_eq!(desk(api, shop, "?status=confirmed").await.len(), 0);
    let paid_desk = desk(api, shop, "?payment_status=paid").await;
    let paid_ids: Vec<&Value> = paid_desk.iter().map(|o| &o["_id"]).collect();
    assert_eq!(paid_ids, vec![&cod["_id"], &online["_id"]]);
    let refunded_desk = desk(api, shop, "?payment_status=refunded").await;
    assert_eq!(refunded_desk.len(), 1);
    assert_eq!(refunded_desk[0]["_id"], unpaid["_id"]);
    let page = desk(api, shop, "?limit=2&page=3").await;
    assert_eq!(page.len(), 1);
    assert_eq!(page[0]["_id"], online["_id"]);
    let one = api
        .api(
            Method::GET,
            &format!("/shop/orders/{shared_id}"),
            &other.auth(),
            None,
        )
        .await;
    assert_eq!(one.ok(200)["order_products"][0]["shopId"], other.id);
    let online_id = online["_id"].as_str().unwrap();
    api.api(
        Method::GET,
        &format!("/shop/orders/{online_id}"),
        &other.auth(),
        None,
    )
    .await
    .err(404, "order");
    api.api(Method::GET, "/shop/orders?status=lost", &shop.auth(), None)
        .await
        .err(400, "status");
    api.api(Method::GET, "/shop/orders", &user.auth(), None)
        .await
        .err(403, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lifecycle_on_memory() {
    let server = TestServer::start(with_payments(support::config())).await;
    lifecycle(server.api.clone()).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lifecycle_on_mongo_redis() {
    let (config, fixtures) = support::mongo_redis_config("gate").await;
    let server = TestServer::start(with_payments(config)).await;
    lifecycle(server.api.clone()).await;
    server.stop().await;
    drop(fixtures);
}
