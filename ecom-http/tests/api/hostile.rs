//! Hostile input on every route that takes a JSON body or a query, found by walking the server's
//! own OpenAPI document (a new route is covered as soon as it is documented): operator objects,
//! huge and odd numbers, deep nesting, long strings, unicode edge cases and wrong types in each
//! field and parameter. The server must never answer 5xx, must answer 4xx in the error envelope,
//! and a refused request must change nothing the account can read.

use crate::support::{self, create_product, signup, tee, Account, Answer, Api, Body};
use reqwest::Method;
use serde_json::{json, Value};

/// Stands for the hostile JSON text in a body before it is spliced in.
const SLOT: &str = "\u{E000}hostile\u{E000}";
/// The code every world's shop offers.
const CODE: &str = "HOSTILE10";
const PASSWORD: &str = "correct horse battery";

/// JSON texts put in place of each field of a body.
fn field_attacks() -> Vec<String> {
    let mut attacks: Vec<String> = [
        // Operators a document store would read.
        r#"{"$gt": ""}"#,
        r#"{"$where": "1"}"#,
        r#"{"$ne": null}"#,
        r#"[{"$gt": ""}]"#,
        // Numbers out of every range, and odd spellings.
        "18446744073709551616",
        "1e400",
        "-1e400",
        "-0",
        "-1",
        "0.5",
        "-9223372036854775809",
        r#""NaN""#,
        r#""Infinity""#,
        // Unicode: right-to-left marks, NUL, emoji, lone surrogates (escaped), a BOM.
        r#""\u202Eevil\u202C""#,
        r#""a\u0000b""#,
        r#""😀🛒👩‍👩‍👧""#,
        r#""\ud800""#,
        r#""\udfff\ud800x""#,
        r#""\ufeff""#,
        // Wrong types.
        "true",
        "[]",
        "{}",
        "null",
        r#""text""#,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    attacks.push(format!("\"{}\"", "y".repeat(100_000)));
    attacks.push(format!("\"{}\"", "x".repeat(1024 * 1024)));
    attacks.push(format!("{}{}", "[".repeat(1000), "]".repeat(1000)));
    attacks.push(format!("{}1{}", "{\"a\":".repeat(1000), "}".repeat(1000)));
    attacks
}

/// Values put in each query parameter (already percent-encoded where needed).
fn query_attacks() -> Vec<String> {
    let mut attacks: Vec<String> = [
        "18446744073709551616",
        "1e400",
        "-0",
        "-1",
        "NaN",
        "0x10",
        "%7B%22%24gt%22%3A%22%22%7D",
        "%E2%80%AEevil",
        "a%00b",
        "%F0%9F%98%80",
        "%ED%A0%80",
        "%FF%FE",
        "",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    attacks.push("z".repeat(10_000));
    attacks
}

/// The accounts and data the hostile requests aim at.
struct World {
    shop: Account,
    user: Account,
    product: String,
    order: String,
}

async fn world(api: &Api) -> World {
    let shop = signup(api, "shop", "owner@hostile.example").await;
    let user = signup(api, "user", "buyer@hostile.example").await;
    let mut body = tee("Hostile Tee", json!(10));
    body["product_quantity"] = json!(100_000);
    let product = create_product(api, &shop, body).await;
    let publish = format!("/products/publish/{product}");
    api.api(Method::POST, &publish, &shop.auth(), None)
        .await
        .ok(200);
    let code = json!({
        "code": CODE, "name": "Hostile", "type": "percentage", "value": 10,
        "start_date": "2020-01-01T00:00:00Z", "end_date": "2999-01-01T00:00:00Z",
        "max_uses": 100_000, "max_uses_per_user": 100_000, "applies_to": "all"
    });
    api.api(Method::POST, "/discounts", &shop.auth(), Some(code))
        .await
        .ok(201);
    let lines =
        json!([{"shopId": shop.id, "item_products": [{"productId": product, "quantity": 1}]}]);
    let order = json!({"shop_order_ids": lines, "user_address": {"street": "1 Main St"}, "user_payment": {}});
    let placed = api
        .api(Method::POST, "/checkout/order", &user.auth(), Some(order))
        .await;
    let order = placed.ok(201)["_id"].as_str().unwrap().to_owned();
    let cart = json!({"product": {"productId": product, "shopId": shop.id, "quantity": 1}});
    api.api(Method::POST, "/carts", &user.auth(), Some(cart))
        .await
        .ok(200);
    World {
        shop,
        user,
        product,
        order,
    }
}

/// Everything the accounts can read that a request could change.
async fn snapshot(api: &Api, world: &World) -> Value {
    let shop = world.shop.auth();
    let user = world.user.auth();
    let reads = [
        (format!("/products/{}", world.product), &shop),
        (format!("/inventory/{}", world.product), &shop),
        ("/products/draft/all".to_owned(), &shop),
        ("/products/published/all".to_owned(), &shop),
        ("/discounts".to_owned(), &shop),
        (format!("/orders/{}", world.order), &user),
        ("/orders".to_owned(), &user),
        ("/carts".to_owned(), &user),
    ];
    let mut out = serde_json::Map::new();
    for (path, headers) in reads {
        let answer = api.api(Method::GET, &path, headers, None).await;
        out.insert(path, answer.body);
    }
    Value::Object(out)
}

/// One documented operation that takes a body or a query.
struct Operation {
    method: Method,
    /// The path with its parameters filled in, under `/v1/api`.
    path: String,
    /// A plausible body built from the document (required fields only), if it takes one.
    body: Option<Value>,
    /// JSON pointers of every field of the body the document names.
    fields: Vec<String>,
    /// The query parameters.
    query: Vec<String>,
}

/// The schema `schema` refers to, if it is a reference.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(target) => {
            let name = target.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// The first alternative of a `oneOf`/`anyOf`/`allOf`, else the schema itself.
fn first_variant<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let schema = resolve(doc, schema);
    let alternatives = ["oneOf", "anyOf", "allOf"];
    match alternatives.iter().find_map(|key| schema[*key].get(0)) {
        Some(first) if schema.get("properties").is_none() => first_variant(doc, first),
        _ => schema,
    }
}

/// A plausible value for field `name` of `schema`, aiming at the world's own data.
fn plausible(doc: &Value, schema: &Value, name: &str, world: &World) -> Value {
    let schema = first_variant(doc, schema);
    match name {
        "productId" => return json!(world.product),
        "shopId" => return json!(world.shop.id),
        "codeId" | "code" => return json!(CODE),
        "email" => return json!("buyer@hostile.example"),
        "password" => return json!(PASSWORD),
        "start_date" => return json!("2020-01-01T00:00:00Z"),
        "end_date" => return json!("2999-01-01T00:00:00Z"),
        _ => {}
    }
    if let Some(first) = schema["enum"].get(0) {
        return first.clone();
    }
    let kind = match &schema["type"] {
        Value::Array(types) => types.iter().find(|t| *t != "null").cloned(),
        other => Some(other.clone()),
    };
    match kind.as_ref().and_then(Value::as_str) {
        Some("object") => {
            let mut body = serde_json::Map::new();
            for field in schema["required"].as_array().into_iter().flatten() {
                let field = field.as_str().unwrap();
                let sub = &schema["properties"][field];
                body.insert(field.to_owned(), plausible(doc, sub, field, world));
            }
            Value::Object(body)
        }
        Some("array") => match schema["minItems"].as_u64() {
            Some(n) if n > 0 => json!([plausible(doc, &schema["items"], name, world)]),
            _ => json!([]),
        },
        Some("integer") => json!(schema["minimum"].as_u64().unwrap_or(1)),
        Some("number") => json!(1),
        Some("boolean") => json!(true),
        _ => json!("Hostile"),
    }
}

/// JSON pointers of every field `schema` names, nested objects and first array items included.
fn fields(doc: &Value, schema: &Value, at: &str, out: &mut Vec<String>) {
    let schema = first_variant(doc, schema);
    if let Some(properties) = schema["properties"].as_object() {
        for (name, sub) in properties {
            let pointer = format!("{at}/{}", name.replace('~', "~0").replace('/', "~1"));
            out.push(pointer.clone());
            fields(doc, sub, &pointer, out);
        }
    }
    let items = resolve(doc, &schema["items"]);
    if items.get("properties").is_some() || items.get("oneOf").is_some() {
        fields(doc, items, &format!("{at}/0"), out);
    }
}

/// The path with each parameter replaced by the world's data.
fn fill(path: &str, world: &World) -> String {
    path.trim_start_matches("/v1/api")
        .replace("{productId}", &world.product)
        .replace("{orderId}", &world.order)
        .replace("{code}", CODE)
        .replace("{keySearch}", "tee")
}

/// Every documented `/v1/api` operation with a body or a query parameter.
fn operations(doc: &Value, world: &World) -> Vec<Operation> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/v1/api") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            let mut body_fields = Vec::new();
            let body = (!schema.is_null()).then(|| {
                fields(doc, schema, "", &mut body_fields);
                plausible(doc, schema, "", world)
            });
            let query: Vec<String> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query")
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect();
            if body.is_some() || !query.is_empty() {
                out.push(Operation {
                    method: method.to_uppercase().parse().unwrap(),
                    path: fill(path, world),
                    body,
                    fields: body_fields,
                    query,
                });
            }
        }
    }
    out
}

