//! Bad input on every route: each case gets its documented 4xx envelope and changes nothing.

use crate::support::{self, create_product, signup, tee, Account, Body, TestServer, KEY};
use ecom_core::api_key::Permission;
use reqwest::Method;
use serde_json::{json, Value};

const FOREIGN_ID: &str = "0190f5a0c0de7000a000000000000001";

/// Which credentials a case presents.
#[derive(Clone, Copy, Debug)]
enum Cred {
    /// No headers at all.
    NoKey,
    /// An unknown API key.
    UnknownKey,
    /// A key without permission 0000.
    WrongPermission,
    /// The API key only.
    Key,
    /// The shop's client id without a token.
    ShopNoToken,
    /// The shop's token without a client id.
    ShopNoClient,
    /// The shop's token with a flipped signature character.
    ShopTampered,
    /// The shop's token with another account's client id.
    ShopWrongClient,
    /// The customer's token on a shop route.
    Customer,
    /// The owner shop.
    Shop,
    /// Another shop.
    OtherShop,
    /// The customer's refresh headers, refresh token tampered.
    RefreshTampered,
    /// The customer's access token presented as a refresh token.
    RefreshWithAccess,
    /// Refresh without x-rtoken-id.
    RefreshMissing,
    /// The customer's client id without a token.
    UserNoToken,
    /// The customer's token with a flipped signature character.
    UserTampered,
    /// The customer's token with another customer's client id.
    UserWrongClient,
    /// Another customer.
    OtherUser,
}

#[derive(Clone)]
struct World {
    wrong_permission_key: String,
    shop: Account,
    other: Account,
    user: Account,
    other_user: Account,
    /// A draft of the shop.
    product: String,
    /// A published product of the shop, with an order of the customer.
    sellable: String,
    /// The customer's order (one unit of `sellable`, with the shop's code `SUMMER10`).
    order: String,
}

fn tamper(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let last = chars.len() - 2;
    chars[last] = if chars[last] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

fn headers(world: &World, cred: Cred) -> Vec<(String, String)> {
    let key = || ("x-api-key".to_owned(), KEY.to_owned());
    let shop = &world.shop;
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    match cred {
        Cred::NoKey => vec![],
        Cred::UnknownKey => vec![pair("x-api-key", "ecom_not-a-real-key-000000000000")],
        Cred::WrongPermission => vec![pair("x-api-key", &world.wrong_permission_key)],
        Cred::Key => vec![key()],
        Cred::ShopNoToken => vec![key(), pair("x-client-id", &shop.id)],
        Cred::ShopNoClient => vec![key(), pair("authorization", &shop.access)],
        Cred::ShopTampered => vec![
            key(),
            pair("x-client-id", &shop.id),
            pair("authorization", &tamper(&shop.access)),
        ],
        Cred::ShopWrongClient => vec![
            key(),
            pair("x-client-id", &world.other.id),
            pair("authorization", &shop.access),
        ],
        Cred::Customer => vec![
            key(),
            pair("x-client-id", &world.user.id),
            pair("authorization", &world.user.access),
        ],
        Cred::Shop => vec![
            key(),
            pair("x-client-id", &shop.id),
            pair("authorization", &shop.access),
        ],
        Cred::OtherShop => vec![
            key(),
            pair("x-client-id", &world.other.id),
            pair("authorization", &world.other.access),
        ],
        Cred::RefreshTampered => vec![
            key(),
            pair("x-client-id", &world.user.id),
            pair("x-rtoken-id", &tamper(&world.user.refresh)),
        ],
        Cred::RefreshWithAccess => vec![
            key(),
            pair("x-client-id", &world.user.id),
            pair("x-rtoken-id", &world.user.access),
        ],
        Cred::RefreshMissing => vec![key(), pair("x-client-id", &world.user.id)],
        Cred::UserNoToken => vec![key(), pair("x-client-id", &world.user.id)],
        Cred::UserTampered => vec![
            key(),
            pair("x-client-id", &world.user.id),
            pair("authorization", &tamper(&world.user.access)),
        ],
        Cred::UserWrongClient => vec![
            key(),
            pair("x-client-id", &world.other_user.id),
            pair("authorization", &world.user.access),
        ],
        Cred::OtherUser => vec![
            key(),
            pair("x-client-id", &world.other_user.id),
            pair("authorization", &world.other_user.access),
        ],
    }
}

/// A route: method, path (`{p}` is the draft, `{q}` the published product, `{o}` the order,
/// `{s}` the shop), whether it needs a shop or a customer token, a valid body.
struct Route {
    method: Method,
    path: &'static str,
    shop: bool,
    user: bool,
    body: Option<Value>,
}

fn routes() -> Vec<Route> {
    let r = |method: Method, path: &'static str, shop: bool, body: Option<Value>| Route {
        method,
        path,
        shop,
        user: false,
        body,
    };
    let u = |method: Method, path: &'static str, body: Option<Value>| Route {
        method,
        path,
        shop: false,
        user: true,
        body,
    };
    let account = json!({"name": "N", "email": "fresh@example.com", "password": "long enough pw"});
    let login = json!({"email": "fresh@example.com", "password": "long enough pw"});
    vec![
        r(Method::POST, "/shop/signup", false, Some(account.clone())),
        r(Method::POST, "/shop/login", false, Some(login.clone())),
        r(Method::POST, "/shop/logout", true, None),
        r(Method::POST, "/shop/handlerRefreshToken", false, None),
        r(Method::POST, "/user/signup", false, Some(account)),
        r(Method::POST, "/user/login", false, Some(login)),
        r(Method::POST, "/user/logout", false, None),
        r(Method::POST, "/user/handlerRefreshToken", false, None),
        r(Method::GET, "/products/all", false, None),
        r(Method::GET, "/products/search/tee", false, None),
        r(Method::GET, "/products/{p}", false, None),
        r(Method::POST, "/products", true, Some(tee("New", json!(1)))),
        r(
            Method::PATCH,
            "/products/{p}",
            true,
            Some(json!({"product_name": "Renamed"})),
        ),
        r(Method::POST, "/products/publish/{p}", true, None),
        r(Method::POST, "/products/unpublish/{p}", true, None),
        r(Method::GET, "/products/draft/all", true, None),
        r(Method::GET, "/products/published/all", true, None),
        r(
            Method::POST,
            "/inventory",
            true,
            Some(json!({"productId": "{p}", "stock": 1})),
        ),
        r(Method::GET, "/inventory/{p}", true, None),
        r(Method::POST, "/discounts", true, Some(discount_body())),
        r(Method::GET, "/discounts", true, None),
        r(
            Method::GET,
            "/discounts/list_product_code?code=SUMMER10&shopId={s}",
            false,
            None,
        ),
        u(Method::POST, "/discounts/amount", Some(quote_body())),
        r(Method::DELETE, "/discounts/SUMMER10", true, None),
        u(
            Method::POST,
            "/discounts/cancel",
            Some(json!({"codeId": "SUMMER10", "shopId": "{s}"})),
        ),
        u(Method::POST, "/carts", Some(cart_body())),
        u(Method::POST, "/carts/update", Some(cart_update_body())),
        u(Method::DELETE, "/carts", Some(json!({"productId": "{q}"}))),
        u(Method::GET, "/carts", None),
        u(Method::POST, "/checkout/review", Some(checkout_body())),
        u(Method::POST, "/checkout/order", Some(order_body())),
        u(Method::GET, "/orders", None),
        u(Method::GET, "/orders/{o}", None),
        u(Method::POST, "/orders/{o}/cancel", None),
        r(
            Method::PATCH,
            "/orders/{o}/status",
            true,
            Some(json!({"orderProducts": [{"productIds": ["{q}"], "status": "confirmed"}]})),
        ),
    ]
}

