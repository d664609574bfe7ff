//! `ecom-load`: drives flash-sale checkouts against an `ecom-server` on 127.0.0.1 and reports
//! what it saw.
//!
//! It prepares a shop, products with ample stock and customers through the API, then keeps
//! `--connections` checkouts in flight (one line, quantity 1, a fresh `Idempotency-Key` each)
//! for `--windows` back-to-back windows of `--window-secs` seconds. Per window it prints orders
//! per second, p50/p90/p99 latency (an HDR histogram), answers other than 201 by status, and the
//! server's resident memory (`--server-pid`). At the end it checks, per product, that
//! `stock + sold + held == received` and that the units sold or held are the units of the 201s.
//!
//! ```text
//! ecom-load checkout --url http://127.0.0.1:3055 --api-key "$KEY" --connections 64 --products 1
//! ecom-load ceiling --mongo-uri mongodb://127.0.0.1:27017 --redis-url redis://127.0.0.1:6379
//! ecom-load browse --url http://127.0.0.1:3055 --api-key "$KEY" --products 10000 --connections 16
//! ecom-load receive --port 3056
//! ```

mod browse;
mod receive;

use anyhow::{bail, Context, Result};
use clap::Parser;
use hdrhistogram::Histogram;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Flash-sale load against an ecom-server, or the ceiling of the stores under it.
#[derive(Parser, Debug)]
#[command(name = "ecom-load", version)]
enum Cli {
    /// Checkouts against a running ecom-server.
    Checkout(Args),
    /// What the stores alone can do: conditional stock decrements of one document on MongoDB
    /// (`findOneAndUpdate` with `stock >= 1`) and Lua decrements on Redis, concurrently.
    Ceiling(Ceiling),
    /// The public catalogue: listings with each filter and sort, facets and categories.
    Browse(browse::Browse),
    /// A webhook receiver that answers 200 and counts what it gets (`GET /stats`).
    Receive(receive::Receive),
}

/// Options of `ceiling`.
#[derive(clap::Args, Debug, Clone)]
struct Ceiling {
    /// A MongoDB to measure (a database `ecom_load_ceiling` is used and dropped).
    #[arg(long)]
    mongo_uri: Option<String>,
    /// A Redis to measure (one key `ecom-load:ceiling`, deleted after).
    #[arg(long)]
    redis_url: Option<String>,
    /// Operations in flight at once.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds per store.
    #[arg(long, default_value_t = 10)]
    secs: u64,
}

/// Options of `checkout`.
#[derive(clap::Args, Debug, Clone)]
struct Args {
    /// The server's base URL (127.0.0.1 only).
    #[arg(long, default_value = "http://127.0.0.1:3055")]
    url: String,
    /// An API key with permission 0000.
    #[arg(long, env = "ECOM_LOAD_API_KEY")]
    api_key: String,
    /// Checkouts in flight at once.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Measurement windows, back to back.
    #[arg(long, default_value_t = 3)]
    windows: usize,
    /// Seconds per window.
    #[arg(long, default_value_t = 10)]
    window_secs: u64,
    /// Products the checkouts spread over (1: one hot product).
    #[arg(long, default_value_t = 1)]
    products: usize,
    /// Units of stock each product (or each model) starts with.
    #[arg(long, default_value_t = 3_000_000)]
    stock: u64,
    /// Models (variants, one tier `Size`) per product, 0 to 20: with models the checkouts
    /// spread over every model of every product, each model with `stock` units.
    #[arg(long, default_value_t = 0)]
    models: usize,
    /// Customers placing the orders (signed up first; each signup hashes a password).
    #[arg(long, default_value_t = 64)]
    customers: usize,
    /// The server's process id, to report its resident memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// A label for the summary line.
    #[arg(long, default_value = "run")]
    label: String,
}

/// Largest stock a single request may add (the API's quantity bound).
const MAX_ADD: u64 = 1_000_000;

#[derive(Clone)]
struct Account {
    id: String,
    token: String,
}