/// `base` with `attack` (JSON text) at `pointer`, as the raw body text.
fn splice(base: &Value, pointer: &str, attack: &str) -> String {
    let mut body = base.clone();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let key = key.replace("~1", "/").replace("~0", "~");
    let slot = json!(SLOT);
    if body
        .pointer(parent)
        .is_none_or(|p| !(p.is_object() || p.is_array()))
    {
        // The parent is not in the plausible body (an optional object): put the attack there.
        return splice(base, parent, attack);
    }
    match body.pointer_mut(parent).unwrap() {
        Value::Array(items) => items.insert(0, slot),
        Value::Object(map) => {
            map.insert(key, slot);
        }
        _ => unreachable!(),
    }
    body.to_string().replace(&json!(SLOT).to_string(), attack)
}

/// Sends one hostile request as the shop, or as the customer where the shop is refused 401.
async fn send(
    api: &Api,
    world: &World,
    method: &Method,
    path: &str,
    body: Option<String>,
) -> Answer {
    let mut answer = None;
    for account in [&world.shop, &world.user] {
        let mut headers = account.auth();
        headers.push(("x-api-key", api.key.as_str()));
        let sent = api
            .call(
                method.clone(),
                &format!("/v1/api{path}"),
                &headers,
                body.clone().map(Body::Raw),
            )
            .await;
        // A route of the other kind of account refuses the token before it reads anything.
        if sent.status != 401 {
            return sent;
        }
        answer = Some(sent);
    }
    answer.unwrap()
}

