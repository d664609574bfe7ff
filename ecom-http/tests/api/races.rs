//! Races and edges over HTTP, on the memory backend and on MongoDB + Redis: concurrent cancels
//! of one order, a customer's cancel racing the shop cancelling the line, concurrent refreshes
//! with one refresh token, pagination with ties on the sort key, and the server's own recovery
//! loop finishing a checkout whose process died at the commit point.

use crate::support::{self, published as product, signup, Account, Answer, Api, TestServer};
use ecom_core::testkit::probe::{Fault, FaultMode, Target};
use ecom_core::testkit::rush;
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeSet;

/// Places a one-line order; its id.
async fn order(api: &Api, shop: &Account, user: &Account, product: &str, quantity: u32) -> String {
    let body = json!({
        "shop_order_ids": [{"shopId": shop.id, "item_products": [
            {"productId": product, "quantity": quantity}]}],
        "user_address": {"street": "1 Main St"}, "user_payment": {"method": "cod"}
    });
    let answer = api
        .api(Method::POST, "/checkout/order", &user.auth(), Some(body))
        .await;
    answer.ok(201)["_id"].as_str().unwrap().to_owned()
}

/// Current stock, and units sold or held, of `product`, read by its shop.
async fn stock(api: &Api, shop: &Account, product: &str) -> (u64, u64) {
    let (stock, sold, held) = support::inventory(api, shop, product).await;
    (stock, sold + held)
}

/// Exactly one answer is `won`; every other is 409 with a message.
fn one_winner(answers: &[Answer], won: u16, what: &str) {
    let winners = answers.iter().filter(|a| a.status.as_u16() == won).count();
    assert_eq!(winners, 1, "{what}: {:?}", statuses(answers));
    for answer in answers.iter().filter(|a| a.status.as_u16() != won) {
        answer.err(409, "");
        let message = answer.body["message"].as_str().unwrap();
        assert!(!message.is_empty(), "{what}: {}", answer.text);
    }
}

fn statuses(answers: &[Answer]) -> Vec<u16> {
    answers.iter().map(|a| a.status.as_u16()).collect()
}

async fn concurrent_cancels(api: &Api) {
    let shop = signup(api, "shop", "cancels@shop.example").await;
    let user = signup(api, "user", "cancels@buyer.example").await;
    let tee = product(api, &shop, "Cancel Tee", json!(12), 10).await;
    let id = order(api, &shop, &user, &tee, 3).await;
    assert_eq!(stock(api, &shop, &tee).await, (7, 3));
    let answers = rush(16, |_| {
        let (api, user, id) = (api.clone(), user.clone(), id.clone());
        async move {
            api.api(
                Method::POST,
                &format!("/orders/{id}/cancel"),
                &user.auth(),
                None,
            )
            .await
        }
    })
    .await;
    one_winner(&answers, 200, "concurrent cancels");
    assert_eq!(stock(api, &shop, &tee).await, (10, 0), "restocked once");

    // A customer's cancel racing the shop cancelling the order's only line: the shop's update
    // always succeeds (setting a line to the status it has is a no-op), the customer's cancel
    // succeeds only if it came first (409 otherwise), and the stock comes back once.
    for _ in 0..8 {
        let id = order(api, &shop, &user, &tee, 2).await;
        let status = json!({"orderProducts": [{"productIds": [tee], "status": "cancelled"}]});
        let answers = rush(2, |i| {
            let (api, user, shop, id, status) = (
                api.clone(),
                user.clone(),
                shop.clone(),
                id.clone(),
                status.clone(),
            );
            async move {
                if i == 0 {
                    api.api(
                        Method::POST,
                        &format!("/orders/{id}/cancel"),
                        &user.auth(),
                        None,
                    )
                    .await
                } else {
                    api.api(
                        Method::PATCH,
                        &format!("/orders/{id}/status"),
                        &shop.auth(),
                        Some(status),
                    )
                    .await
                }
            }
        })
        .await;
        answers[1].ok(200);
        match answers[0].status.as_u16() {
            200 => {}
            _ => {
                answers[0].err(409, "");
                let message = answers[0].body["message"].as_str().unwrap();
                assert!(
                    message.contains("can no longer be cancelled")
                        || message.contains("changed concurrently"),
                    "{message}"
                );
            }
        }
        let answer = api
            .api(Method::GET, &format!("/orders/{id}"), &user.auth(), None)
            .await;
        assert_eq!(answer.ok(200)["order_status"], "cancelled");
        assert_eq!(stock(api, &shop, &tee).await, (10, 0), "restocked once");
    }
}

