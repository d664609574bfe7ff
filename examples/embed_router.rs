//! ecom's REST API inside an axum application of your own: the app keeps its routes, its state
//! and its middleware, and mounts ecom's router under `/shop`. The example serves on a free
//! port, calls one route of each, prints the answers and stops.
//!
//! `cargo run --example embed_router --features http`

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use ecom::core::api_key::Permission;
use ecom::http::{router, AppState};
use ecom::{memory, Ecom, EcomConfig, Secret};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The application's own state.
#[derive(Clone, Default)]
struct Visits(Arc<AtomicU64>);

async fn hello(State(visits): State<Visits>) -> String {
    let n = visits.0.fetch_add(1, Ordering::Relaxed) + 1;
    format!("hello from the app, visit {n}")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ecom = Ecom::new(memory::backend(), EcomConfig::new(Secret::random()));
    let key = ecom.api_keys.create(vec![Permission::P0000]).await?;
    let app = Router::new()
        .route("/", get(hello))
        .with_state(Visits::default())
        .nest_service("/shop", router(AppState::new(ecom)))
        .layer(tower_http::trace::TraceLayer::new_for_http());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::new();
    let own = client.get(format!("{base}/")).send().await?;
    println!("GET / -> {} {}", own.status(), own.text().await?);
    let products = client
        .get(format!("{base}/shop/v1/api/products/all"))
        .header("x-api-key", &key.key)
        .send()
        .await?;
    let status = products.status();
    println!(
        "GET /shop/v1/api/products/all -> {status} {}",
        products.text().await?
    );
    server.abort();
    assert!(status.is_success(), "ecom answers under /shop");
    Ok(())
}
