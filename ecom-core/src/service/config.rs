use crate::kind::ProductKindRegistry;
use crate::money::Currency;
use crate::payment::PaymentProviders;
use crate::secret::Secret;
use chrono::Duration;
use std::time::Duration as StdDuration;

/// How the checkout reserves stock.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub enum CheckoutStrategy {
    /// Conditional writes only: each line is one atomic `stock >= qty` decrement. The default.
    #[default]
    Atomic,
    /// A lock per product: each line's decrement runs under the backend's
    /// [`DistributedLock`](crate::lock::DistributedLock) for that product (bounded wait, TTL,
    /// owner-only release), and is still conditional. A lock that stays busy for the whole wait
    /// is [`Error::Busy`](crate::Error::Busy), never "out of stock".
    LockThenReserve,
    /// The backend's [`StockGate`](crate::gate::StockGate) admits all lines of an order at once
    /// (all or none) before the store's conditional decrements, which stay the final guard: a
    /// gate refusal sheds the request without touching the store, and a gate that counts too
    /// high only lets the store refuse. A gate that counts too low (it missed returned units) is
    /// rebuilt on demand with
    /// [`InventoryService::rebuild_gate`](crate::service::InventoryService::rebuild_gate).
    Gate,
}

impl CheckoutStrategy {
    /// Every strategy with its configuration name.
    pub const ALL: &'static [(&'static str, CheckoutStrategy)] = &[
        ("atomic", CheckoutStrategy::Atomic),
        ("lock_then_reserve", CheckoutStrategy::LockThenReserve),
        ("gate", CheckoutStrategy::Gate),
    ];

    /// Parses a configuration name (`atomic`, `lock_then_reserve`, `gate`).
    pub fn parse(name: &str) -> crate::Result<Self> {
        let wanted = name.trim().to_ascii_lowercase().replace('-', "_");
        Self::ALL
            .iter()
            .find(|(n, _)| *n == wanted)
            .map(|(_, s)| *s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|(n, _)| *n).collect();
                crate::Error::validation(
                    "checkout_strategy",
                    format!("must be one of {}", names.join(", ")),
                )
            })
    }

    /// The configuration name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("atomic", |(n, _)| n)
    }
}

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
        }
    }
}
