//! Free-form JSON and dates that one backend could store and another could not get the same
//! 400 on both, naming the field, and leave nothing behind: integers of 2^63 and more, keys
//! with NUL, nesting deeper than 8 levels, years outside 1 to 9999.

use crate::support::{self, create_product, signup, tee, Api};
use reqwest::Method;
use serde_json::{json, Value};

/// `{"a": {"a": ... value}}`, `depth` objects deep.
fn nested(depth: usize, value: Value) -> Value {
    (0..depth).fold(value, |inner, _| json!({ "a": inner }))
}

async fn refused_everywhere(api: Api) {
    let api = &api;
    let shop = signup(api, "shop", "storable@shop.example").await;
    let user = signup(api, "user", "storable@buyer.example").await;
    let huge = serde_json::from_str::<Value>("18446744073709551615").unwrap();
    let just_over = serde_json::from_str::<Value>("9223372036854775808").unwrap();
    let hostile = [
        json!({"n": huge.clone()}),
        json!({"n": [1, just_over.clone()]}),
        json!({"a\u{0}b": 1}),
        nested(12, json!(1)),
    ];

    // Products: variations (tiers of text now: a hostile value is no tier); nothing is created.
    for bad in &hostile {
        let mut body = tee("Hostile Tee", json!(10));
        body["product_variations"] = json!([bad]);
        api.api(Method::POST, "/products", &shop.auth(), Some(body))
            .await
            .err(400, "product_variations");
    }
    let drafts = api
        .api(Method::GET, "/products/draft/all", &shop.auth(), None)
        .await;
    assert_eq!(drafts.ok(200), &json!([]), "a refused product left a draft");
    let product = create_product(api, &shop, tee("Good Tee", json!(10))).await;
    for bad in &hostile {
        api.api(
            Method::PATCH,
            &format!("/products/{product}"),
            &shop.auth(),
            Some(json!({"product_variations": [bad]})),
        )
        .await
        .err(400, "product_variations");
    }
    api.api(
        Method::POST,
        &format!("/products/publish/{product}"),
        &shop.auth(),
        None,
    )
    .await
    .ok(200);

    // Checkout: address and payment; no order, stock untouched.
    for field in ["user_address", "user_payment"] {
        for bad in &hostile {
            let mut body = json!({
                "shop_order_ids": [{"shopId": shop.id, "item_products": [
                    {"productId": product, "quantity": 1}]}],
                "user_address": {"street": "1 Main St"}, "user_payment": {"method": "cod"}
            });
            body[field] = bad.clone();
            api.api(Method::POST, "/checkout/order", &user.auth(), Some(body))
                .await
                .err(400, field);
        }
    }
    let orders = api.api(Method::GET, "/orders", &user.auth(), None).await;
    assert_eq!(orders.ok(200), &json!([]));
    let inventory = api
        .api(
            Method::GET,
            &format!("/inventory/{product}"),
            &shop.auth(),
            None,
        )
        .await;
    assert_eq!(inventory.ok(200)["invent_stock"], 10);

    // Dates: years outside 1..=9999.
    let code = |start: &str, end: &str| {
        json!({"code": "DATES", "name": "Dates", "type": "percentage", "value": 10,
            "start_date": start, "end_date": end, "max_uses": 10, "max_uses_per_user": 1,
            "applies_to": "all"})
    };
    api.api(
        Method::POST,
        "/discounts",
        &shop.auth(),
        Some(code("0000-01-01T00:00:00Z", "2030-01-01T00:00:00Z")),
    )
    .await
    .err(400, "start_date");
    let codes = api.api(Method::GET, "/discounts", &shop.auth(), None).await;
    assert_eq!(codes.ok(200), &json!([]));
    // The edges themselves are fine.
    api.api(
        Method::POST,
        "/discounts",
        &shop.auth(),
        Some(code("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z")),
    )
    .await
    .ok(201);
    // So is the largest storable integer, on both backends.
    let mut body = json!({
        "shop_order_ids": [{"shopId": shop.id, "item_products": [
            {"productId": product, "quantity": 1}]}],
        "user_address": {"street": "1 Main St"}, "user_payment": {"method": "cod"}
    });
    body["user_address"]["zip"] = serde_json::from_str("9223372036854775807").unwrap();
    let placed = api
        .api(Method::POST, "/checkout/order", &user.auth(), Some(body))
        .await;
    assert_eq!(
        placed.ok(201)["order_shipping"]["zip"].to_string(),
        "9223372036854775807"
    );
}

#[tokio::test]
async fn unstorable_input_is_refused_on_memory() {
    support::on_memory(refused_everywhere).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unstorable_input_is_refused_on_mongo() {
    support::on_mongo_redis("atomic", refused_everywhere).await;
}
