//! Bad input on every route: each case gets its documented 4xx envelope and changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use ecom_core::api_key::Permission;
use reqwest::Method;
use serde_json::{json, Value};
use support::{create_product, signup, tee, Account, Body, TestServer, KEY};

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
}

struct World {
    wrong_permission_key: String,
    shop: Account,
    other: Account,
    user: Account,
    product: String,
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
    }
}

/// A route: method, path (`{p}` is the product), whether it needs a shop token, a valid body.
struct Route {
    method: Method,
    path: &'static str,
    shop: bool,
    body: Option<Value>,
}

fn routes() -> Vec<Route> {
    let r = |method: Method, path: &'static str, shop: bool, body: Option<Value>| Route {
        method,
        path,
        shop,
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
    ]
}

async fn send(
    server: &TestServer,
    world: &World,
    method: Method,
    path: &str,
    cred: Cred,
    body: Option<Body>,
) -> support::Answer {
    let path = format!("/v1/api{}", path.replace("{p}", &world.product));
    let headers = headers(world, cred);
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let body = body.map(|b| match b {
        Body::Json(v) => {
            Body::Json(serde_json::from_str(&v.to_string().replace("{p}", &world.product)).unwrap())
        }
        raw => raw,
    });
    server.call(method, &path, &refs, body).await
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
    })
}

#[tokio::test]
async fn bad_input_gets_a_4xx_envelope_and_changes_nothing() {
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
    let product = create_product(&server, &shop, tee("Plain Tee", json!(19.99))).await;
    let world = World {
        wrong_permission_key,
        shop,
        other,
        user,
        product,
    };
    let before = snapshot(&server, &world).await;
    assert_eq!(before["inventory"]["metadata"]["invent_stock"], 10);
    let mut cases = 0;

    // 1. Credentials, on every route.
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
                (Cred::Customer, 401, "invalid or expired token"),
            ]);
        }
        if route.path == "/user/logout" {
            expect.extend([
                (Cred::Key, 401, "missing x-client-id"),
                (Cred::Shop, 401, "invalid or expired token"),
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
                &server,
                &world,
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
            cases += 1;
        }
    }

    // 2. Bodies: malformed, wrong types, operators, out-of-range values, oversized.
    let big = format!("{{\"product_name\": \"{}\"}}", "x".repeat(1024 * 1024));
    let body_routes: Vec<(Method, &str, Cred)> = vec![
        (Method::POST, "/shop/signup", Cred::Key),
        (Method::POST, "/shop/login", Cred::Key),
        (Method::POST, "/user/signup", Cred::Key),
        (Method::POST, "/user/login", Cred::Key),
        (Method::POST, "/products", Cred::Shop),
        (Method::PATCH, "/products/{p}", Cred::Shop),
        (Method::POST, "/inventory", Cred::Shop),
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
                &server,
                &world,
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
            cases += 1;
        }
        // A non-JSON content type.
        let path_full = format!("/v1/api{}", path.replace("{p}", &world.product));
        let h = headers(&world, *cred);
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
        cases += 1;
    }

    let op = || json!({"$gt": ""});
    let with = |base: Value, field: &str, value: Value| {
        let mut body = base;
        body[field] = value;
        body
    };
    let account = json!({"name": "N", "email": "fresh@example.com", "password": "long enough pw"});
    let login = json!({"email": "fresh@example.com", "password": "long enough pw"});
    let product = tee("New", json!(1));
    let stock = json!({"productId": "{p}", "stock": 1});
    let mut body_cases: Vec<(Method, &str, Cred, Value, u16, String)> = Vec::new();
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
    for (method, path, cred, body, status, needle) in body_cases {
        let answer = send(
            &server,
            &world,
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
        cases += 1;
    }

    // 3. Paths and queries.
    for (method, path, cred, status, needle) in [
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
            &format!("/products/{FOREIGN_ID}"),
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
            &format!("/products/publish/{FOREIGN_ID}"),
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
        (
            Method::GET,
            &format!("/inventory/{FOREIGN_ID}"),
            Cred::Shop,
            404,
            "not found",
        ),
        (
            Method::GET,
            "/products/search/%21%21%21",
            Cred::Key,
            400,
            "invalid keySearch",
        ),
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
    ] {
        let answer = send(&server, &world, method.clone(), path, cred, None).await;
        assert_eq!(
            answer.status.as_u16(),
            status,
            "{method} {path}: {}",
            answer.text
        );
        answer.err(status, needle);
        cases += 1;
    }

    // 4. Expired tokens: past the 15-minute access lifetime, every shop route is 401.
    server
        .clock
        .as_ref()
        .unwrap()
        .advance(chrono::Duration::minutes(16));
    for route in routes().into_iter().filter(|r| r.shop) {
        let answer = send(
            &server,
            &world,
            route.method.clone(),
            route.path,
            Cred::Shop,
            route.body.clone().map(Body::Json),
        )
        .await;
        answer.err(401, "invalid or expired token");
        cases += 1;
    }
    send(
        &server,
        &world,
        Method::POST,
        "/user/logout",
        Cred::Customer,
        None,
    )
    .await
    .err(401, "invalid or expired token");

    // Nothing changed: read everything again with fresh tokens, and the rejected signups'
    // email is still free.
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
    let world = World {
        shop: fresh("owner@shop.example").await,
        other: fresh("other@shop.example").await,
        ..world
    };
    let after = snapshot(&server, &world).await;
    assert_eq!(before, after);
    signup(&server, "shop", "fresh@example.com").await;
    signup(&server, "user", "fresh@example.com").await;
    assert!(cases > 250, "{cases} cases");
    server.stop().await;
}
