//! The access matrix: every route that takes an id of something an account owns (in its path
//! or its body), tried with another account of the same kind and with an account of the other
//! kind: 404 or 403, never the owner's data, and nothing the owner has changes. The table must
//! name every path with an id parameter in the OpenAPI document, so a new one cannot be left
//! out. Lists scoped to the caller never show another account's records.

use crate::support::{self, create_product, signup, tee, Account, Api};
use reqwest::Method;
use serde_json::{json, Value};

/// What one account owns, to be reached for by others.
struct Owned {
    shop: Account,
    customer: Account,
    /// A published product of `shop` (public to read, private to change).
    product: String,
    /// A draft product of `shop` (private to read).
    draft: String,
    code: String,
    order: String,
    /// A webhook endpoint of `shop`, and a delivery to it (a ping).
    endpoint: String,
    delivery: String,
    /// A return the customer asked of the (delivered) order.
    ret: String,
}

/// Who is calling: the owner's peer of the same kind, or an account of the other kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    OtherShop,
    OtherCustomer,
}

/// One row: a route, what it is sent with, and who tries it.
struct Row {
    method: Method,
    /// The OpenAPI path template the row covers.
    template: &'static str,
    path: String,
    body: Option<Value>,
    callers: &'static [Caller],
}

const BOTH: &[Caller] = &[Caller::OtherShop, Caller::OtherCustomer];

fn rows(o: &Owned) -> Vec<Row> {
    let mut rows = base_rows(o);
    rows.extend(return_rows(o));
    rows
}

/// A row of a route every caller of [`BOTH`] tries.
fn row(method: Method, template: &'static str, path: String, body: Option<Value>) -> Row {
    Row {
        method,
        template,
        path,
        body,
        callers: BOTH,
    }
}

/// The rows of the return routes.
fn return_rows(o: &Owned) -> Vec<Row> {
    vec![
        row(
            Method::POST,
            "/orders/{orderId}/returns",
            format!("/orders/{}/returns", o.order),
            Some(json!({"lines": [{"productId": o.product, "quantity": 1}], "reason": "other"})),
        ),
        row(
            Method::GET,
            "/returns/{returnId}",
            format!("/returns/{}", o.ret),
            None,
        ),
        row(
            Method::POST,
            "/returns/{returnId}/cancel",
            format!("/returns/{}/cancel", o.ret),
            None,
        ),
        row(
            Method::POST,
            "/returns/{returnId}/dispute",
            format!("/returns/{}/dispute", o.ret),
            None,
        ),
        row(
            Method::GET,
            "/shop/returns/{returnId}",
            format!("/shop/returns/{}", o.ret),
            None,
        ),
        row(
            Method::POST,
            "/shop/returns/{returnId}/accept",
            format!("/shop/returns/{}/accept", o.ret),
            Some(json!({"mode": "refund_only"})),
        ),
        row(
            Method::POST,
            "/shop/returns/{returnId}/reject",
            format!("/shop/returns/{}/reject", o.ret),
            Some(json!({"reason": "no"})),
        ),
        row(
            Method::POST,
            "/shop/returns/{returnId}/receive",
            format!("/shop/returns/{}/receive", o.ret),
            Some(
                json!({"lines": [{"productId": o.product, "quantity": 1, "condition": "resellable"}]}),
            ),
        ),
        row(
            Method::POST,
            "/shop/returns/{returnId}/refund-paid",
            format!("/shop/returns/{}/refund-paid", o.ret),
            None,
        ),
        row(
            Method::POST,
            "/admin/returns/{returnId}/resolve",
            format!("/admin/returns/{}/resolve", o.ret),
            Some(json!({"outcome": "refund"})),
        ),
    ]
}

