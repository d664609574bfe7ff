//! Holes found from outside, closed: payment callbacks that cost one signature's work however
//! many they carry and whose time cannot wrap; rate limits nobody can turn against someone
//! else's account; a customer's token on a public product page; a money limit shared by
//! checkout and callbacks; refunds of live orders; metrics whose labels clients cannot grow.
//! Each test talks to a real server over a socket, from several loopback addresses where the
//! client's address matters.

use crate::support::{self, published, signup, Account, Api, Body, TestServer};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SECRET: &str = "whsec-holes-0123456789abcdef";

fn paying() -> ecom_http::Config {
    let mut config = support::config();
    config.payment_webhook_secret = Some(SECRET.into());
    config
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn sign(t: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

async fn callback(api: &Api, header: &str, body: &str) -> support::Answer {
    api.call(
        Method::POST,
        "/webhooks/payments",
        &[("x-ecom-signature", header)],
        Some(Body::Raw(body.to_owned())),
    )
    .await
}

/// A client of `api`'s server whose connections come from `addr` (a loopback address).
fn from(api: &Api, addr: [u8; 4]) -> Api {
    Api {
        client: reqwest::Client::builder()
            .local_address(IpAddr::from(addr))
            .build()
            .unwrap(),
        exchanges: Default::default(),
        ..api.clone()
    }
}

/// Places an order of `quantity` units of `product`; returns the answer.
async fn order(
    api: &Api,
    user: &Account,
    shop: &Account,
    product: &str,
    quantity: u32,
    method: &str,
) -> support::Answer {
    let body = json!({
        "shop_order_ids": [{"shopId": shop.id, "item_products": [{"productId": product, "quantity": quantity}]}],
        "user_address": {"city": "Hanoi"}, "user_payment": {"method": method},
    });
    api.api(Method::POST, "/checkout/order", &user.auth(), Some(body))
        .await
}

fn event(id: &str, kind: &str, order: &Value) -> String {
    json!({
        "id": id, "type": kind, "order_id": order["_id"],
        "amount": order["order_payment"]["amount"], "currency": order["order_payment"]["currency"],
    })
    .to_string()
}

/// A header of 5,000 `v1` entries over a 100 KB body is refused (400), and costs the server no
/// more than a header with one wrong signature over the same body; a genuine signature at a
/// time that would wrap a subtraction is refused too.
#[tokio::test]
async fn callback_signatures_cost_one_mac_and_times_cannot_wrap() {
    let server = TestServer::start(paying()).await;
    let body = format!("{{\"id\":\"evt\",\"pad\":\"{}\"}}", "x".repeat(100_000));
    let mut many = format!("t={}", now());
    for _ in 0..5_000 {
        many.push_str(",v1=00");
    }
    let one = format!("t={},v1={}", now(), "0".repeat(64));
    callback(&server, &many, &body)
        .await
        .err(400, "x-ecom-signature");
    callback(&server, &one, &body)
        .await
        .err(400, "does not match");
    let cost = |header: String| {
        let (server, body) = (server.api.clone(), body.clone());
        async move {
            let start = Instant::now();
            for _ in 0..10 {
                callback(&server, &header, &body).await;
            }
            start.elapsed()
        }
    };
    let (many_cost, one_cost) = (cost(many.clone()).await, cost(one.clone()).await);
    assert!(
        many_cost <= one_cost * 3,
        "5,000 entries: {many_cost:?}; one entry: {one_cost:?}"
    );
    // A genuine signature at t = -9223372035058208728: refused, not wrapped into "fresh".
    let t: i64 = -9_223_372_035_058_208_728;
    let small = r#"{"id":"evt_wrap","type":"payment.succeeded"}"#;
    let header = format!("t={t},v1={}", sign(t, small));
    callback(&server, &header, small)
        .await
        .err(400, "too old or from the future");
    server.stop().await;
}

fn limited() -> ecom_http::Config {
    let mut config = support::config();
    config.http.auth_rate_limit = 30;
    config
}

/// 36 signups naming the victim's email from another address never touch the victim: its
/// correct login from a fresh address is answered 200.
#[tokio::test]
async fn signups_naming_an_email_cannot_lock_it_out() {
    let server = TestServer::start(limited()).await;
    let victim = from(&server, [127, 0, 0, 3]);
    signup(&victim, "user", "victim@holes.example").await;
    let attacker = from(&server, [127, 0, 0, 2]);
    let body = json!({"name": "Mallory", "email": "victim@holes.example", "password": "correct horse battery"});
    let mut refused = 0;
    for _ in 0..36 {
        let answer = attacker
            .api(Method::POST, "/user/signup", &[], Some(body.clone()))
            .await;
        match answer.status.as_u16() {
            409 => {}
            429 => refused += 1,
            other => panic!("a duplicate signup answered {other}: {}", answer.text),
        }
    }
    assert!(
        refused > 0,
        "the attacker's address ran out of its own budget"
    );
    let login = json!({"email": "victim@holes.example", "password": "correct horse battery"});
    from(&server, [127, 0, 0, 4])
        .api(Method::POST, "/user/login", &[], Some(login))
        .await
        .ok(200);
    server.stop().await;
}

/// Wrong passwords from many addresses delay the email's next login by a short delay (here
/// a second, after five), never a lock: the correct password gets in once it has passed.
#[tokio::test]
async fn wrong_passwords_delay_a_login_but_never_lock_it() {
    let server = TestServer::start(limited()).await;
    signup(&from(&server, [127, 0, 0, 5]), "user", "ann@holes.example").await;
    let wrong = json!({"email": "ann@holes.example", "password": "not the password"});
    for last in 10..15 {
        from(&server, [127, 0, 0, last])
            .api(Method::POST, "/user/login", &[], Some(wrong.clone()))
            .await
            .err(401, "invalid email or password");
    }
    let right = json!({"email": "ann@holes.example", "password": "correct horse battery"});
    let fresh = from(&server, [127, 0, 0, 20]);
    let delayed = fresh
        .api(Method::POST, "/user/login", &[], Some(right.clone()))
        .await;
    delayed.err(429, "too many attempts");
    let retry: u64 = delayed.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "retry after {retry} s");
    tokio::time::sleep(Duration::from_secs(retry)).await;
    fresh
        .api(Method::POST, "/user/login", &[], Some(right))
        .await
        .ok(200);
    server.stop().await;
}

/// Junk refreshes naming a shop's public id (from another address) spend their own tokens'
/// budgets: the shop's genuine refresh still goes through.
#[tokio::test]
async fn junk_refreshes_cannot_block_a_shops_refresh() {
    let server = TestServer::start(limited()).await;
    let shop_side = from(&server, [127, 0, 0, 6]);
    let shop = signup(&shop_side, "shop", "shop@holes.example").await;
    let attacker = from(&server, [127, 0, 0, 7]);
    for i in 0..40 {
        let junk = format!("junk-token-{}", i % 3);
        let answer = attacker
            .api(
                Method::POST,
                "/shop/handlerRefreshToken",
                &[("x-client-id", &shop.id), ("x-rtoken-id", &junk)],
                None,
            )
            .await;
        assert!(
            matches!(answer.status.as_u16(), 401 | 403 | 429),
            "{}",
            answer.text
        );
    }
    shop_side
        .api(
            Method::POST,
            "/shop/handlerRefreshToken",
            &[("x-client-id", &shop.id), ("x-rtoken-id", &shop.refresh)],
            None,
        )
        .await
        .ok(200);
    server.stop().await;
}

/// A signed-in customer (or any token that is not the owner shop's) reads a product page as
/// the public does; only the owner's token shows its drafts.
#[tokio::test]
async fn any_token_reads_a_public_product_page() {
    let server = TestServer::start(support::config()).await;
    let shop = signup(&server, "shop", "owner@holes.example").await;
    let other = signup(&server, "shop", "other@holes.example").await;
    let ann = signup(&server, "user", "ann@holes.example").await;
    let live = published(&server, &shop, "Live tee", json!("9.99"), 3).await;
    let draft =
        support::create_product(&server, &shop, support::tee("Draft tee", json!("9.99"))).await;
    for headers in [
        ann.auth(),
        other.auth(),
        vec![],
        vec![
            ("x-client-id", ann.id.as_str()),
            ("authorization", "garbage"),
        ],
    ] {
        let page = server
            .api(Method::GET, &format!("/products/{live}"), &headers, None)
            .await;
        assert_eq!(page.ok(200)["_id"], json!(live));
        server
            .api(Method::GET, &format!("/products/{draft}"), &headers, None)
            .await
            .err(404, "product not found");
    }
    server
        .api(
            Method::GET,
            &format!("/products/{draft}"),
            &shop.auth(),
            None,
        )
        .await
        .ok(200);
    server.stop().await;
}

/// Requests with made-up methods all count under the label `other`: `/metrics` does not grow.
#[tokio::test]
async fn made_up_methods_do_not_grow_the_metrics() {
    let server = TestServer::start(support::config()).await;
    for i in 0..40 {
        let method = Method::from_bytes(format!("BREW{i}").as_bytes()).unwrap();
        server.call(method, "/v1/api/products/all", &[], None).await;
    }
    let metrics = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!metrics.contains("BREW"), "made-up methods in the labels");
    assert!(metrics.contains("method=\"other\""), "{metrics}");
    server.stop().await;
}

