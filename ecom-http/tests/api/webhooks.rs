//! Webhooks over HTTP, to real receivers on 127.0.0.1, on the memory backend and on MongoDB +
//! Redis: shops register endpoints; an order placed, paid by the signed payment webhook,
//! shipped and delivered, and another cancelled, reach each shop's receiver signed (Standard
//! Webhooks), each `webhook-id` once, one order's events in version order, each shop seeing
//! only its own part; a platform endpoint gets every shop's events. A receiver failing half
//! the time gets everything with backoff (manual clock); `410 Gone` disables; rotation signs
//! with both secrets; SSRF refusals; another shop never reaches an endpoint or a delivery (and
//! `tests/api/access.rs` has their rows). The README's verification snippets, run as written,
//! accept a real delivery and refuse a tampered one.

use crate::support::receiver::{Received, Receiver};
use crate::support::{self, published, signup, Account, Api, TestServer};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ecom_core::api_key::Permission;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::HashMap;
use std::time::Duration;

/// The payment provider's secret of the test servers.
const PAYMENT_SECRET: &str = "whsec-test-0123456789abcdef";
/// An API key with the operator's permission.
const OPERATOR_KEY: &str = "operator-key-0123456789abcdef";
const ORDER_EVENTS: [&str; 7] = [
    "order.placed",
    "order.paid",
    "order.payment_failed",
    "order.cancelled",
    "order.line_status_changed",
    "order.refund_requested",
    "order.refunded",
];

/// Test servers may deliver to their 127.0.0.1 receivers over http.
fn settings() -> ecom_http::Settings {
    ecom_http::Settings {
        webhook_allow_private: Some(true),
        webhook_allow_http: Some(true),
        payment_webhook_secret: Some(PAYMENT_SECRET.into()),
        ..support::settings()
    }
}

/// Registers an endpoint of `caller` at `url` for `events`; its id and secret.
async fn register(
    api: &Api,
    caller: &[(&str, &str)],
    url: &str,
    events: &[&str],
) -> (String, String) {
    let created = api
        .api(
            Method::POST,
            "/webhooks/endpoints",
            caller,
            Some(json!({"url": url, "events": events, "description": "test receiver"})),
        )
        .await;
    let endpoint = created.ok(201);
    assert_eq!(endpoint["enabled"], true);
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (endpoint["id"].as_str().unwrap().to_owned(), secret)
}

async fn order(api: &Api, user: &Account, parts: &[(&Account, &str)], method: &str) -> Value {
    let shops: Vec<Value> = parts
        .iter()
        .map(|(shop, product)| json!({"shopId": shop.id, "item_products": [{"productId": product, "quantity": 1}]}))
        .collect();
    let body = json!({"shop_order_ids": shops, "user_address": {"street": "1 Hook St"},
        "user_payment": {"method": method}});
    api.api(Method::POST, "/checkout/order", &user.auth(), Some(body))
        .await
        .ok(201)
        .clone()
}

/// The provider reports `order` paid, signed as `tests/api/payments.rs` does.
async fn pay(api: &Api, order: &Value) {
    let body = json!({"id": format!("evt_{}", order["_id"].as_str().unwrap()), "type": "payment.succeeded",
        "order_id": order["_id"], "amount": order["order_payment"]["amount"],
        "currency": order["order_payment"]["currency"]})
    .to_string();
    let t = chrono::Utc::now().timestamp();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(PAYMENT_SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let signature = format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()));
    let answer = api
        .call(
            Method::POST,
            "/webhooks/payments",
            &[("x-ecom-signature", signature.as_str())],
            Some(support::Body::Raw(body)),
        )
        .await;
    answer.ok(200);
}

async fn move_line(api: &Api, shop: &Account, order: &str, product: &str, status: &str) {
    let mut change = json!({"orderProducts": [{"productIds": [product], "status": status}]});
    if status == "shipped" {
        change["trackingNumber"] = json!("HOOK-TRACK");
    }
    api.api(
        Method::PATCH,
        &format!("/orders/{order}/status"),
        &shop.auth(),
        Some(change),
    )
    .await
    .ok(200);
}

