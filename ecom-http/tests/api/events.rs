//! Events over HTTP, on the memory backend and on MongoDB + Redis: the pull API (`GET
//! /events`) shows each shop its own events, once, in log order and in its own view, pages by
//! cursor and filters by type; the operator's key sees every shop's; bad queries are 400s.
//! The shop's low-stock default (`/shop/settings`) reaches its new products and their
//! `stock.low`. Every answer is checked against the OpenAPI document.

use crate::support::{self, create_product, signup, tee, Account, Api, TestServer};
use ecom_core::api_key::Permission;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// An API key with the operator's permission, ensured by the test.
const OPERATOR_KEY: &str = "operator-key-0123456789abcdef";

/// Reads events as `caller` (a shop's auth, or none with the operator's key) until `done`
/// holds of the whole list (the relay runs every 100 ms), paging 2 at a time by cursor.
async fn read_until(
    api: &Api,
    caller: &[(&str, &str)],
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    for _ in 0..100 {
        let mut all: Vec<Value> = Vec::new();
        let mut after = "0".to_owned();
        loop {
            let page = api
                .api(
                    Method::GET,
                    &format!("/events?after={after}&limit=2"),
                    caller,
                    None,
                )
                .await
                .ok(200)
                .as_array()
                .unwrap()
                .clone();
            let Some(last) = page.last() else { break };
            after = last["cursor"].as_str().unwrap().to_owned();
            all.extend(page);
        }
        if done(&all) {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the events never showed up");
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

fn count(events: &[Value], kind: &str) -> usize {
    events.iter().filter(|e| e["type"] == kind).count()
}

async fn order(api: &Api, user: &Account, parts: &[(&Account, &str)]) -> String {
    let shops: Vec<Value> = parts
        .iter()
        .map(|(shop, product)| json!({"shopId": shop.id, "item_products": [{"productId": product, "quantity": 3}]}))
        .collect();
    let body = json!({"shop_order_ids": shops, "user_address": {"street": "1 Event St"},
        "user_payment": {"method": "cod"}});
    api.api(Method::POST, "/checkout/order", &user.auth(), Some(body))
        .await
        .ok(201)["_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The shop's settings: read, change, refused changes, and the default reaching new products.
async fn settings(api: &Api, shop: &Account, user: &Account) {
    let path = "/shop/settings";
    let read = api.api(Method::GET, path, &shop.auth(), None).await;
    assert_eq!(read.ok(200)["low_stock_threshold"], Value::Null);
    for (body, needle) in [
        (json!({"low_stock_threshold": -1}), "low_stock_threshold"),
        (json!({"low_stock_threshold": 1.5}), "low_stock_threshold"),
        (
            json!({"low_stock_threshold": 1_000_001}),
            "low_stock_threshold",
        ),
        (json!({"low_stock_threshold": "10"}), "low_stock_threshold"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let refused = api.api(Method::PATCH, path, &shop.auth(), Some(body)).await;
        refused.err(400, needle);
    }
    api.api(
        Method::PATCH,
        path,
        &user.auth(),
        Some(json!({"low_stock_threshold": 1})),
    )
    .await
    .err(403, "");
    let read = api.api(Method::GET, path, &shop.auth(), None).await;
    assert_eq!(
        read.ok(200)["low_stock_threshold"],
        Value::Null,
        "refusals change nothing"
    );
    let set = api
        .api(
            Method::PATCH,
            path,
            &shop.auth(),
            Some(json!({"low_stock_threshold": 10})),
        )
        .await;
    assert_eq!(set.ok(200)["low_stock_threshold"], 10);
    let kept = api
        .api(Method::PATCH, path, &shop.auth(), Some(json!({})))
        .await;
    assert_eq!(
        kept.ok(200)["low_stock_threshold"],
        10,
        "left out: unchanged"
    );
}

/// `type` filters, `after` pages, bad queries are 400s, and only a shop (or the operator)
/// reads: `seen` is everything `shop` saw.
async fn filters_and_paging(api: &Api, shop_a: &Account, user: &Account, seen_a: &[Value]) {
    let placed = api
        .api(
            Method::GET,
            "/events?type=order.placed,order.cancelled",
            &shop_a.auth(),
            None,
        )
        .await;
    assert_eq!(
        types(placed.ok(200).as_array().unwrap()),
        ["order.placed", "order.placed", "order.cancelled"]
    );
    let after = seen_a[seen_a.len() - 2]["cursor"].as_str().unwrap();
    let rest = api
        .api(
            Method::GET,
            &format!("/events?after={after}"),
            &shop_a.auth(),
            None,
        )
        .await;
    assert_eq!(
        rest.ok(200).as_array().unwrap(),
        &seen_a[seen_a.len() - 1..]
    );
    for (query, needle) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("after=-1", "after"),
        ("after=abc", "after"),
        ("type=order.lost", "type"),
        ("colour=red", "colour"),
    ] {
        let refused = api
            .api(
                Method::GET,
                &format!("/events?{query}"),
                &shop_a.auth(),
                None,
            )
            .await;
        refused.err(400, needle);
    }
    api.api(Method::GET, "/events", &[], None)
        .await
        .err(401, "");
    api.api(Method::GET, "/events", &user.auth(), None)
        .await
        .err(403, "");
}

async fn events_flow(api: Api, operator: Option<Api>) {
    let api = &api;
    let shop_a = signup(api, "shop", "a@events.example").await;
    let shop_b = signup(api, "shop", "b@events.example").await;
    let user = signup(api, "user", "buyer@events.example").await;
    settings(api, &shop_a, &user).await;

    // A's product starts at 12 with A's threshold of 10; B's at 50 with the default 5.
    let mut body = tee("A Tee", json!(20));
    body["product_quantity"] = json!(12);
    let a = create_product(api, &shop_a, body).await;
    support::publish(api, &shop_a, &a).await;
    let product = api
        .api(Method::GET, &format!("/products/{a}"), &[], None)
        .await;
    assert_eq!(product.ok(200)["product_low_stock_threshold"], 10);
    let b = support::published(api, &shop_b, "B Mug", json!(8), 50).await;

    // One order of both shops; A ships its line; a second order of A's only is cancelled.
    let both = order(api, &user, &[(&shop_a, &a), (&shop_b, &b)]).await;
    let status = format!("/orders/{both}/status");
    for (state, track) in [("confirmed", None), ("shipped", Some("A-TRACK"))] {
        let mut change = json!({"orderProducts": [{"productIds": [a], "status": state}]});
        if let Some(track) = track {
            change["trackingNumber"] = json!(track);
        }
        api.api(Method::PATCH, &status, &shop_a.auth(), Some(change))
            .await
            .ok(200);
    }
    let only_a = order(api, &user, &[(&shop_a, &a)]).await;
    api.api(
        Method::POST,
        &format!("/orders/{only_a}/cancel"),
        &user.auth(),
        None,
    )
    .await
    .ok(200);

    let seen_a = read_until(api, &shop_a.auth(), |e| {
        count(e, "order.cancelled") == 1 && count(e, "stock.low") == 1
    })
    .await;
    let ids: std::collections::HashSet<&str> =
        seen_a.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), seen_a.len(), "each event once: {seen_a:#?}");
    let cursors: Vec<u64> = seen_a
        .iter()
        .map(|e| e["cursor"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        cursors.windows(2).all(|w| w[0] < w[1]),
        "log order: {cursors:?}"
    );
    assert_eq!(
        count(&seen_a, "product.published"),
        1,
        "{:?}",
        types(&seen_a)
    );
    assert_eq!(count(&seen_a, "order.placed"), 2, "{:?}", types(&seen_a));
    assert_eq!(count(&seen_a, "order.line_status_changed"), 2);
    for event in &seen_a {
        assert_eq!(
            event["shop_ids"],
            json!([shop_a.id]),
            "A sees only itself: {event}"
        );
        let text = event.to_string();
        assert!(
            !text.contains(&b) && !text.contains("B Mug"),
            "A sees B's line: {text}"
        );
    }
    let of_both: Vec<&Value> = seen_a
        .iter()
        .filter(|e| e["aggregate"]["id"] == both)
        .collect();
    let versions: Vec<u64> = of_both
        .iter()
        .map(|e| e["aggregate"]["version"].as_u64().unwrap())
        .collect();
    assert!(
        versions.windows(2).all(|w| w[0] <= w[1]),
        "one order's versions in order: {versions:?}"
    );
    let shipped = of_both
        .iter()
        .find(|e| e["lines"]["tracking_number"] == "A-TRACK")
        .unwrap();
    assert_eq!(
        shipped["lines"]["lines"],
        json!([{"stock_id": a, "status": "shipped"}])
    );
    assert_eq!(
        shipped["data"]["order_payment"],
        json!({"method": "cod", "status": "pending"})
    );
    let cancelled = seen_a
        .iter()
        .find(|e| e["type"] == "order.cancelled")
        .unwrap();
    assert_eq!(cancelled["cancelled_by"], "customer");
    assert_eq!(cancelled["aggregate"]["id"], only_a);
    let low = seen_a.iter().find(|e| e["type"] == "stock.low").unwrap();
    assert_eq!(
        low["data"],
        json!({"product_id": a, "stock": 9, "threshold": 10})
    );

    // B sees its product and the order it is in: nothing of A's shipping nor of A's order.
    let seen_b = read_until(api, &shop_b.auth(), |e| count(e, "order.placed") == 1).await;
    // One aggregate's events come in order; events of different aggregates may interleave.
    let mut kinds = types(&seen_b);
    kinds.sort_unstable();
    assert_eq!(kinds, ["order.placed", "product.published"]);
    let placed_b = seen_b.iter().find(|e| e["type"] == "order.placed").unwrap();
    assert_eq!(
        placed_b["data"]["order_products"][0]["shopId"],
        json!(shop_b.id)
    );
    assert_eq!(
        placed_b["data"]["order_products"].as_array().unwrap().len(),
        1
    );

    filters_and_paging(api, &shop_a, &user, &seen_a).await;

    // The operator's key, without a token, reads every shop's events, orders whole.
    if let Some(operator) = operator {
        let all = read_until(&operator, &[], |e| count(e, "order.cancelled") == 1).await;
        let placed: Vec<&Value> = all
            .iter()
            .filter(|e| e["aggregate"]["id"] == both)
            .collect();
        assert_eq!(placed[0]["shop_ids"].as_array().unwrap().len(), 2);
        assert_eq!(
            placed[0]["data"]["order_products"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(count(&all, "product.published"), 2);
        support::contract::assert_answers_follow_the_document(&operator).await;
    }
    support::contract::assert_answers_follow_the_document(api).await;
}

#[tokio::test]
async fn pull_api_and_settings_on_memory() {
    let server = TestServer::with_clock().await;
    let ecom = server.ecom.clone().unwrap();
    ecom.api_keys
        .ensure(OPERATOR_KEY, vec![Permission::P0000, Permission::P2222])
        .await
        .unwrap();
    let operator = Api::new(&server.base, OPERATOR_KEY);
    events_flow(server.api.clone(), Some(operator)).await;
    server.stop().await;
}

#[tokio::test]
async fn pull_api_and_settings_on_mongo_redis() {
    support::on_mongo_redis("gate", |api| events_flow(api, None)).await;
}