/// One money limit: a total no callback could carry is refused at checkout (400, nothing
/// held); a total exactly at the limit is placed and paid by a callback of that amount.
#[tokio::test]
async fn checkout_and_callbacks_share_one_money_limit() {
    let server = TestServer::start(paying()).await;
    let shop = signup(&server, "shop", "yachts@holes.example").await;
    let ann = signup(&server, "user", "buyer@holes.example").await;
    // With the test servers' shipping fee (2.50), one yacht makes a total of exactly 10^12.
    assert_eq!(support::FEE_SHIP, "2.50");
    let yacht = published(&server, &shop, "Yacht", json!("999999999997.50"), 5).await;
    order(&server, &ann, &shop, &yacht, 2, "online")
        .await
        .err(400, "item_products");
    let (stock, _, held) = support::inventory(&server, &shop, &yacht).await;
    assert_eq!((stock, held), (5, 0), "a refusal holds nothing");
    let placed = order(&server, &ann, &shop, &yacht, 1, "online").await;
    let placed = placed.ok(201).clone();
    assert_eq!(
        placed["order_payment"]["amount"],
        json!(1_000_000_000_000.0)
    );
    let body = event("evt_max", "payment.succeeded", &placed);
    let header = format!("t={},v1={}", now(), sign(now(), &body));
    let paid = callback(&server, &header, &body).await;
    assert_eq!(paid.ok(200)["payment_status"], json!("paid"));
    server.stop().await;
}

