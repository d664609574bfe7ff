//! Stock adjustments over HTTP, on the memory backend and on MongoDB + Redis (gate strategy):
//! up, down, a stock count, to zero; below zero refused (409, nothing changed); bad bodies and
//! queries (400 naming the field, nothing changed); another shop's product (404); the history
//! newest first and paged; the gate follows (checkouts sell exactly the adjusted stock); and
//! every answer is one the OpenAPI document describes.

use crate::support::{self, published, signup, Account, Api};
use reqwest::Method;
use serde_json::{json, Value};

/// Adjusts `product` of `shop` with `body` (the product id is added).
async fn adjust(api: &Api, shop: &Account, product: &str, mut body: Value) -> support::Answer {
    body["productId"] = json!(product);
    api.api(Method::POST, "/inventory/adjust", &shop.auth(), Some(body))
        .await
}

/// The adjustments of `product` as `shop` sees them, with `query` (`?limit=..&page=..` or "").
async fn history(api: &Api, shop: &Account, product: &str, query: &str) -> support::Answer {
    let path = format!("/inventory/{product}/adjustments{query}");
    api.api(Method::GET, &path, &shop.auth(), None).await
}

/// (delta, stock_after, reason) of each listed adjustment.
fn entries(list: &Value) -> Vec<(i64, u64, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["delta"].as_i64().unwrap(),
                a["stock_after"].as_u64().unwrap(),
                a["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Places a one-line order of `quantity` units of `product`.
async fn order(api: &Api, shop: &Account, user: &Account, product: &str, quantity: u32) -> u16 {
    let body = json!({
        "shop_order_ids": [{"shopId": shop.id, "item_products": [
            {"productId": product, "quantity": quantity}]}],
        "user_address": {"street": "1 Main St"}, "user_payment": {"method": "cod"}
    });
    api.api(Method::POST, "/checkout/order", &user.auth(), Some(body))
        .await
        .status
        .as_u16()
}

/// The accounts and the product every step of the story shares.
struct Fixture {
    api: Api,
    shop: Account,
    other: Account,
    user: Account,
    product: String,
}

async fn adjustments(api: Api) {
    let shop = signup(&api, "shop", "adjust@shop.example").await;
    let other = signup(&api, "shop", "other@shop.example").await;
    let user = signup(&api, "user", "adjust@buyer.example").await;
    let product = published(&api, &shop, "Adjusted tee", json!(12), 10).await;
    let fx = Fixture {
        api,
        shop,
        other,
        user,
        product,
    };
    up_down_count_and_zero(&fx).await;
    refusals_change_nothing(&fx).await;
    history_newest_first_and_paged(&fx).await;
    let Fixture {
        api,
        shop,
        user,
        product,
        ..
    } = &fx;

    // The gate and the store follow: exactly the 4 units sell.
    assert_eq!(order(api, shop, user, product, 4).await, 201);
    assert_eq!(order(api, shop, user, product, 1).await, 409);
    assert_eq!(support::inventory(api, shop, product).await.0, 0);

    let checked = support::contract::assert_answers_follow_the_document(api).await;
    assert!(checked > 40, "{checked} answers checked");
}

/// Up, down, a count that finds the stock right, to zero: each answers the inventory.
async fn up_down_count_and_zero(fx: &Fixture) {
    let Fixture {
        api, shop, product, ..
    } = fx;
    let steps = [
        (json!({"delta": 5, "reason": "Found a box"}), 15),
        (json!({"delta": -3, "reason": "Damaged", "set": null}), 12),
        (
            json!({"set": 12, "reason": "Stock count", "modelId": null}),
            12,
        ),
        (json!({"set": 0, "reason": "Recall"}), 0),
    ];
    for (body, stock) in steps {
        let answer = adjust(api, shop, product, body.clone()).await;
        let meta = answer.ok(200);
        assert_eq!(meta["invent_stock"], stock, "{body}");
        assert_eq!(meta["invent_productId"], product.as_str());
        assert_eq!(meta["invent_shopId"], shop.id.as_str());
    }
    assert_eq!(support::inventory(api, shop, product).await, (0, 0, 0));
}

/// Below zero (409), bad bodies (400 naming the field), another shop's or an unknown product
/// (404), a customer: nothing changes.
async fn refusals_change_nothing(fx: &Fixture) {
    let Fixture {
        api,
        shop,
        other,
        user,
        product,
    } = fx;
    // Below zero: 409 in the envelope, nothing changed.
    let before = (
        support::inventory(api, shop, product).await,
        history(api, shop, product, "").await.ok(200).clone(),
    );
    adjust(
        api,
        shop,
        product,
        json!({"delta": -1, "reason": "One more"}),
    )
    .await
    .err(409, "below zero");

    // Bad bodies: 400 naming the field, nothing changed.
    let long = "r".repeat(201);
    let bad = [
        (json!({"delta": 1, "set": 1, "reason": "Both"}), "set"),
        (json!({"reason": "Neither"}), "delta"),
        (
            json!({"delta": null, "set": null, "reason": "Neither"}),
            "delta",
        ),
        (json!({"delta": 0, "reason": "Nothing"}), "delta"),
        (json!({"delta": 1_000_001, "reason": "Too many"}), "delta"),
        (json!({"delta": 1.5, "reason": "Half"}), "delta"),
        (json!({"delta": "5", "reason": "Text"}), "delta"),
        (json!({"set": -1, "reason": "Negative"}), "set"),
        (
            json!({"set": 1_000_000_001u64, "reason": "Too many"}),
            "set",
        ),
        (json!({"set": true, "reason": "Not a number"}), "set"),
        (json!({"delta": 1}), "reason"),
        (json!({"delta": 1, "reason": "   "}), "reason"),
        (json!({"delta": 1, "reason": long}), "reason"),
        (json!({"delta": 1, "reason": 7}), "reason"),
        (
            json!({"delta": 1, "reason": "Model", "modelId": "m-1"}),
            "modelId",
        ),
        (
            json!({"delta": 1, "reason": "Bad id", "productId": "nope"}),
            "productId",
        ),
    ];
    for (body, field) in bad {
        let mut sent = body.clone();
        if sent.get("productId").is_none() {
            sent["productId"] = json!(product);
        }
        let answer = api
            .api(Method::POST, "/inventory/adjust", &shop.auth(), Some(sent))
            .await;
        answer.err(400, field);
    }
    let missing_product = api
        .api(
            Method::POST,
            "/inventory/adjust",
            &shop.auth(),
            Some(json!({"delta": 1, "reason": "No product"})),
        )
        .await;
    missing_product.err(400, "productId");

    // Another shop's product, an unknown one: 404, nothing changed.
    adjust(
        api,
        other,
        product,
        json!({"delta": 5, "reason": "Not mine"}),
    )
    .await
    .err(404, "not found");
    history(api, other, product, "").await.err(404, "not found");
    let unknown = "0190f5a0c0de7000a000000000000001";
    adjust(api, shop, unknown, json!({"delta": 5, "reason": "Unknown"}))
        .await
        .err(404, "not found");
    // A customer is not a shop.
    let as_customer = adjust(api, user, product, json!({"delta": 5, "reason": "Buyer"})).await;
    assert!(
        [401, 403].contains(&as_customer.status.as_u16()),
        "{}",
        as_customer.text
    );
    let after = (
        support::inventory(api, shop, product).await,
        history(api, shop, product, "").await.ok(200).clone(),
    );
    assert_eq!(after, before, "refused requests changed nothing");
}

/// Back to 4 units; the history, newest first, whole and in pages; bad queries.
async fn history_newest_first_and_paged(fx: &Fixture) {
    let Fixture {
        api, shop, product, ..
    } = fx;
    // Back to 4 units; the history, newest first, whole and in pages.
    adjust(
        api,
        shop,
        product,
        json!({"set": 4.0, "reason": "Restocked"}),
    )
    .await
    .ok(200);
    let all = history(api, shop, product, "").await;
    let list = all.ok(200);
    let expected = vec![
        (4, 4, "Restocked".to_owned()),
        (-12, 0, "Recall".to_owned()),
        (0, 12, "Stock count".to_owned()),
        (-3, 12, "Damaged".to_owned()),
        (5, 15, "Found a box".to_owned()),
    ];
    assert_eq!(entries(list), expected);
    for entry in list.as_array().unwrap() {
        assert_eq!(entry["by"], shop.id.as_str());
        assert!(entry.get("modelId").is_none(), "{entry}");
        assert!(entry["createdAt"].is_string() && entry["_id"].is_string());
    }
    let mut paged = Vec::new();
    for page in 1..=4 {
        let answer = history(api, shop, product, &format!("?limit=2&page={page}")).await;
        let items = entries(answer.ok(200));
        assert!(items.len() <= 2);
        if page == 4 {
            assert!(items.is_empty());
        }
        paged.extend(items);
    }
    assert_eq!(paged, expected, "the pages together are the whole history");
    history(api, shop, product, "?limit=0")
        .await
        .err(400, "limit");
    history(api, shop, product, "?page=0")
        .await
        .err(400, "page");
    history(api, shop, product, "?limit=101")
        .await
        .err(400, "limit");
    history(api, shop, "nope", "").await.err(400, "productId");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adjustments_on_memory() {
    support::on_memory(adjustments).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adjustments_on_mongo_and_redis() {
    support::on_mongo_redis("gate", adjustments).await;
}