struct Api {
    client: Client,
    base: String,
    key: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        who: Option<&Account>,
        body: Option<Value>,
        extra: &[(&str, String)],
    ) -> Result<(StatusCode, Value)> {
        let mut request = self
            .client
            .request(method, format!("{}/v1/api{path}", self.base))
            .header("x-api-key", &self.key);
        if let Some(account) = who {
            request = request
                .header("x-client-id", &account.id)
                .header("authorization", &account.token);
        }
        for (name, value) in extra {
            request = request.header(*name, value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    async fn expect(
        &self,
        method: reqwest::Method,
        path: &str,
        who: Option<&Account>,
        body: Option<Value>,
        status: u16,
    ) -> Result<Value> {
        let (got, answer) = self.call(method, path, who, body, &[]).await?;
        if got.as_u16() != status {
            bail!("{path}: expected {status}, got {got}: {answer}");
        }
        Ok(answer["metadata"].clone())
    }

    /// Places a cash-on-delivery order of one unit of `item` (`{productId, modelId?}`) of
    /// shop `shop_id` for `customer`, with a fresh idempotency key; the answer's status.
    async fn order_one(
        &self,
        customer: &Account,
        shop_id: &str,
        mut item: Value,
    ) -> Result<StatusCode> {
        item["quantity"] = json!(1);
        let body = json!({
            "shop_order_ids": [{"shopId": shop_id, "shop_discounts": [],
                "item_products": [item]}],
            "user_address": {"street": "1 Load St"}, "user_payment": {"method": "cod"}
        });
        let key = uuid::Uuid::new_v4().simple().to_string();
        let (status, _) = self
            .call(
                reqwest::Method::POST,
                "/checkout/order",
                Some(customer),
                Some(body),
                &[("idempotency-key", key)],
            )
            .await?;
        Ok(status)
    }

    /// Publishes `shop`'s product `id`.
    async fn publish(&self, shop: &Account, id: &str) -> Result<()> {
        self.expect(
            reqwest::Method::POST,
            &format!("/products/publish/{id}"),
            Some(shop),
            None,
            200,
        )
        .await?;
        Ok(())
    }

    async fn signup(&self, kind: &str) -> Result<Account> {
        let email = format!("load-{}@load.example", uuid::Uuid::new_v4().simple());
        let body = json!({"name": "Load", "email": email, "password": "correct horse battery"});
        let meta = self
            .expect(
                reqwest::Method::POST,
                &format!("/{kind}/signup"),
                None,
                Some(body),
                201,
            )
            .await?;
        Ok(Account {
            id: meta[kind]["_id"]
                .as_str()
                .context("signup answers an id")?
                .to_owned(),
            token: meta["tokens"]["accessToken"]
                .as_str()
                .context("signup answers tokens")?
                .to_owned(),
        })
    }
}

/// What one window saw.
struct Window {
    latency: Histogram<u64>,
    statuses: BTreeMap<u16, u64>,
}

impl Window {
    fn new() -> Result<Self> {
        Ok(Window {
            latency: Histogram::new_with_bounds(1, 60_000_000, 3)?,
            statuses: BTreeMap::new(),
        })
    }

    fn merge(&mut self, other: &Window) -> Result<()> {
        self.latency.add(&other.latency)?;
        for (status, n) in &other.statuses {
            *self.statuses.entry(*status).or_default() += n;
        }
        Ok(())
    }

    fn placed(&self) -> u64 {
        self.statuses.get(&201).copied().unwrap_or(0)
    }
}

fn rss_mib(pid: Option<u32>) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse() {
        Cli::Checkout(args) => checkout(args).await,
        Cli::Ceiling(ceiling) => store_ceiling(ceiling).await,
        Cli::Browse(args) => browse::browse(args).await,
        Cli::Receive(args) => receive::receive(args).await,
    }
}

/// Runs `op` from `connections` tasks for `secs` seconds; operations per second.
async fn saturate<F, Fut>(connections: usize, secs: u64, op: F) -> Result<f64>
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let end = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0_u64;
            while Instant::now() < end {
                op().await?;
                n += 1;
            }
            anyhow::Ok(n)
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await??;
    }
    Ok(total as f64 / secs as f64)
}

async fn store_ceiling(args: Ceiling) -> Result<()> {
    let mut rows = serde_json::Map::new();
    if let Some(uri) = &args.mongo_uri {
        let client = mongodb::Client::with_uri_str(uri).await?;
        let db = client.database("ecom_load_ceiling");
        db.drop().await?;
        let stock = db.collection::<bson::Document>("stock");
        stock
            .insert_one(bson::doc! { "_id": "hot", "stock": 1_000_000_000_i64 })
            .await?;
        let rate = saturate(args.connections, args.secs, move || {
            let stock = stock.clone();
            async move {
                stock
                    .find_one_and_update(
                        bson::doc! { "_id": "hot", "stock": { "$gte": 1_i64 } },
                        bson::doc! { "$inc": { "stock": -1_i64 } },
                    )
                    .await?;
                Ok(())
            }
        })
        .await?;
        db.drop().await?;
        println!("ceiling mongodb: {rate:.0} conditional decrements/s");
        rows.insert("mongo_decrements_per_s".into(), json!(rate));
    }
    if let Some(url) = &args.redis_url {
        let client = redis::Client::open(url.as_str())?;
        let conn = redis::aio::ConnectionManager::new(client).await?;
        let script = redis::Script::new(
            "local s = tonumber(redis.call('GET', KEYS[1]) or '0') \
             if s >= 1 then return redis.call('DECRBY', KEYS[1], 1) end return -1",
        );
        let mut setup = conn.clone();
        redis::cmd("SET")
            .arg("ecom-load:ceiling")
            .arg(1_000_000_000_u64)
            .query_async::<()>(&mut setup)
            .await?;
        let rate = saturate(args.connections, args.secs, move || {
            let (mut conn, script) = (conn.clone(), script.clone());
            async move {
                script
                    .key("ecom-load:ceiling")
                    .invoke_async::<i64>(&mut conn)
                    .await?;
                Ok(())
            }
        })
        .await?;
        redis::cmd("DEL")
            .arg("ecom-load:ceiling")
            .query_async::<()>(&mut setup)
            .await?;
        println!("ceiling redis: {rate:.0} Lua decrements/s");
        rows.insert("redis_decrements_per_s".into(), json!(rate));
    }
    println!("summary {}", json!({"label": "ceiling", "ceiling": rows}));
    Ok(())
}

