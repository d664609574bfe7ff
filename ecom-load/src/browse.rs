//! `ecom-load browse`: the public catalogue under load. It publishes `--products` products
//! (10 shops, 30 categories, 3 product types, random prices and names) through the API, then
//! for each listing (`/products/all` with each filter and each sort, `/products/facets`,
//! `/categories`) keeps `--connections` requests in flight for `--secs` seconds and prints
//! requests per second and p50/p99 latency. Every answer must be a 200 whose
//! `x-total-count` (for listings) matches the first answer of that listing.

use super::{Account, Api};
use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Options of `browse`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Browse {
    /// The server's base URL (127.0.0.1 only).
    #[arg(long, default_value = "http://127.0.0.1:3055")]
    pub(crate) url: String,
    /// An API key with permission 0000.
    #[arg(long, env = "ECOM_LOAD_API_KEY")]
    pub(crate) api_key: String,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    pub(crate) connections: usize,
    /// Seconds per listing.
    #[arg(long, default_value_t = 5)]
    pub(crate) secs: u64,
    /// Products to publish first.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) products: usize,
    /// Only the listings whose name contains this.
    #[arg(long)]
    pub(crate) only: Option<String>,
    /// A second server on the same store (e.g. with the catalogue cache on): each listing is
    /// measured on `--url` and then here, side by side.
    #[arg(long)]
    pub(crate) compare_url: Option<String>,
}

