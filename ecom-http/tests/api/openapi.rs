//! The OpenAPI document, unknown routes, wrong methods, the middleware stack.

use crate::support::{self, config, TestServer, KEY};
use reqwest::Method;
use serde_json::Value;

/// Every route of the contract that the server offers now, and the operations routes.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/api/shop/signup"),
    ("post", "/v1/api/shop/login"),
    ("post", "/v1/api/shop/logout"),
    ("post", "/v1/api/shop/handlerRefreshToken"),
    ("post", "/v1/api/user/signup"),
    ("post", "/v1/api/user/login"),
    ("post", "/v1/api/user/logout"),
    ("post", "/v1/api/user/handlerRefreshToken"),
    ("get", "/v1/api/products/all"),
    ("get", "/v1/api/products/search/{keySearch}"),
    ("get", "/v1/api/products/facets"),
    ("get", "/v1/api/categories"),
    ("get", "/v1/api/shops/{shopId}"),
    ("get", "/v1/api/shops/{shopId}/products"),
    ("get", "/v1/api/products/{productId}"),
    ("post", "/v1/api/products"),
    ("patch", "/v1/api/products/{productId}"),
    ("post", "/v1/api/products/publish/{productId}"),
    ("post", "/v1/api/products/unpublish/{productId}"),
    ("get", "/v1/api/products/draft/all"),
    ("get", "/v1/api/products/published/all"),
    ("post", "/v1/api/inventory"),
    ("post", "/v1/api/inventory/adjust"),
    ("get", "/v1/api/inventory/{productId}"),
    ("get", "/v1/api/inventory/{productId}/adjustments"),
    ("post", "/v1/api/discounts"),
    ("get", "/v1/api/discounts"),
    ("get", "/v1/api/discounts/list_product_code"),
    ("post", "/v1/api/discounts/amount"),
    ("delete", "/v1/api/discounts/{code}"),
    ("post", "/v1/api/discounts/cancel"),
    ("post", "/v1/api/carts"),
    ("post", "/v1/api/carts/update"),
    ("delete", "/v1/api/carts"),
    ("get", "/v1/api/carts"),
    ("post", "/v1/api/checkout/review"),
    ("post", "/v1/api/checkout/order"),
    ("get", "/v1/api/orders"),
    ("get", "/v1/api/orders/{orderId}"),
    ("post", "/v1/api/orders/{orderId}/cancel"),
    ("patch", "/v1/api/orders/{orderId}/status"),
    ("get", "/v1/api/shop/orders"),
    ("get", "/v1/api/shop/orders/{orderId}"),
    ("get", "/v1/api/shop/settings"),
    ("patch", "/v1/api/shop/settings"),
    ("get", "/v1/api/events"),
    ("post", "/v1/api/webhooks/endpoints"),
    ("get", "/v1/api/webhooks/endpoints"),
    ("get", "/v1/api/webhooks/endpoints/{endpointId}"),
    ("patch", "/v1/api/webhooks/endpoints/{endpointId}"),
    ("delete", "/v1/api/webhooks/endpoints/{endpointId}"),
    (
        "post",
        "/v1/api/webhooks/endpoints/{endpointId}/rotate-secret",
    ),
    ("post", "/v1/api/webhooks/endpoints/{endpointId}/test"),
    ("get", "/v1/api/webhooks/endpoints/{endpointId}/deliveries"),
    ("post", "/v1/api/webhooks/deliveries/{deliveryId}/retry"),
    ("post", "/webhooks/payments"),
    ("post", "/webhooks/payments/{method}"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("post", "/v1/api/orders/{orderId}/returns"),
    ("get", "/v1/api/returns"),
    ("get", "/v1/api/returns/{returnId}"),
    ("post", "/v1/api/returns/{returnId}/cancel"),
    ("post", "/v1/api/returns/{returnId}/dispute"),
    ("get", "/v1/api/shop/returns"),
    ("get", "/v1/api/shop/returns/{returnId}"),
    ("post", "/v1/api/shop/returns/{returnId}/accept"),
    ("post", "/v1/api/shop/returns/{returnId}/reject"),
    ("post", "/v1/api/shop/returns/{returnId}/receive"),
    ("post", "/v1/api/shop/returns/{returnId}/refund-paid"),
    ("post", "/v1/api/admin/returns/{returnId}/resolve"),
];

