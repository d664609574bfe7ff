use crate::kind::ProductKindRegistry;
use crate::money::Currency;
use crate::payment::PaymentProviders;
use crate::secret::Secret;
use crate::service::checkout::strategy::CheckoutStrategy;
use crate::service::events::EventSink;
use crate::service::webhooks::WebhookSettings;
use chrono::Duration;
use std::sync::Arc;
use std::time::Duration as StdDuration;

/// Settings of the checkout saga.
#[derive(Clone, Debug)]
pub struct CheckoutSettings {
    /// How stock is reserved.
    pub strategy: CheckoutStrategy,
    /// Shipping fee per order, in minor units of the configured currency (default 0).
    pub fee_ship_minor: i64,
    /// How long a checkout may hold stock and code uses before recovery settles or gives them
    /// back, and how long a return claim lasts before recovery takes it over (default 30 s).
    pub lease: Duration,
    /// TTL of a stock lock (default 5 s).
    pub lock_ttl: StdDuration,
    /// Longest wait for a stock lock (default 10 s).
    pub lock_wait: StdDuration,
    /// With the gate strategy, how often at most this process checks the store when the gate
    /// refuses a product, to heal a gate that counts too low (default 1 s per product).
    pub gate_heal_every: StdDuration,
}

impl Default for CheckoutSettings {
    fn default() -> Self {
        CheckoutSettings {
            strategy: CheckoutStrategy::Atomic,
            fee_ship_minor: 0,
            lease: Duration::seconds(30),
            lock_ttl: StdDuration::from_secs(5),
            lock_wait: StdDuration::from_secs(10),
            gate_heal_every: StdDuration::from_secs(1),
        }
    }
}

/// Settings of the services. `Debug` never shows secrets.
#[derive(Clone, Debug)]
pub struct EcomConfig {
    /// Currency of all prices.
    pub currency: Currency,
    /// Lifetime of access tokens (default 15 minutes).
    pub access_token_ttl: Duration,
    /// Lifetime of refresh tokens and of a session without refresh (default 7 days).
    pub refresh_token_ttl: Duration,
    /// Key of the HMAC under which API keys are stored.
    pub api_key_secret: Secret,
    /// The registered product kinds.
    pub kinds: ProductKindRegistry,
    /// The registered payment methods (cash on delivery by default; add
    /// [`SignedWebhook`](crate::payment::SignedWebhook) or your own provider).
    pub payments: PaymentProviders,
    /// The checkout saga's settings.
    pub checkout: CheckoutSettings,
    /// Whether concurrent store calls of one kind in this process coalesce into batches (group
    /// commit): reservations and settlements per product, order inserts, cart cleanups, and the
    /// reads of products, sessions and API keys (default true). A batch of one is the plain
    /// call, so nothing waits when there is no contention; every caller keeps its own outcome.
    /// Under the lock strategy every reservation is its own write anyway.
    pub group_commit: bool,
    /// How long answers of the public catalogue (listings with their counts, facets, the
    /// category tree) may be served from memory (default zero: never). With a period, a rush
    /// on one listing costs the store one query per period; product writes through this
    /// process show at once, sales and stock changes (units sold, the in-stock filter) and
    /// other processes' writes within the period. Stock itself is never read from it.
    pub catalogue_cache: std::time::Duration,
    /// Whether the public catalogue answers from an in-process read model of the published
    /// products (default true): listings, counts, facets, the tree and search without a store
    /// query, kept up with every process's writes within
    /// [`STALENESS`](crate::service::read_model::STALENESS) (plus one poll's time under a
    /// slow store, at most [`MAX_LAG`](crate::service::read_model::MAX_LAG)) and with this
    /// process's own at once (see [`read_model`](crate::service::read_model)).
    /// Off: every answer is a store query.
    pub catalogue_index: bool,
    /// Free stock at or below which a product is low on stock (`stock.low`), unless the
    /// product sets its own (default 5).
    pub low_stock_threshold: u32,
    /// Where events go besides the log, webhooks and the pull API: sinks of the embedding
    /// application (see [`EventSink`]).
    pub sinks: Vec<Arc<dyn EventSink>>,
    /// Webhooks: the transport, which URLs endpoints may have, retries, limits, retention.
    pub webhooks: WebhookSettings,
    /// The time limits of returns (window, answer, shipping back, dispute).
    pub returns: crate::returns::ReturnPolicy,
}

impl EcomConfig {
    /// Defaults (USD, built-in kinds, cash on delivery, 15 min / 7 days tokens) with the given API-key secret.
    pub fn new(api_key_secret: Secret) -> Self {
        EcomConfig {
            currency: Currency::USD,
            access_token_ttl: Duration::minutes(15),
            refresh_token_ttl: Duration::days(7),
            api_key_secret,
            kinds: ProductKindRegistry::with_builtins(),
            payments: PaymentProviders::with_builtins(),
            checkout: CheckoutSettings::default(),
            group_commit: true,
            catalogue_cache: std::time::Duration::ZERO,
            catalogue_index: true,
            low_stock_threshold: 5,
            sinks: Vec::new(),
            webhooks: WebhookSettings::default(),
            returns: crate::returns::ReturnPolicy::default(),
        }
    }
}
