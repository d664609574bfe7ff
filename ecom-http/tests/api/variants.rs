//! Variants over HTTP, on the memory backend and on MongoDB + Redis: a product with tier
//! variations and models (each with its price, SKU and stock), carts, reviews and orders per
//! model, stock added, adjusted and listed per model, cancellation restocking the right
//! model, patches adding, repricing and removing models, and the 400s of the contract. Every
//! answer is checked against the OpenAPI document.

use crate::support::{self, create_product, publish, signup, tee, Account, Api};
use reqwest::Method;
use serde_json::{json, Value};

/// A 2 x 3 tee: Red/Blue x S/M/L, Blue / L without stock.
fn variant_tee() -> Value {
    let mut body = tee("Tier tee", json!("1"));
    let body_map = body.as_object_mut().unwrap();
    body_map.remove("product_price");
    body_map.remove("product_quantity");
    body["product_variations"] = json!([
        {"name": "Color", "options": ["Red", "Blue"]},
        {"name": "Size", "options": ["S", "M", "L"]}
    ]);
    body["product_models"] = json!([
        {"tier_index": [0, 0], "price": "10.00", "stock": 5, "sku": "TEE-R-S"},
        {"tier_index": [0, 1], "price": "11.00", "stock": 5, "sku": "TEE-R-M"},
        {"tier_index": [0, 2], "price": "12.00", "stock": 5},
        {"tier_index": [1, 0], "price": "10.50", "stock": 5},
        {"tier_index": [1, 1], "price": "11.50", "stock": 5},
        {"tier_index": [1, 2], "price": "12.50", "stock": 0}
    ]);
    body
}

/// The id of the model named `name` in a product JSON.
fn model_id(product: &Value, name: &str) -> String {
    product["product_models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .map(|m| m["model_id"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no model {name} in {product}"))
}

/// The free stock of each model, by model id, and the product's total.
async fn model_stock(api: &Api, shop: &Account, product: &str) -> (Vec<(String, u64)>, u64) {
    let meta = support::inventory_json(api, shop, product).await;
    let models = meta["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["modelId"].as_str().unwrap().to_owned(),
                m["stock"].as_u64().unwrap(),
            )
        })
        .collect();
    (models, meta["invent_stock"].as_u64().unwrap())
}

async fn stock_of(api: &Api, shop: &Account, product: &str, model: &str) -> u64 {
    let (models, _) = model_stock(api, shop, product).await;
    models.into_iter().find(|(m, _)| m == model).unwrap().1
}

/// The shop, the customer, the tee with models (its JSON, id, the Red / M and Blue / L
/// models) and a plain product, shared by every step of the story.
struct Tiers {
    api: Api,
    shop: Account,
    user: Account,
    product: Value,
    id: String,
    red_m: String,
    blue_l: String,
    plain: String,
}

async fn variants(api: Api) {
    let shop = signup(&api, "shop", "tiers@shops.example").await;
    let user = signup(&api, "user", "tiers@people.example").await;
    refused_shapes(&api, &shop).await;
    let t = a_tee_with_models(api, shop, user).await;
    cart_lines(&t).await;
    let order_id = review_and_order(&t).await;
    stock_per_model(&t).await;
    cancel_restocks_the_model(&t, &order_id).await;
    patch_and_filters(&t).await;
    support::contract::assert_answers_follow_the_document(&t.api).await;
}

/// Refused shapes: nothing is created.
async fn refused_shapes(api: &Api, shop: &Account) {
    let with = |field: &str, value: Value| {
        let mut body = variant_tee();
        body[field] = value;
        body
    };
    for (body, needle) in [
        (with("product_price", json!("9.99")), "product_price"),
        (with("product_quantity", json!(3)), "product_price"),
        (with("product_variations", json!([])), "product_variations"),
        (with("product_models", json!([])), "product_models"),
        (
            with(
                "product_variations",
                json!([{"name": "Color", "options": ["Red", "Blue"]},
                       {"name": "Size", "options": ["S", "M", "Huge"]}]),
            ),
            "product_variations",
        ),
        (
            with(
                "product_models",
                json!([{"tier_index": [0, 3], "price": "1.00", "stock": 1}]),
            ),
            "product_models",
        ),
        (
            with(
                "product_models",
                json!([{"model_id": "0123456789abcdef0123456789abcdef",
                        "tier_index": [0, 0], "price": "1.00"}]),
            ),
            "product_models",
        ),
    ] {
        api.api(Method::POST, "/products", &shop.auth(), Some(body))
            .await
            .err(400, needle);
    }
    let drafts = api
        .api(Method::GET, "/products/draft/all", &shop.auth(), None)
        .await;
    assert_eq!(drafts.ok(200), &json!([]));
}

