//! Running the server: backend selection, bootstrap API keys, the listener loop, graceful
//! shutdown.

use crate::config::Config;
use crate::routes::router;
use crate::state::AppState;
use anyhow::{bail, Context};
use ecom_core::api_key::Permission;
use ecom_core::{memory, Backend, Ecom};
use secrecy::ExposeSecret;
use std::future::Future;
use tokio::net::TcpListener;

/// Builds the backend the configuration names: memory without `ECOM_MONGO_URI`, else MongoDB
/// (feature `mongo`; indexes ensured at connect); with `ECOM_REDIS_URL` (feature `redis`) the
/// stock lock and gate are Redis's. A setting whose feature is not built in is an error.
pub async fn backend(config: &Config) -> anyhow::Result<Backend> {
    let backend = match &config.mongo_uri {
        None => memory::backend(),
        Some(uri) => {
            if config.secret.is_none() {
                bail!("ECOM_SECRET is required with ECOM_MONGO_URI (stored API keys are HMACs under it)");
            }
            tracing::info!(uri = %uri, db = %config.mongo_db, "store: MongoDB");
            mongo_backend(uri.expose(), &config.mongo_db).await?
        }
    };
    match &config.redis_url {
        None => Ok(backend),
        Some(url) => {
            tracing::info!(url = %url, prefix = %config.redis_prefix, "lock and stock gate: Redis");
            redis_backend(backend, url.expose(), &config.redis_prefix).await
        }
    }
}

#[cfg(feature = "mongo")]
async fn mongo_backend(uri: &str, db: &str) -> anyhow::Result<Backend> {
    ecom_mongo::connect(uri, db)
        .await
        .with_context(|| format!("cannot use MongoDB database {db:?}"))
}

#[cfg(not(feature = "mongo"))]
async fn mongo_backend(_uri: &str, _db: &str) -> anyhow::Result<Backend> {
    bail!("ECOM_MONGO_URI is set, but ecom-http was built without its `mongo` feature")
}

#[cfg(feature = "redis")]
async fn redis_backend(backend: Backend, url: &str, prefix: &str) -> anyhow::Result<Backend> {
    let lock = ecom_redis::RedisLock::connect(url, prefix)
        .await
        .context("cannot use Redis (ECOM_REDIS_URL)")?;
    let gate = ecom_redis::RedisStockGate::connect(url, prefix)
        .await
        .context("cannot use Redis (ECOM_REDIS_URL)")?;
    Ok(backend
        .with_lock(std::sync::Arc::new(lock))
        .with_gate(std::sync::Arc::new(gate)))
}

#[cfg(not(feature = "redis"))]
async fn redis_backend(_backend: Backend, _url: &str, _prefix: &str) -> anyhow::Result<Backend> {
    bail!("ECOM_REDIS_URL is set, but ecom-http was built without its `redis` feature")
}

/// Ecom's services as `config` describes them.
pub async fn build_ecom(config: &Config) -> anyhow::Result<Ecom> {
    Ok(Ecom::new(backend(config).await?, config.ecom_config()?))
}

/// Runs the server described by `config` on `listener` until `shutdown` completes, then lets
/// in-flight requests finish.
///
/// Prints `listening on http://ADDR` and, on the memory backend without a bootstrap key, a
/// development API key (permission `0000`) as `api key: KEY`, each on its own line on stdout.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let ecom = build_ecom(&config).await?;
    if config.bootstrap_api_key.is_none() && config.mongo_uri.is_none() {
        let key = ecom
            .api_keys
            .create(vec![Permission::P0000])
            .await
            .context("cannot create the development API key")?;
        println!("api key: {}", key.key);
    }
    println!("listening on http://{}", listener.local_addr()?);
    serve_ecom(ecom, &config, listener, shutdown).await
}