/// The rows of every other route.
fn base_rows(o: &Owned) -> Vec<Row> {
    vec![
        row(
            Method::GET,
            "/products/{productId}",
            format!("/products/{}", o.draft),
            None,
        ),
        row(
            Method::PATCH,
            "/products/{productId}",
            format!("/products/{}", o.product),
            Some(json!({"product_name": "Taken over"})),
        ),
        row(
            Method::POST,
            "/products/publish/{productId}",
            format!("/products/publish/{}", o.draft),
            None,
        ),
        row(
            Method::POST,
            "/products/unpublish/{productId}",
            format!("/products/unpublish/{}", o.product),
            None,
        ),
        row(
            Method::GET,
            "/inventory/{productId}",
            format!("/inventory/{}", o.product),
            None,
        ),
        row(
            Method::POST,
            "/inventory",
            "/inventory".into(),
            Some(json!({"productId": o.product, "stock": 5})),
        ),
        row(
            Method::GET,
            "/inventory/{productId}/adjustments",
            format!("/inventory/{}/adjustments", o.product),
            None,
        ),
        row(
            Method::POST,
            "/inventory/adjust",
            "/inventory/adjust".into(),
            Some(json!({"productId": o.product, "delta": -1, "reason": "Taken over"})),
        ),
        row(
            Method::DELETE,
            "/discounts/{code}",
            format!("/discounts/{}", o.code),
            None,
        ),
        row(
            Method::GET,
            "/orders/{orderId}",
            format!("/orders/{}", o.order),
            None,
        ),
        row(
            Method::POST,
            "/orders/{orderId}/cancel",
            format!("/orders/{}/cancel", o.order),
            None,
        ),
        row(
            Method::PATCH,
            "/orders/{orderId}/status",
            format!("/orders/{}/status", o.order),
            Some(json!({"orderProducts": [{"productIds": [o.product], "status": "shipped"}]})),
        ),
        row(
            Method::GET,
            "/shop/orders/{orderId}",
            format!("/shop/orders/{}", o.order),
            None,
        ),
        row(
            Method::GET,
            "/webhooks/endpoints/{endpointId}",
            format!("/webhooks/endpoints/{}", o.endpoint),
            None,
        ),
        row(
            Method::PATCH,
            "/webhooks/endpoints/{endpointId}",
            format!("/webhooks/endpoints/{}", o.endpoint),
            Some(json!({"enabled": false, "url": "https://93.184.216.34/taken"})),
        ),
        row(
            Method::DELETE,
            "/webhooks/endpoints/{endpointId}",
            format!("/webhooks/endpoints/{}", o.endpoint),
            None,
        ),
        row(
            Method::POST,
            "/webhooks/endpoints/{endpointId}/rotate-secret",
            format!("/webhooks/endpoints/{}/rotate-secret", o.endpoint),
            None,
        ),
        row(
            Method::POST,
            "/webhooks/endpoints/{endpointId}/test",
            format!("/webhooks/endpoints/{}/test", o.endpoint),
            None,
        ),
        row(
            Method::GET,
            "/webhooks/endpoints/{endpointId}/deliveries",
            format!("/webhooks/endpoints/{}/deliveries", o.endpoint),
            None,
        ),
        row(
            Method::POST,
            "/webhooks/deliveries/{deliveryId}/retry",
            format!("/webhooks/deliveries/{}/retry", o.delivery),
            None,
        ),
        row(
            Method::POST,
            "/discounts/cancel",
            "/discounts/cancel".into(),
            Some(json!({"codeId": o.code, "shopId": o.shop.id})),
        ),
    ]
}

/// Lists scoped to their caller.
fn scoped_lists() -> Vec<&'static str> {
    vec![
        "/orders",
        "/shop/orders",
        "/carts",
        "/discounts",
        "/products/draft/all",
        "/products/published/all",
        "/webhooks/endpoints",
        "/events",
        "/returns",
        "/shop/returns",
    ]
}

