//! The flows over a real socket: shop signup, products, inventory, customer sessions; then the
//! whole commerce flow (cart, discounts, checkout, orders) on the memory backend and on
//! MongoDB + Redis.

use crate::support::{self, config, create_product, signup, tee, Account, Api, TestServer, KEY};
use reqwest::Method;
use serde_json::{json, Value};

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
    "product_models",
    "product_price_max",
    "product_category",
    "product_sold",
    "product_low_stock_threshold",
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
    let shop = shop_signup_and_login(&server).await;
    let (id, cheap) = create_products(&server, &shop).await;
    publish_list_search_and_patch(&server, &shop, &id, &cheap).await;
    stock_and_unpublish(&server, &shop, &id, &cheap).await;
    customer_sessions(&server).await;
    shop_sessions(&server, &shop).await;

    // Every answer above, success or error, is one the OpenAPI document describes.
    let checked = support::contract::assert_answers_follow_the_document(&server.api).await;
    assert!(checked > 30, "{checked} answers checked");
    server.stop().await;
}

/// Shop signup (201 with the shop and its tokens), a second signup, logins; the shop.
async fn shop_signup_and_login(server: &Api) -> Account {
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
    let shop = Account {
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
    shop
}

/// A product created (a draft, every field of the contract) and a second one; drafts are
/// seen by their owner only. Their ids.
async fn create_products(server: &Api, shop: &Account) -> (String, String) {
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
    let cheap = create_product(server, shop, tee("Cheap Socks", json!("4.50"))).await;

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
    (id, cheap)
}

/// Both published: public, sorted, paged and searchable; a patch merges attributes.
async fn publish_list_search_and_patch(server: &Api, shop: &Account, id: &str, cheap: &str) {
    // Publish both; now public, sorted and searchable.
    for pid in [id, cheap] {
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
    assert_eq!(ids(by_price.ok(200)), vec![cheap, id]);
    let by_price = server
        .api(Method::GET, "/products/all?sort=price_desc", &[], None)
        .await;
    assert_eq!(ids(by_price.ok(200)), vec![id, cheap]);
    let page2 = server
        .api(
            Method::GET,
            "/products/all?limit=1&page=2&sort=price_asc",
            &[],
            None,
        )
        .await;
    assert_eq!(ids(page2.ok(200)), vec![id]);
    let found = server
        .api(Method::GET, "/products/search/SOCKS%20acme", &[], None)
        .await;
    // Both are Acme's; the socks match both words and rank first.
    assert_eq!(ids(found.ok(200)), vec![cheap, id]);
    let found = server
        .api(Method::GET, "/products/search/tee", &[], None)
        .await;
    assert_eq!(ids(found.ok(200)), vec![cheap, id]);
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
}

/// Stock added and read back; an unpublished product leaves the public list.
async fn stock_and_unpublish(server: &Api, shop: &Account, id: &str, cheap: &str) {
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
    assert_eq!(ids(all.ok(200)), vec![cheap]);
}

/// A customer's sessions: login, refresh with rotation, reuse revoking every session, logout.
async fn customer_sessions(server: &Api) {
    // Customer: signup, login, refresh (rotation), reuse is 403 and revokes every session.
    let user = signup(server, "user", "buyer@example.com").await;
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
}

/// The shop's refresh and logout work as the customer's do.
async fn shop_sessions(server: &Api, shop: &Account) {
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
}

const ORDER_FIELDS: &[&str] = &[
    "_id",
    "order_userId",
    "order_checkout",
    "order_shipping",
    "order_payment",
    "order_products",
    "order_trackingNumber",
    "order_status",
    "createdAt",
    "updatedAt",
];

fn keys_of(v: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

fn sorted(list: &[&'static str]) -> Vec<&'static str> {
    let mut list = list.to_vec();
    list.sort_unstable();
    list
}

/// The value of a Prometheus series (`name` or `name{labels}`), 0 when absent.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

async fn metrics_text(api: &Api) -> String {
    api.call(Method::GET, "/metrics", &[], None).await.text
}

/// Current stock, and units sold or held, of `product`, read by its shop.
async fn stock(api: &Api, shop: &Account, product: &str) -> (u64, u64) {
    let (stock, sold, held) = support::inventory(api, shop, product).await;
    (stock, sold + held)
}

/// The body of a shop's status update moving its lines of `products` to `status`.
fn status(products: &[&str], status: &str) -> Value {
    json!({"orderProducts": [{"productIds": products, "status": status}]})
}

/// The accounts and products the commerce flow shares between its steps.
struct Flow {
    api: Api,
    now: chrono::DateTime<chrono::Utc>,
    shop: Account,
    other_shop: Account,
    user: Account,
    other_user: Account,
    tee_id: String,
    socks: String,
    draft: String,
}

/// The whole commerce flow against the server at `base` with API key `key`: shop, products,
/// customers, cart, discounts, review, orders (with and without an idempotency key), order
/// reads, status updates, cancel. Every server it runs on charges [`FEE_SHIP`].
async fn commerce_flow(base: &str, key: &str) {
    let api = Api::new(base, key);
    let metrics_before = metrics_text(&api).await;
    let flow = shop_and_customers(&api).await;
    let cart_id = cart(&flow).await;
    discounts(&flow).await;
    let order1 = review_and_order(&flow, &cart_id).await;
    let order2_id = keyed_orders(&flow).await;
    let order1_id = order1["_id"].as_str().unwrap().to_owned();
    order_reads_and_status(&flow, &order1, &order2_id).await;
    cancels_and_codes(&flow, &order1_id, &order2_id).await;
    let api = &flow.api;

    // The checkout counters of this server moved by exactly what this flow did: five answers
    // with an order (two of them repeats of a key), one refusal for stock, nothing else.
    let metrics_after = metrics_text(api).await;
    let grew = |series: &str| metric(&metrics_after, series) - metric(&metrics_before, series);
    assert_eq!(grew("ecom_checkouts_placed_total"), 5.0, "{metrics_after}");
    for (reason, n) in [
        ("out_of_stock", 1.0),
        ("discount", 0.0),
        ("busy", 0.0),
        ("unavailable", 0.0),
        ("other", 0.0),
    ] {
        let series = format!("ecom_checkouts_rejected_total{{reason=\"{reason}\"}}");
        assert_eq!(grew(&series), n, "{series}\n{metrics_after}");
    }
    assert_eq!(grew("ecom_oversell_guard_rejections_total"), 1.0);

    // Every answer of the flow, success or error, is one the OpenAPI document describes.
    let checked = support::contract::assert_answers_follow_the_document(api).await;
    assert!(checked > 60, "{checked} answers checked");
}

/// A shop with two published products and a draft, another shop, two customers with the
/// empty cart.
async fn shop_and_customers(api: &Api) -> Flow {
    let now = chrono::Utc::now();

    // A shop with two published products and a draft.
    let shop = signup(api, "shop", "seller@flow.example").await;
    let other_shop = signup(api, "shop", "rival@flow.example").await;
    let tee_id = create_product(api, &shop, tee("Plain Tee", json!(19.99))).await;
    let socks = create_product(api, &shop, tee("Cheap Socks", json!("4.50"))).await;
    let draft = create_product(api, &shop, tee("Secret Tee", json!(9))).await;
    for product in [&tee_id, &socks] {
        api.api(
            Method::POST,
            &format!("/products/publish/{product}"),
            &shop.auth(),
            None,
        )
        .await
        .ok(200);
    }
    assert!(tee_id < socks, "ids are time-ordered");

    // Customers; a new customer has the empty cart.
    let user = signup(api, "user", "buyer@flow.example").await;
    let other_user = signup(api, "user", "other@flow.example").await;
    let answer = api.api(Method::GET, "/carts", &user.auth(), None).await;
    assert_eq!(
        answer.ok(200),
        &json!({"_id": null, "cart_state": "active", "cart_products": [], "cart_count_product": 0})
    );
    Flow {
        api: api.clone(),
        now,
        shop,
        other_shop,
        user,
        other_user,
        tee_id,
        socks,
        draft,
    }
}

/// Cart: add (client price ignored), add again (the line grows), update, delete; the cart id.
async fn cart(flow: &Flow) -> String {
    let Flow {
        api,
        shop,
        user,
        tee_id,
        socks,
        draft,
        ..
    } = flow;
    // Cart: add (client price ignored), add again (the line grows), update, delete.
    let add = |product: &str, quantity: u32| json!({"product": {"productId": product, "shopId": shop.id, "quantity": quantity, "price": 0.01}});
    let answer = api
        .api(Method::POST, "/carts", &user.auth(), Some(add(tee_id, 2)))
        .await;
    assert!(answer.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert!(!answer.headers["x-request-id"].is_empty());
    let cart = answer.ok(200).clone();
    assert!(is_id(&cart["_id"]));
    let cart_id = cart["_id"].as_str().unwrap().to_owned();
    assert_eq!(cart["cart_state"], "active");
    assert_eq!(
        cart["cart_products"],
        json!([{"productId": tee_id, "shopId": shop.id, "quantity": 2, "price": 19.99, "name": "Plain Tee"}])
    );
    assert_eq!(cart["cart_count_product"], 1);
    api.api(Method::POST, "/carts", &user.auth(), Some(add(socks, 1)))
        .await
        .ok(200);
    let answer = api
        .api(Method::POST, "/carts", &user.auth(), Some(add(tee_id, 1)))
        .await;
    let cart = answer.ok(200);
    assert_eq!(cart["cart_count_product"], 2);
    assert_eq!(cart["cart_products"][0]["quantity"], 3);
    assert_eq!(cart["_id"], json!(cart_id));
    api.api(Method::POST, "/carts", &user.auth(), Some(add(draft, 1)))
        .await
        .err(404, "product not found");
    let update = |product: &str, quantity: u32, old: u32| {
        json!({"shop_order_ids": [{"shopId": shop.id, "item_products": [
            {"productId": product, "quantity": quantity, "old_quantity": old, "price": 1}
        ]}]})
    };
    let answer = api
        .api(
            Method::POST,
            "/carts/update",
            &user.auth(),
            Some(update(tee_id, 5, 3)),
        )
        .await;
    assert_eq!(answer.ok(200)["cart_products"][0]["quantity"], 5);
    let answer = api
        .api(
            Method::POST,
            "/carts/update",
            &user.auth(),
            Some(update(socks, 0, 1)),
        )
        .await;
    let cart = answer.ok(200);
    assert_eq!(cart["cart_count_product"], 1);
    assert_eq!(cart["cart_products"][0]["productId"], json!(tee_id));
    let answer = api
        .api(
            Method::DELETE,
            "/carts",
            &user.auth(),
            Some(json!({"productId": tee_id})),
        )
        .await;
    assert_eq!(
        answer.ok(200),
        &json!({"_id": cart_id, "cart_state": "active", "cart_products": [], "cart_count_product": 0})
    );
    api.api(Method::POST, "/carts", &user.auth(), Some(add(tee_id, 2)))
        .await
        .ok(200);
    api.api(Method::POST, "/carts", &user.auth(), Some(add(socks, 1)))
        .await
        .ok(200);
    let answer = api.api(Method::GET, "/carts", &user.auth(), None).await;
    let cart = answer.ok(200);
    assert_eq!(cart["cart_count_product"], 2);
    assert_eq!(cart["cart_products"][1]["price"], json!(4.5));
    cart_id
}

/// Discounts: a 10% code on everything, 5.00 off the socks only; lists, quotes, a cancel of
/// a use that does not exist.
async fn discounts(flow: &Flow) {
    let Flow {
        api,
        now,
        shop,
        other_shop,
        user,
        tee_id,
        socks,
        ..
    } = flow;
    // Discounts: a 10% code on everything, 5.00 off the socks only.
    let start = (*now - chrono::Duration::hours(1)).to_rfc3339();
    let end = (*now + chrono::Duration::days(1)).to_rfc3339();
    let summer = json!({
        "code": "SUMMER10", "name": "Summer", "description": "10% off", "type": "percentage",
        "value": 10, "start_date": start, "end_date": end, "max_uses": 100,
        "max_uses_per_user": 1, "min_order_value": 0, "is_active": true,
        "applies_to": "all", "product_ids": []
    });
    let answer = api
        .api(
            Method::POST,
            "/discounts",
            &shop.auth(),
            Some(summer.clone()),
        )
        .await;
    let code = answer.ok(201).clone();
    assert_eq!(answer.body["status"], 201);
    assert!(is_id(&code["_id"]));
    assert_eq!(code["discount_code"], "SUMMER10");
    assert_eq!(code["discount_type"], "percentage");
    assert_eq!(code["discount_value"], json!(10.0));
    assert_eq!(code["discount_shopId"], json!(shop.id));
    assert_eq!(code["discount_uses_count"], 0);
    assert_eq!(code["discount_applies_to"], "all");
    assert_eq!(code["discount_min_order_value"], json!(0.0));
    let fixed = json!({
        "code": "SOCKS5", "name": "Socks", "type": "fixed", "value": "5",
        "start_date": start, "end_date": end, "max_uses": 10, "max_uses_per_user": 2,
        "applies_to": "specific_products", "product_ids": [socks]
    });
    let answer = api
        .api(Method::POST, "/discounts", &shop.auth(), Some(fixed))
        .await;
    let code = answer.ok(201);
    assert_eq!(code["discount_value"], json!(5.0));
    assert_eq!(code["discount_product_ids"], json!([socks]));
    assert_eq!(code["discount_is_active"], true);
    api.api(Method::POST, "/discounts", &shop.auth(), Some(summer))
        .await
        .err(409, "already exists in the shop");
    let answer = api
        .api(
            Method::GET,
            "/discounts?limit=10&page=1",
            &shop.auth(),
            None,
        )
        .await;
    let codes: Vec<&str> = answer
        .ok(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["discount_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["SOCKS5", "SUMMER10"]);
    let answer = api
        .api(Method::GET, "/discounts", &other_shop.auth(), None)
        .await;
    assert_eq!(answer.ok(200), &json!([]));
    let answer = api
        .api(
            Method::GET,
            &format!(
                "/discounts/list_product_code?code=SUMMER10&shopId={}&limit=10&page=1",
                shop.id
            ),
            &[],
            None,
        )
        .await;
    assert_eq!(ids(answer.ok(200)), vec![socks.as_str(), tee_id.as_str()]);
    let answer = api
        .api(
            Method::GET,
            &format!(
                "/discounts/list_product_code?code=SOCKS5&shopId={}",
                shop.id
            ),
            &[],
            None,
        )
        .await;
    assert_eq!(ids(answer.ok(200)), vec![socks.as_str()]);
    let answer = api
        .api(
            Method::POST,
            "/discounts/amount",
            &user.auth(),
            Some(json!({"codeId": "SUMMER10", "shopId": shop.id,
                "products": [{"productId": tee_id, "quantity": 2, "price": 0.01}]})),
        )
        .await;
    assert_eq!(
        answer.ok(200),
        &json!({"totalOrder": 39.98, "discount": 4.0, "totalPrice": 35.98})
    );
    api.api(
        Method::POST,
        "/discounts/cancel",
        &user.auth(),
        Some(json!({"codeId": "SUMMER10", "shopId": shop.id})),
    )
    .await
    .err(404, "discount use not found");
}

/// Review (server prices, the code, the shipping fee), then the order without an idempotency
/// key; the order.
async fn review_and_order(flow: &Flow, cart_id: &str) -> Value {
    let Flow {
        api,
        shop,
        user,
        tee_id,
        socks,
        ..
    } = flow;
    // Review: server prices, the code, the shipping fee.
    let checkout = json!({"cartId": cart_id, "shop_order_ids": [{
        "shopId": shop.id,
        "shop_discounts": [{"shopId": shop.id, "codeId": "SUMMER10"}],
        "item_products": [
            {"productId": tee_id, "quantity": 2, "price": 0.01},
            {"productId": socks, "quantity": 1}
        ]
    }]});
    let answer = api
        .api(
            Method::POST,
            "/checkout/review",
            &user.auth(),
            Some(checkout.clone()),
        )
        .await;
    let review = answer.ok(200).clone();
    assert_eq!(
        review["checkout_order"],
        json!({"totalPrice": 44.48, "feeShip": 2.5, "totalDiscount": 4.45, "totalCheckout": 42.53})
    );
    assert_eq!(
        review["shop_order_ids"],
        json!([{"shopId": shop.id,
            "shop_discounts": [{"shopId": shop.id, "codeId": "SUMMER10"}],
            "item_products": [{"productId": tee_id, "quantity": 2}, {"productId": socks, "quantity": 1}]}])
    );
    assert_eq!(
        review["shop_order_ids_new"],
        json!([{"shopId": shop.id,
        "shop_discounts": [{"shopId": shop.id, "codeId": "SUMMER10", "discount": 4.45}],
        "priceRaw": 44.48, "priceApplyDiscount": 40.03,
        "item_products": [
            {"productId": tee_id, "name": "Plain Tee", "quantity": 2, "price": 19.99},
            {"productId": socks, "name": "Cheap Socks", "quantity": 1, "price": 4.5}
        ]}])
    );
    assert_eq!(
        stock(api, shop, tee_id).await,
        (10, 0),
        "review reserves nothing"
    );

    // Order without an idempotency key: 201, the order JSON, stock reserved, cart emptied,
    // the code used.
    let mut order_body = checkout.clone();
    order_body["user_address"] = json!({"street": "1 Main St", "city": "Hanoi"});
    order_body["user_payment"] = json!({"method": "cod"});
    let answer = api
        .api(
            Method::POST,
            "/checkout/order",
            &user.auth(),
            Some(order_body.clone()),
        )
        .await;
    let order1 = answer.ok(201).clone();
    assert_eq!(answer.body["status"], 201);
    assert_eq!(keys_of(&order1), sorted(ORDER_FIELDS));
    assert!(is_id(&order1["_id"]));
    assert_eq!(order1["order_userId"], json!(user.id));
    assert_eq!(order1["order_checkout"], review["checkout_order"]);
    assert_eq!(order1["order_shipping"], order_body["user_address"]);
    assert_eq!(order1["order_payment"]["method"], "cod");
    assert_eq!(order1["order_payment"]["status"], "pending");
    assert_eq!(
        order1["order_payment"]["amount"],
        order1["order_checkout"]["totalCheckout"]
    );
    assert_eq!(order1["order_status"], "pending");
    assert_eq!(order1["order_trackingNumber"], Value::Null);
    assert_eq!(
        order1["order_products"],
        json!([{"shopId": shop.id,
        "shop_discounts": [{"shopId": shop.id, "codeId": "SUMMER10", "discount": 4.45}],
        "item_products": [
            {"productId": tee_id, "name": "Plain Tee", "quantity": 2, "price": 19.99, "status": "pending"},
            {"productId": socks, "name": "Cheap Socks", "quantity": 1, "price": 4.5, "status": "pending"}
        ], "trackingNumber": null, "note": null}])
    );
    assert_eq!(stock(api, shop, tee_id).await, (8, 2));
    assert_eq!(stock(api, shop, socks).await, (9, 1));
    let answer = api.api(Method::GET, "/carts", &user.auth(), None).await;
    assert_eq!(answer.ok(200)["cart_count_product"], 0);
    let answer = api.api(Method::GET, "/discounts", &shop.auth(), None).await;
    let summer_now = answer
        .ok(200)
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["discount_code"] == "SUMMER10")
        .unwrap()
        .clone();
    assert_eq!(summer_now["discount_uses_count"], 1);
    // The code is used up for this customer.
    api.api(
        Method::POST,
        "/checkout/review",
        &user.auth(),
        Some(checkout),
    )
    .await
    .err(400, "discount not applicable");
    order1
}

/// Orders with an idempotency key (repeats give the same order), another customer's key space,
/// a refusal for stock; the keyed order's id.
async fn keyed_orders(flow: &Flow) -> String {
    let Flow {
        api,
        shop,
        user,
        other_user,
        tee_id,
        socks,
        ..
    } = flow;
    // Order with an idempotency key: a repeat returns the same order and moves nothing.
    let socks_order = json!({"shop_order_ids": [{
        "shopId": shop.id,
        "shop_discounts": [{"shopId": shop.id, "codeId": "SOCKS5"}],
        "item_products": [{"productId": socks, "quantity": 2}]
    }], "user_address": {"street": "1 Main St"}, "user_payment": {"method": "cod"}});
    let keyed: Vec<(&str, &str)> = user
        .auth()
        .into_iter()
        .chain([("idempotency-key", "order-key-1")])
        .collect();
    let answer = api
        .api(
            Method::POST,
            "/checkout/order",
            &keyed,
            Some(socks_order.clone()),
        )
        .await;
    let order2 = answer.ok(201).clone();
    let order2_id = order2["_id"].as_str().unwrap().to_owned();
    assert_eq!(
        order2["order_checkout"],
        json!({"totalPrice": 9.0, "feeShip": 2.5, "totalDiscount": 5.0, "totalCheckout": 6.5})
    );
    for _ in 0..2 {
        let answer = api
            .api(
                Method::POST,
                "/checkout/order",
                &keyed,
                Some(socks_order.clone()),
            )
            .await;
        assert_eq!(answer.ok(201)["_id"], json!(order2_id));
    }
    assert_eq!(stock(api, shop, socks).await, (7, 3));
    // Another customer's key space is separate.
    let other_keyed: Vec<(&str, &str)> = other_user
        .auth()
        .into_iter()
        .chain([("idempotency-key", "order-key-1")])
        .collect();
    let mut small = socks_order.clone();
    small["shop_order_ids"][0]["shop_discounts"] = json!([]);
    small["shop_order_ids"][0]["item_products"][0]["quantity"] = json!(1);
    let answer = api
        .api(Method::POST, "/checkout/order", &other_keyed, Some(small))
        .await;
    let other_order = answer.ok(201).clone();
    assert_ne!(other_order["_id"], json!(order2_id));
    assert_eq!(stock(api, shop, socks).await, (6, 4));

    // Not enough stock for one line: 409 and nothing reserved, not even the other line.
    let too_many = json!({"shop_order_ids": [{"shopId": shop.id, "item_products": [
        {"productId": tee_id, "quantity": 1}, {"productId": socks, "quantity": 100}
    ]}], "user_address": {}, "user_payment": {}});
    api.api(
        Method::POST,
        "/checkout/order",
        &user.auth(),
        Some(too_many),
    )
    .await
    .err(409, "insufficient stock");
    assert_eq!(stock(api, shop, tee_id).await, (8, 2));
    assert_eq!(stock(api, shop, socks).await, (6, 4));
    order2_id
}

/// Order reads (newest first, paged, private) and the shop moving its own lines.
async fn order_reads_and_status(flow: &Flow, order1: &Value, order2_id: &str) {
    let order1_id = order1["_id"].as_str().unwrap();

    let Flow {
        api,
        shop,
        other_shop,
        user,
        other_user,
        tee_id,
        socks,
        ..
    } = flow;
    // Orders: newest first, paged; another customer's order is 404.
    let answer = api.api(Method::GET, "/orders", &user.auth(), None).await;
    assert_eq!(ids(answer.ok(200)), vec![order2_id, order1_id]);
    let answer = api
        .api(Method::GET, "/orders?limit=1&page=2", &user.auth(), None)
        .await;
    assert_eq!(ids(answer.ok(200)), vec![order1_id]);
    let answer = api
        .api(
            Method::GET,
            &format!("/orders/{order1_id}"),
            &user.auth(),
            None,
        )
        .await;
    assert_eq!(answer.ok(200), order1);
    api.api(
        Method::GET,
        &format!("/orders/{order1_id}"),
        &other_user.auth(),
        None,
    )
    .await
    .err(404, "order not found");
    api.api(
        Method::POST,
        &format!("/orders/{order1_id}/cancel"),
        &other_user.auth(),
        None,
    )
    .await
    .err(404, "order not found");

    // The shop moves its own lines; another shop cannot touch them.
    api.api(
        Method::PATCH,
        &format!("/orders/{order1_id}/status"),
        &other_shop.auth(),
        Some(status(&[tee_id], "confirmed")),
    )
    .await
    .err(404, "order not found");
    let mut body = status(&[tee_id], "confirmed");
    body["note"] = json!("packed");
    body["trackingNumber"] = json!("TRACK-1");
    let answer = api
        .api(
            Method::PATCH,
            &format!("/orders/{order1_id}/status"),
            &shop.auth(),
            Some(body),
        )
        .await;
    // The answer is the shop's view: its part, its subtotal, the payment method only.
    let updated = answer.ok(200);
    assert_eq!(
        keys_of(updated),
        sorted(&[
            "_id",
            "order_userId",
            "order_subtotal",
            "order_shipping",
            "order_payment",
            "order_products",
            "order_status",
            "createdAt",
            "updatedAt",
        ])
    );
    assert_eq!(updated["order_status"], "pending");
    assert_eq!(
        updated["order_payment"],
        json!({"method": "cod", "status": "pending"})
    );
    assert_eq!(
        updated["order_subtotal"],
        json!({"totalPrice": 44.48, "feeShip": 0.0, "totalDiscount": 4.45, "totalCheckout": 40.03})
    );
    assert_eq!(updated["order_products"][0]["trackingNumber"], "TRACK-1");
    assert_eq!(updated["order_products"][0]["note"], "packed");
    let seen = api
        .api(
            Method::GET,
            &format!("/orders/{order1_id}"),
            &user.auth(),
            None,
        )
        .await;
    assert_eq!(seen.ok(200)["order_trackingNumber"], "TRACK-1");
    let lines = &updated["order_products"][0]["item_products"];
    assert_eq!(lines[0]["status"], "confirmed");
    assert_eq!(lines[1]["status"], "pending");
    let answer = api
        .api(
            Method::PATCH,
            &format!("/orders/{order1_id}/status"),
            &shop.auth(),
            Some(status(&[socks], "confirmed")),
        )
        .await;
    assert_eq!(answer.ok(200)["order_status"], "confirmed");
    api.api(
        Method::PATCH,
        &format!("/orders/{order1_id}/status"),
        &shop.auth(),
        Some(status(&[socks], "delivered")),
    )
    .await
    .err(409, "cannot go from");
}

/// The customer cancels; a shipped order cannot be cancelled; code uses and deletes.
async fn cancels_and_codes(flow: &Flow, order1_id: &str, order2_id: &str) {
    let Flow {
        api,
        shop,
        other_shop,
        user,
        tee_id,
        socks,
        ..
    } = flow;
    // The customer cancels: stock and the code's use come back; a second cancel is 409.
    let answer = api
        .api(
            Method::POST,
            &format!("/orders/{order1_id}/cancel"),
            &user.auth(),
            None,
        )
        .await;
    let cancelled = answer.ok(200);
    assert_eq!(cancelled["order_status"], "cancelled");
    assert_eq!(
        cancelled["order_products"][0]["item_products"][1]["status"],
        "cancelled"
    );
    assert_eq!(stock(api, shop, tee_id).await, (10, 0));
    assert_eq!(stock(api, shop, socks).await, (7, 3));
    api.api(
        Method::POST,
        &format!("/orders/{order1_id}/cancel"),
        &user.auth(),
        None,
    )
    .await
    .err(409, "can no longer be cancelled");
    let answer = api.api(Method::GET, "/discounts", &shop.auth(), None).await;
    let uses: Vec<(String, u64)> = answer
        .ok(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["discount_code"].as_str().unwrap().to_owned(),
                c["discount_uses_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        uses,
        vec![("SOCKS5".to_owned(), 1), ("SUMMER10".to_owned(), 0)]
    );

    // A shipped order cannot be cancelled by the customer.
    for step in ["confirmed", "shipped"] {
        api.api(
            Method::PATCH,
            &format!("/orders/{order2_id}/status"),
            &shop.auth(),
            Some(status(&[socks], step)),
        )
        .await
        .ok(200);
    }
    api.api(
        Method::POST,
        &format!("/orders/{order2_id}/cancel"),
        &user.auth(),
        None,
    )
    .await
    .err(409, "can no longer be cancelled");

    // A code use held by a placed order comes back only with the order's cancellation; then
    // the shop deletes a code.
    api.api(
        Method::POST,
        "/discounts/cancel",
        &user.auth(),
        Some(json!({"codeId": "SOCKS5", "shopId": shop.id})),
    )
    .await
    .err(409, "belongs to a placed order");
    api.api(
        Method::DELETE,
        "/discounts/SUMMER10",
        &other_shop.auth(),
        None,
    )
    .await
    .err(404, "discount not found");
    let answer = api
        .api(Method::DELETE, "/discounts/SUMMER10", &shop.auth(), None)
        .await;
    assert_eq!(answer.ok(200), &json!({"discount_code": "SUMMER10"}));
    api.api(Method::DELETE, "/discounts/SUMMER10", &shop.auth(), None)
        .await
        .err(404, "discount not found");
    api.api(
        Method::GET,
        &format!(
            "/discounts/list_product_code?code=SUMMER10&shopId={}",
            shop.id
        ),
        &[],
        None,
    )
    .await
    .err(404, "discount not found");
}

#[tokio::test]
async fn commerce_walkthrough_on_memory() {
    let server = TestServer::start(config()).await;
    commerce_flow(&server.base, KEY).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commerce_walkthrough_on_mongo_and_redis() {
    let (config, fixtures) = support::mongo_redis_config("lock_then_reserve").await;
    let server = TestServer::start(config).await;
    let ready = server.call(Method::GET, "/readyz", &[], None).await;
    assert_eq!(
        ready.status, 200,
        "MongoDB, the Redis lock and the Redis gate answer"
    );
    commerce_flow(&server.base, KEY).await;
    server.stop().await;
    // The checkouts took their stock locks in Redis under the test's own prefix; dropping the
    // fixtures deletes those keys (and only those).
    let prefix = fixtures.prefix.as_str().to_owned();
    let url = tokio::task::spawn_blocking(support::redis_url)
        .await
        .unwrap();
    let keys = tokio::task::block_in_place(|| fixtures.prefix.keys("*")).expect("Redis answers");
    assert!(!keys.is_empty(), "no Redis key under {prefix}");
    drop(fixtures);
    let left = tokio::task::block_in_place(|| {
        let probe = support::RedisPrefix::new(&url);
        let mut conn = redis::Client::open(url.as_str())?.get_connection()?;
        let left: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query(&mut conn)?;
        drop(probe);
        Ok::<_, redis::RedisError>(left)
    })
    .expect("Redis answers");
    assert!(left.is_empty(), "{left:?}");
}
