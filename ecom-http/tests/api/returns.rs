//! Returns over HTTP: order -> delivered -> return requested -> accepted -> received partly
//! resellable, partly damaged -> refund paid; refund only; reject -> dispute -> the operator
//! refunds; a request past the window refused; another customer's or shop's return 404; every
//! answer follows `/openapi.json`.

use crate::support::{self, signup, webhook, Account, Api, TestServer};
use ecom_core::api_key::Permission;
use ecom_core::clock::ManualClock;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;

const OPERATOR_KEY: &str = "returns-operator-key-0123456789ab";

/// Places an order of `units` of `product` by `user` (cash on delivery) and has `shop` deliver
/// it; the order id.
async fn delivered(api: &Api, shop: &Account, user: &Account, product: &str, units: u32) -> String {
    let body = json!({
        "shop_order_ids": [{"shopId": shop.id, "item_products": [{"productId": product, "quantity": units}]}],
        "user_address": {"street": "1 Main St"},
        "user_payment": {"method": "cod"}
    });
    let placed = api
        .api(Method::POST, "/checkout/order", &user.auth(), Some(body))
        .await;
    let order = placed.ok(201)["_id"].as_str().unwrap().to_owned();
    for status in ["confirmed", "shipped", "delivered"] {
        let change = json!({"orderProducts": [{"productIds": [product], "status": status}]});
        api.api(
            Method::PATCH,
            &format!("/orders/{order}/status"),
            &shop.auth(),
            Some(change),
        )
        .await
        .ok(200);
    }
    order
}

async fn ask(api: &Api, user: &Account, order: &str, product: &str, units: u32) -> Value {
    let body = json!({"lines": [{"productId": product, "quantity": units}], "reason": "damaged",
        "note": "torn on arrival", "evidence": ["https://img.example/torn.jpg"]});
    api.api(
        Method::POST,
        &format!("/orders/{order}/returns"),
        &user.auth(),
        Some(body),
    )
    .await
    .ok(200)
    .clone()
}

async fn flow(api: Api, operator: Option<Api>, clock: Option<Arc<ManualClock>>) {
    let api = &api;
    let shop = signup(api, "shop", "shop@returns.example").await;
    let user = signup(api, "user", "buyer@returns.example").await;
    let product = support::published(api, &shop, "Return Tee", json!(20), 10).await;
    let order = delivered(api, &shop, &user, &product, 4).await;
    let fx = Flow {
        api,
        shop: &shop,
        user: &user,
        product: &product,
        order: &order,
    };
    received_and_paid_back(&fx).await;
    refund_only(&fx).await;
    rejected_disputed_resolved(&fx, operator.as_ref()).await;
    if let Some(clock) = clock {
        past_the_window(&fx, &clock).await;
    }
    metrics_count_returns(api).await;
    support::contract::assert_answers_follow_the_document(api).await;
}

/// What the steps of [`flow`] share: the server, a shop, its customer, a product and a
/// delivered order of 4 units.
struct Flow<'a> {
    api: &'a Api,
    shop: &'a Account,
    user: &'a Account,
    product: &'a String,
    order: &'a String,
}

