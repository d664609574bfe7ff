//! `ecom-load browse`: the public catalogue under load. It publishes `--products` products
//! (10 shops, 30 categories, 3 product types, random prices and names) through the API, or
//! with `--seed-mongo-uri` writes them straight into the store through ecom's own MongoDB
//! adapter (`MongoProducts::insert`, `MongoInventory::insert`: the documents the server
//! writes, at thousands per second), then for each listing (`/products/all` with each filter
//! and each sort, `/products/facets`, `/categories`) keeps `--connections` requests in flight
//! for `--secs` seconds and prints requests per second and p50/p99 latency. Every answer must
//! be a 200 whose `x-total-count` (for listings) matches the first answer of that listing.
//!
//! With `--under-writes`, a second pass measures each listing again while shops edit
//! `--edits-per-sec` products per second (a price change each, through the API) and a flash
//! sale places orders on one product from 8 connections; its listings' totals are not
//! checked (they move).

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
    /// Write the products straight into this MongoDB (the servers' store) instead of
    /// publishing them through the API.
    #[arg(long)]
    pub(crate) seed_mongo_uri: Option<String>,
    /// The servers' database, with `--seed-mongo-uri`.
    #[arg(long, default_value = "ecom")]
    pub(crate) seed_mongo_db: String,
    /// Measure every listing a second time under writes (edits and a flash sale).
    #[arg(long)]
    pub(crate) under_writes: bool,
    /// Product edits per second during the pass under writes.
    #[arg(long, default_value_t = 10)]
    pub(crate) edits_per_sec: u32,
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
    /// The generator of seeding worker `w`.
    fn of_worker(w: usize) -> Self {
        Rng(0x9e37_79b9_7f4a_7c15 ^ (w as u64 + 1))
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Product `i` of the generated catalogue, the same through the API and the store.
struct Generated {
    name: String,
    description: String,
    kind: String,
    attributes: serde_json::Map<String, Value>,
    category: String,
    price_minor: i64,
    /// Units in stock, 0 to 20.
    stock: u32,
}

impl Generated {
    fn new(i: usize, rng: &mut Rng) -> Result<Self> {
        let (kind, attributes) = TYPES[i % 3];
        let name: Vec<&str> = (0..1 + rng.below(3))
            .map(|_| WORDS[rng.below(WORDS.len())])
            .collect();
        Ok(Generated {
            name: format!("{} {i}", name.join(" ")),
            description: WORDS[rng.below(WORDS.len())].to_owned(),
            kind: kind.to_owned(),
            attributes: serde_json::from_str(attributes)?,
            category: category(i),
            price_minor: (1 + rng.below(500) as i64) * 100 + rng.below(100) as i64,
            stock: rng.below(21) as u32,
        })
    }
}

/// The products: each shop with the ids of its products.
type Seeded = Vec<(Account, Vec<String>)>;

async fn seed(api: &Arc<Api>, args: &Browse) -> Result<Seeded> {
    let mut shops = Vec::new();
    for _ in 0..10 {
        shops.push(api.signup("shop").await?);
    }
    if let Some(uri) = &args.seed_mongo_uri {
        return seed_store(shops, uri, args).await;
    }
    let shops = Arc::new(shops);
    let workers = args.connections.max(1);
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (api, shops, products) = (api.clone(), shops.clone(), args.products);
        tasks.push(tokio::spawn(async move {
            let mut made: Vec<(usize, String)> = Vec::new();
            let mut rng = Rng::of_worker(w);
            for i in (w..products).step_by(workers) {
                let g = Generated::new(i, &mut rng)?;
                let shop = &shops[i % shops.len()];
                let body = json!({
                    "product_name": g.name, "product_thumb": "p.png",
                    "product_description": g.description,
                    "product_price": format!("{}.{:02}", g.price_minor / 100, g.price_minor % 100),
                    "product_quantity": g.stock, "product_type": g.kind,
                    "product_attributes": g.attributes,
                    "product_category": g.category,
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
                api.publish(shop, id).await?;
                made.push((i % shops.len(), id.to_owned()));
            }
            anyhow::Ok(made)
        }));
    }
    let mut ids: Vec<Vec<String>> = vec![Vec::new(); shops.len()];
    for task in tasks {
        for (shop, id) in task.await?? {
            ids[shop].push(id);
        }
    }
    let shops = Arc::try_unwrap(shops).map_err(|_| anyhow::anyhow!("shops still shared"))?;
    Ok(shops.into_iter().zip(ids).collect())
}

/// Writes `args.products` products and their stock records straight into the store through
/// ecom's MongoDB adapter, spread over `shops` (as the API would have made them: published,
/// search terms of name and description, units sold recorded on both).
async fn seed_store(shops: Vec<Account>, uri: &str, args: &Browse) -> Result<Seeded> {
    use ecom_core::inventory::{Inventory, InventoryRepo};
    use ecom_core::product::{Product, ProductRepo};
    use ecom_core::{id::ProductId, id::ShopId, money::Currency, Money};
    let client = mongodb::Client::with_uri_str(uri).await?;
    let db = client.database(&args.seed_mongo_db);
    let products = Arc::new(ecom_mongo::MongoProducts::new(&db));
    let inventory = Arc::new(ecom_mongo::MongoInventory::new(&db));
    let shop_ids: Arc<Vec<ShopId>> = Arc::new(
        shops
            .iter()
            .map(|s| ShopId::parse(&s.id))
            .collect::<ecom_core::Result<_>>()?,
    );
    let now = chrono::Utc::now();
    let workers = 32;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (products, inventory, shop_ids, total) = (
            products.clone(),
            inventory.clone(),
            shop_ids.clone(),
            args.products,
        );
        tasks.push(tokio::spawn(async move {
            let mut made: Vec<(usize, String)> = Vec::new();
            let mut rng = Rng::of_worker(w);
            for i in (w..total).step_by(workers) {
                let Generated {
                    name,
                    description,
                    kind,
                    attributes,
                    category,
                    price_minor,
                    stock,
                } = Generated::new(i, &mut rng)?;
                let shop = i % shop_ids.len();
                let stock = u64::from(stock);
                let sold = rng.below(50) as u64;
                let created_at = now - chrono::Duration::milliseconds((total - i) as i64);
                let product = Product {
                    id: ProductId::generate(),
                    shop_id: shop_ids[shop].clone(),
                    slug: name.replace(' ', "-"),
                    search_terms: ecom_core::search::tokens(&format!("{name} {description}")),
                    name,
                    thumb: "p.png".into(),
                    description,
                    price: Money::new(price_minor, Currency::USD),
                    quantity: u32::try_from(stock)?,
                    kind,
                    attributes,
                    rating: 4.5,
                    variations: Vec::new(),
                    models: Vec::new(),
                    category: Some(category),
                    sold,
                    in_stock: stock > 0,
                    low_stock: stock > 0 && stock <= 5,
                    low_stock_threshold: 5,
                    is_draft: false,
                    is_published: true,
                    version: 0,
                    created_at,
                    // Stamped now: servers already running take them in with their next poll.
                    updated_at: now,
                };
                inventory
                    .insert(&Inventory {
                        model_of: None,
                        product_id: product.id.clone(),
                        shop_id: product.shop_id.clone(),
                        location: String::new(),
                        stock,
                        sold,
                        damaged: 0,
                        reservations: Vec::new(),
                        retired: false,
                        created_at,
                        updated_at: now,
                    })
                    .await?;
                products.insert(&product).await?;
                made.push((shop, product.id.to_string()));
            }
            anyhow::Ok(made)
        }));
    }
    let mut ids: Vec<Vec<String>> = vec![Vec::new(); shops.len()];
    for task in tasks {
        for (shop, id) in task.await?? {
            ids[shop].push(id);
        }
    }
    Ok(shops.into_iter().zip(ids).collect())
}

/// Background writes for the pass under writes: `edits_per_sec` price changes of random
/// products of random shops, and a flash sale on one product of 1,000,000 units from 8
/// connections. Stops when `stop` is set; returns (edits, orders placed).
fn start_writes(
    api: Arc<Api>,
    shops: Arc<Seeded>,
    hot: (Account, String),
    customer: Account,
    edits_per_sec: u32,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Result<u64>>> {
    use std::sync::atomic::Ordering;
    let mut tasks = Vec::new();
    {
        let (api, shops, stop) = (api.clone(), shops.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x5eed);
            let mut every = tokio::time::interval(Duration::from_secs_f64(
                1.0 / f64::from(edits_per_sec.max(1)),
            ));
            let mut edits = 0;
            while !stop.load(Ordering::SeqCst) {
                every.tick().await;
                let (shop, ids) = &shops[rng.below(shops.len())];
                if ids.is_empty() {
                    continue;
                }
                let id = &ids[rng.below(ids.len())];
                let price = format!("{}.{:02}", 1 + rng.below(500), rng.below(100));
                // An edit the loaded server times out is not counted; the run goes on.
                let (status, _) = api
                    .call(
                        reqwest::Method::PATCH,
                        &format!("/products/{id}"),
                        Some(shop),
                        Some(json!({ "product_price": price })),
                        &[],
                    )
                    .await?;
                if status.as_u16() == 200 {
                    edits += 1;
                }
            }
            anyhow::Ok(edits)
        }));
    }
    for _ in 0..8 {
        let (api, stop, customer, hot) = (api.clone(), stop.clone(), customer.clone(), hot.clone());
        tasks.push(tokio::spawn(async move {
            let mut placed = 0;
            while !stop.load(Ordering::SeqCst) {
                let status = api
                    .order_one(&customer, &hot.0.id, json!({"productId": hot.1}))
                    .await?;
                if status.as_u16() == 201 {
                    placed += 1;
                }
            }
            anyhow::Ok(placed)
        }));
    }
    tasks
}