/// A product with variants: the lowest price, the highest, the sum of stock, its models; and
/// a plain product. Both published.
async fn a_tee_with_models(api: Api, shop: Account, user: Account) -> Tiers {
    let api_owned = api;
    let api = &api_owned;
    let answer = api
        .api(Method::POST, "/products", &shop.auth(), Some(variant_tee()))
        .await;
    let product = answer.ok(201).clone();
    let id = product["_id"].as_str().unwrap().to_owned();
    assert_eq!(product["product_price"], json!(10.0));
    assert_eq!(product["product_price_max"], json!(12.5));
    assert_eq!(product["product_quantity"], json!(25));
    assert_eq!(
        product["product_variations"][1]["options"],
        json!(["S", "M", "L"])
    );
    let models = product["product_models"].as_array().unwrap();
    assert_eq!(models.len(), 6);
    assert_eq!(models[1]["name"], "Red / M");
    assert_eq!(models[1]["sku"], "TEE-R-M");
    assert_eq!(models[1]["price"], json!(11.0));
    assert_eq!(models[2]["sku"], Value::Null);
    let red_m = model_id(&product, "Red / M");
    let blue_l = model_id(&product, "Blue / L");
    publish(api, &shop, &id).await;
    let plain = create_product(api, &shop, tee("Plain tee", json!("4.00"))).await;
    publish(api, &shop, &plain).await;
    Tiers {
        api: api_owned,
        shop,
        user,
        product,
        id,
        red_m,
        blue_l,
        plain,
    }
}

/// Cart lines name a model exactly when the product has models.
async fn cart_lines(t: &Tiers) {
    let Tiers {
        api,
        shop,
        user,
        id,
        red_m,
        plain,
        ..
    } = t;
    let add = |product: &str, model: Option<&str>, quantity: u32| {
        let mut line = json!({"productId": product, "shopId": shop.id, "quantity": quantity});
        if let Some(model) = model {
            line["modelId"] = json!(model);
        }
        json!({"product": line})
    };
    for (body, needle) in [
        (add(id, None, 1), "modelId"),
        (add(plain, Some(red_m), 1), "modelId"),
        (add(id, Some(plain), 1), "modelId"),
    ] {
        api.api(Method::POST, "/carts", &user.auth(), Some(body))
            .await
            .err(400, needle);
    }
    api.api(
        Method::POST,
        "/carts",
        &user.auth(),
        Some(add(id, Some(red_m), 2)),
    )
    .await
    .ok(200);
    let answer = api
        .api(
            Method::POST,
            "/carts",
            &user.auth(),
            Some(add(plain, None, 1)),
        )
        .await;
    let cart = answer.ok(200);
    assert_eq!(cart["cart_count_product"], 2);
    let line = &cart["cart_products"][0];
    assert_eq!(
        (&line["modelId"], &line["model_name"], &line["price"]),
        (&json!(red_m), &json!("Red / M"), &json!(11.0))
    );
}

/// Review and order: each model at its price; the order lines show the model; the order id.
async fn review_and_order(t: &Tiers) -> String {
    let Tiers {
        api,
        shop,
        user,
        id,
        red_m,
        blue_l,
        plain,
        ..
    } = t;
    let checkout = |lines: Value| {
        json!({"shop_order_ids": [{"shopId": shop.id, "shop_discounts": [], "item_products": lines}],
               "user_address": {"street": "1 Main St"}, "user_payment": {"method": "cod"}})
    };
    api.api(
        Method::POST,
        "/checkout/review",
        &user.auth(),
        Some(checkout(json!([{"productId": id, "quantity": 1}]))),
    )
    .await
    .err(400, "modelId");
    let lines = json!([{"productId": id, "modelId": red_m, "quantity": 2},
                       {"productId": plain, "quantity": 1}]);
    let answer = api
        .api(
            Method::POST,
            "/checkout/review",
            &user.auth(),
            Some(checkout(lines.clone())),
        )
        .await;
    let review = answer.ok(200);
    assert_eq!(review["checkout_order"]["totalPrice"], json!(26.0));
    let reviewed = &review["shop_order_ids_new"][0]["item_products"];
    assert!(
        reviewed
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["modelId"] == json!(red_m) && l["model_name"] == "Red / M"),
        "{reviewed}"
    );
    api.api(
        Method::POST,
        "/checkout/order",
        &user.auth(),
        Some(checkout(
            json!([{"productId": id, "modelId": blue_l, "quantity": 1}]),
        )),
    )
    .await
    .err(
        409,
        &format!("insufficient stock for product {id} (model Blue / L {blue_l})"),
    );
    let answer = api
        .api(
            Method::POST,
            "/checkout/order",
            &user.auth(),
            Some(checkout(lines)),
        )
        .await;
    let order = answer.ok(201).clone();
    let order_id = order["_id"].as_str().unwrap().to_owned();
    let order_lines = order["order_products"][0]["item_products"]
        .as_array()
        .unwrap();
    let tee_line = order_lines
        .iter()
        .find(|l| l["productId"] == json!(id))
        .unwrap();
    assert_eq!(tee_line["modelId"], json!(red_m));
    assert_eq!(tee_line["model_name"], "Red / M");
    assert_eq!(tee_line["price"], json!(11.0));
    let answer = api.api(Method::GET, "/carts", &user.auth(), None).await;
    assert_eq!(
        answer.ok(200)["cart_count_product"],
        0,
        "bought lines left the cart"
    );
    assert_eq!(stock_of(api, shop, id, red_m).await, 3);
    let (models, total) = model_stock(api, shop, id).await;
    assert_eq!(models.len(), 6);
    assert_eq!(total, 23);
    order_id
}