/// Runs the API over an [`Ecom`] built by the caller (any backend, any clock), with the HTTP
/// settings and bootstrap key of `config`, until `shutdown` completes.
pub async fn serve_ecom(
    ecom: Ecom,
    config: &Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if let Some(key) = &config.bootstrap_api_key {
        ecom.api_keys
            .ensure(key.expose_secret(), vec![Permission::P0000])
            .await
            .context("cannot ensure ECOM_BOOTSTRAP_API_KEY")?;
    }
    for declared in &config.webhook_endpoints {
        let endpoint = ecom
            .webhooks
            .ensure_platform(declared.endpoint.clone(), declared.secret.expose_secret())
            .await
            .with_context(|| {
                format!(
                    "cannot ensure the webhook endpoint {}",
                    declared.endpoint.url
                )
            })?;
        tracing::info!(id = %endpoint.id, url = %endpoint.url, enabled = endpoint.enabled, "platform webhook endpoint");
    }
    // Load the catalogue's read model while the listener comes up (requests that arrive
    // first wait for the same load).
    let catalogue = ecom.catalogue.clone();
    tokio::spawn(async move {
        if let Err(e) = catalogue.warm().await {
            tracing::warn!(error = %e, "loading the catalogue's read model failed; the first request retries");
        }
    });
    let state = AppState::with_http(ecom, config.http.clone());
    let metrics = state.metrics.clone();
    let limits = state.limits.clone();
    let upkeep = tokio::spawn(async move {
        let mut every = tokio::time::interval(crate::metrics::Metrics::UPKEEP_EVERY);
        loop {
            every.tick().await;
            metrics.upkeep();
            limits.forget_idle();
        }
    });
    let recovery = tokio::spawn(recover_checkouts(
        Ecom::clone(&state.ecom),
        state.metrics.clone(),
        config.recovery_every,
    ));
    let relay = tokio::spawn(relay_events(
        Ecom::clone(&state.ecom),
        state.metrics.clone(),
        config.event_relay_every,
    ));
    let webhooks = tokio::spawn(deliver_webhooks(
        Ecom::clone(&state.ecom),
        state.metrics.clone(),
        config.event_relay_every,
        config.webhook_yield_lag,
    ));
    let payments = tokio::spawn(sweep_payments(
        Ecom::clone(&state.ecom),
        config.payment_sweep_every(),
    ));
    let ecom = state.ecom.clone();
    tracing::info!(addr = %listener.local_addr()?, "ecom-server listening");
    let served = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    upkeep.abort();
    recovery.abort();
    payments.abort();
    relay.abort();
    webhooks.abort();
    // Placed orders settle their holds in the background; let them finish (recovery would,
    // after the lease, if this process stopped first).
    if tokio::time::timeout(SETTLE_ON_SHUTDOWN, ecom.checkout.flush())
        .await
        .is_err()
    {
        tracing::warn!("stopping with holds of placed orders unsettled; recovery will settle them");
    }
    // Move what waits into the log now rather than leave it to the next server's relay.
    match tokio::time::timeout(SETTLE_ON_SHUTDOWN, ecom.events.relay_all(RELAY_PASSES)).await {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => tracing::warn!(error = ?err, "relaying events on shutdown failed"),
        Err(_) => {
            tracing::warn!("stopping with events still in outboxes; the next relay moves them")
        }
    }
    served.context("server failed")?;
    tracing::info!("ecom-server stopped");
    Ok(())
}

/// Most relay passes per tick (each moves up to a batch per kind of document).
const RELAY_PASSES: u32 = 20;

/// Every `period`, moves the events waiting in outboxes into the log and feeds the sinks
/// ([`ecom_core::service::EventService`]); safe with any number of servers on one database.
async fn relay_events(ecom: Ecom, metrics: crate::metrics::Metrics, period: std::time::Duration) {
    let mut every = tokio::time::interval(period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(err) = ecom.events.relay_all(RELAY_PASSES).await {
            tracing::warn!(error = ?err, "relaying events failed");
        }
        if let Err(err) = ecom.events.feed_sinks().await {
            tracing::warn!(error = ?err, "feeding event sinks failed");
        }
        metrics.record_events(&ecom.events.moved_counts());
        metrics.record_returns(&ecom.returns.stats());
    }
}

/// Most dispatch passes per tick (each reads up to a batch of the log).
const DISPATCH_PASSES: u32 = 20;

/// Most delivery loops per server: each claims what is due (within the webhook settings'
/// bounds on deliveries in flight, per endpoint and per process), attempts it, and goes on
/// while there was some, so a slow receiver holds up only the loop that holds its deliveries.
const DELIVERY_LOOPS: usize = 4;

/// While deliveries yield to requests, one claim per this period.
const YIELDING_CLAIM_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// When webhook deliveries yield to the requests being served: while any are, and delivery
/// runs less than `yield_lag` behind (the age of the oldest delivery the last claim took), a
/// server claims once a second instead of as fast as it can, so a flash sale's checkouts go
/// first and their notifications catch up after, never more than about `yield_lag` late.
#[derive(Debug)]
struct Yielding {
    metrics: crate::metrics::Metrics,
    yield_lag: std::time::Duration,
    /// How far behind the last claim found delivery, in milliseconds.
    lag_ms: std::sync::atomic::AtomicU64,
}

impl Yielding {
    fn now(&self) -> bool {
        let lag = std::time::Duration::from_millis(
            self.lag_ms.load(std::sync::atomic::Ordering::Relaxed),
        );
        !self.yield_lag.is_zero() && lag < self.yield_lag && self.metrics.requests_in_flight() > 0
    }

