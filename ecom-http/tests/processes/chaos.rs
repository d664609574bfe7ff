//! Faults under load: three `ecom-server` processes on one `secantusd-rs` and one private Redis
//! take checkouts (and cancels) from many customers who retry with the same `Idempotency-Key`
//! after an error, while the test SIGKILLs a server and starts it again, SIGKILLs Redis (it
//! comes back empty) and restarts the store on the same data (a clean stop). Afterwards,
//! counted from the store: every order a client was told about exists once, one order per key,
//! no unit oversold, stock + units in live orders == stock received per product, no hold left,
//! code uses == live orders using the code, and the gate agrees with the store. The shop has a
//! webhook endpoint on a receiver in this process: afterwards every order's `order.placed`
//! (and `order.cancelled`, for those cancelled) arrived, counted from the store by distinct
//! `webhook-id`, one order's events in version order; duplicates are counted and printed.
//!
//! Sized by `ECOM_CHAOS_ATTEMPTS` (default 2,000 checkout attempts) and `ECOM_CHAOS_CUSTOMERS`
//! (default 200); `ECOM_CHAOS_STRATEGY` picks the checkout strategy (default `gate`).
//! `scripts/chaos.sh` runs it longer and on every strategy. Prints one line of figures.

use crate::support;
use ecom_core::id::{CustomerId, OrderId, ProductId};
use ecom_core::order::{Order, OrderStatus};
use ecom_mongo::testkit::MongoServer;
use ecom_redis::testkit::{free_port, RedisServer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SERVERS: usize = 3;
const PRODUCTS: usize = 20;
const CODE: &str = "CHAOS50";
/// The Redis key prefix of the servers.
const PREFIX: &str = "chaos:";
const CODE_USES: u32 = 60;
const API_KEY: &str = "chaos-bootstrap-api-key-0123456789";
const SECRET: &str = "chaos-test-secret-0123456789";
/// How long a client keeps retrying one request before it gives up on it.
const GIVE_UP_AFTER: Duration = Duration::from_secs(60);

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One `ecom-server` process; killed (SIGKILL) and reaped when dropped.
struct ServerProcess(Child);

impl ServerProcess {
    /// Starts a server on `port` with `env` and waits until it listens.
    fn start(port: u16, env: &[(String, String)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ecom-server"));
        for (name, _) in std::env::vars() {
            if name.starts_with("ECOM_") {
                command.env_remove(name);
            }
        }
        command
            .env("RUST_LOG", "error")
            .env("ECOM_BIND", format!("127.0.0.1:{port}"))
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command.spawn().expect("ecom-server starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads until the server listens, then keeps draining its stdout.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.starts_with("listening on") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(());
                    }
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(30))
            .expect("ecom-server listens within 30 s");
        ServerProcess(child)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the clients saw.
#[derive(Default)]
struct Seen {
    /// (customer, key) -> the order id answered with 201.
    orders: HashMap<(String, String), String>,
    /// Refusals by reason.
    refusals: BTreeMap<String, usize>,
    /// Requests sent again after an error or a lost reply.
    retries: usize,
    /// Requests given up after [`GIVE_UP_AFTER`].
    gave_up: usize,
    /// Answers 500 (a server bug, never a fault's expected effect).
    server_errors: usize,
    cancels: usize,
}

/// The cluster under test: its servers' ports, and the clients' shared view.
struct Cluster {
    ports: Vec<u16>,
    client: reqwest::Client,
    seen: Mutex<Seen>,
    attempts: AtomicUsize,
}

impl Cluster {
    fn url(&self, server: usize, path: &str) -> String {
        format!(
            "http://127.0.0.1:{}/v1/api{path}",
            self.ports[server % self.ports.len()]
        )
    }

    /// Sends a request to server `first`, then to the next ones, until an answer that is not
    /// an error of the moment (a lost connection, 5xx, 429); the same body and headers each
    /// time. `None` if it never got one.
    async fn send(
        &self,
        first: usize,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Option<(StatusCode, Value)> {
        let started = Instant::now();
        let mut backoff = Duration::from_millis(20);
        for attempt in 0.. {
            if attempt > 0 {
                self.seen.lock().unwrap().retries += 1;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(500));
            }
            if started.elapsed() > GIVE_UP_AFTER {
                self.seen.lock().unwrap().gave_up += 1;
                return None;
            }
            let mut request = self
                .client
                .request(method.clone(), self.url(first + attempt, path))
                .header("x-api-key", API_KEY);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let Ok(response) = request.send().await else {
                continue;
            };
            let status = response.status();
            let Ok(text) = response.text().await else {
                continue;
            };
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                self.seen.lock().unwrap().server_errors += 1;
            }
            if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                continue;
            }
            return Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)));
        }
        None
    }
}