/// A product of `shop` with 1,000,000 units, published: the flash sale's.
async fn hot_product(api: &Api, shop: &Account) -> Result<String> {
    let meta = api
        .expect(
            reqwest::Method::POST,
            "/products",
            Some(shop),
            Some(json!({
                "product_name": "Flash tee", "product_thumb": "p.png",
                "product_price": "9.99", "product_quantity": 1_000_000,
                "product_type": "Clothing",
                "product_attributes": {"brand": "Load", "size": "M"},
                "product_category": "Fashion/A",
            })),
            201,
        )
        .await?;
    let id = meta["_id"].as_str().context("product id")?.to_owned();
    api.publish(shop, &id).await?;
    Ok(id)
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
    if args.seed_mongo_uri.is_some() {
        // Let read models past the seed: their polls reach 3 s back.
        tokio::time::sleep(Duration::from_secs(4)).await;
    }
    let shop = &shops[0].0.id;
    // Half-way down the newest listing, by page number and by the cursor of the page before.
    let deep = (args.products / 2 / 50).max(2);
    let cursor = next_cursor(&api, &format!("/products/all?page={}", deep - 1)).await?;
    let listings: Vec<(&str, String)> = vec![
        ("all_newest", "/products/all".into()),
        ("deep_page", format!("/products/all?page={deep}")),
        ("deep_cursor", format!("/products/all?after={cursor}")),
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
    let mut rows = measure_all(&api, other.as_ref(), &listings, &args, true).await?;
    if args.under_writes {
        let hot = hot_product(&api, &shops[0].0).await?;
        let customer = api.signup("user").await?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writers = start_writes(
            api.clone(),
            Arc::new(shops.clone()),
            (shops[0].0.clone(), hot),
            customer,
            args.edits_per_sec,
            stop.clone(),
        );
        println!(
            "\nunder writes: {} product edits/s and a flash sale (8 connections) meanwhile\n",
            args.edits_per_sec
        );
        let started = Instant::now();
        let under = measure_all(&api, other.as_ref(), &listings, &args, false).await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut written = Vec::new();
        for task in writers {
            written.push(task.await??);
        }
        let secs = started.elapsed().as_secs_f64();
        let orders: u64 = written.iter().skip(1).sum();
        println!(
            "\nwrites meanwhile: {:.1} edits/s, {:.0} orders/s",
            written.first().copied().unwrap_or(0) as f64 / secs,
            orders as f64 / secs
        );
        for mut row in under? {
            row["under_writes"] = json!(true);
            rows.push(row);
        }
    }
    println!("summary {}", json!({"label": "browse", "rows": rows}));
    Ok(())
}

/// Measures every listing (on `api`, then on `other` if any) and prints a table; with
/// `exact`, every answer's total must equal the first one's.
async fn measure_all(
    api: &Arc<Api>,
    other: Option<&Arc<Api>>,
    listings: &[(&str, String)],
    args: &Browse,
    exact: bool,
) -> Result<Vec<Value>> {
    match other {
        None => println!("| listing | matches | requests/s | p50 ms | p99 ms |\n|---|---:|---:|---:|---:|"),
        Some(_) => println!(
            "| listing | matches | A requests/s | A p50 ms | A p99 ms | B requests/s | B p50 ms | B p99 ms | B/A requests/s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        ),
    }
    let mut rows = Vec::new();
    for (name, path) in listings {
        let (name, path) = (*name, path.as_str());
        if args
            .only
            .as_ref()
            .is_some_and(|o| !name.contains(o.as_str()))
        {
            continue;
        }
        let (matches, rate, latency) =
            measure(api, path, args.connections, args.secs, exact).await?;
        let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        let mut row = json!({"listing": name, "path": path, "matches": matches,
            "per_s": rate, "p50_ms": ms(&latency, 0.5), "p99_ms": ms(&latency, 0.99)});
        let a = format!(
            "{rate:.0} | {:.1} | {:.1}",
            ms(&latency, 0.5),
            ms(&latency, 0.99)
        );
        match other {
            None => println!("| `{name}` | {matches} | {a} |"),
            Some(b) => {
                let (_, b_rate, b_latency) =
                    measure(b, path, args.connections, args.secs, exact).await?;
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
    Ok(rows)
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
    exact: bool,
) -> Result<(String, f64, Histogram<u64>)> {
    let (status, first, total) = get(api, path).await?;
    if status != 200 && exact {
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
                if exact && (status != 200 || seen != total) {
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

/// GET `path` (under `/v1/api`).
async fn send(api: &Api, path: &str) -> Result<reqwest::Response> {
    Ok(api
        .client
        .get(format!("{}/v1/api{path}", api.base))
        .header("x-api-key", &api.key)
        .send()
        .await?)
}

/// The header `name` of `response`, if any.
fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The `x-next-cursor` of the page at `path`.
async fn next_cursor(api: &Api, path: &str) -> Result<String> {
    let response = send(api, path).await?;
    header(&response, "x-next-cursor")
        .ok_or_else(|| anyhow::anyhow!("{path}: no x-next-cursor ({})", response.status()))
}

/// GET `path` (under `/v1/api`): status, body and `x-total-count`.
async fn get(api: &Api, path: &str) -> Result<(u16, Value, Option<String>)> {
    let response = send(api, path).await?;
    let status = response.status().as_u16();
    let total = header(&response, "x-total-count");
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, body, total))
}
