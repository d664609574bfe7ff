//! A real server on 127.0.0.1:0 and a reqwest client, for the integration tests.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used
)]

use ecom_core::clock::ManualClock;
use ecom_core::testkit::probe::Probe;
use ecom_core::{memory, Ecom};
use ecom_http::Config;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

pub mod contract;
pub mod receiver;
use tokio::task::JoinHandle;

/// The bootstrap API key every test server ensures.
pub const KEY: &str = "test-bootstrap-key-0123456789";

/// A client of one server: its base URL, the API key to send, a pooled reqwest client, and
/// the log of every request it (or a clone of it) sent, for [`contract`].
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub key: String,
    pub client: reqwest::Client,
    pub exchanges: Arc<Mutex<Vec<Exchange>>>,
}

/// A request sent and its answer: method, path (no query), status, JSON body (`Null` if none).
#[derive(Clone, Debug)]
pub struct Exchange {
    pub method: Method,
    pub path: String,
    pub status: u16,
    pub body: Value,
}

/// A running server; derefs to the [`Api`] client of it (with the bootstrap key).
pub struct TestServer {
    pub api: Api,
    /// The services behind the server (only for servers started with [`TestServer::with_clock`]).
    pub ecom: Option<Ecom>,
    pub clock: Option<Arc<ManualClock>>,
    /// Sees every store call of servers started with [`TestServer::with_clock`].
    pub probe: Option<Probe>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

/// A test configuration: bootstrap key, port 0, no rate limits on the account routes (every
/// test client comes from 127.0.0.1; `tests/api/limits.rs` tests the limits).
/// The settings every test server starts from: any free port, the test API key, the test
/// shipping fee, no rate limits.
pub fn settings() -> ecom_http::Settings {
    ecom_http::Settings {
        bind: Some("127.0.0.1:0".parse().unwrap()),
        bootstrap_api_key: Some(KEY.into()),
        fee_ship: Some(FEE_SHIP.into()),
        auth_rate_limit: Some(0),
        ..ecom_http::Settings::default()
    }
}

pub fn config() -> Config {
    Config::try_from(settings()).unwrap()
}

/// An answer: status, headers and the JSON body (`Null` if the body is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    /// Asserts a success envelope with `status` and returns `metadata`.
    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(self.body["status"], json!(status), "{}", self.text);
        assert!(self.body["message"].is_string(), "{}", self.text);
        &self.body["metadata"]
    }

    /// Asserts an error envelope with `status` whose message contains `needle`.
    pub fn err(&self, status: u16, needle: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(self.body["status"], json!("error"), "{}", self.text);
        assert_eq!(self.body["code"], json!(status), "{}", self.text);
        let message = self.body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(needle),
            "expected {needle:?} in {message:?}"
        );
        assert!(
            self.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{:?}",
            self.headers
        );
    }
}

/// A request body.
pub enum Body {
    Json(Value),
    Raw(String),
}

impl TestServer {
    /// A server started with `serve(config, listener, shutdown)`.
    pub async fn start(config: Config) -> Self {
        let listener = tokio::net::TcpListener::bind(config.bind).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel();
        let handle = tokio::spawn(ecom_http::serve(config, listener, async move {
            let _ = rx.await;
        }));
        Self::ready(base, None, None, None, tx, handle).await
    }

    /// A server over the memory backend on a manual clock, via `serve_ecom`, with a probe
    /// recording every store call.
    pub async fn with_clock() -> Self {
        Self::with_clock_and(config()).await
    }

    /// [`TestServer::with_clock`] with the HTTP settings of `config`.
    pub async fn with_clock_and(config: Config) -> Self {
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let probe = Probe::new();
        let backend = probe.wrap(&memory::backend().with_clock(clock.clone()));
        let ecom = Ecom::new(backend, config.ecom_config().unwrap());
        let listener = tokio::net::TcpListener::bind(config.bind).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel();
        let served = ecom.clone();
        let handle = tokio::spawn(async move {
            ecom_http::serve_ecom(served, &config, listener, async move {
                let _ = rx.await;
            })
            .await
        });
        Self::ready(base, Some(ecom), Some(clock), Some(probe), tx, handle).await
    }