fn discount_body() -> Value {
    json!({
        "code": "NEW10", "name": "New", "description": "", "type": "percentage", "value": 10,
        "start_date": "2020-01-01T00:00:00Z", "end_date": "2999-01-01T00:00:00Z",
        "max_uses": 10, "max_uses_per_user": 1, "min_order_value": 0, "is_active": true,
        "applies_to": "all", "product_ids": []
    })
}

fn quote_body() -> Value {
    json!({"codeId": "SUMMER10", "shopId": "{s}", "products": [{"productId": "{q}", "quantity": 1}]})
}

fn cart_body() -> Value {
    json!({"product": {"productId": "{q}", "shopId": "{s}", "quantity": 1}})
}

fn cart_update_body() -> Value {
    json!({"shop_order_ids": [{"shopId": "{s}", "item_products": [
        {"productId": "{q}", "quantity": 2, "old_quantity": 1}
    ]}]})
}

fn checkout_body() -> Value {
    json!({"shop_order_ids": [{"shopId": "{s}",
        "shop_discounts": [],
        "item_products": [{"productId": "{q}", "quantity": 1, "price": 1}]}]})
}

fn order_body() -> Value {
    let mut body = checkout_body();
    body["user_address"] = json!({"street": "1 Main St"});
    body["user_payment"] = json!({"method": "cod"});
    body
}

/// `path` or body text with the world's ids in place of the placeholders (`{f}` is an id of
/// nothing: [`FOREIGN_ID`]).
fn fill(world: &World, text: &str) -> String {
    text.replace("{f}", FOREIGN_ID)
        .replace("{p}", &world.product)
        .replace("{q}", &world.sellable)
        .replace("{o}", &world.order)
        .replace("{s}", &world.shop.id)
}

async fn send(
    server: &TestServer,
    world: &World,
    method: Method,
    path: &str,
    cred: Cred,
    body: Option<Body>,
) -> support::Answer {
    let path = format!("/v1/api{}", fill(world, path));
    let headers = headers(world, cred);
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let body = body.map(|b| match b {
        Body::Json(v) => Body::Json(serde_json::from_str(&fill(world, &v.to_string())).unwrap()),
        raw => raw,
    });
    server.call(method, &path, &refs, body).await
}

/// Asserts that the case just sent changed nothing: the probe saw no store write at all, or
/// only writes to stores the snapshot reads (a conditional write that matched nothing, e.g. a
/// delete of another shop's code) and the snapshot is as before. Returns 1 (one case checked).
async fn unchanged(server: &TestServer, world: &World, before: &Value, case: usize) -> usize {
    let probe = server.probe.as_ref().unwrap();
    let writes: Vec<_> = probe.calls().into_iter().filter(|c| c.write).collect();
    probe.clear();
    if writes.is_empty() {
        return 1;
    }
    let unseen = ["accounts.", "key_stores.", "api_keys.", "lock.", "gate."];
    assert!(
        !writes
            .iter()
            .any(|c| unseen.iter().any(|p| c.name.starts_with(p))),
        "bad-input case #{case} wrote {writes:?}"
    );
    let now = snapshot(server, world).await;
    probe.clear();
    assert_eq!(
        &now, before,
        "bad-input case #{case} changed the store ({writes:?})"
    );
    1
}

/// Everything the routes could change, read as the owner.
async fn snapshot(server: &TestServer, world: &World) -> Value {
    let shop = world.shop.auth();
    let get = |path: String| {
        let headers = shop.clone();
        async move { server.api(Method::GET, &path, &headers, None).await.body }
    };
    json!({
        "product": get(format!("/products/{}", world.product)).await,
        "inventory": get(format!("/inventory/{}", world.product)).await,
        "drafts": get("/products/draft/all".into()).await,
        "published": get("/products/published/all".into()).await,
        "public": get("/products/all".into()).await,
        "other_drafts": server.api(Method::GET, "/products/draft/all", &world.other.auth(), None).await.body,
        "sellable": get(format!("/inventory/{}", world.sellable)).await,
        "discounts": get("/discounts".into()).await,
        "code_products": get(format!("/discounts/list_product_code?code=SUMMER10&shopId={}", world.shop.id)).await,
        "cart": server.api(Method::GET, "/carts", &world.user.auth(), None).await.body,
        "orders": server.api(Method::GET, "/orders", &world.user.auth(), None).await.body,
        "other_orders": server.api(Method::GET, "/orders", &world.other_user.auth(), None).await.body,
        "other_cart": server.api(Method::GET, "/carts", &world.other_user.auth(), None).await.body,
    })
}