/// A customer with its tokens.
struct Customer {
    id: String,
    access: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checkouts_survive_killed_servers_redis_and_store_restarts() {
    let attempts_target = env_or("ECOM_CHAOS_ATTEMPTS", 2000);
    let customers_n = env_or("ECOM_CHAOS_CUSTOMERS", 200);
    let strategy = std::env::var("ECOM_CHAOS_STRATEGY").unwrap_or_else(|_| "gate".into());
    // `kill`: the store is SIGKILLed instead of stopped cleanly. secantusd-rs then loses its last
    // ~40 acknowledged writes (a real MongoDB with journaled writes does not), so this scenario
    // reports what the store lost and what ecom made of it instead of requiring 0 violations
    // (scripts/chaos.sh runs it; CI runs the clean stop).
    let store_kill = std::env::var("ECOM_CHAOS_STORE").is_ok_and(|mode| mode == "kill");
    let seed = ecom_core::testkit::seed();
    let services = start_services(&strategy).await;
    let ports: Vec<u16> = (0..SERVERS).map(|_| free_port().unwrap()).collect();
    let mut servers: Vec<Option<ServerProcess>> = ports
        .iter()
        .map(|&port| Some(ServerProcess::start(port, &services.env)))
        .collect();
    let cluster = Arc::new(Cluster {
        ports: ports.clone(),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap(),
        seen: Mutex::default(),
        attempts: AtomicUsize::new(0),
    });

    // Units per product such that the run sells out near its end (an attempt asks for 2.25
    // units on average), so the faults hit orders being placed.
    let stock = (attempts_target as u64 * 9 / (PRODUCTS as u64 * 5)).max(5);
    let (shop, products) = stock_the_shop(&cluster, stock).await;
    let receiver = support::receiver::Receiver::start().await;
    let endpoint = json!({"url": format!("{}/chaos", receiver.base),
        "events": ["order.placed", "order.cancelled"]});
    support::Api::new(&format!("http://127.0.0.1:{}", cluster.ports[0]), API_KEY)
        .api(
            Method::POST,
            "/webhooks/endpoints",
            &shop.auth(),
            Some(endpoint),
        )
        .await
        .ok(201);
    let customers = sign_up_customers(&cluster, customers_n).await;

    // The clients.
    let mut clients = Vec::new();
    for (i, customer) in customers.into_iter().enumerate() {
        let (cluster, shop, products) = (cluster.clone(), shop.clone(), products.clone());
        clients.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed ^ (i as u64).wrapping_mul(0x9e37_79b9));
            shop_until_done(
                &cluster,
                &customer,
                &shop,
                &products,
                &mut rng,
                attempts_target,
            )
            .await;
        }));
    }

    let (services, faults) = inject_faults(
        &cluster,
        &mut servers,
        services,
        attempts_target,
        store_kill,
    )
    .await;
    for client in clients {
        client.await.expect("no client panics");
    }

    // Recovery: holds of checkouts the killed server left are past their 2 s lease within
    // a few 1 s passes; the gate is reconciled in the same passes.
    let store = ecom_mongo::connect(&services.mongo.uri(), &services.database)
        .await
        .unwrap();
    let gate = ecom_redis::RedisStockGate::connect(&services.redis.url(), PREFIX)
        .await
        .unwrap();
    let mut violations = settle_and_check(&cluster, &store, &gate, &products, &shop, stock).await;
    let (webhook_violations, duplicates) = webhooks_arrived(&cluster, &store, &receiver).await;
    violations.extend(webhook_violations);
    let seen = cluster.seen.lock().unwrap();
    let refusals: Vec<String> = seen
        .refusals
        .iter()
        .map(|(reason, n)| format!("{reason} {n}"))
        .collect();
    println!(
        "chaos ({strategy}, seed {seed}): attempts {}, orders {}, cancels {}, refusals [{}], \
         retries {}, gave up {}, 500s {}, faults injected {} ({}), webhook duplicates {}, \
         violations: {}",
        cluster.attempts.load(SeqCst),
        seen.orders.len(),
        seen.cancels,
        refusals.join(", "),
        seen.retries,
        seen.gave_up,
        seen.server_errors,
        faults.len(),
        faults.join("; "),
        duplicates,
        violations.len()
    );
    if store_kill {
        for violation in &violations {
            println!("chaos ({strategy}, store SIGKILL): {violation}");
        }
    } else {
        assert!(violations.is_empty(), "violations: {violations:#?}");
    }
    assert_eq!(seen.server_errors, 0, "no answer 500");
    assert_eq!(seen.gave_up, 0, "every request got an answer in the end");
    assert!(
        cluster.attempts.load(SeqCst) >= attempts_target,
        "the run made its attempts"
    );
    drop(servers);
}