const TYPES: [(&str, &str); 3] = [
    ("Clothing", r#"{"brand": "Load", "size": "M"}"#),
    ("Electronics", r#"{"manufacturer": "Load", "model": "X1"}"#),
    ("Furniture", r#"{"brand": "Load", "material": "oak"}"#),
];
const WORDS: [&str; 12] = [
    "red", "blue", "café", "cotton", "tee", "teapot", "lamp", "sofa", "phone", "cable", "desk",
    "wool",
];

/// The category of product `i`: 3 roots, 3 children each, 2 leaves under each child.
fn category(i: usize) -> String {
    let root = ["Fashion", "Home", "Tech"][i % 3];
    let child = ["A", "B", "C"][(i / 3) % 3];
    match (i / 9) % 3 {
        0 => format!("{root}/{child}"),
        n => format!("{root}/{child}/{}", ["x", "y"][n - 1]),
    }
}

/// A small deterministic generator (xorshift), so runs publish the same catalogue.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

async fn seed(api: &Arc<Api>, args: &Browse) -> Result<Vec<Account>> {
    let mut shops = Vec::new();
    for _ in 0..10 {
        shops.push(api.signup("shop").await?);
    }
    let shops = Arc::new(shops);
    let workers = args.connections.max(1);
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (api, shops, products) = (api.clone(), shops.clone(), args.products);
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (w as u64 + 1));
            for i in (w..products).step_by(workers) {
                let (kind, attributes) = TYPES[i % 3];
                let name: Vec<&str> = (0..1 + rng.below(3))
                    .map(|_| WORDS[rng.below(WORDS.len())])
                    .collect();
                let shop = &shops[i % shops.len()];
                let body = json!({
                    "product_name": format!("{} {i}", name.join(" ")), "product_thumb": "p.png",
                    "product_description": WORDS[rng.below(WORDS.len())],
                    "product_price": format!("{}.{:02}", 1 + rng.below(500), rng.below(100)),
                    "product_quantity": 1 + rng.below(20), "product_type": kind,
                    "product_attributes": serde_json::from_str::<Value>(attributes)?,
                    "product_category": category(i),
                });
                let meta = api
                    .expect(
                        reqwest::Method::POST,
                        "/products",
                        Some(shop),
                        Some(body),
                        201,
                    )
                    .await?;
                let id = meta["_id"].as_str().context("product id")?;
                api.expect(
                    reqwest::Method::POST,
                    &format!("/products/publish/{id}"),
                    Some(shop),
                    None,
                    200,
                )
                .await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Arc::try_unwrap(shops).map_err(|_| anyhow::anyhow!("shops still shared"))
}

/// Runs `browse`.
pub(crate) async fn browse(args: Browse) -> Result<()> {
    let api = client(&args.url, &args)?;
    let other = args
        .compare_url
        .as_deref()
        .map(|url| client(url, &args))
        .transpose()?;
    let started = Instant::now();
    let shops = seed(&api, &args).await?;
    eprintln!(
        "browse: {} products published in {:.1} s",
        args.products,
        started.elapsed().as_secs_f64()
    );
    let shop = &shops[0].id;
    let listings: Vec<(&str, String)> = vec![
        ("all_newest", "/products/all".into()),
        ("all_price_asc", "/products/all?sort=price_asc".into()),
        ("all_price_desc", "/products/all?sort=price_desc".into()),
        ("all_best_selling", "/products/all?sort=best_selling".into()),
        ("category_root", "/products/all?category=Home".into()),
        ("category_leaf", "/products/all?category=Home/B/x".into()),
        ("shop", format!("/products/all?shop={shop}")),
        ("type", "/products/all?type=Electronics".into()),
        ("price_range", "/products/all?min_price=100&max_price=120".into()),
        ("in_stock", "/products/all?in_stock=true".into()),
        ("q_words_relevance", "/products/all?q=red%20cotton".into()),
        ("q_prefix", "/products/all?q=tea".into()),
        ("q_price_asc", "/products/all?q=lamp&sort=price_asc".into()),
        (
            "combined",
            format!("/products/all?category=Tech&shop={shop}&max_price=300&in_stock=true&sort=price_desc"),
        ),
        ("storefront_products", format!("/shops/{shop}/products")),
        ("facets_all", "/products/facets".into()),
        ("facets_category", "/products/facets?category=Fashion/A".into()),
        ("facets_q", "/products/facets?q=phone".into()),
        ("categories", "/categories".into()),
    ];
    match other {
        None => println!("| listing | matches | requests/s | p50 ms | p99 ms |\n|---|---:|---:|---:|---:|"),
        Some(_) => println!(
            "| listing | matches | A requests/s | A p50 ms | A p99 ms | B requests/s | B p50 ms | B p99 ms | B/A requests/s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        ),
    }
    let mut rows = Vec::new();
    for (name, path) in listings {
        if args
            .only
            .as_ref()
            .is_some_and(|o| !name.contains(o.as_str()))
        {
            continue;
        }
        let (matches, rate, latency) = measure(&api, &path, args.connections, args.secs).await?;
        let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        let mut row = json!({"listing": name, "path": path, "matches": matches,
            "per_s": rate, "p50_ms": ms(&latency, 0.5), "p99_ms": ms(&latency, 0.99)});
        let a = format!(
            "{rate:.0} | {:.1} | {:.1}",
            ms(&latency, 0.5),
            ms(&latency, 0.99)
        );
        match &other {
            None => println!("| `{name}` | {matches} | {a} |"),
            Some(b) => {
                let (_, b_rate, b_latency) = measure(b, &path, args.connections, args.secs).await?;
                println!(
                    "| `{name}` | {matches} | {a} | {b_rate:.0} | {:.1} | {:.1} | {:.1}x |",
                    ms(&b_latency, 0.5),
                    ms(&b_latency, 0.99),
                    b_rate / rate
                );
                row["b"] = json!({"per_s": b_rate, "p50_ms": ms(&b_latency, 0.5),
                    "p99_ms": ms(&b_latency, 0.99)});
            }
        }
        rows.push(row);
    }
    println!("summary {}", json!({"label": "browse", "rows": rows}));
    Ok(())
}

/// A client of the server at `url` (127.0.0.1 only).
fn client(url: &str, args: &Browse) -> Result<Arc<Api>> {
    let host = reqwest::Url::parse(url)?;
    if !matches!(host.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")) {
        bail!("ecom-load only sends traffic to 127.0.0.1");
    }
    Ok(Arc::new(Api {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(args.connections)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(60))
            .build()?,
        base: url.trim_end_matches('/').to_owned(),
        key: args.api_key.clone(),
    }))
}

/// Keeps `connections` GETs of `path` in flight for `secs`: (matches, requests/s, latency).
async fn measure(
    api: &Arc<Api>,
    path: &str,
    connections: usize,
    secs: u64,
) -> Result<(String, f64, Histogram<u64>)> {
    let (status, first, total) = get(api, path).await?;
    if status != 200 {
        bail!("{path}: {status}: {first}");
    }
    let matches = total
        .clone()
        .unwrap_or_else(|| match &first["metadata"]["total"] {
            Value::Number(n) => n.to_string(),
            _ => "-".into(),
        });
    let end = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (api, path, total) = (api.clone(), path.to_owned(), total.clone());
        tasks.push(tokio::spawn(async move {
            let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            while Instant::now() < end {
                let sent = Instant::now();
                let (status, body, seen) = get(&api, &path).await?;
                if status != 200 || seen != total {
                    bail!("{path}: {status}, total {seen:?} (first {total:?}): {body}");
                }
                let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                latency.record(micros.max(1))?;
            }
            anyhow::Ok(latency)
        }));
    }
    let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for task in tasks {
        all.add(&task.await??)?;
    }
    let rate = all.len() as f64 / secs as f64;
    Ok((matches, rate, all))
}

/// GET `path` (under `/v1/api`): status, body and `x-total-count`.
async fn get(api: &Api, path: &str) -> Result<(u16, Value, Option<String>)> {
    let response = api
        .client
        .get(format!("{}/v1/api{path}", api.base))
        .header("x-api-key", &api.key)
        .send()
        .await?;
    let status = response.status().as_u16();
    let total = response
        .headers()
        .get("x-total-count")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, body, total))
}