async fn concurrent_refresh(api: &Api) {
    let user = signup(api, "user", "refresh@buyer.example").await;
    let answers = rush(10, |_| {
        let (api, user) = (api.clone(), user.clone());
        async move {
            api.api(
                Method::POST,
                "/user/handlerRefreshToken",
                &[("x-client-id", &user.id), ("x-rtoken-id", &user.refresh)],
                None,
            )
            .await
        }
    })
    .await;
    let winners: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.status.as_u16() == 200)
        .collect();
    assert_eq!(winners.len(), 1, "{:?}", statuses(&answers));
    let mut reused = 0;
    for answer in answers.iter().filter(|a| a.status.as_u16() != 200) {
        match answer.status.as_u16() {
            403 => {
                answer.err(403, "reused");
                reused += 1;
            }
            _ => answer.err(401, "invalid or expired token"),
        }
    }
    // The first loser to be answered saw the session alive: reuse, every session revoked.
    assert!(reused >= 1, "{:?}", statuses(&answers));
    let new_refresh = winners[0].body["metadata"]["tokens"]["refreshToken"]
        .as_str()
        .unwrap();
    api.api(
        Method::POST,
        "/user/handlerRefreshToken",
        &[("x-client-id", &user.id), ("x-rtoken-id", new_refresh)],
        None,
    )
    .await
    .err(401, "invalid or expired token");
}

async fn pagination_edges(api: &Api) {
    let shop = signup(api, "shop", "pages@shop.example").await;
    let mut made = BTreeSet::new();
    for i in 0..5 {
        made.insert(product(api, &shop, &format!("Same Price {i}"), json!(7), 1).await);
    }
    for sort in ["ctime", "price_asc", "price_desc"] {
        let mut seen = Vec::new();
        for page in 1..=3 {
            let answer = api
                .api(
                    Method::GET,
                    &format!("/products/all?limit=2&page={page}&sort={sort}"),
                    &[],
                    None,
                )
                .await;
            let items = answer.ok(200).as_array().unwrap().clone();
            assert_eq!(items.len(), if page == 3 { 1 } else { 2 }, "{sort} {page}");
            seen.extend(items.iter().map(|p| p["_id"].as_str().unwrap().to_owned()));
        }
        let unique: BTreeSet<String> = seen.iter().cloned().collect();
        assert_eq!(
            unique.len(),
            5,
            "{sort}: a tie repeated or skipped a product"
        );
        assert_eq!(unique, made);
        let past = api
            .api(
                Method::GET,
                &format!("/products/all?limit=2&page=4&sort={sort}"),
                &[],
                None,
            )
            .await;
        assert_eq!(past.ok(200), &json!([]), "a page past the end is empty");
    }
    let all = api
        .api(Method::GET, "/products/all?limit=100&page=1", &[], None)
        .await;
    assert!(all.ok(200).as_array().unwrap().len() >= 5);
    api.api(Method::GET, "/products/all?limit=101&page=1", &[], None)
        .await
        .err(400, "limit");
    api.api(Method::GET, "/products/all?limit=0&page=1", &[], None)
        .await
        .err(400, "limit");
    api.api(Method::GET, "/products/all?limit=2&page=0", &[], None)
        .await
        .err(400, "page");
}