/// Stock per model: added, adjusted, listed; the model is required and checked.
async fn stock_per_model(t: &Tiers) {
    let Tiers {
        api,
        shop,
        id,
        red_m,
        blue_l,
        plain,
        ..
    } = t;
    let answer = api
        .api(
            Method::POST,
            "/inventory",
            &shop.auth(),
            Some(json!({"productId": id, "modelId": blue_l, "stock": 4})),
        )
        .await;
    let added = answer.ok(200);
    assert_eq!(added["modelId"], json!(blue_l));
    assert_eq!(added["invent_productId"], json!(id));
    assert_eq!(added["invent_stock"], 4);
    api.api(
        Method::POST,
        "/inventory",
        &shop.auth(),
        Some(json!({"productId": id, "stock": 4})),
    )
    .await
    .err(400, "modelId");
    api.api(
        Method::POST,
        "/inventory/adjust",
        &shop.auth(),
        Some(json!({"productId": plain, "modelId": red_m, "delta": 1, "reason": "x"})),
    )
    .await
    .err(400, "modelId");
    let answer = api
        .api(
            Method::POST,
            "/inventory/adjust",
            &shop.auth(),
            Some(json!({"productId": id, "modelId": blue_l, "set": 2, "reason": "Count"})),
        )
        .await;
    assert_eq!(answer.ok(200)["invent_stock"], 2);
    let answer = api
        .api(
            Method::GET,
            &format!("/inventory/{id}/adjustments?modelId={blue_l}"),
            &shop.auth(),
            None,
        )
        .await;
    let history = answer.ok(200).as_array().unwrap().clone();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["modelId"], json!(blue_l));
    assert_eq!(history[0]["delta"], -2);
    api.api(
        Method::GET,
        &format!("/inventory/{id}/adjustments"),
        &shop.auth(),
        None,
    )
    .await
    .err(400, "modelId");
}

/// The customer cancels: the Red / M units go back to Red / M.
async fn cancel_restocks_the_model(t: &Tiers, order_id: &str) {
    let Tiers {
        api,
        shop,
        user,
        id,
        red_m,
        blue_l,
        ..
    } = t;
    api.api(
        Method::POST,
        &format!("/orders/{order_id}/cancel"),
        &user.auth(),
        None,
    )
    .await
    .ok(200);
    assert_eq!(stock_of(api, shop, id, red_m).await, 5);
    assert_eq!(stock_of(api, shop, id, blue_l).await, 2);
}

/// PATCH: reprice one model, add one, remove one; a price of the product's own is refused;
/// filters see model prices.
async fn patch_and_filters(t: &Tiers) {
    let Tiers {
        api,
        shop,
        product,
        id,
        blue_l,
        plain,
        ..
    } = t;
    let mut kept: Vec<Value> = product["product_models"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["model_id"] != json!(blue_l))
        .map(|m| json!({"model_id": m["model_id"], "tier_index": m["tier_index"], "price": "9.00"}))
        .collect();
    kept.push(json!({"tier_index": [1, 2], "price": "13.00", "stock": 1, "sku": "NEW-BL"}));
    let answer = api
        .api(
            Method::PATCH,
            &format!("/products/{id}"),
            &shop.auth(),
            Some(json!({"product_models": kept})),
        )
        .await;
    let patched = answer.ok(200).clone();
    assert_eq!(patched["product_price"], json!(9.0));
    assert_eq!(patched["product_price_max"], json!(13.0));
    let new_blue_l = model_id(&patched, "Blue / L");
    assert_ne!(
        new_blue_l, *blue_l,
        "the removed model's place went to a new model"
    );
    assert_eq!(stock_of(api, shop, id, &new_blue_l).await, 1);
    api.api(
        Method::PATCH,
        &format!("/products/{id}"),
        &shop.auth(),
        Some(json!({"product_price": "5.00"})),
    )
    .await
    .err(400, "product_price");
    api.api(
        Method::PATCH,
        &format!("/products/{plain}"),
        &shop.auth(),
        Some(
            json!({"product_variations": [{"name": "Size", "options": ["S"]}],
                    "product_models": [{"tier_index": [0], "price": "1.00"}]}),
        ),
    )
    .await
    .err(400, "product_models");
    // Filters see model prices.
    let answer = api
        .api(
            Method::GET,
            &format!(
                "/products/all?shop={}&min_price=12.50&max_price=13",
                shop.id
            ),
            &[],
            None,
        )
        .await;
    let listed = answer.ok(200).as_array().unwrap().clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["_id"], json!(id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn variants_on_memory() {
    support::on_memory(variants).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn variants_on_mongo_redis() {
    support::on_mongo_redis("gate", variants).await;
}