/// Checks the answer to `what`: never a 5xx; a 4xx in the envelope that changed nothing.
async fn judge(api: &Api, world: &World, what: &str, answer: &Answer, before: &mut Value) {
    let status = answer.status.as_u16();
    assert!(
        status < 500,
        "{what}: answered {status}: {:.300}",
        answer.text
    );
    if status < 400 {
        // Accepted (the input was harmless after all): the new state is the reference.
        *before = snapshot(api, world).await;
        return;
    }
    assert_eq!(
        answer.body["status"], "error",
        "{what}: {:.300}",
        answer.text
    );
    assert_eq!(answer.body["code"], status, "{what}: {:.300}", answer.text);
    assert!(
        answer.body["message"].is_string(),
        "{what}: {:.300}",
        answer.text
    );
    let content_type = answer.headers["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("application/json"), "{what}");
    let after = snapshot(api, world).await;
    assert_eq!(
        &after, before,
        "{what} was refused ({status}) but changed state"
    );
}

/// Every field of every body, every attack.
async fn hostile_bodies(api: &Api, world: &World, ops: &[Operation]) -> usize {
    let attacks = field_attacks();
    let mut before = snapshot(api, world).await;
    let mut sent = 0;
    for op in ops {
        let Some(base) = &op.body else { continue };
        for pointer in &op.fields {
            for attack in &attacks {
                let body = splice(base, pointer, attack);
                let answer = send(api, world, &op.method, &op.path, Some(body)).await;
                let what = format!("{} {} {pointer} = {:.60}", op.method, op.path, attack);
                judge(api, world, &what, &answer, &mut before).await;
                sent += 1;
            }
        }
    }
    sent
}

/// Every query parameter of every operation, every attack; plus operator-shaped names.
async fn hostile_queries(api: &Api, world: &World, ops: &[Operation]) -> usize {
    let attacks = query_attacks();
    let mut before = snapshot(api, world).await;
    let mut sent = 0;
    for op in ops {
        let body = op.body.as_ref().map(ToString::to_string);
        let mut queries: Vec<String> = vec!["$where=1".into(), "%24where=1".into()];
        for name in &op.query {
            queries.extend(attacks.iter().map(|value| format!("{name}={value}")));
            queries.push(format!("{name}[$gt]=1"));
            queries.push(format!("{name}=1&{name}=2"));
        }
        for query in queries {
            let path = format!("{}?{query}", op.path);
            let answer = send(api, world, &op.method, &path, body.clone()).await;
            let what = format!("{} {:.120}", op.method, path);
            judge(api, world, &what, &answer, &mut before).await;
            sent += 1;
        }
    }
    sent
}

async fn hostile_input_never_breaks_the_server(api: Api) {
    let world = world(&api).await;
    let doc = api.call(Method::GET, "/openapi.json", &[], None).await.body;
    let ops = operations(&doc, &world);
    // The walk found the routes with bodies and queries (a sample of them, by path).
    for expected in [
        "/products",
        "/checkout/order",
        "/carts/update",
        "/products/all",
    ] {
        assert!(
            ops.iter().any(|op| op.path == expected),
            "{expected} not found"
        );
    }
    let bodies = hostile_bodies(&api, &world, &ops).await;
    let queries = hostile_queries(&api, &world, &ops).await;
    assert!(
        bodies > 1000 && queries > 100,
        "{bodies} bodies, {queries} queries"
    );
    // Still serving, and the world is intact.
    api.api(Method::GET, "/carts", &world.user.auth(), None)
        .await
        .ok(200);
}

#[tokio::test]
async fn hostile_input_on_memory() {
    support::on_memory(hostile_input_never_breaks_the_server).await;
}

#[tokio::test]
async fn hostile_input_on_mongo() {
    support::on_mongo_redis("atomic", hostile_input_never_breaks_the_server).await;
}