    async fn ready(
        base: String,
        ecom: Option<Ecom>,
        clock: Option<Arc<ManualClock>>,
        probe: Option<Probe>,
        tx: oneshot::Sender<()>,
        handle: JoinHandle<anyhow::Result<()>>,
    ) -> Self {
        let server = TestServer {
            api: Api::new(&base, KEY),
            ecom,
            clock,
            probe,
            shutdown: Some(tx),
            handle: Some(handle),
        };
        for _ in 0..100 {
            if let Ok(r) = server.client.get(server.url("/healthz")).send().await {
                if r.status().is_success() {
                    return server;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("server did not become healthy");
    }

    /// Stops the server gracefully and checks it ended without error.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            let result = tokio::time::timeout(std::time::Duration::from_secs(10), handle)
                .await
                .expect("graceful shutdown took too long")
                .unwrap();
            assert!(result.is_ok(), "{result:?}");
        }
    }
}

impl std::ops::Deref for TestServer {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Api {
    /// A client of the server at `base` sending API key `key`.
    pub fn new(base: &str, key: &str) -> Self {
        Api {
            base: base.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
            client: reqwest::Client::new(),
            exchanges: Arc::default(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends `method path` with `headers` and `body`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Body>,
    ) -> Answer {
        let mut request = self.client.request(method.clone(), self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request = match body {
            Some(Body::Json(value)) => request.json(&value),
            Some(Body::Raw(text)) => request
                .header("content-type", "application/json")
                .body(text),
            None => request,
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        self.exchanges.lock().unwrap().push(Exchange {
            method,
            path: path.split('?').next().unwrap_or(path).to_owned(),
            status: status.as_u16(),
            body: body.clone(),
        });
        Answer {
            status,
            headers,
            body,
            text,
        }
    }

    /// `call` with the bootstrap API key added.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer {
        let mut all = vec![("x-api-key", self.key.as_str())];
        all.extend_from_slice(headers);
        self.call(
            method,
            &format!("/v1/api{path}"),
            &all,
            body.map(Body::Json),
        )
        .await
    }
}

/// An account with its tokens.
#[derive(Clone, Debug)]
pub struct Account {
    pub id: String,
    pub access: String,
    pub refresh: String,
}

impl Account {
    /// The headers of an authenticated call.
    pub fn auth(&self) -> Vec<(&str, &str)> {
        vec![
            ("x-client-id", self.id.as_str()),
            ("authorization", self.access.as_str()),
        ]
    }
}

/// Signs up a shop (`kind` = `shop`) or a customer (`user`), as a well-behaved client: a `503`
/// (too many password hashes at once on a loaded machine; nothing was created) is retried a
/// few times after a short wait.
pub async fn signup(server: &Api, kind: &str, email: &str) -> Account {
    let mut tries = 0;
    let answer = loop {
        let answer = server
            .api(
                Method::POST,
                &format!("/{kind}/signup"),
                &[],
                Some(
                    json!({"name": "Someone", "email": email, "password": "correct horse battery"}),
                ),
            )
            .await;
        tries += 1;
        if answer.status.as_u16() != 503 || tries >= 10 {
            break answer;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200 * tries)).await;
    };
    let meta = answer.ok(201);
    Account {
        id: meta[kind]["_id"].as_str().unwrap().to_owned(),
        access: meta["tokens"]["accessToken"].as_str().unwrap().to_owned(),
        refresh: meta["tokens"]["refreshToken"].as_str().unwrap().to_owned(),
    }
}

/// A valid product body.
pub fn tee(name: &str, price: Value) -> Value {
    json!({
        "product_name": name,
        "product_thumb": "https://img.example/tee.png",
        "product_description": "A plain cotton tee",
        "product_price": price,
        "product_quantity": 10,
        "product_type": "Clothing",
        "product_attributes": {"brand": " Acme ", "size": "M"}
    })
}

/// `GET /inventory/{product}` by its shop: the stock JSON.
pub async fn inventory_json(api: &Api, shop: &Account, product: &str) -> Value {
    let answer = api
        .api(
            Method::GET,
            &format!("/inventory/{product}"),
            &shop.auth(),
            None,
        )
        .await;
    answer.ok(200).clone()
}

/// (stock, sold, held) of `product`, read by its shop.
pub async fn inventory(api: &Api, shop: &Account, product: &str) -> (u64, u64, u64) {
    let meta = inventory_json(api, shop, product).await;
    let field = |name: &str| meta[name].as_u64().unwrap();
    (
        field("invent_stock"),
        field("invent_sold"),
        field("invent_reserved"),
    )
}

/// Creates and publishes a product of `shop` at `price` with `stock` units; its id.
pub async fn published(api: &Api, shop: &Account, name: &str, price: Value, stock: u64) -> String {
    let mut body = tee(name, price);
    body["product_quantity"] = json!(stock);
    let id = create_product(api, shop, body).await;
    publish(api, shop, &id).await;
    id
}

/// Publishes `shop`'s product `id`.
pub async fn publish(api: &Api, shop: &Account, id: &str) {
    api.api(
        Method::POST,
        &format!("/products/publish/{id}"),
        &shop.auth(),
        None,
    )
    .await
    .ok(200);
}

/// Creates a product of `shop` and returns its id.
pub async fn create_product(server: &Api, shop: &Account, body: Value) -> String {
    let answer = server
        .api(Method::POST, "/products", &shop.auth(), Some(body))
        .await;
    answer.ok(201)["_id"].as_str().unwrap().to_owned()
}

/// The shipping fee every test server charges (`ECOM_FEE_SHIP`).
pub const FEE_SHIP: &str = "2.50";

/// The Redis of the tests: `ECOM_TEST_REDIS_URL`, else a private one for this test binary.
pub fn redis_url() -> String {
    ecom_redis::testkit::redis_url().expect("a Redis for tests")
}

/// A unique Redis key prefix; its keys are deleted on drop (never anything else).
pub type RedisPrefix = ecom_redis::testkit::Prefix;

/// A MongoDB database of its own and a Redis prefix of its own; drop after the server stopped.
pub struct MongoRedis {
    pub db: ecom_mongo::testkit::TestDatabase,
    pub prefix: RedisPrefix,
}

/// A test configuration on a fresh MongoDB database and Redis (unique prefix), with
/// `strategy` and the test shipping fee.
/// Runs `flow` against a fresh server on the memory backend, then stops the server.
pub async fn on_memory<F, Fut>(flow: F)
where
    F: FnOnce(Api) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let server = TestServer::start(config()).await;
    flow(server.api.clone()).await;
    server.stop().await;
}

/// Runs `flow` against a fresh server on MongoDB + Redis with checkout `strategy`, then stops
/// the server and drops its database and Redis keys.
pub async fn on_mongo_redis<F, Fut>(strategy: &str, flow: F)
where
    F: FnOnce(Api) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (config, fixtures) = mongo_redis_config(strategy).await;
    let server = TestServer::start(config).await;
    flow(server.api.clone()).await;
    server.stop().await;
    drop(fixtures);
}

pub async fn mongo_redis_config(strategy: &str) -> (Config, MongoRedis) {
    let db = ecom_mongo::testkit::TestDatabase::new()
        .await
        .expect("a MongoDB for tests (ECOM_TEST_MONGO_URI or secantusd-rs)");
    let url = tokio::task::spawn_blocking(redis_url)
        .await
        .expect("joined");
    let prefix = RedisPrefix::new(&url);
    let settings = ecom_http::Settings {
        mongo_uri: Some(db.uri().into()),
        mongo_db: Some(db.database().name().to_owned()),
        redis_url: Some(url.into()),
        redis_prefix: Some(prefix.as_str().to_owned()),
        secret: Some("test-secret-0123456789abcdef".into()),
        checkout_strategy: Some(strategy.to_owned()),
        ..settings()
    };
    let config = Config::try_from(settings).unwrap();
    (config, MongoRedis { db, prefix })
}

/// `t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, computed here as a payment provider
/// would.
pub fn signature(secret: &str, t: i64, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Posts a payment provider's event to `/webhooks/payments`, signed with `secret` at `t`.
pub async fn webhook(api: &Api, secret: &str, t: i64, event: &Value) -> Answer {
    let body = event.to_string();
    let signed = signature(secret, t, &body);
    api.call(
        Method::POST,
        "/webhooks/payments",
        &[("x-ecom-signature", signed.as_str())],
        Some(Body::Raw(body)),
    )
    .await
}