async fn set_up(api: &Api) -> Owned {
    let shop = signup(api, "shop", "owner@shop.example").await;
    let customer = signup(api, "user", "owner@buyer.example").await;
    let product = create_product(api, &shop, tee("Owned tee", json!(12))).await;
    api.api(
        Method::POST,
        &format!("/products/publish/{product}"),
        &shop.auth(),
        None,
    )
    .await
    .ok(200);
    let draft = create_product(api, &shop, tee("Owned draft", json!(9))).await;
    let now = chrono::Utc::now();
    let code = "OWNED10";
    api.api(
        Method::POST,
        "/discounts",
        &shop.auth(),
        Some(json!({
            "code": code, "name": "Owned", "description": "10% off", "type": "percentage",
            "value": 10, "start_date": (now - chrono::Duration::hours(1)).to_rfc3339(),
            "end_date": (now + chrono::Duration::days(1)).to_rfc3339(), "max_uses": 10,
            "max_uses_per_user": 5, "min_order_value": 0, "is_active": true,
            "applies_to": "all", "product_ids": []
        })),
    )
    .await
    .ok(201);
    let order = api
        .api(
            Method::POST,
            "/checkout/order",
            &customer.auth(),
            Some(json!({
                "shop_order_ids": [{"shopId": shop.id,
                    "shop_discounts": [{"shopId": shop.id, "codeId": code}],
                    "item_products": [{"productId": product, "quantity": 1}]}],
                "user_address": {"street": "1 Owner Rd"}, "user_payment": {"method": "cod"}
            })),
        )
        .await
        .ok(201)["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A public address (no DNS needed); nothing listens for it here, so its deliveries wait.
    let endpoint = api
        .api(
            Method::POST,
            "/webhooks/endpoints",
            &shop.auth(),
            Some(json!({"url": "https://93.184.216.34/owned", "events": ["order.placed"]})),
        )
        .await
        .ok(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let delivery = api
        .api(
            Method::POST,
            &format!("/webhooks/endpoints/{endpoint}/test"),
            &shop.auth(),
            None,
        )
        .await
        .ok(200)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for status in ["confirmed", "shipped", "delivered"] {
        api.api(
            Method::PATCH,
            &format!("/orders/{order}/status"),
            &shop.auth(),
            Some(json!({"orderProducts": [{"productIds": [product], "status": status}]})),
        )
        .await
        .ok(200);
    }
    let ret = api
        .api(
            Method::POST,
            &format!("/orders/{order}/returns"),
            &customer.auth(),
            Some(json!({"lines": [{"productId": product, "quantity": 1}], "reason": "damaged"})),
        )
        .await
        .ok(200)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Owned {
        shop,
        customer,
        product,
        draft,
        code: code.into(),
        order,
        endpoint,
        delivery,
        ret,
    }
}

/// What the owners see of their own things: must be the same after every other's attempt.
async fn snapshot(api: &Api, o: &Owned) -> Value {
    let shop_reads = [
        format!("/inventory/{}", o.product),
        format!("/inventory/{}/adjustments", o.product),
        format!("/products/{}", o.product),
        "/products/draft/all".to_owned(),
        "/products/published/all".to_owned(),
        "/discounts".to_owned(),
    ];
    let mut seen = Vec::new();
    for path in shop_reads {
        seen.push(
            api.api(Method::GET, &path, &o.shop.auth(), None)
                .await
                .ok(200)
                .clone(),
        );
    }
    for path in [
        format!("/orders/{}", o.order),
        "/orders".to_owned(),
        format!("/returns/{}", o.ret),
        "/returns".to_owned(),
    ] {
        seen.push(
            api.api(Method::GET, &path, &o.customer.auth(), None)
                .await
                .ok(200)
                .clone(),
        );
    }
    Value::Array(seen)
}

async fn access_matrix(api: Api) {
    let owner = set_up(&api).await;
    let other_shop = signup(&api, "shop", "other@shop.example").await;
    let other_customer = signup(&api, "user", "other@buyer.example").await;
    let rows = rows(&owner);
    assert_every_id_route_is_covered(&api, &rows).await;
    let before = snapshot(&api, &owner).await;
    let private = [&owner.draft, &owner.order, &owner.delivery, &owner.ret];
    for row in &rows {
        for caller in row.callers {
            let account = match caller {
                Caller::OtherShop => &other_shop,
                Caller::OtherCustomer => &other_customer,
            };
            let answer = api
                .api(
                    row.method.clone(),
                    &row.path,
                    &account.auth(),
                    row.body.clone(),
                )
                .await;
            let status = answer.status.as_u16();
            assert!(
                status == 403 || status == 404,
                "{} {} by {caller:?}: {status} {}",
                row.method,
                row.path,
                answer.text
            );
            assert_eq!(answer.body["status"], "error", "{}", answer.text);
            for id in private {
                assert!(
                    !answer.text.contains(id.as_str()),
                    "{} {} by {caller:?} shows {id}",
                    row.method,
                    row.path
                );
            }
        }
    }
    for path in scoped_lists() {
        for account in [&other_shop, &other_customer] {
            let answer = api.api(Method::GET, path, &account.auth(), None).await;
            for id in [
                &owner.draft,
                &owner.order,
                &owner.code,
                &owner.endpoint,
                &owner.ret,
            ] {
                assert!(
                    !answer.text.contains(id.as_str()),
                    "GET {path} by another account shows {id}: {}",
                    answer.text
                );
            }
        }
    }
    assert_eq!(
        snapshot(&api, &owner).await,
        before,
        "nothing the owner has changed"
    );
    let endpoint = api
        .api(
            Method::GET,
            &format!("/webhooks/endpoints/{}", owner.endpoint),
            &owner.shop.auth(),
            None,
        )
        .await;
    let endpoint = endpoint.ok(200);
    assert_eq!(endpoint["url"], "https://93.184.216.34/owned");
    assert_eq!(
        endpoint["enabled"], true,
        "the endpoint is the owner's still"
    );
}

/// Every path of the OpenAPI document with an id parameter has a row.
async fn assert_every_id_route_is_covered(api: &Api, rows: &[Row]) {
    let answer = api.call(Method::GET, "/openapi.json", &[], None).await;
    assert_eq!(answer.status, 200);
    let document = answer.body;
    let covered: Vec<(String, &str)> = rows
        .iter()
        .map(|r| (r.method.as_str().to_lowercase(), r.template))
        .collect();
    // Public reads of published things and searches by free text are open to all by design:
    // a storefront shows only a shop's name, sign-up time and published products.
    let public = [
        ("get", "/products/search/{keySearch}"),
        ("get", "/shops/{shopId}"),
        ("get", "/shops/{shopId}/products"),
    ];
    for (path, item) in document["paths"].as_object().unwrap() {
        let Some(path) = path.strip_prefix("/v1/api") else {
            continue;
        };
        if !path.contains('{') {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            let entry = (method.as_str(), path);
            if public.contains(&entry) {
                continue;
            }
            assert!(
                covered.iter().any(|(m, t)| m == method && *t == path),
                "{method} {path} takes an id but has no row in the access matrix"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_matrix_on_memory() {
    support::on_memory(access_matrix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_matrix_on_mongo_and_redis() {
    support::on_mongo_redis("atomic", access_matrix).await;
}