    /// Records how far behind a claim at `now` found delivery.
    fn claimed(
        &self,
        report: &ecom_core::service::DeliverReport,
        now: ecom_core::clock::Timestamp,
    ) {
        let lag = report
            .oldest
            .and_then(|oldest| (now - oldest).to_std().ok())
            .unwrap_or_default();
        self.lag_ms.store(
            u64::try_from(lag.as_millis()).unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
        self.metrics.record_webhook_lag(lag);
    }
}

/// Every `period`, makes the deliveries of newly logged events to the endpoints that want
/// them, and starts a delivery loop if fewer than [`DELIVERY_LOOPS`] run (an idle server
/// claims once per period), or, while deliveries yield to requests ([`Yielding`]), one claim a
/// second. Safe with any number of servers on one database: deliveries are made once and
/// claimed under a lease.
async fn deliver_webhooks(
    ecom: Ecom,
    metrics: crate::metrics::Metrics,
    period: std::time::Duration,
    yield_lag: std::time::Duration,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let worker = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let running = std::sync::Arc::new(AtomicUsize::new(0));
    let yielding = std::sync::Arc::new(Yielding {
        metrics: metrics.clone(),
        yield_lag,
        lag_ms: Default::default(),
    });
    let mut yielded_at: Option<std::time::Instant> = None;
    let mut every = tokio::time::interval(period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(err) = ecom.webhooks.dispatch_all(DISPATCH_PASSES).await {
            tracing::warn!(error = ?err, "dispatching events to webhooks failed");
        }
        let yield_now = yielding.now();
        let loops = match yielded_at {
            Some(at) if yield_now && at.elapsed() < YIELDING_CLAIM_EVERY => 0,
            _ if yield_now => 1,
            _ => DELIVERY_LOOPS,
        };
        let start = running.fetch_add(1, Ordering::SeqCst) < loops;
        if start && yield_now {
            yielded_at = Some(std::time::Instant::now());
        }
        if start {
            let (ecom, worker, running, yielding) = (
                ecom.clone(),
                worker.clone(),
                running.clone(),
                yielding.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let now = ecom.backend().clock.now();
                    match ecom.webhooks.deliver_due(now, &worker).await {
                        Ok(report) => {
                            yielding.claimed(&report, now);
                            if report.attempted == 0 || yielding.now() {
                                break;
                            }
                        }
                        Err(err) => {
                            tracing::warn!(error = ?err, "delivering webhooks failed");
                            break;
                        }
                    }
                }
                running.fetch_sub(1, Ordering::SeqCst);
            });
        } else {
            running.fetch_sub(1, Ordering::SeqCst);
        }
        metrics.record_webhooks(&ecom.webhooks.stats());
    }
}

/// Orders handled per payment sweep batch.
const SWEEP_BATCH: u32 = 100;

/// Every `period`, cancels unpaid online orders past their expiry and asks providers for the
/// refunds due ([`ecom_core::service::PaymentService::sweep`]), and acts on the returns nobody
/// answered in time ([`ecom_core::service::ReturnService::sweep`]); safe with any number of
/// servers on one database.
async fn sweep_payments(ecom: Ecom, period: std::time::Duration) {
    let mut every = tokio::time::interval(period);
    loop {
        every.tick().await;
        match ecom.returns.sweep().await {
            Ok(report) if report != Default::default() => tracing::info!(?report, "return sweep"),
            Ok(_) => {}
            Err(err) => tracing::warn!(error = ?err, "return sweep failed"),
        }
        loop {
            match ecom.payments.sweep(SWEEP_BATCH).await {
                Ok(report) => {
                    if report != Default::default() {
                        tracing::info!(?report, "payment sweep");
                    }
                    // A full batch may leave more due: go on at once.
                    if report.expired + report.refunds_requested < SWEEP_BATCH {
                        break;
                    }
                }
                Err(err) => {
                    tracing::warn!(error = ?err, "payment sweep failed");
                    break;
                }
            }
        }
    }
}

/// How long a stopping server waits for placed orders to settle their holds.
const SETTLE_ON_SHUTDOWN: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs `recover_stale_checkouts` every `period`, for checkouts a crashed process (this one or
/// another on the same database) left half-way.
async fn recover_checkouts(
    ecom: Ecom,
    metrics: crate::metrics::Metrics,
    period: std::time::Duration,
) {
    let mut every = tokio::time::interval(period);
    loop {
        every.tick().await;
        let now = ecom.backend().clock.now();
        match ecom.checkout.recover_stale_checkouts(now).await {
            Ok(report) if report != Default::default() => {
                tracing::info!(?report, "recovered stale checkouts");
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = ?err, "checkout recovery failed"),
        }
        metrics.record_recovery_failures(ecom.checkout.recovery_failures());
        match ecom.inventory.reconcile_gate().await {
            Ok(report) if report.corrected > 0 || report.busy > 0 => {
                tracing::info!(?report, "reconciled the stock gate with the store");
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = ?err, "reconciling the stock gate failed"),
        }
        if let Err(err) = ecom.auth.sweep_expired_sessions(now).await {
            tracing::warn!(error = ?err, "sweeping expired sessions failed");
        }
        if let Err(err) = ecom.events.purge(now - ecom_core::event::RETENTION).await {
            tracing::warn!(error = ?err, "removing events past their retention failed");
        }
        if let Err(err) = ecom.webhooks.purge().await {
            tracing::warn!(error = ?err, "removing finished webhook deliveries failed");
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