type BodyCase = (Method, &'static str, Cred, Value, u16, String);

/// `base` with `value` at the JSON pointer-like `path` (`/a/0/b`).
fn set(base: &Value, path: &str, value: Value) -> Value {
    let mut body = base.clone();
    let (parent, key) = path.rsplit_once('/').unwrap();
    match body.pointer_mut(parent).unwrap() {
        Value::Array(items) => items[key.parse::<usize>().unwrap()] = value,
        Value::Object(map) => {
            map.insert(key.to_owned(), value);
        }
        other => panic!("cannot set {path} in {other}"),
    }
    body
}

/// An operator object where a plain value belongs.
fn op() -> Value {
    json!({"$gt": ""})
}

/// `base` with its `field` set to `value`.
fn with(base: Value, field: &str, value: Value) -> Value {
    let mut body = base;
    body[field] = value;
    body
}

/// Bad bodies of the discount, cart, checkout and order routes.
fn commerce_body_cases(cases: &mut Vec<BodyCase>) {
    discount_cases(cases);
    quote_and_use_cases(cases);
    cart_cases(cases);
    checkout_cases(cases);
    order_cases(cases);
    order_status_cases(cases);
}

/// Bad bodies of `POST /discounts`.
fn discount_cases(cases: &mut Vec<BodyCase>) {
    let mut add =
        |method: Method, path: &'static str, cred: Cred, body: Value, status: u16, needle: &str| {
            cases.push((method, path, cred, body, status, needle.to_owned()));
        };
    let d = discount_body();
    for (field, value, needle) in [
        (
            "/type",
            json!("bogus"),
            "invalid type: unknown variant `bogus`",
        ),
        ("/type", op(), "invalid type.$gt"),
        ("/value", json!("10.001"), "invalid value"),
        ("/value", json!(0), "invalid value"),
        ("/value", json!(101), "invalid value"),
        ("/value", json!(true), "invalid value"),
        ("/code", op(), "invalid code.$gt"),
        ("/code", json!("bad code!"), "invalid code"),
        ("/code", json!(""), "invalid code"),
        ("/name", json!(7), "invalid name"),
        ("/max_uses", json!(0), "invalid max_uses"),
        ("/max_uses", json!(-1), "invalid max_uses"),
        ("/max_uses", json!(1e12), "invalid max_uses"),
        ("/max_uses_per_user", json!(11), "invalid max_uses_per_user"),
        ("/start_date", json!("yesterday"), "invalid start_date"),
        (
            "/end_date",
            json!("2019-01-01T00:00:00Z"),
            "invalid end_date",
        ),
        (
            "/min_order_value",
            json!("1.001"),
            "invalid min_order_value",
        ),
        ("/min_order_value", json!(-1), "invalid min_order_value"),
        ("/applies_to", json!("bogus"), "invalid applies_to"),
        ("/is_active", json!("yes"), "invalid is_active"),
        (
            "/product_ids",
            json!(["not-an-id"]),
            "invalid product_ids[0]",
        ),
        ("/product_ids", json!([op()]), "invalid product_ids[0].$gt"),
    ] {
        add(
            Method::POST,
            "/discounts",
            Cred::Shop,
            set(&d, field, value),
            400,
            needle,
        );
    }
    add(
        Method::POST,
        "/discounts",
        Cred::Shop,
        set(
            &set(&d, "/applies_to", json!("specific_products")),
            "/product_ids",
            json!([FOREIGN_ID]),
        ),
        400,
        "invalid product_ids",
    );
    add(
        Method::POST,
        "/discounts",
        Cred::Shop,
        set(&d, "/code", json!("SUMMER10")),
        409,
        "",
    );
    add(
        Method::POST,
        "/discounts",
        Cred::Shop,
        json!({"code": "X"}),
        400,
        "is required",
    );
}

/// Bad bodies of `POST /discounts/amount` and `POST /discounts/cancel`.
fn quote_and_use_cases(cases: &mut Vec<BodyCase>) {
    let mut add =
        |method: Method, path: &'static str, cred: Cred, body: Value, status: u16, needle: &str| {
            cases.push((method, path, cred, body, status, needle.to_owned()));
        };
    let q = quote_body();
    for (field, value, status, needle) in [
        ("/codeId", op(), 400, "invalid codeId.$gt"),
        ("/codeId", json!("NOPE"), 404, "discount not found"),
        ("/shopId", json!("xyz"), 400, "invalid shopId"),
        ("/shopId", json!(FOREIGN_ID), 404, "discount not found"),
        ("/products", json!([]), 400, "invalid products"),
        ("/products", json!("all"), 400, "invalid products"),
        ("/products/0/quantity", json!(0), 400, "invalid quantity"),
        (
            "/products/0/quantity",
            json!(-2),
            400,
            "invalid products[0].quantity",
        ),
        (
            "/products/0/quantity",
            json!(2_000_000),
            400,
            "invalid quantity",
        ),
        (
            "/products/0/productId",
            op(),
            400,
            "invalid products[0].productId.$gt",
        ),
        (
            "/products/0/productId",
            json!(FOREIGN_ID),
            404,
            "product not found",
        ),
    ] {
        add(
            Method::POST,
            "/discounts/amount",
            Cred::Customer,
            set(&q, field, value),
            status,
            needle,
        );
    }
    let c = json!({"codeId": "SUMMER10", "shopId": "{s}"});
    for (field, value, status, needle) in [
        ("/codeId", op(), 400, "invalid codeId.$gt"),
        ("/codeId", json!("NOPE"), 404, "discount not found"),
        ("/shopId", json!("{q}x"), 400, "invalid shopId"),
    ] {
        add(
            Method::POST,
            "/discounts/cancel",
            Cred::Customer,
            set(&c, field, value),
            status,
            needle,
        );
    }
}

/// Bad bodies of the cart routes.
fn cart_cases(cases: &mut Vec<BodyCase>) {
    let mut add =
        |method: Method, path: &'static str, cred: Cred, body: Value, status: u16, needle: &str| {
            cases.push((method, path, cred, body, status, needle.to_owned()));
        };
    let cart = cart_body();
    for (field, value, status, needle) in [
        ("/product/quantity", json!(0), 400, "invalid quantity"),
        (
            "/product/quantity",
            json!(-1),
            400,
            "invalid product.quantity",
        ),
        (
            "/product/quantity",
            json!(2_000_000),
            400,
            "invalid quantity",
        ),
        (
            "/product/quantity",
            json!(1e12),
            400,
            "invalid product.quantity",
        ),
        (
            "/product/quantity",
            json!("1"),
            400,
            "invalid product.quantity",
        ),
        (
            "/product/productId",
            json!("not-an-id"),
            400,
            "invalid product.productId",
        ),
        (
            "/product/productId",
            op(),
            400,
            "invalid product.productId.$gt",
        ),
        ("/product/productId", json!("{p}"), 404, "product not found"),
        (
            "/product/productId",
            json!(FOREIGN_ID),
            404,
            "product not found",
        ),
        ("/product/shopId", op(), 400, "invalid product.shopId.$gt"),
        ("/product/shopId", json!(FOREIGN_ID), 400, "invalid shopId"),
        ("/product/price", op(), 400, "invalid product.price.$gt"),
        ("/product", json!("{q}"), 400, "invalid product"),
    ] {
        add(
            Method::POST,
            "/carts",
            Cred::Customer,
            set(&cart, field, value),
            status,
            needle,
        );
    }
    let update = cart_update_body();
    for (field, value, status, needle) in [
        ("/shop_order_ids", json!([]), 400, "invalid item_products"),
        (
            "/shop_order_ids/0/item_products/0/quantity",
            json!(-1),
            400,
            "invalid shop_order_ids[0].item_products[0].quantity",
        ),
        (
            "/shop_order_ids/0/item_products/0/quantity",
            json!(2_000_000),
            400,
            "invalid quantity",
        ),
        (
            "/shop_order_ids/0/item_products/0/old_quantity",
            json!("x"),
            400,
            "invalid shop_order_ids[0].item_products[0].old_quantity",
        ),
        (
            "/shop_order_ids/0/item_products/0/old_quantity",
            json!(2_000_000),
            400,
            "invalid quantity",
        ),
        (
            "/shop_order_ids/0/item_products/0/productId",
            op(),
            400,
            "$gt",
        ),
        (
            "/shop_order_ids/0/item_products/0/productId",
            json!(FOREIGN_ID),
            404,
            "product not found",
        ),
        (
            "/shop_order_ids/0/shopId",
            json!(FOREIGN_ID),
            400,
            "invalid shopId",
        ),
    ] {
        add(
            Method::POST,
            "/carts/update",
            Cred::Customer,
            set(&update, field, value),
            status,
            needle,
        );
    }
    for (value, needle) in [
        (json!("xyz"), "invalid productId"),
        (op(), "invalid productId.$gt"),
        (json!(12), "invalid productId"),
    ] {
        add(
            Method::DELETE,
            "/carts",
            Cred::Customer,
            json!({"productId": value}),
            400,
            needle,
        );
    }
}