async fn checkout(args: Args) -> Result<()> {
    let host = reqwest::Url::parse(&args.url)?;
    if !matches!(host.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")) {
        bail!("ecom-load only sends traffic to 127.0.0.1");
    }
    let api = std::sync::Arc::new(Api {
        client: Client::builder()
            .pool_max_idle_per_host(args.connections)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(60))
            .build()?,
        base: args.url.trim_end_matches('/').to_owned(),
        key: args.api_key.clone(),
    });

    // Prepare: a shop, its products with ample stock, and the customers.
    let shop = api.signup("shop").await?;
    if args.models > 20 {
        bail!("--models is at most 20");
    }
    // The lines ordered: (product, model), every model of every product.
    let mut products: Vec<(String, Option<String>)> = Vec::new();
    for i in 0..args.products {
        let first = args.stock.clamp(1, MAX_ADD);
        let mut body = json!({
            "product_name": format!("Load tee {i}"), "product_thumb": "tee.png",
            "product_type": "Clothing", "product_attributes": {"brand": "Load", "size": "M"}
        });
        if args.models == 0 {
            body["product_price"] = json!("9.99");
            body["product_quantity"] = json!(first);
        } else {
            let sizes: Vec<String> = (0..args.models).map(|m| format!("{}", 30 + m)).collect();
            body["product_type"] = json!("Furniture");
            body["product_variations"] = json!([{"name": "Width", "options": sizes}]);
            body["product_models"] = (0..args.models)
                .map(|m| json!({"tier_index": [m], "price": "9.99", "stock": first}))
                .collect();
        }
        let meta = api
            .expect(
                reqwest::Method::POST,
                "/products",
                Some(&shop),
                Some(body),
                201,
            )
            .await?;
        let id = meta["_id"].as_str().context("product id")?.to_owned();
        let lines: Vec<Option<String>> = match meta["product_models"].as_array() {
            Some(models) if !models.is_empty() => models
                .iter()
                .map(|m| m["model_id"].as_str().map(|id| Some(id.to_owned())))
                .collect::<Option<_>>()
                .context("model ids")?,
            _ => vec![None],
        };
        for model in lines {
            let mut added = first;
            while added < args.stock {
                let more = (args.stock - added).min(MAX_ADD);
                api.expect(
                    reqwest::Method::POST,
                    "/inventory",
                    Some(&shop),
                    Some(json!({"productId": id, "modelId": model, "stock": more})),
                    200,
                )
                .await?;
                added += more;
            }
            products.push((id.clone(), model));
        }
        api.publish(&shop, &id).await?;
    }
    let mut customers = Vec::with_capacity(args.customers);
    for _ in 0..args.customers.max(1) {
        customers.push(api.signup("user").await?);
    }
    eprintln!(
        "{}: {} products ({} lines), {} customers; {} connections, {} x {} s",
        args.label,
        args.products,
        products.len(),
        customers.len(),
        args.connections,
        args.windows,
        args.window_secs
    );

    // Drive: every task keeps one checkout in flight until the last window ends.
    let start = Instant::now();
    let window = Duration::from_secs(args.window_secs);
    let end = start + window * u32::try_from(args.windows)?;
    let mut tasks = Vec::with_capacity(args.connections);
    for t in 0..args.connections {
        let api = api.clone();
        let customer = customers[t % customers.len()].clone();
        let products = products.clone();
        let connections = args.connections;
        let shop_id = shop.id.clone();
        let windows = args.windows;
        tasks.push(tokio::spawn(async move {
            let mut seen: Vec<Window> =
                (0..windows).map(|_| Window::new()).collect::<Result<_>>()?;
            let mut per_product: BTreeMap<(String, Option<String>), u64> = BTreeMap::new();
            // Connection t orders products t, t + connections, ... in turn, so every product
            // gets orders whatever the number of connections.
            let mut next = t;
            while Instant::now() < end {
                let product = products[next % products.len()].clone();
                next += connections;
                let mut item = json!({"productId": product.0});
                if let Some(model) = &product.1 {
                    item["modelId"] = json!(model);
                }
                let sent = Instant::now();
                let status = match api.order_one(&customer, &shop_id, item).await {
                    Ok(status) => status.as_u16(),
                    Err(_) => 0,
                };
                let done = Instant::now();
                let index = usize::try_from((done - start).as_secs() / window.as_secs())?;
                if let Some(w) = seen.get_mut(index) {
                    let micros = u64::try_from((done - sent).as_micros()).unwrap_or(u64::MAX);
                    w.latency.record(micros.max(1))?;
                    *w.statuses.entry(status).or_default() += 1;
                }
                if status == 201 {
                    *per_product.entry(product).or_default() += 1;
                }
            }
            anyhow::Ok((per_product, seen))
        }));
    }
    let mut windows: Vec<Window> = (0..args.windows)
        .map(|_| Window::new())
        .collect::<Result<_>>()?;
    let mut ordered: BTreeMap<(String, Option<String>), u64> = BTreeMap::new();
    for task in tasks {
        let (placed, seen) = task.await??;
        for (product, n) in placed {
            *ordered.entry(product).or_default() += n;
        }
        for (total, w) in windows.iter_mut().zip(&seen) {
            total.merge(w)?;
        }
    }
    let rss = rss_mib(args.server_pid);

    // Report.
    let mut rows = Vec::new();
    for (i, w) in windows.iter().enumerate() {
        let rate = w.placed() as f64 / window.as_secs_f64();
        let others: BTreeMap<u16, u64> = w
            .statuses
            .iter()
            .filter(|(s, _)| **s != 201)
            .map(|(s, n)| (*s, *n))
            .collect();
        let q = |p: f64| w.latency.value_at_quantile(p) as f64 / 1000.0;
        println!(
            "{} window {}: {:.0} orders/s, p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, other answers {:?}",
            args.label,
            i + 1,
            rate,
            q(0.50),
            q(0.90),
            q(0.99),
            others
        );
        rows.push(json!({
            "orders_per_s": rate, "p50_ms": q(0.5), "p90_ms": q(0.9), "p99_ms": q(0.99),
            "other": others,
        }));
    }
    if let Some(rss) = rss {
        println!("{} server resident memory: {rss:.0} MiB", args.label);
    }

    // Verify the stock against the answers.
    let mut consistent = true;
    let mut ok_products = 0;
    for product in &products {
        let meta = api
            .expect(
                reqwest::Method::GET,
                &format!("/inventory/{}", product.0),
                Some(&shop),
                None,
                200,
            )
            .await?;
        // A model's record is in `models`; a product's is the answer itself.
        let record = match &product.1 {
            Some(model) => meta["models"]
                .as_array()
                .and_then(|ms| ms.iter().find(|m| m["modelId"] == json!(model)))
                .cloned()
                .map(|m| {
                    json!({"invent_stock": m["stock"], "invent_sold": m["sold"],
                                "invent_reserved": m["reserved"]})
                })
                .context("the model's stock")?,
            None => meta,
        };
        let field = |name: &str| record[name].as_u64().unwrap_or(0);
        let (stock, sold, held) = (
            field("invent_stock"),
            field("invent_sold"),
            field("invent_reserved"),
        );
        let placed = ordered.get(product).copied().unwrap_or(0);
        let ok = stock + sold + held == args.stock && sold + held == placed;
        consistent &= ok;
        ok_products += usize::from(ok);
        if !ok || products.len() == 1 {
            println!(
                "{} stock check {}{}: stock {stock} + sold {sold} + held {held} = {} (received {}); 201s {placed}: {}",
                args.label,
                product.0,
                product.1.as_deref().map(|m| format!(" model {m}")).unwrap_or_default(),
                stock + sold + held,
                args.stock,
                if ok { "ok" } else { "MISMATCH" }
            );
        }
    }
    println!(
        "{} stock check: {} of {} products consistent",
        args.label,
        ok_products,
        products.len()
    );
    println!(
        "summary {}",
        json!({"label": args.label, "windows": rows, "rss_mib": rss, "consistent": consistent,
            "orders": ordered.values().sum::<u64>()})
    );
    if !consistent {
        bail!("stock and orders disagree");
    }
    Ok(())
}
