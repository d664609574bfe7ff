//! The OpenAPI document, unknown routes, wrong methods, the middleware stack.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use reqwest::Method;
use serde_json::Value;
use support::{config, TestServer, KEY};

/// Every route of API.md that the server offers now, and the operations routes.
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
    ("get", "/v1/api/products/{productId}"),
    ("post", "/v1/api/products"),
    ("patch", "/v1/api/products/{productId}"),
    ("post", "/v1/api/products/publish/{productId}"),
    ("post", "/v1/api/products/unpublish/{productId}"),
    ("get", "/v1/api/products/draft/all"),
    ("get", "/v1/api/products/published/all"),
    ("post", "/v1/api/inventory"),
    ("get", "/v1/api/inventory/{productId}"),
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
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
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

#[tokio::test]
async fn openapi_document_parses_and_covers_every_route() {
    let server = TestServer::start(config()).await;
    let answer = server.call(Method::GET, "/openapi.json", &[], None).await;
    assert_eq!(answer.status, 200);
    let doc: openapiv3::OpenAPI =
        serde_json::from_str(&answer.text).expect("the document parses as OpenAPI");
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
                && *path != "/v1/api/orders/{orderId}/cancel";
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
                .replace("{code}", "SUMMER10");
            let answer = server
                .call(method.to_uppercase().parse().unwrap(), &concrete, &[], None)
                .await;
            if path.starts_with("/v1/api") {
                answer.err(403, "Forbidden Error");
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
    let doc = ecom_http::openapi_doc();
    let json: Value = serde_json::from_str(&doc.to_json().unwrap()).unwrap();
    let count: usize = json["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(count, ROUTES.len());
}