/// Bad bodies of `POST /checkout/review` and `POST /checkout/order`.
fn checkout_cases(cases: &mut Vec<BodyCase>) {
    let mut add =
        |method: Method, path: &'static str, cred: Cred, body: Value, status: u16, needle: &str| {
            cases.push((method, path, cred, body, status, needle.to_owned()));
        };
    for (path, base) in [
        ("/checkout/review", checkout_body()),
        ("/checkout/order", order_body()),
    ] {
        for (field, value, status, needle) in [
            ("/shop_order_ids", json!([]), 400, "invalid shop_order_ids"),
            (
                "/shop_order_ids/0/item_products",
                json!([]),
                400,
                "invalid item_products",
            ),
            (
                "/shop_order_ids/0/item_products/0/quantity",
                json!(0),
                400,
                "invalid quantity",
            ),
            (
                "/shop_order_ids/0/item_products/0/quantity",
                json!(-1),
                400,
                "invalid shop_order_ids[0].item_products[0].quantity",
            ),
            (
                "/shop_order_ids/0/item_products/0/quantity",
                json!(2_000_000),
                400,
                "invalid quantity",
            ),
            (
                "/shop_order_ids/0/item_products/0/quantity",
                json!(1e12),
                400,
                "invalid shop_order_ids[0].item_products[0].quantity",
            ),
            (
                "/shop_order_ids/0/item_products/0/quantity",
                json!("1"),
                400,
                "invalid shop_order_ids[0].item_products[0].quantity",
            ),
            (
                "/shop_order_ids/0/item_products/0/productId",
                op(),
                400,
                "$gt",
            ),
            (
                "/shop_order_ids/0/item_products/0/productId",
                json!("{p}"),
                404,
                "product not found",
            ),
            (
                "/shop_order_ids/0/item_products/0/price",
                op(),
                400,
                "price.$gt",
            ),
            (
                "/shop_order_ids/0/shopId",
                json!("xyz"),
                400,
                "invalid shop_order_ids[0].shopId",
            ),
            (
                "/shop_order_ids/0/shopId",
                json!(FOREIGN_ID),
                400,
                "invalid shopId",
            ),
            (
                "/shop_order_ids/0/shop_discounts",
                json!([{"shopId": "{s}", "codeId": op()}]),
                400,
                "codeId.$gt",
            ),
            (
                "/shop_order_ids/0/shop_discounts",
                json!([{"shopId": "{s}", "codeId": "NOPE"}]),
                400,
                "discount not applicable",
            ),
            (
                "/shop_order_ids/0/shop_discounts",
                json!([{"shopId": FOREIGN_ID, "codeId": "SUMMER10"}]),
                400,
                "invalid shop_discounts",
            ),
        ] {
            add(
                Method::POST,
                path,
                Cred::Customer,
                set(&base, field, value),
                status,
                needle,
            );
        }
        add(
            Method::POST,
            path,
            Cred::Customer,
            set(&base, "/shop_order_ids", json!("{q}")),
            400,
            "invalid shop_order_ids",
        );
        let mut with_cart = base.clone();
        with_cart["cartId"] = json!("not-a-cart");
        add(
            Method::POST,
            path,
            Cred::Customer,
            with_cart,
            400,
            "invalid cartId",
        );
    }
}

/// Bad bodies of `POST /checkout/order` only: address, payment, more than the stock.
fn order_cases(cases: &mut Vec<BodyCase>) {
    let mut add =
        |method: Method, path: &'static str, cred: Cred, body: Value, status: u16, needle: &str| {
            cases.push((method, path, cred, body, status, needle.to_owned()));
        };
    let order = order_body();
    for (field, value, needle) in [
        ("/user_address", json!("1 Main St"), "invalid user_address"),
        (
            "/user_address",
            json!({"street": {"$gt": ""}}),
            "invalid user_address.street.$gt",
        ),
        ("/user_payment", json!({"a.b": 1}), "invalid user_payment"),
        ("/user_payment", json!(null), "invalid user_payment"),
        (
            "/user_payment",
            json!({"method": "cod", "card_number": "4242424242424242"}),
            "invalid user_payment",
        ),
        (
            "/user_payment",
            json!({"method": "card"}),
            "invalid user_payment.method",
        ),
        (
            "/user_payment",
            json!({"method": 7}),
            "invalid user_payment",
        ),
    ] {
        add(
            Method::POST,
            "/checkout/order",
            Cred::Customer,
            set(&order, field, value),
            400,
            needle,
        );
    }
    let mut no_payment = order.clone();
    no_payment.as_object_mut().unwrap().remove("user_payment");
    add(
        Method::POST,
        "/checkout/order",
        Cred::Customer,
        no_payment,
        400,
        "invalid user_payment: is required",
    );
    // More than the stock: 409 with nothing reserved (the snapshot checks the inventory).
    add(
        Method::POST,
        "/checkout/order",
        Cred::Customer,
        set(
            &order,
            "/shop_order_ids/0/item_products/0/quantity",
            json!(10),
        ),
        409,
        "insufficient stock",
    );
}

/// Bad bodies of `PATCH /orders/{o}/status`.
fn order_status_cases(cases: &mut Vec<BodyCase>) {
    let mut add =
        |method: Method, path: &'static str, cred: Cred, body: Value, status: u16, needle: &str| {
            cases.push((method, path, cred, body, status, needle.to_owned()));
        };
    let status = json!({"orderProducts": [{"productIds": ["{q}"], "status": "confirmed"}]});
    for (field, value, status_code, needle) in [
        (
            "/orderProducts/0/status",
            json!("bogus"),
            400,
            "invalid orderProducts[0].status: unknown variant `bogus`",
        ),
        (
            "/orderProducts/0/status",
            op(),
            400,
            "invalid orderProducts[0].status.$gt",
        ),
        (
            "/orderProducts/0/status",
            json!("delivered"),
            409,
            "cannot go from",
        ),
        (
            "/orderProducts/0/productIds",
            json!(["xyz"]),
            400,
            "invalid orderProducts[0].productIds[0]",
        ),
        (
            "/orderProducts/0/productIds",
            json!([]),
            400,
            "invalid productIds",
        ),
        (
            "/orderProducts/0/productIds",
            json!(["{p}"]),
            404,
            "order product not found",
        ),
        (
            "/orderProducts",
            json!({"status": "confirmed"}),
            400,
            "invalid orderProducts",
        ),
    ] {
        add(
            Method::PATCH,
            "/orders/{o}/status",
            Cred::Shop,
            set(&status, field, value),
            status_code,
            needle,
        );
    }
    for (body, needle) in [
        (json!({}), "invalid orderProducts: nothing to update"),
        (json!({"note": op()}), "invalid note.$gt"),
        (json!({"trackingNumber": 5}), "invalid trackingNumber"),
        (json!({"trackingNumber": ""}), "invalid trackingNumber"),
        (
            json!({"order_status": "cancelled"}),
            "invalid order_status: is not a known field",
        ),
    ] {
        add(
            Method::PATCH,
            "/orders/{o}/status",
            Cred::Shop,
            body,
            400,
            needle,
        );
    }
}

