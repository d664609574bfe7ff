//! `ecom-load receive`: a webhook receiver for benchmarks, on 127.0.0.1. It answers every
//! delivery 200 at once and counts them (by event type, and distinct `webhook-id`s); `GET
//! /stats` reports the counts and when the first and the last delivery arrived.

use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Options of `receive`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Receive {
    /// The port to listen on (127.0.0.1).
    #[arg(long)]
    port: u16,
}

#[derive(Default)]
struct Counts {
    deliveries: u64,
    ids: HashSet<String>,
    by_type: BTreeMap<String, u64>,
    first: Option<Instant>,
    last: Option<Instant>,
}

type Shared = Arc<(Instant, Mutex<Counts>)>;

async fn take(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let kind = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["type"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "unreadable".to_owned());
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let now = Instant::now();
    let mut counts = shared.1.lock().unwrap_or_else(|p| p.into_inner());
    counts.deliveries += 1;
    if counts.ids.insert(id) {
        *counts.by_type.entry(kind).or_default() += 1;
    }
    counts.first.get_or_insert(now);
    counts.last = Some(now);
    StatusCode::OK
}

async fn stats(State(shared): State<Shared>) -> Json<Value> {
    let (started, counts) = &*shared;
    let counts = counts.lock().unwrap_or_else(|p| p.into_inner());
    let ms = |at: Option<Instant>| at.map(|at| at.duration_since(*started).as_millis() as u64);
    Json(json!({
        "deliveries": counts.deliveries,
        "distinct": counts.ids.len(),
        "by_type": counts.by_type,
        "first_ms": ms(counts.first),
        "last_ms": ms(counts.last),
        "now_ms": started.elapsed().as_millis() as u64,
    }))
}

/// Serves until killed.
pub(crate) async fn receive(args: Receive) -> Result<()> {
    let shared: Shared = Arc::new((Instant::now(), Mutex::new(Counts::default())));
    let app = axum::Router::new()
        .route("/stats", axum::routing::get(stats))
        .fallback(take)
        .with_state(shared);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .context("cannot listen")?;
    println!("receiving on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await.context("receiver failed")
}