fn operation<'a>(item: &'a openapiv3::PathItem, method: &str) -> Option<&'a openapiv3::Operation> {
    match method {
        "get" => item.get.as_ref(),
        "post" => item.post.as_ref(),
        "patch" => item.patch.as_ref(),
        "put" => item.put.as_ref(),
        "delete" => item.delete.as_ref(),
        _ => None,
    }
}

/// The document (OpenAPI 3.1) in the words of OpenAPI 3.0, which the `openapiv3` crate reads:
/// `type: [T, "null"]` becomes `type: T, nullable: true` (several types: no `type`), a numeric
/// `exclusiveMinimum` becomes `minimum` with `exclusiveMinimum: true`.
fn as_openapi_3_0(mut value: Value) -> Value {
    if let Value::Object(map) = &mut value {
        if let Some(Value::Array(types)) = map.get("type").cloned() {
            let concrete: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
            map.remove("type");
            if let [only] = concrete.as_slice() {
                map.insert("type".into(), (*only).clone());
            }
            map.insert("nullable".into(), Value::Bool(concrete.len() < types.len()));
        }
        if let Some(bound @ Value::Number(_)) = map.get("exclusiveMinimum").cloned() {
            map.insert("minimum".into(), bound);
            map.insert("exclusiveMinimum".into(), Value::Bool(true));
        }
        for child in map.values_mut() {
            *child = as_openapi_3_0(child.take());
        }
    } else if let Value::Array(items) = &mut value {
        for child in items.iter_mut() {
            *child = as_openapi_3_0(child.take());
        }
    }
    value
}

#[tokio::test]
async fn openapi_document_parses_and_covers_every_route() {
    let server = TestServer::start(config()).await;
    let answer = server.call(Method::GET, "/openapi.json", &[], None).await;
    assert_eq!(answer.status, 200);
    let doc: openapiv3::OpenAPI =
        serde_json::from_value(as_openapi_3_0(serde_json::from_str(&answer.text).unwrap()))
            .expect("the document parses as OpenAPI");
    let schemas = &doc.components.as_ref().unwrap().schemas;
    assert!(schemas.contains_key("ErrorBody"));
    let security = &doc.components.as_ref().unwrap().security_schemes;
    for scheme in ["api_key", "client_id", "access_token", "refresh_token"] {
        assert!(security.contains_key(scheme), "{scheme}");
    }

    // Every route of the contract is documented, with responses and schemas.
    for (method, path) in ROUTES {
        let item = match doc.paths.paths.get(*path) {
            Some(openapiv3::ReferenceOr::Item(item)) => item,
            _ => panic!("{path} is not documented"),
        };
        let op = operation(item, method).unwrap_or_else(|| panic!("{method} {path}"));
        let success = op
            .responses
            .responses
            .iter()
            .find(|(code, _)| matches!(code, openapiv3::StatusCode::Code(c) if (200..300).contains(c)))
            .unwrap_or_else(|| panic!("{method} {path} has no success response"));
        let openapiv3::ReferenceOr::Item(response) = success.1 else {
            panic!("{method} {path}: inline response expected");
        };
        let media = response
            .content
            .values()
            .next()
            .unwrap_or_else(|| panic!("{method} {path}: no content"));
        assert!(
            media.schema.is_some(),
            "{method} {path}: no response schema"
        );
        if path.starts_with("/v1/api") {
            let codes: Vec<String> = op
                .responses
                .responses
                .keys()
                .map(|c| c.to_string())
                .collect();
            for code in ["400", "403", "500"] {
                assert!(
                    codes.iter().any(|c| c == code),
                    "{method} {path} lacks {code}: {codes:?}"
                );
            }
            assert!(op.security.is_some(), "{method} {path} has no security");
        }
        if *method == "post"
            || *method == "patch"
            || (*method, *path) == ("delete", "/v1/api/carts")
        {
            let needs_body = !path.ends_with("logout")
                && !path.ends_with("handlerRefreshToken")
                && !path.contains("publish")
                && *path != "/v1/api/orders/{orderId}/cancel"
                && *path != "/v1/api/returns/{returnId}/cancel"
                && !path.ends_with("/dispute")
                && !path.ends_with("/refund-paid")
                && !path.ends_with("/rotate-secret")
                && !path.ends_with("/test")
                && !path.ends_with("/retry");
            if needs_body {
                let Some(openapiv3::ReferenceOr::Item(body)) = &op.request_body else {
                    panic!("{method} {path} has no request body");
                };
                assert!(body.content["application/json"].schema.is_some());
            }
        }
    }

    // ...and everything documented is served: without an API key each business route answers
    // 403 (not 404 or 405), so the router and the document agree.
    let mut documented = 0;
    for (path, item) in &doc.paths.paths {
        let openapiv3::ReferenceOr::Item(item) = item else {
            panic!()
        };
        for (method, _) in item.iter() {
            documented += 1;
            assert!(
                ROUTES.contains(&(method, path.as_str())),
                "{method} {path} is documented but not in the route table"
            );
            let concrete = path
                .replace("{productId}", "0190f5a0c0de7000a000000000000001")
                .replace("{keySearch}", "tee")
                .replace("{orderId}", "0190f5a0c0de7000a000000000000001")
                .replace("{code}", "SUMMER10")
                .replace("{method}", "online");
            let answer = server
                .call(method.to_uppercase().parse().unwrap(), &concrete, &[], None)
                .await;
            if path.starts_with("/v1/api") {
                answer.err(403, "Forbidden Error");
            } else if *path == "/webhooks/payments" {
                // Served without an API key: an unsigned call is refused by the route itself.
                answer.err(400, "x-ecom-signature");
            } else if path.starts_with("/webhooks") {
                // This server offers no online payments: the method is not found.
                answer.err(404, "payment method");
            } else {
                assert_eq!(answer.status, 200, "{method} {path}");
            }
        }
    }
    assert_eq!(documented, ROUTES.len());
    server.stop().await;
}