/// The server (memory backend, manual clock, a probe on the store), the world in it, and the
/// snapshot of everything the routes could change, taken before the first case.
struct Bench {
    server: TestServer,
    world: World,
    before: Value,
}

#[tokio::test]
async fn bad_input_gets_a_4xx_envelope_and_changes_nothing() {
    let bench = set_up().await;
    let mut cases = 0;
    credentials_on_every_route(&bench, &mut cases).await;
    malformed_bodies(&bench, &mut cases).await;
    bad_json_bodies(&bench, &mut cases).await;
    bad_paths_and_queries(&bench, &mut cases).await;
    bad_idempotency_keys(&bench, &mut cases).await;
    expired_tokens(&bench, &mut cases).await;
    nothing_changed(&bench).await;
    assert!(cases > 250, "{cases} cases");
    bench.server.stop().await;
}

/// Two shops, two customers, a draft, a published product with an order of the customer
/// (with the shop's code) and a cart line; the snapshot once the order's holds settled.
async fn set_up() -> Bench {
    let server = TestServer::with_clock().await;
    let ecom = server.ecom.clone().unwrap();
    let wrong_permission_key = ecom
        .api_keys
        .create(vec![Permission::P1111])
        .await
        .unwrap()
        .key;
    let shop = signup(&server, "shop", "owner@shop.example").await;
    let other = signup(&server, "shop", "other@shop.example").await;
    let user = signup(&server, "user", "buyer@example.com").await;
    let other_user = signup(&server, "user", "other@example.com").await;
    let product = create_product(&server, &shop, tee("Plain Tee", json!(19.99))).await;
    let sellable = create_product(&server, &shop, tee("Sold Tee", json!(10))).await;
    server
        .api(
            Method::POST,
            &format!("/products/publish/{sellable}"),
            &shop.auth(),
            None,
        )
        .await
        .ok(200);
    let mut code = discount_body();
    code["code"] = json!("SUMMER10");
    code["max_uses_per_user"] = json!(5);
    server
        .api(Method::POST, "/discounts", &shop.auth(), Some(code))
        .await
        .ok(201);
    let mut world = World {
        wrong_permission_key,
        shop,
        other,
        user,
        other_user,
        product,
        sellable,
        order: String::new(),
    };
    let mut first_order = order_body();
    first_order["shop_order_ids"][0]["shop_discounts"] =
        json!([{"shopId": "{s}", "codeId": "SUMMER10"}]);
    let first_order = serde_json::from_str(&fill(&world, &first_order.to_string())).unwrap();
    let placed = server
        .api(
            Method::POST,
            "/checkout/order",
            &world.user.auth(),
            Some(first_order),
        )
        .await;
    world.order = placed.ok(201)["_id"].as_str().unwrap().to_owned();
    let cart = serde_json::from_str(&fill(&world, &cart_body().to_string())).unwrap();
    server
        .api(Method::POST, "/carts", &world.user.auth(), Some(cart))
        .await
        .ok(200);
    // The first order's holds settle in the background; wait for that, then watch the store.
    let probe = server.probe.clone().unwrap();
    for _ in 0..500 {
        if probe
            .calls()
            .iter()
            .any(|c| c.name.starts_with("discounts.settle"))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let before = snapshot(&server, &world).await;
    probe.clear();
    assert_eq!(before["inventory"]["metadata"]["invent_stock"], 10);
    assert_eq!(before["sellable"]["metadata"]["invent_stock"], 9);
    assert_eq!(before["cart"]["metadata"]["cart_count_product"], 1);
    assert_eq!(before["orders"]["metadata"].as_array().unwrap().len(), 1);
    assert_eq!(before["discounts"]["metadata"][0]["discount_uses_count"], 1);
    Bench {
        server,
        world,
        before,
    }
}

/// Credentials, on every route (part 1 of the test).
async fn credentials_on_every_route(bench: &Bench, cases: &mut usize) {
    let Bench {
        server,
        world,
        before,
    } = bench;
    for route in routes() {
        let body = || route.body.clone().map(Body::Json);
        let mut expect = vec![
            (Cred::NoKey, 403, "Forbidden Error"),
            (Cred::UnknownKey, 403, "Forbidden Error"),
            (Cred::WrongPermission, 403, "Permission Denied"),
        ];
        if route.shop {
            expect.extend([
                (Cred::Key, 401, "missing x-client-id"),
                (Cred::ShopNoToken, 401, "missing authorization"),
                (Cred::ShopNoClient, 401, "missing x-client-id"),
                (Cred::ShopTampered, 401, "invalid or expired token"),
                (Cred::ShopWrongClient, 401, "invalid or expired token"),
                (Cred::Customer, 403, "this route is for shop accounts"),
            ]);
        }
        if route.user {
            expect.extend([
                (Cred::Key, 401, "missing x-client-id"),
                (Cred::UserNoToken, 401, "missing authorization"),
                (Cred::UserTampered, 401, "invalid or expired token"),
                (Cred::UserWrongClient, 401, "invalid or expired token"),
                (Cred::Shop, 403, "this route is for customer accounts"),
            ]);
        }
        if route.user && route.path.contains("{o}") {
            expect.push((Cred::OtherUser, 404, "order not found"));
        }
        if route.path == "/discounts/cancel" {
            expect.push((Cred::OtherUser, 404, "discount use not found"));
        }
        if route.shop && (route.path.contains("{o}") || route.path.contains("SUMMER10")) {
            expect.push((Cred::OtherShop, 404, "not found"));
        }
        if route.path == "/user/logout" {
            expect.extend([
                (Cred::Key, 401, "missing x-client-id"),
                (Cred::Shop, 403, "this route is for customer accounts"),
            ]);
        }
        if route.path.ends_with("handlerRefreshToken") {
            expect.extend([
                (Cred::Key, 401, "missing x-client-id"),
                (Cred::RefreshMissing, 401, "missing x-rtoken-id"),
                (Cred::RefreshTampered, 401, "invalid or expired token"),
                (Cred::RefreshWithAccess, 401, "invalid or expired token"),
            ]);
        }
        if route.path.contains("{p}") && route.shop {
            expect.push((Cred::OtherShop, 404, "not found"));
        }
        if route.path == "/products/{p}" && route.method == Method::GET {
            // A draft is invisible to everyone but its owner.
            expect.extend([
                (Cred::Key, 404, "product not found"),
                (Cred::OtherShop, 404, "product not found"),
            ]);
        }
        if route.path == "/inventory" {
            expect.push((Cred::OtherShop, 404, "not found"));
        }
        for (cred, status, needle) in expect {
            let answer = send(
                server,
                world,
                route.method.clone(),
                route.path,
                cred,
                body(),
            )
            .await;
            assert_eq!(
                answer.status.as_u16(),
                status,
                "{} {} with {cred:?}: {}",
                route.method,
                route.path,
                answer.text
            );
            answer.err(status, needle);
            *cases += unchanged(server, world, before, *cases).await;
        }
    }
}

/// Bodies (part 2): malformed, not an object, an operator key, oversized, not JSON at all.
async fn malformed_bodies(bench: &Bench, cases: &mut usize) {
    let Bench {
        server,
        world,
        before,
    } = bench;
    let big = format!("{{\"product_name\": \"{}\"}}", "x".repeat(1024 * 1024));
    let body_routes: Vec<(Method, &str, Cred)> = vec![
        (Method::POST, "/shop/signup", Cred::Key),
        (Method::POST, "/shop/login", Cred::Key),
        (Method::POST, "/user/signup", Cred::Key),
        (Method::POST, "/user/login", Cred::Key),
        (Method::POST, "/products", Cred::Shop),
        (Method::PATCH, "/products/{p}", Cred::Shop),
        (Method::POST, "/inventory", Cred::Shop),
        (Method::POST, "/discounts", Cred::Shop),
        (Method::POST, "/discounts/amount", Cred::Customer),
        (Method::POST, "/discounts/cancel", Cred::Customer),
        (Method::POST, "/carts", Cred::Customer),
        (Method::POST, "/carts/update", Cred::Customer),
        (Method::DELETE, "/carts", Cred::Customer),
        (Method::POST, "/checkout/review", Cred::Customer),
        (Method::POST, "/checkout/order", Cred::Customer),
        (Method::PATCH, "/orders/{o}/status", Cred::Shop),
    ];
    for (method, path, cred) in &body_routes {
        for (raw, status, needle) in [
            ("{\"name\": ", 400, "malformed JSON"),
            ("not json", 400, "malformed JSON"),
            ("[]", 400, "must be a JSON object"),
            ("\"text\"", 400, "must be a JSON object"),
            ("{\"$where\": \"1\"}", 400, "invalid $where"),
            (big.as_str(), 413, "too large"),
        ] {
            let answer = send(
                server,
                world,
                method.clone(),
                path,
                *cred,
                Some(Body::Raw(raw.to_owned())),
            )
            .await;
            assert_eq!(
                answer.status.as_u16(),
                status,
                "{method} {path} {:.40}: {}",
                raw,
                answer.text
            );
            answer.err(status, needle);
            *cases += unchanged(server, world, before, *cases).await;
        }
        // A non-JSON content type.
        let path_full = format!("/v1/api{}", fill(world, path));
        let h = headers(world, *cred);
        let mut request = server
            .client
            .request(method.clone(), server.url(&path_full))
            .header("content-type", "text/plain")
            .body("{}");
        for (a, b) in &h {
            request = request.header(a, b);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 415, "{method} {path}");
        *cases += unchanged(server, world, before, *cases).await;
    }
}

/// Bodies (part 2): wrong types, operators, out-of-range values, missing fields, on every route
/// that takes a body.
async fn bad_json_bodies(bench: &Bench, cases: &mut usize) {
    let Bench {
        server,
        world,
        before,
    } = bench;
    let mut body_cases = account_body_cases();
    body_cases.extend(product_body_cases());
    body_cases.extend(inventory_body_cases());
    commerce_body_cases(&mut body_cases);
    for (method, path, cred, body, status, needle) in body_cases {
        let answer = send(
            server,
            world,
            method.clone(),
            path,
            cred,
            Some(Body::Json(body.clone())),
        )
        .await;
        assert_eq!(
            answer.status.as_u16(),
            status,
            "{method} {path} {body}: {}",
            answer.text
        );
        answer.err(status, &needle);
        *cases += unchanged(server, world, before, *cases).await;
    }
}

/// Bad bodies of the signup and login routes.
fn account_body_cases() -> Vec<BodyCase> {
    let account = json!({"name": "N", "email": "fresh@example.com", "password": "long enough pw"});
    let login = json!({"email": "fresh@example.com", "password": "long enough pw"});
    let mut body_cases: Vec<BodyCase> = Vec::new();
    for route in ["/shop/signup", "/user/signup"] {
        for field in ["name", "email", "password"] {
            body_cases.push((
                Method::POST,
                route,
                Cred::Key,
                with(account.clone(), field, op()),
                400,
                format!("invalid {field}"),
            ));
            body_cases.push((
                Method::POST,
                route,
                Cred::Key,
                with(account.clone(), field, json!(12)),
                400,
                format!("invalid {field}"),
            ));
        }
        body_cases.push((
            Method::POST,
            route,
            Cred::Key,
            json!({"name": "N", "email": "x@y.io"}),
            400,
            "invalid password: is required".into(),
        ));
        body_cases.push((
            Method::POST,
            route,
            Cred::Key,
            with(account.clone(), "email", json!("not-an-email")),
            400,
            "invalid email".into(),
        ));
        body_cases.push((
            Method::POST,
            route,
            Cred::Key,
            with(account.clone(), "password", json!("short")),
            400,
            "invalid password".into(),
        ));
    }
    for route in ["/shop/login", "/user/login"] {
        for field in ["email", "password"] {
            body_cases.push((
                Method::POST,
                route,
                Cred::Key,
                with(login.clone(), field, op()),
                400,
                format!("invalid {field}"),
            ));
            body_cases.push((
                Method::POST,
                route,
                Cred::Key,
                with(login.clone(), field, json!(null)),
                400,
                format!("invalid {field}"),
            ));
        }
    }
    body_cases
}

/// Bad bodies of `POST /products` and `PATCH /products/{p}`.
fn product_body_cases() -> Vec<BodyCase> {
    let product = tee("New", json!(1));
    let mut body_cases: Vec<BodyCase> = Vec::new();
    for field in [
        "product_name",
        "product_thumb",
        "product_description",
        "product_price",
        "product_quantity",
        "product_type",
    ] {
        body_cases.push((
            Method::POST,
            "/products",
            Cred::Shop,
            with(product.clone(), field, op()),
            400,
            format!("invalid {field}"),
        ));
    }
    for (field, value, needle) in [
        (
            "product_price",
            json!(19.999),
            "invalid product_price: at most 2 decimals",
        ),
        ("product_price", json!("19.999"), "invalid product_price"),
        ("product_price", json!(-5), "invalid product_price"),
        ("product_price", json!(0), "invalid product_price"),
        ("product_price", json!("1e3"), "invalid product_price"),
        ("product_price", json!(1e15), "invalid product_price"),
        ("product_price", json!(true), "invalid product_price"),
        ("product_quantity", json!(0), "invalid product_quantity"),
        ("product_quantity", json!(-1), "invalid product_quantity"),
        ("product_quantity", json!(1.5), "invalid product_quantity"),
        (
            "product_quantity",
            json!(2_000_000),
            "invalid product_quantity",
        ),
        (
            "product_quantity",
            json!(10_000_000_000_u64),
            "invalid product_quantity",
        ),
        ("product_quantity", json!("10"), "invalid product_quantity"),
        ("product_type", json!("Food"), "invalid product type: Food"),
        ("product_type", json!("clothing"), "invalid product type"),
        ("product_name", json!(""), "invalid product_name"),
        (
            "product_name",
            json!("x".repeat(201)),
            "invalid product_name",
        ),
        (
            "product_attributes",
            json!({"brand": {"$gt": ""}}),
            "invalid product_attributes.brand.$gt",
        ),
        (
            "product_attributes",
            json!({"$gt": ""}),
            "invalid product_attributes.$gt",
        ),
        (
            "product_attributes",
            json!({"size": "M"}),
            "invalid product_attributes.brand: is required",
        ),
        (
            "product_attributes",
            json!({"brand": "A", "color": "red"}),
            "invalid product_attributes.color",
        ),
        (
            "product_attributes",
            json!(["brand"]),
            "invalid product_attributes",
        ),
        (
            "product_variations",
            json!([{"$set": {"x": 1}}]),
            "invalid product_variations[0].$set",
        ),
        (
            "product_variations",
            json!("many"),
            "invalid product_variations",
        ),
    ] {
        body_cases.push((
            Method::POST,
            "/products",
            Cred::Shop,
            with(product.clone(), field, value),
            400,
            needle.to_owned(),
        ));
    }
    for (body, needle) in [
        (json!({"product_price": 1.001}), "invalid product_price"),
        (json!({"product_price": op()}), "invalid product_price"),
        (json!({"product_name": op()}), "invalid product_name"),
        (
            json!({"product_attributes": {"brand": 7}}),
            "invalid product_attributes.brand",
        ),
        (
            json!({"product_attributes": {"$set": "x"}}),
            "invalid product_attributes.$set",
        ),
        (
            json!({"product_type": "Electronics"}),
            "invalid product_type: is not a known field",
        ),
        (
            json!({"product_quantity": 5}),
            "invalid product_quantity: is not a known field",
        ),
    ] {
        body_cases.push((
            Method::PATCH,
            "/products/{p}",
            Cred::Shop,
            body,
            400,
            needle.to_owned(),
        ));
    }
    body_cases
}

/// Bad bodies of `POST /inventory`.
fn inventory_body_cases() -> Vec<BodyCase> {
    let stock = json!({"productId": "{p}", "stock": 1});
    let mut body_cases: Vec<BodyCase> = Vec::new();
    for (field, value, needle) in [
        ("stock", json!(0), "invalid stock"),
        ("stock", json!(-3), "invalid stock"),
        ("stock", json!(2_000_000), "invalid stock"),
        ("stock", json!(1e12), "invalid stock"),
        ("stock", json!("5"), "invalid stock"),
        ("stock", op(), "invalid stock"),
        ("productId", json!("not-an-id"), "invalid productId"),
        ("productId", op(), "invalid productId"),
        ("productId", json!(FOREIGN_ID), "not found"),
        ("location", op(), "invalid location"),
        ("location", json!("x".repeat(201)), "invalid location"),
    ] {
        let status = if needle == "not found" { 404 } else { 400 };
        body_cases.push((
            Method::POST,
            "/inventory",
            Cred::Shop,
            with(stock.clone(), field, value),
            status,
            needle.to_owned(),
        ));
    }
    body_cases.push((
        Method::POST,
        "/inventory",
        Cred::Shop,
        json!({"stock": 1}),
        400,
        "invalid productId: is required".into(),
    ));
    body_cases
}

/// A bad path or query: method, path (placeholders as in [`fill`]), credentials, status, and
/// what the message says.
type PathCase = (Method, &'static str, Cred, u16, &'static str);

/// Paths and queries (part 3).
async fn bad_paths_and_queries(bench: &Bench, cases: &mut usize) {
    let Bench {
        server,
        world,
        before,
    } = bench;
    let table = product_path_cases()
        .into_iter()
        .chain(list_query_cases())
        .chain(discount_and_order_path_cases());
    for (method, path, cred, status, needle) in table {
        let answer = send(server, world, method.clone(), path, cred, None).await;
        assert_eq!(
            answer.status.as_u16(),
            status,
            "{method} {path}: {}",
            answer.text
        );
        answer.err(status, needle);
        *cases += unchanged(server, world, before, *cases).await;
    }
}

/// Bad ids in the product and inventory paths, and a bad search.
fn product_path_cases() -> Vec<PathCase> {
    vec![
        (
            Method::GET,
            "/products/not-an-id",
            Cred::Key,
            400,
            "invalid productId",
        ),
        (
            Method::GET,
            "/products/%7B%22%24gt%22%3A%22%22%7D",
            Cred::Key,
            400,
            "invalid productId",
        ),
        (
            Method::GET,
            "/products/0190F5A0C0DE7000A000000000000001",
            Cred::Key,
            400,
            "invalid productId",
        ),
        (
            Method::GET,
            "/products/{f}",
            Cred::Key,
            404,
            "product not found",
        ),
        (
            Method::PATCH,
            "/products/xyz",
            Cred::Shop,
            400,
            "invalid productId",
        ),
        (
            Method::POST,
            "/products/publish/xyz",
            Cred::Shop,
            400,
            "invalid productId",
        ),
        (
            Method::POST,
            "/products/publish/{f}",
            Cred::Shop,
            404,
            "not found",
        ),
        (
            Method::POST,
            "/products/unpublish/xyz",
            Cred::Shop,
            400,
            "invalid productId",
        ),
        (
            Method::GET,
            "/inventory/xyz",
            Cred::Shop,
            400,
            "invalid productId",
        ),
        (Method::GET, "/inventory/{f}", Cred::Shop, 404, "not found"),
        (
            Method::GET,
            "/products/search/%21%21%21",
            Cred::Key,
            400,
            "invalid keySearch",
        ),
    ]
}

/// Bad paging, sorting and operators in the queries of the lists.
fn list_query_cases() -> Vec<PathCase> {
    vec![
        (
            Method::GET,
            "/products/all?limit=0",
            Cred::Key,
            400,
            "invalid limit",
        ),
        (
            Method::GET,
            "/products/all?limit=101",
            Cred::Key,
            400,
            "invalid limit",
        ),
        (
            Method::GET,
            "/products/all?limit=-1",
            Cred::Key,
            400,
            "invalid limit",
        ),
        (
            Method::GET,
            "/products/all?limit=abc",
            Cred::Key,
            400,
            "invalid limit",
        ),
        (
            Method::GET,
            "/products/all?page=0",
            Cred::Key,
            400,
            "invalid page",
        ),
        (
            Method::GET,
            "/products/all?page=99999999999999999999",
            Cred::Key,
            400,
            "invalid page",
        ),
        (
            Method::GET,
            "/products/all?sort=name",
            Cred::Key,
            400,
            "invalid sort",
        ),
        (
            Method::GET,
            "/products/all?sort[$gt]=",
            Cred::Key,
            400,
            "invalid sort[$gt]",
        ),
        (
            Method::GET,
            "/products/all?limit[$ne]=1",
            Cred::Key,
            400,
            "invalid limit[$ne]",
        ),
        (
            Method::GET,
            "/products/search/tee?limit=1000",
            Cred::Key,
            400,
            "invalid limit",
        ),
        (
            Method::GET,
            "/products/draft/all?skip=-1",
            Cred::Shop,
            400,
            "invalid skip",
        ),
        (
            Method::GET,
            "/products/draft/all?skip=999999999999",
            Cred::Shop,
            400,
            "invalid skip",
        ),
        (
            Method::GET,
            "/products/published/all?limit=x",
            Cred::Shop,
            400,
            "invalid limit",
        ),
        (
            Method::GET,
            "/discounts?limit=0",
            Cred::Shop,
            400,
            "invalid limit",
        ),
        (
            Method::GET,
            "/discounts?page=0",
            Cred::Shop,
            400,
            "invalid page",
        ),
        (
            Method::GET,
            "/discounts?page[$gt]=1",
            Cred::Shop,
            400,
            "invalid page[$gt]",
        ),
    ]
}

/// Bad codes, shops and ids in the discount and order paths.
fn discount_and_order_path_cases() -> Vec<PathCase> {
    vec![
        (
            Method::GET,
            "/discounts/list_product_code?shopId={s}",
            Cred::Key,
            400,
            "code",
        ),
        (
            Method::GET,
            "/discounts/list_product_code?code=SUMMER10",
            Cred::Key,
            400,
            "shopId",
        ),
        (
            Method::GET,
            "/discounts/list_product_code?code=SUMMER10&shopId=xyz",
            Cred::Key,
            400,
            "invalid shopId",
        ),
        (
            Method::GET,
            "/discounts/list_product_code?code=NOPE&shopId={s}",
            Cred::Key,
            404,
            "discount not found",
        ),
        (
            Method::GET,
            "/discounts/list_product_code?code=SUMMER10&shopId={s}&limit=0",
            Cred::Key,
            400,
            "invalid limit",
        ),
        (
            Method::DELETE,
            "/discounts/NOPE",
            Cred::Shop,
            404,
            "discount not found",
        ),
        (
            Method::DELETE,
            "/discounts/%7B%22%24gt%22%3A%22%22%7D",
            Cred::Shop,
            404,
            "discount not found",
        ),
        (
            Method::GET,
            "/orders?limit=0",
            Cred::Customer,
            400,
            "invalid limit",
        ),
        (
            Method::GET,
            "/orders?page=-1",
            Cred::Customer,
            400,
            "invalid page",
        ),
        (
            Method::GET,
            "/orders?status=bogus",
            Cred::Customer,
            400,
            "invalid status",
        ),
        (
            Method::GET,
            "/orders/xyz",
            Cred::Customer,
            400,
            "invalid orderId",
        ),
        (
            Method::GET,
            "/orders/%7B%22%24gt%22%3A%22%22%7D",
            Cred::Customer,
            400,
            "invalid orderId",
        ),
        (
            Method::GET,
            "/orders/{q}",
            Cred::Customer,
            404,
            "order not found",
        ),
        (
            Method::POST,
            "/orders/xyz/cancel",
            Cred::Customer,
            400,
            "invalid orderId",
        ),
        (
            Method::POST,
            "/orders/{f}/cancel",
            Cred::Customer,
            404,
            "order not found",
        ),
    ]
}

/// An idempotency key that is too long or not printable ASCII.
async fn bad_idempotency_keys(bench: &Bench, cases: &mut usize) {
    let Bench {
        server,
        world,
        before,
    } = bench;
    for key in ["k".repeat(300), "clé".to_owned()] {
        let mut headers = headers(world, Cred::Customer);
        headers.push(("idempotency-key".to_owned(), key));
        let mut request = server
            .client
            .post(server.url("/v1/api/checkout/order"))
            .json(&serde_json::from_str::<Value>(&fill(world, &order_body().to_string())).unwrap());
        for (a, b) in &headers {
            request = request.header(a, b);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], 400);
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("invalid idempotency-key"),
            "{body}"
        );
        *cases += unchanged(server, world, before, *cases).await;
    }
}