async fn races_and_edges(api: Api) {
    pagination_edges(&api).await;
    concurrent_cancels(&api).await;
    concurrent_refresh(&api).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn races_and_edges_on_memory() {
    support::on_memory(races_and_edges).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn races_and_edges_on_mongo_and_redis() {
    support::on_mongo_redis("gate", races_and_edges).await;
}

/// A checkout whose process dies at its commit point (the order insert panics) leaves its
/// holds open; the server's own recovery loop, once the lease has passed on the clock, gives
/// them back, and the repeat of the idempotency key is then a new order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_recovery_loop_gives_back_what_a_dead_checkout_held() {
    let mut config = support::config();
    config.recovery_every = std::time::Duration::from_millis(50);
    let server = TestServer::with_clock_and(config).await;
    let shop = signup(&server, "shop", "loop@shop.example").await;
    let user = signup(&server, "user", "loop@buyer.example").await;
    let tee = product(&server, &shop, "Loop Tee", json!(5), 10).await;
    let probe = server.probe.clone().unwrap();
    probe.arm(Fault::at(
        Target::Named("orders.insert", 0),
        FaultMode::Panic,
    ));
    let keyed: Vec<(&str, &str)> = user
        .auth()
        .into_iter()
        .chain([("idempotency-key", "dies-once")])
        .collect();
    let body = json!({
        "shop_order_ids": [{"shopId": shop.id, "item_products": [
            {"productId": tee, "quantity": 4}]}],
        "user_address": {"street": "1 Main St"}, "user_payment": {"method": "cod"}
    });
    let died = server
        .api(Method::POST, "/checkout/order", &keyed, Some(body.clone()))
        .await;
    assert!(died.status.is_server_error(), "{}", died.text);
    assert_eq!(
        probe.disarm().map(|c| c.name),
        Some("orders.insert"),
        "the fault hit the insert"
    );
    assert_eq!(
        stock(&server, &shop, &tee).await,
        (6, 4),
        "held by the dead checkout"
    );
    // Within the lease nothing moves, however often the loop runs.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(stock(&server, &shop, &tee).await, (6, 4));
    // Past the lease the loop gives the units back.
    server
        .clock
        .as_ref()
        .unwrap()
        .advance(chrono::Duration::seconds(31));
    let mut back = false;
    for _ in 0..200 {
        if stock(&server, &shop, &tee).await == (10, 0) {
            back = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(back, "the recovery loop did not give the stock back");
    let answer = server
        .api(Method::POST, "/checkout/order", &keyed, Some(body))
        .await;
    answer.ok(201);
    assert_eq!(stock(&server, &shop, &tee).await.0, 6);
    let orders = server.api(Method::GET, "/orders", &user.auth(), None).await;
    assert_eq!(orders.ok(200).as_array().unwrap().len(), 1);
    server.stop().await;
}

/// Clients that go away mid-checkout (their requests time out after a few milliseconds) do
/// not take their checkouts down: every attempt runs to its end on its own, so right after,
/// with no recovery pass, nothing stays held and the units sold are the units in orders.
async fn disconnects_leave_nothing_half_done(api: &Api) {
    let shop = signup(api, "shop", "gone@shop.example").await;
    let tee = product(api, &shop, "Gone Tee", json!(3), 100_000).await;
    let mut users = Vec::new();
    for i in 0..8 {
        users.push(signup(api, "user", &format!("gone{i}@buyer.example")).await);
    }
    let body = json!({
        "shop_order_ids": [{"shopId": shop.id, "item_products": [
            {"productId": tee, "quantity": 1}]}],
        "user_address": {"street": "1 Main St"}, "user_payment": {"method": "cod"}
    });
    let cut = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tasks: Vec<_> = (0..400)
        .map(|i| {
            let user = users[i % users.len()].clone();
            let (api, body, cut) = (api.clone(), body.clone(), cut.clone());
            tokio::spawn(async move {
                // A fresh client per request, with a deadline of 1 to 8 ms: most are cut off
                // somewhere inside the checkout.
                let client = reqwest::Client::builder()
                    .timeout(std::time::Duration::from_millis(1 + (i % 8) as u64))
                    .build()
                    .unwrap();
                let sent = client
                    .post(api.url("/v1/api/checkout/order"))
                    .header("x-api-key", &api.key)
                    .header("x-client-id", &user.id)
                    .header("authorization", &user.access)
                    .header("idempotency-key", format!("gone-{i}"))
                    .json(&body)
                    .send()
                    .await;
                if sent.is_err() {
                    cut.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert!(
        cut.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "no request was cut off"
    );
    // Attempts still running finish within moments; no recovery runs (the lease is 30 s).
    // Settled means: nothing held, and the stock and the orders did not move while counted.
    let units_in_orders = || async {
        let mut units = 0;
        for user in &users {
            let answer = api
                .api(Method::GET, "/orders?limit=100", &user.auth(), None)
                .await;
            for order in answer.ok(200).as_array().unwrap() {
                for part in order["order_products"].as_array().unwrap() {
                    for line in part["item_products"].as_array().unwrap() {
                        units += line["quantity"].as_u64().unwrap();
                    }
                }
            }
        }
        units
    };
    let mut last = None;
    for _ in 0..200 {
        let before = support::inventory(api, &shop, &tee).await;
        let in_orders = units_in_orders().await;
        let after = support::inventory(api, &shop, &tee).await;
        last = Some((before, in_orders, after));
        if before == after && before.2 == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let ((stock, sold, held), in_orders, after) = last.unwrap();
    assert_eq!(held, 0, "holds left half-done: {after:?}");
    assert_eq!(sold, in_orders, "units sold are the units in orders");
    assert_eq!(stock + in_orders, 100_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn disconnects_on_memory() {
    support::on_memory(|api| async move { disconnects_leave_nothing_half_done(&api).await }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn disconnects_on_mongo_and_redis() {
    support::on_mongo_redis("gate", |api| async move {
        disconnects_leave_nothing_half_done(&api).await;
    })
    .await;
}