#[tokio::test]
async fn unknown_routes_wrong_methods_and_big_bodies_get_envelopes() {
    let server = TestServer::start(config()).await;
    for path in ["/nope", "/v1/api/nope", "/v1/api/products/all/extra"] {
        let answer = server
            .call(Method::GET, path, &[("x-api-key", KEY)], None)
            .await;
        answer.err(404, "route not found");
    }
    for (method, path) in [
        (Method::DELETE, "/v1/api/products/all"),
        (Method::PUT, "/v1/api/shop/signup"),
        (Method::GET, "/v1/api/inventory"),
        (Method::POST, "/healthz"),
    ] {
        let answer = server
            .call(method.clone(), path, &[("x-api-key", KEY)], None)
            .await;
        answer.err(405, "not allowed");
    }
    // Over the 1 MiB limit: 413 before anything else is read.
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(1024 * 1024 + 10));
    let answer = server
        .call(
            Method::POST,
            "/v1/api/shop/signup",
            &[("x-api-key", KEY)],
            Some(support::Body::Raw(big)),
        )
        .await;
    answer.err(413, "too large");
    server.stop().await;
}

/// The check the walkthroughs end with finds answers the document does not describe: a body
/// of the wrong shape, a status the operation does not list, a route it does not have.
#[tokio::test]
async fn the_document_check_catches_answers_it_does_not_describe() {
    let server = TestServer::start(config()).await;
    let shop = support::signup(&server, "shop", "contract@check.example").await;
    let (checked, problems) = support::contract::answers_against_the_document(&server).await;
    assert_eq!((checked, problems.len()), (1, 0), "{problems:?}");
    let signup = server.exchanges.lock().unwrap()[0].clone();
    let tampered = [
        ("/metadata/shop/_id", Value::from(5)),
        ("/metadata/tokens", Value::Null),
        ("/status", Value::from("created")),
    ];
    for (pointer, value) in tampered {
        let mut wrong = signup.clone();
        *wrong.body.pointer_mut(pointer).unwrap() = value;
        server.exchanges.lock().unwrap().push(wrong);
    }
    let mut unlisted = signup.clone();
    unlisted.status = 418;
    let mut unknown = signup.clone();
    unknown.path = "/v1/api/shop/teapot".into();
    unknown.status = 201;
    server.exchanges.lock().unwrap().extend([unlisted, unknown]);
    let (_, problems) = support::contract::answers_against_the_document(&server).await;
    assert_eq!(problems.len(), 5, "{problems:#?}");
    assert!(problems[3].contains("status not listed"), "{}", problems[3]);
    assert!(problems[4].contains("no operation"), "{}", problems[4]);
    let _ = shop;
    server.stop().await;
}