/// Requested -> accepted -> received (1 resellable, 1 damaged) -> refund paid by the shop;
/// another's return is 404; moves out of turn are 409.
async fn received_and_paid_back(fx: &Flow<'_>) {
    let (api, shop, user, product, order) = (fx.api, fx.shop, fx.user, fx.product, fx.order);
    let (stock, _, _) = support::inventory(api, shop, product).await;
    let first = ask(api, user, order, product, 2).await;
    assert_eq!(first["status"], "requested");
    assert_eq!(first["orderId"], order.as_str());
    let id = first["id"].as_str().unwrap().to_owned();
    let waiting = api
        .api(
            Method::GET,
            "/shop/returns?status=requested",
            &shop.auth(),
            None,
        )
        .await;
    assert_eq!(waiting.ok(200)[0]["id"], id.as_str());
    let stranger = signup(api, "user", "stranger@returns.example").await;
    api.api(
        Method::GET,
        &format!("/returns/{id}"),
        &stranger.auth(),
        None,
    )
    .await
    .err(404, "return");
    let other_shop = signup(api, "shop", "other@returns.example").await;
    api.api(
        Method::GET,
        &format!("/shop/returns/{id}"),
        &other_shop.auth(),
        None,
    )
    .await
    .err(404, "return");
    api.api(
        Method::POST,
        &format!("/shop/returns/{id}/receive"),
        &shop.auth(),
        Some(json!({"lines": [{"productId": product, "quantity": 1, "condition": "resellable"}]})),
    )
    .await
    .err(409, "requested");
    // Retried under its idempotency-key, a move answers the return as it stands.
    let mut keyed = shop.auth();
    keyed.push(("idempotency-key", "accept-1"));
    for _ in 0..2 {
        let accepted = api
            .api(
                Method::POST,
                &format!("/shop/returns/{id}/accept"),
                &keyed,
                Some(json!({"mode": "return_and_refund"})),
            )
            .await;
        assert_eq!(accepted.ok(200)["status"], "accepted");
    }
    api.api(
        Method::POST,
        &format!("/shop/returns/{id}/accept"),
        &shop.auth(),
        Some(json!({"mode": "return_and_refund"})),
    )
    .await
    .err(409, "accepted");
    let received = api
        .api(
            Method::POST,
            &format!("/shop/returns/{id}/receive"),
            &shop.auth(),
            Some(json!({"lines": [
                {"productId": product, "quantity": 1, "condition": "resellable"},
                {"productId": product, "quantity": 1, "condition": "damaged"}
            ]})),
        )
        .await;
    let received = received.ok(200);
    assert_eq!(received["status"], "refunding");
    assert_eq!(received["refund"]["amount"], json!(40.0));
    assert_eq!(received["refund"]["status"], "due");
    assert_eq!(
        (
            received["lines"][0]["resellable"].clone(),
            received["lines"][0]["damaged"].clone()
        ),
        (json!(1), json!(1))
    );
    let (after, _, _) = support::inventory(api, shop, product).await;
    assert_eq!(
        after,
        stock + 1,
        "the resellable unit is back in stock, the damaged one not"
    );
    let paid = api
        .api(
            Method::POST,
            &format!("/shop/returns/{id}/refund-paid"),
            &shop.auth(),
            None,
        )
        .await;
    assert_eq!(paid.ok(200)["status"], "refunded");
    assert_eq!(paid.ok(200)["refund"]["status"], "succeeded");
    api.api(
        Method::POST,
        &format!("/returns/{id}/cancel"),
        &user.auth(),
        None,
    )
    .await
    .err(409, "refunded");
}

/// Refund only, for one more unit; the order's payment shows what was refunded and what is
/// still refundable.
async fn refund_only(fx: &Flow<'_>) {
    let (api, shop, user, product, order) = (fx.api, fx.shop, fx.user, fx.product, fx.order);
    let second = ask(api, user, order, product, 1).await;
    let second_id = second["id"].as_str().unwrap();
    let refunded = api
        .api(
            Method::POST,
            &format!("/shop/returns/{second_id}/accept"),
            &shop.auth(),
            Some(json!({"mode": "refund_only"})),
        )
        .await;
    assert_eq!(refunded.ok(200)["status"], "refunding");
    assert_eq!(refunded.ok(200)["refund"]["amount"], json!(20.0));
    let mine = api
        .api(Method::GET, &format!("/orders/{order}"), &user.auth(), None)
        .await;
    let payment = &mine.ok(200)["order_payment"];
    let paid = payment["amount"].as_f64().unwrap();
    assert_eq!(
        payment["refunded"],
        json!(40.0),
        "the paid refund only: {payment}"
    );
    assert_eq!(
        payment["refundable"].as_f64().unwrap(),
        paid - 60.0,
        "paid less every refund due or paid: {payment}"
    );
}

