//! The flow so far, over a real socket: shop signup, products, inventory, customer sessions.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::{config, create_product, signup, tee, TestServer};

const PRODUCT_FIELDS: &[&str] = &[
    "_id",
    "product_name",
    "product_slug",
    "product_thumb",
    "product_description",
    "product_price",
    "product_currency",
    "product_quantity",
    "product_type",
    "product_shop",
    "product_attributes",
    "product_rating",
    "product_variations",
    "isDraft",
    "isPublished",
    "createdAt",
    "updatedAt",
];

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["_id"].as_str().unwrap())
        .collect()
}

fn is_id(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[tokio::test]
async fn walkthrough() {
    let server = TestServer::start(config()).await;

    // Shop signup: 201 with the shop and its tokens.
    let answer = server
        .api(
            Method::POST,
            "/shop/signup",
            &[],
            Some(json!({"name": "Tee Shop", "email": "Owner@Tee.example", "password": "correct horse battery"})),
        )
        .await;
    assert!(answer.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert!(!answer.headers["x-request-id"].is_empty());
    assert_eq!(answer.headers["x-content-type-options"], "nosniff");
    let meta = answer.ok(201).clone();
    assert_eq!(answer.body["message"], "Registered OK!");
    assert!(is_id(&meta["shop"]["_id"]));
    assert_eq!(meta["shop"]["name"], "Tee Shop");
    assert_eq!(meta["shop"]["email"], "owner@tee.example");
    assert_eq!(meta["tokens"].as_object().unwrap().len(), 2);
    let shop = support::Account {
        id: meta["shop"]["_id"].as_str().unwrap().to_owned(),
        access: meta["tokens"]["accessToken"].as_str().unwrap().to_owned(),
        refresh: meta["tokens"]["refreshToken"].as_str().unwrap().to_owned(),
    };

    // The same email again: 409; a wrong password: 401; the right one: 200, same shape.
    server
        .api(
            Method::POST,
            "/shop/signup",
            &[],
            Some(json!({"name": "Copy", "email": "owner@tee.example", "password": "another password"})),
        )
        .await
        .err(409, "already registered");
    server
        .api(
            Method::POST,
            "/shop/login",
            &[],
            Some(json!({"email": "owner@tee.example", "password": "wrong password"})),
        )
        .await
        .err(401, "invalid email or password");
    let login = server
        .api(
            Method::POST,
            "/shop/login",
            &[],
            Some(json!({"email": "owner@tee.example", "password": "correct horse battery"})),
        )
        .await;
    let login_meta = login.ok(200);
    assert_eq!(login_meta["shop"]["_id"], json!(shop.id));
    assert!(login_meta["tokens"]["accessToken"].is_string());

    // Create a product: 201, a draft, every field of the contract, money in major units.
    let created = server
        .api(
            Method::POST,
            "/products",
            &shop.auth(),
            Some(tee("Plain Tee", json!(19.99))),
        )
        .await;
    let product = created.ok(201).clone();
    assert_eq!(created.body["message"], "Create new Product success!");
    let mut keys: Vec<&str> = product
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut expected = PRODUCT_FIELDS.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert!(is_id(&product["_id"]));
    assert_eq!(product["product_name"], "Plain Tee");
    assert_eq!(product["product_slug"], "plain-tee");
    assert_eq!(product["product_price"], json!(19.99));
    assert_eq!(product["product_currency"], "USD");
    assert_eq!(product["product_quantity"], 10);
    assert_eq!(product["product_type"], "Clothing");
    assert_eq!(product["product_shop"], json!(shop.id));
    assert_eq!(
        product["product_attributes"],
        json!({"brand": "Acme", "size": "M"})
    );
    assert_eq!(product["isDraft"], true);
    assert_eq!(product["isPublished"], false);
    let id = product["_id"].as_str().unwrap().to_owned();
    let cheap = create_product(&server, &shop, tee("Cheap Socks", json!("4.50"))).await;

    // Drafts are not public; the owner sees them.
    let all = server.api(Method::GET, "/products/all", &[], None).await;
    assert_eq!(all.ok(200), &json!([]));
    server
        .api(Method::GET, &format!("/products/{id}"), &[], None)
        .await
        .err(404, "product not found");
    let own = server
        .api(Method::GET, &format!("/products/{id}"), &shop.auth(), None)
        .await;
    assert_eq!(own.ok(200)["isDraft"], true);
    let drafts = server
        .api(
            Method::GET,
            "/products/draft/all?limit=10&skip=0",
            &shop.auth(),
            None,
        )
        .await;
    let draft_ids = ids(drafts.ok(200));
    assert_eq!(draft_ids.len(), 2);
    assert!(draft_ids.contains(&id.as_str()));

    // Publish both; now public, sorted and searchable.
    for pid in [&id, &cheap] {
        let published = server
            .api(
                Method::POST,
                &format!("/products/publish/{pid}"),
                &shop.auth(),
                None,
            )
            .await;
        let meta = published.ok(200);
        assert_eq!(meta["isPublished"], true);
        assert_eq!(meta["isDraft"], false);
    }
    let by_price = server
        .api(
            Method::GET,
            "/products/all?limit=50&page=1&sort=price_asc",
            &[],
            None,
        )
        .await;
    assert_eq!(ids(by_price.ok(200)), vec![cheap.as_str(), id.as_str()]);
    let by_price = server
        .api(Method::GET, "/products/all?sort=price_desc", &[], None)
        .await;
    assert_eq!(ids(by_price.ok(200)), vec![id.as_str(), cheap.as_str()]);
    let page2 = server
        .api(
            Method::GET,
            "/products/all?limit=1&page=2&sort=price_asc",
            &[],
            None,
        )
        .await;
    assert_eq!(ids(page2.ok(200)), vec![id.as_str()]);
    let found = server
        .api(Method::GET, "/products/search/SOCKS%20acme", &[], None)
        .await;
    assert_eq!(ids(found.ok(200)), vec![cheap.as_str()]);
    let found = server
        .api(Method::GET, "/products/search/tee", &[], None)
        .await;
    assert_eq!(ids(found.ok(200)), vec![cheap.as_str(), id.as_str()]);
    let none = server
        .api(Method::GET, "/products/search/sofa", &[], None)
        .await;
    assert_eq!(none.ok(200), &json!([]));
    let public = server
        .api(Method::GET, &format!("/products/{id}"), &[], None)
        .await;
    assert_eq!(public.ok(200)["product_price"], json!(19.99));

    // Patch: attributes merge and are re-validated; price in major units.
    let patched = server
        .api(
            Method::PATCH,
            &format!("/products/{id}"),
            &shop.auth(),
            Some(json!({"product_price": "24.5", "product_attributes": {"size": "L", "material": null}})),
        )
        .await;
    let meta = patched.ok(200);
    assert_eq!(meta["product_price"], json!(24.5));
    assert_eq!(
        meta["product_attributes"],
        json!({"brand": "Acme", "size": "L"})
    );
    let published = server
        .api(Method::GET, "/products/published/all", &shop.auth(), None)
        .await;
    assert_eq!(ids(published.ok(200)).len(), 2);

    // Inventory: add stock, read it back.
    let added = server
        .api(
            Method::POST,
            "/inventory",
            &shop.auth(),
            Some(json!({"productId": id, "stock": 5, "location": "WH-1"})),
        )
        .await;
    let inv = added.ok(200);
    assert_eq!(inv["invent_productId"], json!(id));
    assert_eq!(inv["invent_shopId"], json!(shop.id));
    assert_eq!(inv["invent_stock"], 15);
    assert_eq!(inv["invent_location"], "WH-1");
    assert_eq!(inv["invent_reserved"], 0);
    let got = server
        .api(Method::GET, &format!("/inventory/{id}"), &shop.auth(), None)
        .await;
    let inv = got.ok(200);
    assert_eq!(inv["invent_stock"], 15);
    assert_eq!(inv["invent_reservations"], json!([]));

    // Unpublish: gone from the public list.
    server
        .api(
            Method::POST,
            &format!("/products/unpublish/{id}"),
            &shop.auth(),
            None,
        )
        .await
        .ok(200);
    let all = server.api(Method::GET, "/products/all", &[], None).await;
    assert_eq!(ids(all.ok(200)), vec![cheap.as_str()]);

    // Customer: signup, login, refresh (rotation), reuse is 403 and revokes every session.
    let user = signup(&server, "user", "buyer@example.com").await;
    let login = server
        .api(
            Method::POST,
            "/user/login",
            &[],
            Some(json!({"email": "buyer@example.com", "password": "correct horse battery"})),
        )
        .await;
    let login_meta = login.ok(200).clone();
    assert_eq!(login_meta["user"]["_id"], json!(user.id));
    let refreshed = server
        .api(
            Method::POST,
            "/user/handlerRefreshToken",
            &[("x-client-id", &user.id), ("x-rtoken-id", &user.refresh)],
            None,
        )
        .await;
    let meta = refreshed.ok(200).clone();
    assert_eq!(
        meta["user"],
        json!({"userId": user.id, "email": "buyer@example.com"})
    );
    let new_refresh = meta["tokens"]["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, user.refresh);
    server
        .api(
            Method::POST,
            "/user/handlerRefreshToken",
            &[("x-client-id", &user.id), ("x-rtoken-id", &user.refresh)],
            None,
        )
        .await
        .err(403, "reused");
    // Every session of the customer is gone, including the login above.
    let other_session = login_meta["tokens"]["accessToken"].as_str().unwrap();
    server
        .api(
            Method::POST,
            "/user/logout",
            &[("x-client-id", &user.id), ("authorization", other_session)],
            None,
        )
        .await
        .err(401, "invalid or expired token");
    server
        .api(
            Method::POST,
            "/user/handlerRefreshToken",
            &[("x-client-id", &user.id), ("x-rtoken-id", &new_refresh)],
            None,
        )
        .await
        .err(401, "invalid or expired token");

    // Log in again and out: the token stops working.
    let login = server
        .api(
            Method::POST,
            "/user/login",
            &[],
            Some(json!({"email": "buyer@example.com", "password": "correct horse battery"})),
        )
        .await;
    let access = login.ok(200)["tokens"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let bearer = format!("Bearer {access}");
    let out = server
        .api(
            Method::POST,
            "/user/logout",
            &[("x-client-id", &user.id), ("authorization", &bearer)],
            None,
        )
        .await;
    assert_eq!(out.ok(200)["userId"], json!(user.id));
    server
        .api(
            Method::POST,
            "/user/logout",
            &[("x-client-id", &user.id), ("authorization", &bearer)],
            None,
        )
        .await
        .err(401, "invalid or expired token");

    // The shop's refresh and logout work the same way.
    let refreshed = server
        .api(
            Method::POST,
            "/shop/handlerRefreshToken",
            &[("x-client-id", &shop.id), ("x-rtoken-id", &shop.refresh)],
            None,
        )
        .await;
    let fresh_access = refreshed.ok(200)["tokens"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let fresh = [
        ("x-client-id", shop.id.as_str()),
        ("authorization", fresh_access.as_str()),
    ];
    server
        .api(Method::POST, "/shop/logout", &fresh, None)
        .await
        .ok(200);
    server
        .api(Method::GET, "/products/draft/all", &fresh, None)
        .await
        .err(401, "invalid or expired token");

    server.stop().await;
}