#[tokio::test]
async fn every_response_carries_request_id_and_security_headers() {
    let server = TestServer::start(config()).await;
    for path in ["/healthz", "/nope", "/v1/api/products/all"] {
        let answer = server.call(Method::GET, path, &[], None).await;
        let h = &answer.headers;
        assert!(!h["x-request-id"].is_empty(), "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(h.contains_key("content-security-policy"));
        assert!(h.contains_key("strict-transport-security"));
    }
    // A client's request id is kept.
    let answer = server
        .call(
            Method::GET,
            "/healthz",
            &[("x-request-id", "abc-123")],
            None,
        )
        .await;
    assert_eq!(answer.headers["x-request-id"], "abc-123");
    // The checkout counters exist (at zero) before the first checkout.
    let metrics = server.call(Method::GET, "/metrics", &[], None).await;
    for series in [
        "ecom_checkouts_placed_total",
        "ecom_oversell_guard_rejections_total",
        "ecom_checkouts_rejected_total{reason=\"out_of_stock\"}",
        "ecom_checkouts_rejected_total{reason=\"discount\"}",
        "ecom_checkouts_rejected_total{reason=\"busy\"}",
        "ecom_checkouts_rejected_total{reason=\"unavailable\"}",
        "ecom_checkouts_rejected_total{reason=\"other\"}",
        "ecom_recovery_failures_total 0",
    ] {
        assert!(metrics.text.contains(series), "{series}: {}", metrics.text);
    }
    // Health and readiness.
    assert_eq!(answer.body["metadata"]["status"], "ok");
    let ready = server.call(Method::GET, "/readyz", &[], None).await;
    assert_eq!(ready.ok(200)["status"], "ready");
    // Metrics count requests by route and status.
    let metrics = server.call(Method::GET, "/metrics", &[], None).await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert!(
        metrics.text.contains("http_requests_total")
            && metrics.text.contains("route=\"/v1/api/products/all\"")
            && metrics.text.contains("status=\"403\""),
        "{}",
        metrics.text
    );
    assert!(metrics
        .text
        .contains("http_request_duration_seconds_bucket"));
    server.stop().await;
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let mut cfg = config();
    cfg.http.cors_origins = vec!["https://shop.example".to_owned()];
    let server = TestServer::start(cfg).await;
    let preflight = |origin: &'static str| {
        server
            .client
            .request(Method::OPTIONS, server.url("/v1/api/products"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "x-api-key,content-type")
            .send()
    };
    let allowed = preflight("https://shop.example").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let allowed_headers = allowed.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(allowed_headers.contains("x-api-key"), "{allowed_headers}");
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(!refused
        .headers()
        .contains_key("access-control-allow-origin"));
    server.stop().await;
}

#[test]
fn the_document_lists_each_route_once() {
    let json = ecom_http::openapi_doc();
    let count: usize = json["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(count, ROUTES.len());
}

/// Every `$ref` string anywhere in `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                out.push(target.clone());
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves() {
    let json = ecom_http::openapi_doc();
    let mut targets = Vec::new();
    refs(&json, &mut targets);
    assert!(!targets.is_empty());
    for target in targets {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{target} is not a component schema"));
        assert!(
            json["components"]["schemas"].get(name).is_some(),
            "{target} does not resolve"
        );
    }
}

#[test]
fn each_operation_documents_the_errors_it_can_answer() {
    let json = ecom_http::openapi_doc();
    for (path, item) in json["paths"].as_object().unwrap() {
        if !path.starts_with("/v1/api") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let codes: Vec<&str> = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            let security = op["security"].as_array().unwrap();
            let authenticated = security.iter().all(|alternative| {
                let text = alternative.to_string();
                text.contains("access_token") || text.contains("refresh_token")
            });
            let mut expected = vec!["400", "403"];
            if authenticated {
                expected.extend(["401", "404"]);
                if method != "get" {
                    expected.push("409");
                }
            }
            if path.contains('{') {
                expected.push("404");
            }
            if op.get("requestBody").is_some() {
                expected.extend(["413", "415"]);
            }
            if ["signup", "login", "handlerRefreshToken"]
                .iter()
                .any(|name| path.ends_with(name))
            {
                expected.push("429");
            }
            for code in expected {
                assert!(
                    codes.contains(&code),
                    "{method} {path} lacks {code}: {codes:?}"
                );
                if code != "500" {
                    let schema = &op["responses"][code]["content"]["application/json"]["schema"];
                    assert_eq!(
                        schema["$ref"], "#/components/schemas/ErrorBody",
                        "{method} {path} {code}"
                    );
                }
            }
        }
    }
    // A route with an anonymous way in never answers 401.
    let get_product = &json["paths"]["/v1/api/products/{productId}"]["get"]["responses"];
    assert!(get_product.get("401").is_none());
}

#[test]
fn request_schemas_state_the_rules_the_server_applies() {
    let json = ecom_http::openapi_doc();
    let schemas = &json["components"]["schemas"];
    // The empty cart's id is null.
    let cart_id = &schemas["CartDto"]["properties"]["_id"]["type"];
    assert!(
        cart_id.as_array().unwrap().contains(&"null".into()),
        "{cart_id}"
    );
    // Lengths, ranges and patterns of single fields.
    let signup = &schemas["SignupBody"]["properties"];
    assert_eq!(signup["password"]["minLength"], 8);
    assert_eq!(signup["password"]["maxLength"], 128);
    assert_eq!(signup["name"]["maxLength"], 100);
    assert!(signup["email"]["pattern"].is_string());
    let line = &schemas["CartProductBody"]["properties"]["quantity"];
    assert_eq!(
        (line["minimum"].clone(), line["maximum"].clone()),
        (1.into(), 1_000_000.into())
    );
    let list = json["paths"]["/v1/api/products/all"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let sort = list.iter().find(|p| p["name"] == "sort").unwrap();
    assert_eq!(
        sort["schema"]["enum"],
        serde_json::json!([
            "ctime",
            "price_asc",
            "price_desc",
            "relevance",
            "best_selling"
        ])
    );
    let category = list.iter().find(|p| p["name"] == "category").unwrap();
    assert_eq!(category["schema"]["maxLength"], 203);
    let in_stock = list.iter().find(|p| p["name"] == "in_stock").unwrap();
    assert_eq!(in_stock["schema"]["type"], "boolean");
    // Two variants per product kind, each with the attributes it accepts: a price and
    // quantity of its own, or tiers and models.
    let variants = schemas["CreateProductBody"]["oneOf"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> = variants
        .iter()
        .map(|v| {
            let kind = &v["properties"]["product_type"]["enum"][0];
            (kind.as_str().unwrap(), v["title"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("Clothing", "ClothingProduct"),
            ("Clothing", "ClothingProductWithModels"),
            ("Electronics", "ElectronicsProduct"),
            ("Electronics", "ElectronicsProductWithModels"),
            ("Furniture", "FurnitureProduct"),
            ("Furniture", "FurnitureProductWithModels"),
        ]
    );
    for variant in variants {
        assert!(variant.get("oneOf").is_none(), "{variant}");
        assert_eq!(
            variant["properties"]["product_attributes"]["$ref"],
            format!(
                "#/components/schemas/{}Attributes",
                variant["properties"]["product_type"]["enum"][0]
                    .as_str()
                    .unwrap()
            )
        );
    }
    assert_eq!(
        schemas["ClothingAttributes"]["required"],
        serde_json::json!(["brand"])
    );
    let required = |v: &Value| -> Vec<String> {
        v["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect()
    };
    let (simple, with_models) = (&variants[0], &variants[1]);
    for field in ["product_price", "product_quantity", "product_attributes"] {
        assert!(required(simple).iter().any(|r| r == field), "{field}");
    }
    assert_eq!(simple["properties"]["product_variations"]["maxItems"], 0);
    assert_eq!(simple["properties"]["product_models"]["type"], "null");
    for field in ["product_variations", "product_models"] {
        assert!(required(with_models).iter().any(|r| r == field), "{field}");
    }
    assert_eq!(with_models["properties"]["product_models"]["minItems"], 1);
    assert_eq!(with_models["properties"]["product_price"]["type"], "null");
    assert_eq!(
        with_models["properties"]["product_quantity"]["not"],
        serde_json::json!({})
    );
    // Fields a body does not list are ignored, but never `$` keys: said in words, which client
    // generators take (not as `propertyNames`).
    let body = &schemas["AddToCartBody"];
    assert_eq!(
        body["additionalProperties"]["$ref"],
        "#/components/schemas/ExtraJson"
    );
    assert!(schemas["ExtraJson"]["description"]
        .as_str()
        .unwrap()
        .contains("starting with `$` are refused"));
    // Free-form client data: any object, its rules in words.
    let address = &schemas["OrderBody"]["properties"]["user_address"];
    assert_eq!(address["$ref"], "#/components/schemas/PlainJson");
    let plain = &schemas["PlainJson"];
    assert_eq!(plain["type"], "object");
    assert_eq!(plain["additionalProperties"], true);
    let rules = plain["description"].as_str().unwrap();
    for rule in ["`$`", "`.`", "NUL", "2^63 - 1", "8 levels"] {
        assert!(rules.contains(rule), "{rule}: {rules}");
    }
    // The status update must change something.
    let status = schemas["StatusBody"]["allOf"].as_array().unwrap();
    assert_eq!(status[1]["anyOf"].as_array().unwrap().len(), 3);
}

/// The component schemas each of `value` refers to, directly.
fn component_refs(value: &Value) -> Vec<String> {
    let mut targets = Vec::new();
    refs(value, &mut targets);
    targets
        .iter()
        .filter_map(|t| t.strip_prefix("#/components/schemas/"))
        .map(str::to_owned)
        .collect()
}

/// Client generators (openapi-python-client, openapi-typescript) cannot take a union or a map
/// that refers to itself, directly or through others ("Unable to parse schema", TS2502), nor
/// these keywords. A model (an object with named properties) may: the category tree's
/// `children` are categories, and that is the only schema that refers to itself.
#[test]
fn no_schema_refers_to_itself_or_uses_what_generators_refuse() {
    let json = ecom_http::openapi_doc();
    let schemas = json["components"]["schemas"].as_object().unwrap();
    let mut recursive = Vec::new();
    for start in schemas.keys() {
        // Every schema reachable from `start`: is `start` among them?
        let mut seen: Vec<String> = Vec::new();
        let mut pending = component_refs(&schemas[start]);
        while let Some(name) = pending.pop() {
            if &name == start {
                recursive.push(start.as_str());
                break;
            }
            if !seen.contains(&name) {
                pending.extend(component_refs(&schemas[&name]));
                seen.push(name);
            }
        }
    }
    assert_eq!(recursive, ["CategoryDto"]);
    let category = &schemas["CategoryDto"];
    assert_eq!(category["type"], "object");
    assert_eq!(
        component_refs(&category["properties"]["children"]),
        ["CategoryDto"]
    );
    assert_eq!(component_refs(category), ["CategoryDto"]);
    let text = json.to_string();
    for keyword in ["\"propertyNames\"", "\"patternProperties\""] {
        assert!(!text.contains(keyword), "the document uses {keyword}");
    }
    // A `oneOf` or `anyOf` beside `properties` is a schema generators cannot parse.
    fn check(value: &Value, at: &str) {
        match value {
            Value::Object(map) => {
                if map.contains_key("properties") {
                    assert!(
                        !map.contains_key("oneOf") && !map.contains_key("anyOf"),
                        "{at}: oneOf/anyOf beside properties"
                    );
                }
                for (key, inner) in map {
                    check(inner, &format!("{at}/{key}"));
                }
            }
            Value::Array(items) => {
                for (i, inner) in items.iter().enumerate() {
                    check(inner, &format!("{at}/{i}"));
                }
            }
            _ => {}
        }
    }
    check(&json, "");
}