/// Expired tokens (part 4): past the 15-minute access lifetime, every shop route is 401.
async fn expired_tokens(bench: &Bench, cases: &mut usize) {
    let Bench {
        server,
        world,
        before,
    } = bench;
    server
        .clock
        .as_ref()
        .unwrap()
        .advance(chrono::Duration::minutes(16));
    for route in routes().into_iter().filter(|r| r.shop || r.user) {
        let answer = send(
            server,
            world,
            route.method.clone(),
            route.path,
            if route.shop {
                Cred::Shop
            } else {
                Cred::Customer
            },
            route.body.clone().map(Body::Json),
        )
        .await;
        answer.err(401, "invalid or expired token");
        *cases += unchanged(server, world, before, *cases).await;
    }
    send(
        server,
        world,
        Method::POST,
        "/user/logout",
        Cred::Customer,
        None,
    )
    .await
    .err(401, "invalid or expired token");
}

/// Nothing changed: read everything again with fresh tokens, and the rejected signups' email
/// is still free.
async fn nothing_changed(bench: &Bench) {
    let Bench {
        server,
        world,
        before,
    } = bench;
    let fresh = |email: &'static str| {
        let server = &server;
        async move {
            let login = server
                .api(
                    Method::POST,
                    "/shop/login",
                    &[],
                    Some(json!({"email": email, "password": "correct horse battery"})),
                )
                .await;
            let meta = login.ok(200).clone();
            Account {
                id: meta["shop"]["_id"].as_str().unwrap().to_owned(),
                access: meta["tokens"]["accessToken"].as_str().unwrap().to_owned(),
                refresh: meta["tokens"]["refreshToken"].as_str().unwrap().to_owned(),
            }
        }
    };
    let fresh_user = |email: &'static str| {
        let server = &server;
        async move {
            let login = server
                .api(
                    Method::POST,
                    "/user/login",
                    &[],
                    Some(json!({"email": email, "password": "correct horse battery"})),
                )
                .await;
            let meta = login.ok(200).clone();
            Account {
                id: meta["user"]["_id"].as_str().unwrap().to_owned(),
                access: meta["tokens"]["accessToken"].as_str().unwrap().to_owned(),
                refresh: meta["tokens"]["refreshToken"].as_str().unwrap().to_owned(),
            }
        }
    };
    let world = World {
        shop: fresh("owner@shop.example").await,
        other: fresh("other@shop.example").await,
        user: fresh_user("buyer@example.com").await,
        other_user: fresh_user("other@example.com").await,
        ..world.clone()
    };
    let after = snapshot(server, &world).await;
    assert_eq!(*before, after);
    signup(server, "shop", "fresh@example.com").await;
    signup(server, "user", "fresh@example.com").await;
}