/// `refund.succeeded` on a paid order that is not cancelled cancels it: the shop cannot be
/// left holding its unit, and the stock is back.
#[tokio::test]
async fn a_refund_of_a_live_order_cancels_it() {
    let server = TestServer::start(paying()).await;
    let shop = signup(&server, "shop", "refunds@holes.example").await;
    let ann = signup(&server, "user", "refunded@holes.example").await;
    let tee = published(&server, &shop, "Tee", json!("12.00"), 4).await;
    let placed = order(&server, &ann, &shop, &tee, 1, "online")
        .await
        .ok(201)
        .clone();
    for (id, kind) in [
        ("evt_paid", "payment.succeeded"),
        ("evt_refund", "refund.succeeded"),
    ] {
        let body = event(id, kind, &placed);
        let header = format!("t={},v1={}", now(), sign(now(), &body));
        callback(&server, &header, &body).await.ok(200);
    }
    let after = server
        .api(
            Method::GET,
            &format!("/orders/{}", placed["_id"].as_str().unwrap()),
            &ann.auth(),
            None,
        )
        .await;
    let after = after.ok(200);
    assert_eq!(after["order_status"], json!("cancelled"));
    assert_eq!(after["order_payment"]["status"], json!("refunded"));
    let (stock, _, held) = support::inventory(&server, &shop, &tee).await;
    assert_eq!((stock, held), (4, 0), "the unit is back on sale");
    server.stop().await;
}