fn types(got: &[Received]) -> Vec<String> {
    got.iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect()
}

fn count(got: &[Received], kind: &str) -> usize {
    types(got).iter().filter(|t| *t == kind).count()
}

/// Every delivery verifies under `secret`; each aggregate's arrive in version order.
fn signed_and_in_order(got: &[Received], secret: &str) {
    let mut last: HashMap<String, u64> = HashMap::new();
    for r in got {
        assert!(
            r.signed_by(secret),
            "a delivery not signed by the endpoint's secret: {r:?}"
        );
        let body = r.json();
        assert_eq!(body["id"], r.id.as_str(), "webhook-id is the event's id");
        let key = body["aggregate"]["id"].as_str().unwrap().to_owned();
        let version = body["aggregate"]["version"].as_u64().unwrap();
        let before = last.insert(key.clone(), version).unwrap_or(0);
        assert!(before <= version, "{key}: version {version} after {before}");
    }
}

async fn lifecycle(api: Api, receiver: &Receiver, operator: Option<Api>) {
    let api = &api;
    let shop_a = signup(api, "shop", "a@hooks.example").await;
    let shop_b = signup(api, "shop", "b@hooks.example").await;
    let user = signup(api, "user", "buyer@hooks.example").await;
    let mut wanted: Vec<&str> = ORDER_EVENTS.to_vec();
    wanted.push("product.published");
    let (_, secret_a) = register(
        api,
        &shop_a.auth(),
        &format!("{}/a", receiver.base),
        &wanted,
    )
    .await;
    let (_, secret_b) = register(
        api,
        &shop_b.auth(),
        &format!("{}/b", receiver.base),
        &wanted,
    )
    .await;
    let platform = match &operator {
        Some(op) => Some(
            register(
                op,
                &[],
                &format!("{}/platform", receiver.base),
                &["order.placed"],
            )
            .await,
        ),
        None => None,
    };
    let a = published(api, &shop_a, "Hook Tee", json!(10), 20).await;
    let b = published(api, &shop_b, "Hook Mug", json!(5), 20).await;

    // Both shops in an online order, paid; A confirms, ships and delivers its line. Then a
    // cash order of A's only, cancelled by the customer.
    let both = order(api, &user, &[(&shop_a, &a), (&shop_b, &b)], "online").await;
    pay(api, &both).await;
    let both_id = both["_id"].as_str().unwrap();
    for status in ["confirmed", "shipped", "delivered"] {
        move_line(api, &shop_a, both_id, &a, status).await;
    }
    let only_a = order(api, &user, &[(&shop_a, &a)], "cod").await;
    let only_a_id = only_a["_id"].as_str().unwrap();
    api.api(
        Method::POST,
        &format!("/orders/{only_a_id}/cancel"),
        &user.auth(),
        None,
    )
    .await
    .ok(200);

    let got_a = receiver
        .wait("/a", 30, |got| {
            count(got, "order.cancelled") == 1 && count(got, "order.line_status_changed") == 3
        })
        .await;
    signed_and_in_order(&got_a, &secret_a);
    let mut kinds = types(&got_a);
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        [
            "order.cancelled",
            "order.line_status_changed",
            "order.line_status_changed",
            "order.line_status_changed",
            "order.paid",
            "order.placed",
            "order.placed",
            "product.published",
        ]
    );
    for r in &got_a {
        let text = String::from_utf8_lossy(&r.body).to_string();
        assert!(
            !text.contains(&b) && !text.contains("Hook Mug"),
            "A was shown B's line: {text}"
        );
        assert_eq!(r.json()["shop_ids"], json!([shop_a.id]));
    }
    let cancelled = got_a
        .iter()
        .find(|r| r.json()["type"] == "order.cancelled")
        .unwrap();
    assert_eq!(cancelled.json()["cancelled_by"], "customer");
    assert_eq!(cancelled.json()["aggregate"]["id"], only_a_id);

    let got_b = receiver
        .wait("/b", 30, |got| count(got, "order.paid") == 1)
        .await;
    signed_and_in_order(&got_b, &secret_b);
    let mut kinds = types(&got_b);
    kinds.sort_unstable();
    assert_eq!(kinds, ["order.paid", "order.placed", "product.published"]);
    for r in &got_b {
        let text = String::from_utf8_lossy(&r.body).to_string();
        assert!(
            !text.contains(&a) && !text.contains("HOOK-TRACK"),
            "B was shown A's part: {text}"
        );
        assert!(
            !r.signed_by(&secret_a),
            "B's deliveries are not signed with A's secret"
        );
    }
    if let Some((_, secret)) = &platform {
        let got = receiver.wait("/platform", 30, |got| got.len() == 2).await;
        signed_and_in_order(&got, secret);
        let whole = got
            .iter()
            .find(|r| r.json()["aggregate"]["id"] == both_id)
            .unwrap();
        assert_eq!(
            whole.json()["data"]["order_products"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
    // Nothing was delivered twice to a receiver that always accepted.
    for path in ["/a", "/b"] {
        assert_eq!(
            receiver.at(path).len(),
            receiver.accepted(path).len(),
            "{path}"
        );
    }
    support::contract::assert_answers_follow_the_document(api).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_reaches_its_shops_receiver_on_memory() {
    let receiver = Receiver::start().await;
    let config = ecom_http::Config::try_from(settings()).unwrap();
    let server = TestServer::with_clock_and(config).await;
    server
        .ecom
        .clone()
        .unwrap()
        .api_keys
        .ensure(OPERATOR_KEY, vec![Permission::P0000, Permission::P2222])
        .await
        .unwrap();
    let operator = Api::new(&server.base, OPERATOR_KEY);
    lifecycle(server.api.clone(), &receiver, Some(operator)).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_reaches_its_shops_receiver_on_mongo_redis() {
    let receiver = Receiver::start().await;
    let (config, fixtures) = support::mongo_redis_config("gate").await;
    let config = ecom_http::Config {
        webhook_allow_private: true,
        webhook_allow_http: true,
        payment_webhook_secret: Some(PAYMENT_SECRET.into()),
        ..config
    };
    let server = TestServer::start(config).await;
    lifecycle(server.api.clone(), &receiver, None).await;
    server.stop().await;
    drop(fixtures);
}

/// A receiver that fails every other delivery, then recovers: everything arrives, retried
/// with growing waits (the server's clock is moved on), each event accepted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flaky_receiver_gets_everything_with_backoff() {
    let receiver = Receiver::answering(Box::new(|n, _| if n % 2 == 0 { 500 } else { 200 })).await;
    let config = ecom_http::Config::try_from(settings()).unwrap();
    let server = TestServer::with_clock_and(config).await;
    let clock = server.clock.clone().unwrap();
    let api = &server.api;
    let shop = signup(api, "shop", "flaky@hooks.example").await;
    let user = signup(api, "user", "flaky-buyer@hooks.example").await;
    let (endpoint, secret) = register(
        api,
        &shop.auth(),
        &format!("{}/flaky", receiver.base),
        &["order.placed"],
    )
    .await;
    let tee = published(api, &shop, "Flaky Tee", json!(3), 50).await;
    let mut placed = Vec::new();
    for _ in 0..6 {
        placed.push(order(api, &user, &[(&shop, &tee)], "cod").await["_id"].clone());
    }
    for _ in 0..200 {
        if receiver.accepted("/flaky").len() == placed.len() {
            break;
        }
        clock.advance(chrono::Duration::seconds(30));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = receiver.accepted("/flaky");
    assert_eq!(got.len(), placed.len(), "every order.placed, once each");
    signed_and_in_order(&got, &secret);
    let refused = receiver
        .at("/flaky")
        .iter()
        .filter(|r| r.answered == 500)
        .count();
    assert!(
        refused >= placed.len() / 2,
        "the receiver refused {refused}"
    );
    let failed_first = api
        .api(
            Method::GET,
            &format!("/webhooks/endpoints/{endpoint}/deliveries?status=succeeded&limit=100"),
            &shop.auth(),
            None,
        )
        .await;
    let deliveries = failed_first.ok(200).as_array().unwrap().clone();
    assert_eq!(deliveries.len(), placed.len());
    let retried: Vec<&Value> = deliveries
        .iter()
        .filter(|d| d["attempt_count"].as_u64().unwrap() > 1)
        .collect();
    assert!(!retried.is_empty(), "{deliveries:#?}");
    for d in retried {
        let attempts = d["attempts"].as_array().unwrap();
        assert_eq!(attempts[0]["status_code"], 500, "{d}");
        assert!(
            attempts[0]["error"].as_str().unwrap().contains("500"),
            "{d}"
        );
        assert_eq!(attempts.last().unwrap()["status_code"], 200, "{d}");
    }
    support::contract::assert_answers_follow_the_document(api).await;
    server.stop().await;
}

/// `410 Gone` disables; enabling again clears why; rotation signs with both secrets; pings.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gone_disables_and_rotation_signs_with_both() {
    let receiver =
        Receiver::answering(Box::new(|_, path| if path == "/gone" { 410 } else { 200 })).await;
    let config = ecom_http::Config::try_from(settings()).unwrap();
    let server = TestServer::start(config).await;
    let api = &server.api;
    let shop = signup(api, "shop", "gone@hooks.example").await;
    let (gone, _) = register(
        api,
        &shop.auth(),
        &format!("{}/gone", receiver.base),
        &["order.placed"],
    )
    .await;
    let path = format!("/webhooks/endpoints/{gone}");
    let ping = api
        .api(Method::POST, &format!("{path}/test"), &shop.auth(), None)
        .await;
    assert_eq!(ping.ok(200)["type"], "ping");
    let mut endpoint = Value::Null;
    for _ in 0..100 {
        endpoint = api
            .api(Method::GET, &path, &shop.auth(), None)
            .await
            .ok(200)
            .clone();
        if endpoint["enabled"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(endpoint["enabled"], false, "{endpoint}");
    assert!(
        endpoint["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410"),
        "{endpoint}"
    );
    assert!(
        endpoint.get("secret").is_none(),
        "the secret is shown once only"
    );
    api.api(Method::POST, &format!("{path}/test"), &shop.auth(), None)
        .await
        .err(409, "disabled");
    let enabled = api
        .api(
            Method::PATCH,
            &path,
            &shop.auth(),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(enabled.ok(200)["disabled_reason"], Value::Null);

    let (live, old) = register(
        api,
        &shop.auth(),
        &format!("{}/live", receiver.base),
        &["order.placed"],
    )
    .await;
    let live_path = format!("/webhooks/endpoints/{live}");
    let rotated = api
        .api(
            Method::POST,
            &format!("{live_path}/rotate-secret"),
            &shop.auth(),
            None,
        )
        .await;
    let new = rotated.ok(200)["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    api.api(
        Method::POST,
        &format!("{live_path}/test"),
        &shop.auth(),
        None,
    )
    .await
    .ok(200);
    let got = receiver.wait("/live", 10, |got| !got.is_empty()).await;
    assert_eq!(got[0].json()["type"], "ping");
    assert_eq!(
        got[0].signatures.split(' ').count(),
        2,
        "{:?}",
        got[0].signatures
    );
    assert!(got[0].signed_by(&old) && got[0].signed_by(&new));
    // The receiver has the ping before the sender records its answer: wait for the record.
    let mut delivery = Value::Null;
    for _ in 0..100 {
        delivery = api
            .api(
                Method::GET,
                &format!("{live_path}/deliveries"),
                &shop.auth(),
                None,
            )
            .await
            .ok(200)[0]
            .clone();
        if delivery["status"] != "pending" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(delivery["status"], "succeeded", "{delivery}");
    api.api(
        Method::POST,
        &format!(
            "/webhooks/deliveries/{}/retry",
            delivery["id"].as_str().unwrap()
        ),
        &shop.auth(),
        None,
    )
    .await
    .err(409, "succeeded");

    // Another shop reaches none of it; lists are scoped.
    let other = signup(api, "shop", "other@hooks.example").await;
    api.api(Method::GET, &live_path, &other.auth(), None)
        .await
        .err(404, "endpoint");
    let theirs = api
        .api(Method::GET, "/webhooks/endpoints", &other.auth(), None)
        .await;
    assert_eq!(theirs.ok(200), &json!([]));
    let mine = api
        .api(Method::GET, "/webhooks/endpoints", &shop.auth(), None)
        .await;
    assert_eq!(mine.ok(200).as_array().unwrap().len(), 2);
    api.api(Method::DELETE, &path, &shop.auth(), None)
        .await
        .ok(200);
    api.api(Method::GET, &path, &shop.auth(), None)
        .await
        .err(404, "endpoint");
    support::contract::assert_answers_follow_the_document(api).await;
    server.stop().await;
}

/// Without the operator's allowance, internal addresses and plain http are refused, and so
/// are bad bodies; nothing is registered.
#[tokio::test]
async fn internal_addresses_and_bad_bodies_are_refused() {
    support::on_memory(|api| async move {
        let api = &api;
        let shop = signup(api, "shop", "ssrf@hooks.example").await;
        for url in [
            "https://127.0.0.1/hook",
            "https://10.1.2.3/hook",
            "https://192.168.0.7/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/hook",
            "https://[fd00:ec2::254]/hook",
            "https://localhost/hook",
            "http://93.184.216.34/hook",
            "ftp://93.184.216.34/hook",
            "not a url",
        ] {
            let refused = api
                .api(
                    Method::POST,
                    "/webhooks/endpoints",
                    &shop.auth(),
                    Some(json!({"url": url, "events": ["order.placed"]})),
                )
                .await;
            refused.err(400, "url");
        }
        for (body, needle) in [
            (
                json!({"url": "https://93.184.216.34/h", "events": []}),
                "events",
            ),
            (
                json!({"url": "https://93.184.216.34/h", "events": ["order.lost"]}),
                "events",
            ),
            (
                json!({"url": "https://93.184.216.34/h", "events": ["order.paid", "order.paid"]}),
                "events",
            ),
            (json!({"url": "https://93.184.216.34/h"}), "events"),
            (
                json!({"url": "https://93.184.216.34/h", "events": ["order.paid"], "colour": 1}),
                "colour",
            ),
        ] {
            let refused = api
                .api(
                    Method::POST,
                    "/webhooks/endpoints",
                    &shop.auth(),
                    Some(body),
                )
                .await;
            refused.err(400, needle);
        }
        let listed = api
            .api(Method::GET, "/webhooks/endpoints", &shop.auth(), None)
            .await;
        assert_eq!(listed.ok(200), &json!([]), "nothing was registered");
        support::contract::assert_answers_follow_the_document(api).await;
    })
    .await;
}

/// The README's receiver snippets (shell with openssl, and Python), extracted and run as
/// written, accept a real delivery and refuse it once its body is changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_readmes_verification_snippets_accept_a_real_delivery() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let block = |marker: &str| {
        let after = &readme[readme.find(marker).unwrap()..];
        let start = after.find("```").unwrap();
        let code = &after[start..];
        let code = &code[code.find('\n').unwrap() + 1..];
        code[..code.find("```").unwrap()].to_owned()
    };
    let (shell, python) = (
        block("<!-- verify-webhook-sh -->"),
        block("<!-- verify-webhook-py -->"),
    );

    let receiver = Receiver::start().await;
    let config = ecom_http::Config::try_from(settings()).unwrap();
    let server = TestServer::start(config).await;
    let shop = signup(&server.api, "shop", "readme@hooks.example").await;
    let (endpoint, secret) = register(
        &server.api,
        &shop.auth(),
        &format!("{}/readme", receiver.base),
        &["order.placed"],
    )
    .await;
    server
        .api
        .api(
            Method::POST,
            &format!("/webhooks/endpoints/{endpoint}/test"),
            &shop.auth(),
            None,
        )
        .await
        .ok(200);
    let got = receiver.wait("/readme", 10, |got| !got.is_empty()).await;
    let delivery = &got[0];
    server.stop().await;

    let dir = tempfile::tempdir().unwrap();
    for (body, expected) in [
        (delivery.body.clone(), true),
        (b"{\"tampered\":1}".to_vec(), false),
    ] {
        std::fs::write(dir.path().join("body.json"), &body).unwrap();
        let ran = std::process::Command::new("bash")
            .arg("-c")
            .arg(&shell)
            .current_dir(dir.path())
            .env("SECRET", &secret)
            .env("ID", &delivery.id)
            .env("TS", &delivery.timestamp)
            .env("SIGS", &delivery.signatures)
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&ran.stdout).to_string();
        assert_eq!(
            ran.status.success(),
            expected,
            "shell: {out} {}",
            String::from_utf8_lossy(&ran.stderr)
        );
        assert_eq!(out.trim(), if expected { "verified" } else { "rejected" });

        let script = format!(
            "{python}\nimport json, sys\nverify(sys.argv[1], json.loads(sys.argv[2]), open('body.json', 'rb').read())\nprint('verified')\n"
        );
        let headers = json!({"webhook-id": delivery.id, "webhook-timestamp": delivery.timestamp,
            "webhook-signature": delivery.signatures});
        let ran = std::process::Command::new("python3")
            .arg("-c")
            .arg(&script)
            .arg(&secret)
            .arg(headers.to_string())
            .current_dir(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&ran.stderr).to_string();
        assert_eq!(ran.status.success(), expected, "python: {err}");
        if !expected {
            assert!(err.contains("bad signature"), "{err}");
        }
    }
}

/// A platform endpoint declared in the configuration file: two servers starting at once over
/// one MongoDB ensure it once; every shop's `order.placed` reaches it signed with the
/// declared secret, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_declared_platform_endpoint_is_ensured_once_by_racing_servers() {
    let receiver = Receiver::start().await;
    let secret = format!("whsec_{}", STANDARD.encode([42u8; 32]));
    let file = ecom_http::Settings::from_toml(&format!(
        r#"
        [[webhook_endpoints]]
        url = "{}/declared"
        events = ["order.placed"]
        description = "the operator's ERP"
        secret = "{secret}"
        "#,
        receiver.base
    ))
    .unwrap();
    let declared = ecom_http::Config::try_from(file).unwrap().webhook_endpoints;
    assert_eq!(declared.len(), 1);
    let (config, fixtures) = support::mongo_redis_config("gate").await;
    let config = ecom_http::Config {
        webhook_allow_private: true,
        webhook_allow_http: true,
        webhook_endpoints: declared,
        ..config
    };
    let (first, second) =
        tokio::join!(TestServer::start(config.clone()), TestServer::start(config));
    second.stop().await;
    let api = &first.api;
    let shop_a = signup(api, "shop", "declared-a@hooks.example").await;
    let shop_b = signup(api, "shop", "declared-b@hooks.example").await;
    let user = signup(api, "user", "declared-buyer@hooks.example").await;
    let a = published(api, &shop_a, "Declared Tee", json!(4), 10).await;
    let b = published(api, &shop_b, "Declared Mug", json!(6), 10).await;
    order(api, &user, &[(&shop_a, &a)], "cod").await;
    order(api, &user, &[(&shop_b, &b)], "cod").await;
    let got = receiver
        .wait("/declared", 30, |got| count(got, "order.placed") == 2)
        .await;
    signed_and_in_order(&got, &secret);
    // One endpoint, so one delivery per event: nothing else arrives.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        receiver.at("/declared").len(),
        2,
        "{:?}",
        types(&receiver.at("/declared"))
    );
    first.stop().await;
    drop(fixtures);
}