/// The store (on a data directory of its own) and the Redis the servers share, and the
/// servers' environment naming them; the faults stop and start them again.
struct Services {
    data: std::path::PathBuf,
    mongo: MongoServer,
    redis: RedisServer,
    database: String,
    env: Vec<(String, String)>,
    /// Holds `data`; removed on drop, after the store stopped (fields drop in this order).
    storage: tempfile::TempDir,
}

/// Starts `secantusd-rs` and a private Redis; the servers' environment for `strategy`.
async fn start_services(strategy: &str) -> Services {
    let storage = tempfile::tempdir().unwrap();
    let data = storage.path().join("data");
    let mongo = {
        let data = data.clone();
        tokio::task::spawn_blocking(move || MongoServer::start(data))
            .await
            .unwrap()
            .expect("secantusd-rs starts (scripts/dev-services.sh installs it)")
    };
    let redis = tokio::task::spawn_blocking(|| RedisServer::start(None))
        .await
        .unwrap()
        .expect("redis-server starts");
    let database = ecom_mongo::testkit::unique_database_name();
    let env: Vec<(String, String)> = [
        ("ECOM_MONGO_URI", mongo.uri()),
        ("ECOM_MONGO_DB", database.clone()),
        ("ECOM_SECRET", SECRET.into()),
        ("ECOM_REDIS_URL", redis.url()),
        ("ECOM_REDIS_PREFIX", PREFIX.into()),
        ("ECOM_CHECKOUT_STRATEGY", strategy.to_owned()),
        ("ECOM_BOOTSTRAP_API_KEY", API_KEY.into()),
        ("ECOM_AUTH_RATE_LIMIT", "0".into()),
        ("ECOM_CHECKOUT_LEASE", "2".into()),
        ("ECOM_RECOVERY_EVERY", "1".into()),
        ("ECOM_REQUEST_TIMEOUT", "10".into()),
        ("ECOM_WEBHOOK_ALLOW_PRIVATE", "true".into()),
        ("ECOM_WEBHOOK_ALLOW_HTTP", "true".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Services {
        storage,
        data,
        mongo,
        redis,
        database,
        env,
    }
}

/// The faults, at fixed shares of the attempts: a server SIGKILLed and started again, Redis
/// SIGKILLed and started again empty, the store stopped (or SIGKILLed when `store_kill`) and
/// started again on its data. The services as they run afterwards, and the faults injected.
async fn inject_faults(
    cluster: &Arc<Cluster>,
    servers: &mut [Option<ServerProcess>],
    services: Services,
    attempts_target: usize,
    store_kill: bool,
) -> (Services, Vec<&'static str>) {
    let Services {
        storage,
        data,
        mongo,
        redis,
        database,
        env,
    } = services;
    let mongo_port = mongo.port();
    let redis_port = redis.port();
    // The faults, at fixed shares of the attempts.
    let mut faults = Vec::new();
    let reached = |share: f64| {
        let cluster = cluster.clone();
        async move {
            let target = (attempts_target as f64 * share) as usize;
            while cluster.attempts.load(SeqCst) < target {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    reached(0.2).await;
    drop(servers[0].take());
    tokio::time::sleep(Duration::from_millis(300)).await;
    servers[0] = Some(ServerProcess::start(cluster.ports[0], &env));
    faults.push("server SIGKILL + restart");
    reached(0.45).await;
    tokio::task::spawn_blocking(move || redis.kill())
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let redis = tokio::task::spawn_blocking(move || RedisServer::start(Some(redis_port)))
        .await
        .unwrap()
        .expect("redis-server starts again on its port");
    faults.push("redis SIGKILL + restart empty");
    reached(0.7).await;
    tokio::task::spawn_blocking(move || {
        if store_kill {
            mongo.kill()
        } else {
            mongo.stop()
        }
    })
    .await
    .unwrap()
    .unwrap();
    let mongo = {
        let data = data.clone();
        tokio::task::spawn_blocking(move || MongoServer::start_on(data, mongo_port))
            .await
            .unwrap()
            .expect("secantusd-rs starts again on its data")
    };
    faults.push(if store_kill {
        "store SIGKILL + restart"
    } else {
        "store clean stop + restart"
    });
    let services = Services {
        storage,
        data,
        mongo,
        redis,
        database,
        env,
    };
    (services, faults)
}

/// The shop: signs up, creates and publishes the products, and the limited code.
async fn stock_the_shop(cluster: &Cluster, stock: u64) -> (support::Account, Vec<String>) {
    let api = support::Api::new(&format!("http://127.0.0.1:{}", cluster.ports[0]), API_KEY);
    let shop = support::signup(&api, "shop", &support_email("shop")).await;
    let mut products = Vec::new();
    for i in 0..PRODUCTS {
        let name = format!("Chaos tee {i}");
        products.push(support::published(&api, &shop, &name, json!(10), stock).await);
    }
    let now = chrono::Utc::now();
    let code = json!({
        "code": CODE, "name": "Chaos", "description": "50% off", "type": "percentage",
        "value": 50, "start_date": (now - chrono::Duration::hours(1)).to_rfc3339(),
        "end_date": (now + chrono::Duration::days(1)).to_rfc3339(), "max_uses": CODE_USES,
        "max_uses_per_user": 2, "min_order_value": 0, "is_active": true,
        "applies_to": "all", "product_ids": []
    });
    api.api(Method::POST, "/discounts", &shop.auth(), Some(code))
        .await
        .ok(201);
    (shop, products)
}

fn support_email(who: &str) -> String {
    format!("{who}-{}@chaos.example", ProductId::generate())
}

async fn sign_up_customers(cluster: &Cluster, n: usize) -> Vec<Customer> {
    let mut signups = Vec::new();
    for i in 0..n {
        let api = support::Api::new(
            &format!(
                "http://127.0.0.1:{}",
                cluster.ports[i % cluster.ports.len()]
            ),
            API_KEY,
        );
        signups.push(tokio::spawn(async move {
            let account = support::signup(&api, "user", &support_email("buyer")).await;
            Customer {
                id: account.id,
                access: account.access,
            }
        }));
    }
    let mut customers = Vec::new();
    for signup in signups {
        customers.push(signup.await.unwrap());
    }
    customers
}

/// One customer: checkouts of 1-2 random lines (some with the code), each sent until it gets
/// a definite answer, and a cancel of some of its orders, until the run has its attempts.
async fn shop_until_done(
    cluster: &Cluster,
    customer: &Customer,
    shop: &support::Account,
    products: &[String],
    rng: &mut StdRng,
    target: usize,
) {
    let auth = [
        ("x-client-id", customer.id.as_str()),
        ("authorization", customer.access.as_str()),
    ];
    let mut n = 0;
    loop {
        if cluster.attempts.fetch_add(1, SeqCst) >= target {
            cluster.attempts.fetch_sub(1, SeqCst);
            break;
        }
        n += 1;
        let key = format!("k{n}");
        let lines: Vec<Value> = (0..rng.gen_range(1..=2))
            .map(|_| {
                json!({"productId": products[rng.gen_range(0..products.len())],
                       "quantity": rng.gen_range(1..=2)})
            })
            .collect();
        let codes = if rng.gen_bool(0.2) {
            json!([{"shopId": shop.id, "codeId": CODE}])
        } else {
            json!([])
        };
        let body = json!({
            "shop_order_ids": [{"shopId": shop.id, "shop_discounts": codes, "item_products": lines}],
            "user_address": {"street": "1 Chaos Rd"}, "user_payment": {"method": "cod"}
        });
        let mut headers = auth.to_vec();
        headers.push(("idempotency-key", key.as_str()));
        let server = rng.gen_range(0..SERVERS);
        let Some((status, answer)) = cluster
            .send(
                server,
                Method::POST,
                "/checkout/order",
                &headers,
                Some(&body),
            )
            .await
        else {
            continue;
        };
        if status == StatusCode::CREATED {
            let id = answer["metadata"]["_id"].as_str().unwrap().to_owned();
            cluster
                .seen
                .lock()
                .unwrap()
                .orders
                .insert((customer.id.clone(), key.clone()), id.clone());
            if rng.gen_bool(0.15) {
                let path = format!("/orders/{id}/cancel");
                let server = rng.gen_range(0..SERVERS);
                if let Some((status, _)) =
                    cluster.send(server, Method::POST, &path, &auth, None).await
                {
                    if status == StatusCode::OK {
                        cluster.seen.lock().unwrap().cancels += 1;
                    }
                }
            }
        } else {
            let reason = format!(
                "{} {}",
                status.as_u16(),
                answer["message"].as_str().unwrap_or("?")
            );
            *cluster
                .seen
                .lock()
                .unwrap()
                .refusals
                .entry(refusal_kind(&reason))
                .or_default() += 1;
        }
    }
}

/// A refusal's reason, without the ids in its message.
fn refusal_kind(reason: &str) -> String {
    let lower = reason.to_lowercase();
    for (needle, kind) in [
        ("stock", "out of stock"),
        ("code", "code"),
        ("discount", "code"),
    ] {
        if lower.contains(needle) {
            return format!("{} {kind}", &reason[..3]);
        }
    }
    reason.to_owned()
}

/// Waits until the store is quiet (no hold left, gate in step) or 60 s passed, then checks
/// every invariant; returns the violations.
/// Waits (at most 180 s: a killed server's claims lapse after the webhook lease) until the
/// receiver accepted, by distinct `webhook-id`, an `order.placed` for every order in the store
/// and an `order.cancelled` for every cancelled one, and nothing else; what is still wrong
/// then, and how many deliveries came more than once.
async fn webhooks_arrived(
    cluster: &Cluster,
    store: &ecom_core::Backend,
    receiver: &support::receiver::Receiver,
) -> (Vec<String>, usize) {
    let customers: HashSet<String> = {
        let seen = cluster.seen.lock().unwrap();
        seen.orders.keys().map(|(c, _)| c.clone()).collect()
    };
    let mut expected: HashMap<String, Vec<&str>> = HashMap::new();
    for customer in customers {
        let id = CustomerId::parse(&customer).unwrap();
        let page = ecom_core::page::Page {
            limit: 10_000,
            skip: 0,
        };
        for order in store.orders.list_by_customer(&id, page).await.unwrap() {
            let mut kinds = vec!["order.placed"];
            if order.status == OrderStatus::Cancelled {
                kinds.push("order.cancelled");
            }
            expected.insert(order.id.to_string(), kinds);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let accepted = receiver.accepted("/chaos");
        let mut violations = Vec::new();
        let mut got: HashMap<String, Vec<(String, u64)>> = HashMap::new();
        for r in &accepted {
            let body = r.json();
            got.entry(body["aggregate"]["id"].as_str().unwrap().to_owned())
                .or_default()
                .push((
                    body["type"].as_str().unwrap().to_owned(),
                    body["aggregate"]["version"].as_u64().unwrap(),
                ));
        }
        for (order, kinds) in &expected {
            let arrived: Vec<&str> = got
                .get(order)
                .map(|v| v.iter().map(|(k, _)| k.as_str()).collect())
                .unwrap_or_default();
            if &arrived != kinds {
                violations.push(format!(
                    "order {order}: webhooks {arrived:?}, changes {kinds:?}"
                ));
            }
            let versions: Vec<u64> = got
                .get(order)
                .map(|v| v.iter().map(|(_, n)| *n).collect())
                .unwrap_or_default();
            if versions.windows(2).any(|w| w[0] > w[1]) {
                violations.push(format!("order {order}: versions arrived as {versions:?}"));
            }
        }
        if got.keys().any(|order| !expected.contains_key(order)) {
            violations.push("a webhook of an order the store does not have".to_owned());
        }
        if violations.is_empty() || Instant::now() > deadline {
            let duplicates = receiver.at("/chaos").len() - accepted.len();
            if !violations.is_empty() {
                let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
                for r in &accepted {
                    *by_type
                        .entry(r.json()["type"].as_str().unwrap().to_owned())
                        .or_default() += 1;
                }
                let cancelled = expected.values().filter(|k| k.len() == 2).count();
                println!(
                    "chaos webhooks: accepted {by_type:?} of {} orders, {cancelled} cancelled",
                    expected.len()
                );
            }
            return (violations, duplicates);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn settle_and_check(
    cluster: &Cluster,
    store: &ecom_core::Backend,
    gate: &ecom_redis::RedisStockGate,
    products: &[String],
    shop: &support::Account,
    stock: u64,
) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let violations = check(cluster, store, gate, products, shop, stock).await;
        if violations.is_empty() || Instant::now() > deadline {
            return violations;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn check(
    cluster: &Cluster,
    store: &ecom_core::Backend,
    gate: &ecom_redis::RedisStockGate,
    products: &[String],
    shop: &support::Account,
    received: u64,
) -> Vec<String> {
    use ecom_core::gate::StockGate;
    let mut violations = Vec::new();
    let told: HashMap<(String, String), String> = cluster.seen.lock().unwrap().orders.clone();
    // Every order told with 201 is in the store, under its key, once.
    let mut orders: HashMap<OrderId, Order> = HashMap::new();
    let customers: HashSet<&String> = told.keys().map(|(c, _)| c).collect();
    for customer in customers {
        let id = CustomerId::parse(customer).unwrap();
        for skip in (0..).step_by(100) {
            let page = ecom_core::page::Page { limit: 100, skip };
            let listed = store.orders.list_by_customer(&id, page).await.unwrap();
            let done = listed.len() < 100;
            for order in listed {
                if orders.insert(order.id.clone(), order).is_some() {
                    violations.push("an order listed twice".to_owned());
                }
            }
            if done {
                break;
            }
        }
    }
    let mut keys = HashSet::new();
    for order in orders.values() {
        if !keys.insert((order.customer_id.to_string(), order.idempotency_key.clone())) {
            violations.push(format!("two orders for key {}", order.idempotency_key));
        }
    }
    for ((customer, key), id) in &told {
        let stored = store
            .orders
            .find_by_key(&CustomerId::parse(customer).unwrap(), key)
            .await
            .unwrap();
        if stored.as_ref().map(|o| o.id.to_string()) != Some(id.clone()) {
            violations.push(format!(
                "order {id} told for key {key} is not its key's order"
            ));
        }
    }
    // Per product: no oversell, nothing lost, no hold left; the gate agrees.
    for product in products {
        let pid = ProductId::parse(product).unwrap();
        let live: u64 = orders
            .values()
            .flat_map(|o| &o.lines)
            .filter(|l| l.product_id == pid && l.status != OrderStatus::Cancelled)
            .map(|l| u64::from(l.quantity))
            .sum();
        let inventory = store.inventory.get(&pid).await.unwrap().unwrap();
        if live > received {
            violations.push(format!("{product}: {live} units sold of {received}"));
        }
        if inventory.stock + live != received {
            violations.push(format!(
                "{product}: stock {} + live units {live} != {received}",
                inventory.stock
            ));
        }
        if !inventory.reservations.is_empty() {
            violations.push(format!(
                "{product}: {} holds left",
                inventory.reservations.len()
            ));
        }
        if let Some(counted) = gate.available(&pid).await.unwrap() {
            if counted != inventory.stock {
                violations.push(format!(
                    "{product}: gate counts {counted}, store has {}",
                    inventory.stock
                ));
            }
        }
    }
    // The code: uses == live orders using it, within its limit, none open.
    let discount = store
        .discounts
        .find_active_by_code(&ecom_core::id::ShopId::parse(&shop.id).unwrap(), CODE)
        .await
        .unwrap()
        .unwrap();
    let using: u32 = orders
        .values()
        .filter(|o| {
            o.status != OrderStatus::Cancelled
                && o.discounts
                    .iter()
                    .any(|d| d.discount_id == discount.id && d.returned.is_none())
        })
        .count() as u32;
    if discount.uses != using || !discount.open.is_empty() || discount.uses > CODE_USES {
        violations.push(format!(
            "code: {} uses, {} open, {using} live orders use it (limit {CODE_USES})",
            discount.uses,
            discount.open.len()
        ));
    }
    violations
}
