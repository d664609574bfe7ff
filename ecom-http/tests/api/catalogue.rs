//! The catalogue over HTTP, on the memory backend and on MongoDB + Redis: categories, filters
//! with `x-total-count`, facets, the category tree, ranked accent-insensitive search,
//! storefronts, units sold and the in-stock filter after a real order, and 400s for bad
//! filters. Every answer is checked against the OpenAPI document.

use crate::support::{self, create_product, signup, tee, Account, Api, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

/// Creates and publishes (unless `draft`) a product; its id.
async fn product(
    api: &Api,
    shop: &Account,
    name: &str,
    price: &str,
    stock: u64,
    category: &str,
    draft: bool,
) -> String {
    let mut body = tee(name, json!(price));
    body["product_quantity"] = json!(stock);
    body["product_category"] = json!(category);
    body["product_description"] = json!("");
    let id = create_product(api, shop, body).await;
    if !draft {
        support::publish(api, shop, &id).await;
    }
    id
}

/// `GET path`: the ids listed and the answer's headers.
async fn listing(api: &Api, path: &str) -> (Vec<String>, reqwest::header::HeaderMap) {
    let answer = api.api(Method::GET, path, &[], None).await;
    let ids = answer
        .ok(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["_id"].as_str().unwrap().to_owned())
        .collect();
    (ids, answer.headers)
}

/// `GET path`: the ids listed and `x-total-count`.
async fn listed(api: &Api, path: &str) -> (Vec<String>, u64) {
    let (ids, headers) = listing(api, path).await;
    let total = headers["x-total-count"].to_str().unwrap().parse().unwrap();
    (ids, total)
}

/// `GET path`: the ids listed and the `x-next-cursor`, if any.
async fn paged(api: &Api, path: &str) -> (Vec<String>, Option<String>) {
    let (ids, headers) = listing(api, path).await;
    let next = headers
        .get("x-next-cursor")
        .map(|v| v.to_str().unwrap().to_owned());
    (ids, next)
}

/// Two shops, a customer and the published products (a mug, a red and a blue tee), shared by
/// every step of the story.
struct Catalogue {
    api: Api,
    a: Account,
    b: Account,
    user: Account,
    mug: String,
    red: String,
    blue: String,
}

async fn catalogue(api: Api) {
    let a = signup(&api, "shop", "lumiere@shops.example").await;
    let b = signup(&api, "shop", "azur@shops.example").await;
    let user = signup(&api, "user", "buyer@people.example").await;
    let mug = product(
        &api,
        &a,
        "Café crème mug",
        "12.50",
        5,
        "Home/Kitchen",
        false,
    )
    .await;
    let red = product(
        &api,
        &a,
        "Red cotton tee",
        "19.99",
        1,
        "Fashion/Men/T-Shirts",
        false,
    )
    .await;
    let blue = product(
        &api,
        &b,
        "Blue cotton tee",
        "9",
        3,
        " Fashion / Women ",
        false,
    )
    .await;
    let lamp = product(&api, &b, "Draft lamp", "30", 3, "Home/Lighting", true).await;
    let cat = Catalogue {
        api,
        a,
        b,
        user,
        mug,
        red,
        blue,
    };
    filters_and_search(&cat).await;
    cursors(&cat).await;
    facets_and_tree(&cat).await;
    storefronts(&cat).await;
    a_sale_and_a_move(&cat).await;
    bad_filters(&cat).await;
    assert_ne!(lamp, cat.mug);
    support::contract::assert_answers_follow_the_document(&cat.api).await;
}

/// Pages by cursor: each full page's `x-next-cursor` leads to the next, in the listing's
/// order, whatever is published before it meanwhile; a cursor of another sort, or with a page
/// number, is a 400.
async fn cursors(cat: &Catalogue) {
    let Catalogue {
        api,
        mug,
        red,
        blue,
        ..
    } = cat;
    let base = "/products/all?sort=price_asc&limit=2";
    let (first, next) = paged(api, base).await;
    assert_eq!(first, [blue.clone(), mug.clone()]);
    let next = next.expect("a full page hands on a cursor");
    // A new cheapest product (of a shop of its own, taken away after) moves every page
    // number; the cursor is not moved.
    let other = signup(api, "shop", "cursor@shops.example").await;
    let cheap = product(
        api,
        &other,
        "Cheap cotton tee",
        "1",
        1,
        "Fashion/Men",
        false,
    )
    .await;
    let (second, last) = paged(api, &format!("{base}&after={next}")).await;
    assert_eq!(second, std::slice::from_ref(red));
    assert_eq!(last, None, "a short page is the last");
    let (again, _) = paged(api, base).await;
    assert_eq!(again, [cheap.clone(), blue.clone()]);
    for query in [
        format!("sort=price_desc&after={next}"),
        format!("sort=price_asc&page=2&after={next}"),
        "after=bm90IGEgY3Vyc29y".to_owned(),
    ] {
        api.api(Method::GET, &format!("/products/all?{query}"), &[], None)
            .await
            .err(400, "after");
    }
    api.api(
        Method::POST,
        &format!("/products/unpublish/{cheap}"),
        &other.auth(),
        None,
    )
    .await
    .ok(200);
}

/// Filters combine and the header counts every match; search ignores accents and case, takes
/// the last word as a prefix, ranks more words higher, never lists drafts.
async fn filters_and_search(cat: &Catalogue) {
    let Catalogue {
        api,
        a,
        mug,
        red,
        blue,
        ..
    } = cat;
    // Filters combine; the header counts every match.
    assert_eq!(
        listed(api, "/products/all?category=Fashion&sort=price_asc").await,
        (vec![blue.clone(), red.clone()], 2)
    );
    assert_eq!(
        listed(api, "/products/all?category=Fashion&max_price=10").await,
        (vec![blue.clone()], 1)
    );
    assert_eq!(
        listed(
            api,
            "/products/all?min_price=12.5&max_price=19.99&sort=price_desc"
        )
        .await,
        (vec![red.clone(), mug.clone()], 2)
    );
    assert_eq!(
        listed(api, &format!("/products/all?shop={}&type=Clothing", a.id)).await,
        (vec![red.clone(), mug.clone()], 2)
    );
    assert_eq!(
        listed(
            api,
            &format!("/products/all?shop={}&category=Fashion", a.id)
        )
        .await,
        (vec![red.clone()], 1)
    );
    assert_eq!(
        listed(api, "/products/all?limit=1&page=2&sort=price_asc").await,
        (vec![mug.clone()], 3),
        "the page holds one, the header counts all"
    );
    // Search: accents and case do not matter, the last word is a prefix, more words rank higher.
    assert_eq!(
        listed(api, "/products/all?q=CAFE").await,
        (vec![mug.clone()], 1)
    );
    assert_eq!(
        listed(api, "/products/search/creme%20mu").await,
        (vec![mug.clone()], 1)
    );
    assert_eq!(
        listed(api, "/products/all?q=red%20cotton").await,
        (vec![red.clone(), blue.clone()], 2),
        "two words matched, then one"
    );
    assert_eq!(
        listed(api, "/products/all?q=lamp").await,
        (vec![], 0),
        "drafts are never listed"
    );
}

/// Facets and the category tree (the draft's category is not shown).
async fn facets_and_tree(cat: &Catalogue) {
    let Catalogue { api, .. } = cat;
    // Facets and the tree.
    let facets = api
        .api(Method::GET, "/products/facets?category=Fashion", &[], None)
        .await;
    let facets = facets.ok(200);
    assert_eq!(facets["total"], 2);
    assert_eq!(
        facets["categories"],
        json!([
            {"path": "Fashion", "count": 2}, {"path": "Fashion/Men", "count": 1},
            {"path": "Fashion/Men/T-Shirts", "count": 1}, {"path": "Fashion/Women", "count": 1}
        ])
    );
    assert_eq!(facets["types"], json!([{"name": "Clothing", "count": 2}]));
    assert_eq!(facets["shops"].as_array().unwrap().len(), 2);
    assert_eq!(facets["price"], json!({"min": 9.0, "max": 19.99}));
    let none = api
        .api(Method::GET, "/products/facets?q=zzz", &[], None)
        .await;
    assert_eq!(
        none.ok(200).clone(),
        json!({"total": 0, "categories": [], "types": [], "shops": [],
            "price": {"min": null, "max": null}})
    );
    let tree = api.api(Method::GET, "/categories", &[], None).await;
    assert_eq!(
        tree.ok(200).clone(),
        json!([
            {"name": "Fashion", "path": "Fashion", "count": 2, "children": [
                {"name": "Men", "path": "Fashion/Men", "count": 1, "children": [
                    {"name": "T-Shirts", "path": "Fashion/Men/T-Shirts", "count": 1, "children": []}
                ]},
                {"name": "Women", "path": "Fashion/Women", "count": 1, "children": []}
            ]},
            {"name": "Home", "path": "Home", "count": 1, "children": [
                {"name": "Kitchen", "path": "Home/Kitchen", "count": 1, "children": []}
            ]}
        ]),
        "the draft's category is not shown"
    );
}

/// Storefronts: a shop and its products; unknown and malformed shop ids.
async fn storefronts(cat: &Catalogue) {
    let Catalogue {
        api, a, b, blue, ..
    } = cat;
    // Storefronts.
    let front = api
        .api(Method::GET, &format!("/shops/{}", a.id), &[], None)
        .await;
    let front = front.ok(200);
    assert_eq!(front["_id"], a.id.as_str());
    assert_eq!(front["name"], "Someone");
    assert_eq!(front["product_count"], 2);
    assert_eq!(
        listed(api, &format!("/shops/{}/products?sort=price_asc", b.id)).await,
        (vec![blue.clone()], 1)
    );
    assert_eq!(
        listed(api, &format!("/shops/{}/products?shop={}", b.id, a.id)).await,
        (vec![], 0),
        "a shop filter naming another shop matches nothing"
    );
    let unknown = "0123456789abcdef0123456789abcdef";
    api.api(Method::GET, &format!("/shops/{unknown}"), &[], None)
        .await
        .err(404, "shop");
    api.api(
        Method::GET,
        &format!("/shops/{unknown}/products"),
        &[],
        None,
    )
    .await
    .err(404, "shop");
    api.api(Method::GET, "/shops/nope", &[], None)
        .await
        .err(400, "shopId");
}

/// A sale (units sold shown, the best seller first, the sold-out tee out of `in_stock`), and a
/// product moved to another category.
async fn a_sale_and_a_move(cat: &Catalogue) {
    let Catalogue {
        api,
        a,
        user,
        mug,
        red,
        blue,
        ..
    } = cat;
    // A sale: units sold are shown, the best seller leads, the sold-out tee leaves in_stock.
    let order = json!({"shop_order_ids": [{"shopId": a.id, "item_products": [{"productId": red, "quantity": 1}]}],
        "user_address": {"street": "1 Rue"}, "user_payment": {}});
    api.api(Method::POST, "/checkout/order", &user.auth(), Some(order))
        .await
        .ok(201);
    let mut sold = Value::Null;
    for _ in 0..100 {
        let answer = api
            .api(Method::GET, &format!("/products/{red}"), &[], None)
            .await;
        sold = answer.ok(200)["product_sold"].clone();
        if sold == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(sold, 1, "settled in the background, then counted");
    assert_eq!(
        listed(api, "/products/all?sort=best_selling&limit=1").await,
        (vec![red.clone()], 3)
    );
    assert_eq!(
        listed(api, "/products/all?in_stock=true&sort=price_asc").await,
        (vec![blue.clone(), mug.clone()], 2)
    );
    // Moving a product to another category.
    let moved = api
        .api(
            Method::PATCH,
            &format!("/products/{mug}"),
            &a.auth(),
            Some(json!({"product_category": "Home/Dining"})),
        )
        .await;
    assert_eq!(moved.ok(200)["product_category"], "Home/Dining");
    assert_eq!(
        listed(api, "/products/all?category=Home/Dining").await,
        (vec![mug.clone()], 1)
    );
}

/// Bad filters: 400 naming the parameter.
async fn bad_filters(cat: &Catalogue) {
    let Catalogue { api, a, .. } = cat;
    // Bad filters: 400 naming the parameter.
    let long_q = format!("q={}", "0".repeat(1001));
    for (query, field) in [
        ("min_price=abc", "min_price"),
        ("min_price=5&max_price=1", "min_price"),
        ("max_price=1.005", "max_price"),
        ("category=a//b", "category"),
        ("category=a/b/c/d/e", "category"),
        ("type=Spaceship", "type"),
        ("shop=xyz", "shop"),
        ("sort=cheapest", "sort"),
        ("in_stock=maybe", "in_stock"),
        ("q=a%20b%20c%20d%20e%20f%20g%20h%20i%20j%20k", "q"),
        (long_q.as_str(), "q"),
        ("colour=red", "colour"),
    ] {
        for path in ["/products/all", "/products/facets"] {
            api.api(Method::GET, &format!("{path}?{query}"), &[], None)
                .await
                .err(400, field);
        }
    }
    let bad = api
        .api(
            Method::POST,
            "/products",
            &a.auth(),
            Some({
                let mut body = tee("Bad", json!("1"));
                body["product_category"] = json!("a/".repeat(5) + "a");
                body
            }),
        )
        .await;
    bad.err(400, "product_category");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn catalogue_on_memory() {
    support::on_memory(catalogue).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn catalogue_on_mongo_redis() {
    support::on_mongo_redis("gate", catalogue).await;
}

#[tokio::test]
async fn the_product_json_carries_category_and_units_sold() {
    let server = TestServer::start(support::config()).await;
    let shop = signup(&server, "shop", "json@shops.example").await;
    let id = product(&server, &shop, "Plain", "1", 1, "Misc", false).await;
    let answer = server
        .api(Method::GET, &format!("/products/{id}"), &[], None)
        .await;
    let p = answer.ok(200);
    assert_eq!(p["product_category"], "Misc");
    assert_eq!(p["product_sold"], 0);
    server.stop().await;
}