/// The last unit: rejected, disputed (once), and with an operator refunded with the fee; a
/// shop cannot decide a dispute.
async fn rejected_disputed_resolved(fx: &Flow<'_>, operator: Option<&Api>) {
    let (api, shop, user, product, order) = (fx.api, fx.shop, fx.user, fx.product, fx.order);
    let third = ask(api, user, order, product, 1).await;
    let third_id = third["id"].as_str().unwrap();
    let body = json!({"lines": [{"productId": product, "quantity": 1}], "reason": "other"});
    api.api(
        Method::POST,
        &format!("/orders/{order}/returns"),
        &user.auth(),
        Some(body),
    )
    .await
    .err(409, "0 units left");
    api.api(
        Method::POST,
        &format!("/shop/returns/{third_id}/reject"),
        &shop.auth(),
        Some(json!({"reason": "worn"})),
    )
    .await
    .ok(200);
    let disputed = api
        .api(
            Method::POST,
            &format!("/returns/{third_id}/dispute"),
            &user.auth(),
            None,
        )
        .await;
    assert_eq!(disputed.ok(200)["status"], "disputed");
    api.api(
        Method::POST,
        &format!("/returns/{third_id}/dispute"),
        &user.auth(),
        None,
    )
    .await
    .err(409, "disputed");
    api.api(
        Method::POST,
        &format!("/admin/returns/{third_id}/resolve"),
        &shop.auth(),
        Some(json!({"outcome": "refund"})),
    )
    .await
    .err(403, "operator");
    if let Some(operator) = operator {
        let resolved = operator
            .api(
                Method::POST,
                &format!("/admin/returns/{third_id}/resolve"),
                &[],
                Some(json!({"outcome": "refund"})),
            )
            .await;
        let resolved = resolved.ok(200);
        assert_eq!(resolved["status"], "refunding");
        let fee = resolved["refund"]["shipping"].as_f64().unwrap();
        assert!(fee > 0.0, "the order's last unit brings its shipping fee");
        assert_eq!(resolved["refund"]["amount"].as_f64().unwrap(), 20.0 + fee);
    }
    let mine = api.api(Method::GET, "/returns", &user.auth(), None).await;
    assert_eq!(mine.ok(200).as_array().unwrap().len(), 3);
}

/// Past the window, nothing can be asked.
async fn past_the_window(fx: &Flow<'_>, clock: &ManualClock) {
    let (api, shop, user, product) = (fx.api, fx.shop, fx.user, fx.product);
    {
        let late = delivered(api, shop, user, product, 1).await;
        clock.advance(chrono::Duration::days(16));
        let login = api
            .api(
                Method::POST,
                "/user/login",
                &[],
                Some(
                    json!({"email": "buyer@returns.example", "password": "correct horse battery"}),
                ),
            )
            .await;
        let login = login.ok(200);
        let user = Account {
            id: user.id.clone(),
            access: login["tokens"]["accessToken"].as_str().unwrap().to_owned(),
            refresh: login["tokens"]["refreshToken"].as_str().unwrap().to_owned(),
        };
        let body =
            json!({"lines": [{"productId": product, "quantity": 1}], "reason": "changed_mind"});
        api.api(
            Method::POST,
            &format!("/orders/{late}/returns"),
            &user.auth(),
            Some(body),
        )
        .await
        .err(409, "window");
    }
}

/// The metrics count what the relay moved: requests by reason, moves, refunds with amounts.
async fn metrics_count_returns(api: &Api) {
    let expected = [
        "ecom_returns_requested_total{reason=\"damaged\"} 3",
        "ecom_returns_total{outcome=\"received\"} 1",
        "ecom_returns_total{outcome=\"rejected\"} 1",
        "ecom_return_refunds_total{outcome=\"succeeded\"} 1",
        "ecom_return_refund_amount_minor_total{outcome=\"succeeded\"} 4000",
    ];
    let mut text = String::new();
    for _ in 0..200 {
        text = api.call(Method::GET, "/metrics", &[], None).await.text;
        if expected.iter().all(|line| text.contains(line)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for line in expected {
        assert!(text.contains(line), "/metrics lacks {line}: {text}");
    }
    support::contract::assert_answers_follow_the_document(api).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returns_on_memory() {
    let server = TestServer::with_clock().await;
    server
        .ecom
        .clone()
        .unwrap()
        .api_keys
        .ensure(OPERATOR_KEY, vec![Permission::P0000, Permission::P1111])
        .await
        .unwrap();
    let operator = Api::new(&server.base, OPERATOR_KEY);
    flow(server.api.clone(), Some(operator), server.clock.clone()).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returns_on_mongo_redis() {
    let (config, fixtures) = support::mongo_redis_config("gate").await;
    // The operator's key, made in the same database with the server's key secret.
    let ecom = ecom_core::Ecom::new(fixtures.db.backend().clone(), config.ecom_config().unwrap());
    ecom.api_keys
        .ensure(OPERATOR_KEY, vec![Permission::P0000, Permission::P1111])
        .await
        .unwrap();
    let server = TestServer::start(config).await;
    let operator = Api::new(&server.base, OPERATOR_KEY);
    flow(server.api.clone(), Some(operator), None).await;
    server.stop().await;
    drop(fixtures);
}

/// The webhook secret of the online flow's provider.
const SECRET: &str = "whsec-returns-0123456789abcdef";

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Paid online, shipped, delivered, a return requested, accepted, received part resellable and
/// part damaged; the refund is asked of the provider under the return's id, a `refund.failed`
/// makes it due again, a `refund.succeeded` with the refund's amount pays it (a wrong amount is
/// 409, nothing changes).
async fn online_flow(api: Api) {
    let api = &api;
    let shop = signup(api, "shop", "online@returns.example").await;
    let user = signup(api, "user", "online-buyer@returns.example").await;
    let product = support::published(api, &shop, "Online Tee", json!(15), 10).await;
    let body = json!({
        "shop_order_ids": [{"shopId": shop.id, "item_products": [{"productId": product, "quantity": 3}]}],
        "user_address": {"street": "1 Main St"},
        "user_payment": {"method": "online"}
    });
    let placed = api
        .api(Method::POST, "/checkout/order", &user.auth(), Some(body))
        .await;
    let order = placed.ok(201).clone();
    let id = order["_id"].as_str().unwrap().to_owned();
    let paid = json!({"id": "evt-pay", "type": "payment.succeeded", "order_id": id,
        "amount": order["order_payment"]["amount"], "currency": "USD"});
    webhook(api, SECRET, unix_now(), &paid).await.ok(200);
    for status in ["confirmed", "shipped", "delivered"] {
        let change = json!({"orderProducts": [{"productIds": [product], "status": status}]});
        api.api(
            Method::PATCH,
            &format!("/orders/{id}/status"),
            &shop.auth(),
            Some(change),
        )
        .await
        .ok(200);
    }
    let asked = ask(api, &user, &id, &product, 2).await;
    let ret = asked["id"].as_str().unwrap().to_owned();
    api.api(
        Method::POST,
        &format!("/shop/returns/{ret}/accept"),
        &shop.auth(),
        Some(json!({"mode": "return_and_refund"})),
    )
    .await
    .ok(200);
    let received = api
        .api(
            Method::POST,
            &format!("/shop/returns/{ret}/receive"),
            &shop.auth(),
            Some(json!({"lines": [
                {"productId": product, "quantity": 1, "condition": "resellable"},
                {"productId": product, "quantity": 1, "condition": "damaged"}
            ]})),
        )
        .await;
    let received = received.ok(200).clone();
    assert_eq!(received["status"], "refunding");
    assert_eq!(
        received["refund"]["status"], "requested",
        "asked of the provider at once"
    );
    assert_eq!(received["refund"]["amount"], json!(30.0));
    let meta = support::inventory_json(api, &shop, &product).await;
    assert_eq!(meta["invent_damaged"], 1, "{meta}");
    api.api(
        Method::POST,
        &format!("/shop/returns/{ret}/refund-paid"),
        &shop.auth(),
        None,
    )
    .await
    .err(409, "provider");
    let refund = |event: &str, kind: &str, amount: f64| {
        json!({"id": event, "type": kind, "order_id": id, "amount": amount, "currency": "USD",
            "reference": ret})
    };
    webhook(
        api,
        SECRET,
        unix_now(),
        &refund("evt-r1", "refund.failed", 30.0),
    )
    .await
    .ok(200);
    let again = api
        .api(Method::GET, &format!("/returns/{ret}"), &user.auth(), None)
        .await;
    assert_eq!(
        again.ok(200)["refund"]["status"],
        "due",
        "asked again later"
    );
    webhook(
        api,
        SECRET,
        unix_now(),
        &refund("evt-r2", "refund.succeeded", 29.0),
    )
    .await
    .err(409, "amount");
    webhook(
        api,
        SECRET,
        unix_now(),
        &refund("evt-r3", "refund.succeeded", 30.0),
    )
    .await
    .ok(200);
    let done = api
        .api(Method::GET, &format!("/returns/{ret}"), &user.auth(), None)
        .await;
    assert_eq!(done.ok(200)["status"], "refunded");
    let mine = api
        .api(Method::GET, &format!("/orders/{id}"), &user.auth(), None)
        .await;
    let payment = &mine.ok(200)["order_payment"];
    assert_eq!(payment["status"], "paid");
    assert_eq!(payment["refunded"], json!(30.0), "{payment}");
    support::contract::assert_answers_follow_the_document(api).await;
}

fn with_online(mut config: ecom_http::Config) -> ecom_http::Config {
    config.payment_webhook_secret = Some(SECRET.into());
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_return_refunded_by_the_provider_on_memory() {
    let server = TestServer::start(with_online(support::config())).await;
    online_flow(server.api.clone()).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_return_refunded_by_the_provider_on_mongo_redis() {
    let (config, fixtures) = support::mongo_redis_config("atomic").await;
    let server = TestServer::start(with_online(config)).await;
    online_flow(server.api.clone()).await;
    server.stop().await;
    drop(fixtures);
}
