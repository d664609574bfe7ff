//! Server configuration in layers: defaults < optional TOML file < `ECOM_*` environment <
//! command-line flags. Every layer is a [`Settings`] (each field optional); the layers are merged
//! by `figment` and the result is checked once into a [`Config`] (`Config::try_from`). Secrets
//! (the API-key secret and the bootstrap key, as `secrecy` strings) never show in `Debug`
//! output; connection strings show with their password replaced by `***` and their hosts
//! visible ([`ConnectionString`]).
//!
//! | setting | env / flag | TOML key | default |
//! |---|---|---|---|
//! | listen address | `ECOM_BIND` / `--bind` | `bind` | `127.0.0.1:3055` |
//! | API-key HMAC secret | `ECOM_SECRET` / `--secret` | `secret` | random per process (memory backend only) |
//! | currency | `ECOM_CURRENCY` / `--currency` | `currency` | `USD` |
//! | bootstrap API key | `ECOM_BOOTSTRAP_API_KEY` / `--bootstrap-api-key` | `bootstrap_api_key` | none |
//! | access token lifetime (s) | `ECOM_ACCESS_TOKEN_TTL` / `--access-token-ttl` | `access_token_ttl` | `900` |
//! | refresh token lifetime (s) | `ECOM_REFRESH_TOKEN_TTL` / `--refresh-token-ttl` | `refresh_token_ttl` | `604800` |
//! | MongoDB | `ECOM_MONGO_URI` / `--mongo-uri` | `mongo_uri` | none: memory backend |
//! | MongoDB database | `ECOM_MONGO_DB` / `--mongo-db` | `mongo_db` | `ecom` |
//! | Redis | `ECOM_REDIS_URL` / `--redis-url` | `redis_url` | none: in-process lock |
//! | Redis key prefix | `ECOM_REDIS_PREFIX` / `--redis-prefix` | `redis_prefix` | `ecom:` |
//! | checkout strategy | `ECOM_CHECKOUT_STRATEGY` / `--checkout-strategy` | `checkout_strategy` | `atomic` (names: `CheckoutStrategy::ALL`) |
//! | checkout lease (s): how long a checkout may hold stock before recovery takes over | `ECOM_CHECKOUT_LEASE` / `--checkout-lease` | `checkout_lease` | `30` |
//! | event relay period (ms): how often events move from the changed documents into the log and on to sinks | `ECOM_EVENT_RELAY_MS` / `--event-relay-ms` | `event_relay_ms` | `100` |
//! | webhooks may reach private, loopback, link-local and metadata addresses (tests, closed networks) | `ECOM_WEBHOOK_ALLOW_PRIVATE` / `--webhook-allow-private` | `webhook_allow_private` | `false` |
//! | webhook endpoints may use plain `http://` | `ECOM_WEBHOOK_ALLOW_HTTP` / `--webhook-allow-http` | `webhook_allow_http` | `false` |
//! | days an endpoint may fail every attempt before it is disabled | `ECOM_WEBHOOK_DISABLE_AFTER_DAYS` / `--webhook-disable-after-days` | `webhook_disable_after_days` | `2` |
//! | webhook yield lag (s): while requests are being served and delivery is less than this far behind, webhooks deliver one claim a second so checkouts go first (0: never yield) | `ECOM_WEBHOOK_YIELD_LAG` / `--webhook-yield-lag` | `webhook_yield_lag` | `15` |
//! | recovery pass period (s) | `ECOM_RECOVERY_EVERY` / `--recovery-every` | `recovery_every` | `30` |
//! | payment webhook secret: offers the `online` payment method, whose provider signs `POST /webhooks/payments` with it | `ECOM_PAYMENT_WEBHOOK_SECRET` / `--payment-webhook-secret` | `payment_webhook_secret` | none: `cod` only |
//! | payment timeout (s): an unpaid online order is cancelled after it | `ECOM_PAYMENT_TIMEOUT` / `--payment-timeout` | `payment_timeout` | `900` |
//! | catalogue index: answer listings, counts, facets, categories and search from an in-process read model of the published products, kept up with every process's writes within 500 ms (`ecom_core::service::read_model`) | `ECOM_CATALOGUE_INDEX` / `--catalogue-index` | `catalogue_index` | `true` |
//! | catalogue cache (ms): how long listings, counts, facets and categories may be served from memory (0: off) | `ECOM_CATALOGUE_CACHE_MS` / `--catalogue-cache-ms` | `catalogue_cache_ms` | `0` with the catalogue index, `1000` without |
//! | shipping fee per order (major units) | `ECOM_FEE_SHIP` / `--fee-ship` | `fee_ship` | `0` |
//! | body limit (bytes) | `ECOM_BODY_LIMIT` / `--body-limit` | `body_limit` | `1048576` |
//! | request timeout (s) | `ECOM_REQUEST_TIMEOUT` / `--request-timeout` | `request_timeout` | `30` |
//! | signup/login/refresh attempts per minute, per client address and route, and per refresh token; 0 turns these and the login delay after wrong passwords off (see `limits`) | `ECOM_AUTH_RATE_LIMIT` / `--auth-rate-limit` | `auth_rate_limit` | `30` |
//! | CORS origins | `ECOM_CORS_ORIGINS` / `--cors-origins` (comma-separated) | `cors_origins` | none |
//! | platform webhook endpoints, ensured at every start ([`DeclaredEndpoint`]) | TOML file only | `[[webhook_endpoints]]` | none |

use crate::http_config::HttpConfig;
use anyhow::{bail, Context};
use ecom_core::event::EventKind;
use ecom_core::money::{Currency, MajorUnits, Money};
use ecom_core::payment::SignedWebhook;
use ecom_core::service::CheckoutStrategy;
use ecom_core::service::NewEndpoint;
use ecom_core::webhook::check_secret;
use ecom_core::{EcomConfig, Secret};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::Path;
use std::time::Duration;

/// The default listen address: 127.0.0.1:3055.
pub const DEFAULT_BIND: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 3055));
/// How often abandoned checkouts are rolled back or forward, by default
/// ([`Config::recovery_every`]).
pub const RECOVERY_EVERY: Duration = Duration::from_secs(30);
/// The default prefix of every Redis key the server writes.
pub const DEFAULT_REDIS_PREFIX: &str = "ecom:";
/// Longest accepted lifetime or timeout, in seconds (10 years): dates computed from it stay
/// far inside what timestamps can hold.
const MAX_SECONDS: u64 = 10 * 365 * 24 * 3600;

/// Shortest accepted `ECOM_SECRET`, in bytes.
pub const MIN_SECRET_LEN: usize = 16;

/// A connection string (a MongoDB URI, a Redis URL) that may carry a password. `Debug` and
/// `Display` show it with the password replaced by `***`, the user, hosts, database and
/// options visible, so it can be logged.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct ConnectionString(String);

impl ConnectionString {
    /// The whole string, password included, for the driver.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the string is empty or blank (which the settings treat as unset).
    fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl From<String> for ConnectionString {
    fn from(uri: String) -> Self {
        ConnectionString(uri)
    }
}

impl From<&str> for ConnectionString {
    fn from(uri: &str) -> Self {
        ConnectionString(uri.to_owned())
    }
}

impl fmt::Display for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let uri = &self.0;
        let (scheme, rest) = uri.split_once("://").unwrap_or(("", uri));
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let Some((userinfo, hosts)) = authority.rsplit_once('@') else {
            return f.write_str(uri);
        };
        if !scheme.is_empty() {
            write!(f, "{scheme}://")?;
        }
        match userinfo.split_once(':') {
            Some((user, _password)) => write!(f, "{user}:***@{hosts}{tail}"),
            None => write!(f, "{userinfo}@{hosts}{tail}"),
        }
    }
}

impl fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

/// The resolved, checked configuration of a server; made from [`Settings`] by
/// `Config::try_from`, which is the one place the settings are checked and defaulted.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen.
    pub bind: SocketAddr,
    /// Key of the HMAC under which API keys are stored; random per process when absent
    /// (allowed only with the memory backend, whose keys die with the process anyway).
    pub secret: Option<Secret>,
    /// Currency of all prices.
    pub currency: Currency,
    /// A clear API key ensured at start with permission `0000`.
    pub bootstrap_api_key: Option<SecretString>,
    /// Lifetime of access tokens.
    pub access_token_ttl: Duration,
    /// Lifetime of refresh tokens (and of sessions).
    pub refresh_token_ttl: Duration,
    /// MongoDB connection string; none means the memory backend.
    pub mongo_uri: Option<ConnectionString>,
    /// MongoDB database name.
    pub mongo_db: String,
    /// Redis URL for the lock and stock gate; none means the in-process lock.
    pub redis_url: Option<ConnectionString>,
    /// Prefix of every Redis key the server writes (servers sharing a Redis with the same
    /// prefix share their locks).
    pub redis_prefix: String,
    /// How checkouts reserve stock.
    pub checkout_strategy: CheckoutStrategy,
    /// How long a checkout may hold stock and code uses before recovery settles or gives them
    /// back.
    pub checkout_lease: Duration,
    /// Shipping fee per order, in [`Config::currency`].
    pub fee_ship: Money,
    /// Secret of the signed payment webhook; with it the server offers the `online` payment
    /// method ([`ecom_core::payment::SignedWebhook`]).
    pub payment_webhook_secret: Option<SecretString>,
    /// How long an online order may stay unpaid before the server cancels it.
    pub payment_timeout: Duration,
    /// How long answers of the public catalogue may be served from memory
    /// ([`EcomConfig::catalogue_cache`]); zero: never.
    pub catalogue_cache: Duration,
    /// Whether the public catalogue answers from the in-process read model
    /// ([`EcomConfig::catalogue_index`]).
    pub catalogue_index: bool,
    /// How often the server looks for checkouts a crashed or stalled process left half-way
    /// (holds older than the lease), reconciles the stock gate and sweeps expired sessions.
    pub recovery_every: Duration,
    /// How often events move from the outboxes of changed documents into the log, and on to
    /// the sinks.
    pub event_relay_every: Duration,
    /// Whether webhook endpoints may be private, loopback or internal addresses.
    pub webhook_allow_private: bool,
    /// Whether webhook endpoints may use plain `http://`.
    pub webhook_allow_http: bool,
    /// How long an endpoint may fail every attempt before it is disabled.
    pub webhook_disable_after: Duration,
    /// While the server serves requests and webhook delivery is less than this far behind,
    /// deliveries yield to them (one claim a second); zero: never yield.
    pub webhook_yield_lag: Duration,
    /// Platform webhook endpoints the server ensures at start (events checked).
    pub webhook_endpoints: Vec<CheckedEndpoint>,
    /// HTTP settings.
    pub http: HttpConfig,
}

impl Default for Config {
    /// Every setting at its default: the memory backend and in-process lock, a random secret
    /// at start, USD, free shipping. [`Config::try_from`] starts from these.
    fn default() -> Self {
        Config {
            bind: DEFAULT_BIND,
            secret: None,
            currency: Currency::USD,
            bootstrap_api_key: None,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(7 * 24 * 3600),
            mongo_uri: None,
            mongo_db: "ecom".to_owned(),
            redis_url: None,
            redis_prefix: DEFAULT_REDIS_PREFIX.to_owned(),
            checkout_strategy: CheckoutStrategy::default(),
            checkout_lease: Duration::from_secs(30),
            fee_ship: Money::zero(Currency::USD),
            payment_webhook_secret: None,
            payment_timeout: Duration::from_secs(900),
            catalogue_cache: Duration::ZERO,
            catalogue_index: true,
            recovery_every: RECOVERY_EVERY,
            event_relay_every: Duration::from_millis(100),
            webhook_allow_private: false,
            webhook_allow_http: false,
            webhook_disable_after: Duration::from_secs(2 * 24 * 3600),
            webhook_yield_lag: Duration::from_secs(15),
            webhook_endpoints: Vec::new(),
            http: HttpConfig::default(),
        }
    }
}

/// One layer of settings, every field optional: a TOML file, or the environment and flags
/// (clap reads `ECOM_*` for each flag; a flag wins over its variable). Layers merge with
/// [`Settings::merge`]; [`Config::try_from`] checks the result.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, Deserialize, Serialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Listen address [default: 127.0.0.1:3055].
    #[arg(long, env = "ECOM_BIND", global = true)]
    pub bind: Option<SocketAddr>,
    /// API-key HMAC secret, at least 16 bytes (required with MongoDB).
    #[arg(long, env = "ECOM_SECRET", hide_env_values = true, global = true)]
    #[serde(serialize_with = "expose_secret")]
    pub secret: Option<SecretString>,
    /// ISO 4217 currency of all prices [default: USD].
    #[arg(long, env = "ECOM_CURRENCY", global = true)]
    pub currency: Option<String>,
    /// An API key to ensure at start with permission 0000.
    #[arg(
        long,
        env = "ECOM_BOOTSTRAP_API_KEY",
        hide_env_values = true,
        global = true
    )]
    #[serde(serialize_with = "expose_secret")]
    pub bootstrap_api_key: Option<SecretString>,
    /// Access token lifetime in seconds [default: 900].
    #[arg(long, env = "ECOM_ACCESS_TOKEN_TTL", global = true)]
    pub access_token_ttl: Option<u64>,
    /// Refresh token lifetime in seconds [default: 604800].
    #[arg(long, env = "ECOM_REFRESH_TOKEN_TTL", global = true)]
    pub refresh_token_ttl: Option<u64>,
    /// MongoDB connection string [default: none, memory backend].
    #[arg(long, env = "ECOM_MONGO_URI", hide_env_values = true, global = true)]
    pub mongo_uri: Option<ConnectionString>,
    /// MongoDB database [default: ecom].
    #[arg(long, env = "ECOM_MONGO_DB", global = true)]
    pub mongo_db: Option<String>,
    /// Redis URL [default: none, in-process lock].
    #[arg(long, env = "ECOM_REDIS_URL", hide_env_values = true, global = true)]
    pub redis_url: Option<ConnectionString>,
    /// Prefix of the server's Redis keys [default: ecom:].
    #[arg(long, env = "ECOM_REDIS_PREFIX", global = true)]
    pub redis_prefix: Option<String>,
    /// How checkouts reserve stock: one of the names of `CheckoutStrategy::ALL`, e.g. atomic or
    /// lock_then_reserve [default: atomic].
    #[arg(long, env = "ECOM_CHECKOUT_STRATEGY", global = true)]
    pub checkout_strategy: Option<String>,
    /// Checkout lease in seconds [default: 30].
    #[arg(long, env = "ECOM_CHECKOUT_LEASE", global = true)]
    pub checkout_lease: Option<u64>,
    /// Seconds between recovery passes (stale checkouts, the stock gate's reconcile, expired
    /// sessions) [default: 30].
    #[arg(long, env = "ECOM_RECOVERY_EVERY", global = true)]
    pub recovery_every: Option<u64>,
    /// Milliseconds between passes of the event relay (outboxes into the log, then the sinks),
    /// 1 to 60000 [default: 100].
    #[arg(long, env = "ECOM_EVENT_RELAY_MS", global = true)]
    pub event_relay_ms: Option<u64>,
    /// Let webhook endpoints be private, loopback, link-local or metadata addresses (tests,
    /// closed networks) [default: false].
    #[arg(long, env = "ECOM_WEBHOOK_ALLOW_PRIVATE", global = true)]
    pub webhook_allow_private: Option<bool>,
    /// Let webhook endpoints use plain http:// [default: false].
    #[arg(long, env = "ECOM_WEBHOOK_ALLOW_HTTP", global = true)]
    pub webhook_allow_http: Option<bool>,
    /// Days an endpoint may fail every attempt before it is disabled, 1 to 365 [default: 2].
    #[arg(long, env = "ECOM_WEBHOOK_DISABLE_AFTER_DAYS", global = true)]
    pub webhook_disable_after_days: Option<u64>,
    /// Seconds webhook delivery may fall behind while it yields to requests being served, 0 to
    /// 3600; 0 never yields [default: 15].
    #[arg(long, env = "ECOM_WEBHOOK_YIELD_LAG", global = true)]
    pub webhook_yield_lag: Option<u64>,
    /// Secret of the signed payment webhook, at least 16 bytes; offers the `online` payment
    /// method [default: none, cash on delivery only].
    #[arg(
        long,
        env = "ECOM_PAYMENT_WEBHOOK_SECRET",
        hide_env_values = true,
        global = true
    )]
    #[serde(serialize_with = "expose_secret")]
    pub payment_webhook_secret: Option<SecretString>,
    /// Seconds an online order may stay unpaid before the server cancels it [default: 900].
    #[arg(long, env = "ECOM_PAYMENT_TIMEOUT", global = true)]
    pub payment_timeout: Option<u64>,
    /// Milliseconds answers of the public catalogue (listings, counts, facets, categories)
    /// may be served from memory; 0 turns it off [default: 0 with the catalogue index, 1000
    /// without].
    #[arg(long, env = "ECOM_CATALOGUE_CACHE_MS", global = true)]
    pub catalogue_cache_ms: Option<u64>,
    /// Whether listings, counts, facets, categories and search are answered from an
    /// in-process read model of the published products (true or false) [default: true].
    #[arg(long, env = "ECOM_CATALOGUE_INDEX", global = true)]
    pub catalogue_index: Option<bool>,
    /// Shipping fee per order, in major units of the currency (e.g. 2.50) [default: 0].
    #[arg(long, env = "ECOM_FEE_SHIP", global = true)]
    pub fee_ship: Option<MajorUnits>,
    /// Largest request body in bytes [default: 1048576].
    #[arg(long, env = "ECOM_BODY_LIMIT", global = true)]
    pub body_limit: Option<usize>,
    /// Request timeout in seconds [default: 30].
    #[arg(long, env = "ECOM_REQUEST_TIMEOUT", global = true)]
    pub request_timeout: Option<u64>,
    /// Signup, login and refresh attempts per minute per client address and route, and per
    /// refresh token; 0 turns them off [default: 30].
    #[arg(long, env = "ECOM_AUTH_RATE_LIMIT", global = true)]
    pub auth_rate_limit: Option<u32>,
    /// CORS origins, comma-separated; `*` for any [default: none].
    #[arg(long, env = "ECOM_CORS_ORIGINS", value_delimiter = ',', global = true)]
    pub cors_origins: Option<Vec<String>>,
    /// Platform webhook endpoints (TOML file only: `[[webhook_endpoints]]` tables).
    #[arg(skip)]
    pub webhook_endpoints: Option<Vec<DeclaredEndpoint>>,
}

/// A platform webhook endpoint declared in the configuration file: it receives the events of
/// every shop it names the types of, signed with `secret`. The server ensures it at every
/// start (by URL: registered the first time, brought up to date after; a changed secret
/// rotates in with the old one signing beside it for 24 hours; a disabled endpoint stays
/// disabled). Removing it from the file does not delete it: `DELETE
/// /v1/api/webhooks/endpoints/:id` with an operator key does.
///
/// ```toml
/// [[webhook_endpoints]]
/// url = "https://erp.example/hooks/ecom"
/// events = ["order.placed", "order.paid", "order.refunded"]
/// description = "ERP bookings"
/// secret = "whsec_..." # echo whsec_$(openssl rand -base64 32)
/// ```
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredEndpoint {
    /// Where deliveries go (https, or http where allowed).
    pub url: String,
    /// Event types, e.g. `order.placed`.
    pub events: Vec<String>,
    /// A note shown with the endpoint.
    #[serde(default)]
    pub description: String,
    /// The signing secret: `whsec_` and the base64 of 24 to 64 random bytes.
    #[serde(serialize_with = "expose_required_secret")]
    pub secret: SecretString,
}

/// A [`DeclaredEndpoint`] with its event types checked.
#[derive(Clone, Debug)]
pub struct CheckedEndpoint {
    /// What to register.
    pub endpoint: NewEndpoint,
    /// Its signing secret.
    pub secret: SecretString,
}

impl DeclaredEndpoint {
    fn checked(self) -> anyhow::Result<CheckedEndpoint> {
        let events = self
            .events
            .iter()
            .map(|name| EventKind::parse(name.trim(), "events"))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("webhook_endpoints ({}): {e}", self.url))?;
        check_secret(self.secret.expose_secret())
            .map_err(|e| anyhow::anyhow!("webhook_endpoints ({}): {e}", self.url))?;
        Ok(CheckedEndpoint {
            endpoint: NewEndpoint {
                url: self.url,
                events,
                description: self.description,
            },
            secret: self.secret,
        })
    }
}

/// Writes a secret in clear: only for handing a layer to `figment`, never for output.
fn expose_required_secret<S: Serializer>(secret: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose_secret())
}

fn expose_secret<S: Serializer>(secret: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => s.serialize_str(secret.expose_secret()),
        None => s.serialize_none(),
    }
}

impl Settings {
    /// Reads a TOML file of settings (unknown keys are an error).
    pub fn from_toml_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        Self::from_toml(&text).with_context(|| format!("in config file {}", path.display()))
    }

    /// Parses TOML settings.
    pub fn from_toml(text: &str) -> anyhow::Result<Self> {
        use figment::providers::{Format, Toml};
        Ok(figment::Figment::from(Toml::string(text)).extract()?)
    }

    /// `self` overlaid by every setting `over` has.
    pub fn merge(self, over: Settings) -> anyhow::Result<Self> {
        use figment::providers::Serialized;
        Ok(figment::Figment::from(Serialized::defaults(self))
            .merge(Serialized::defaults(over))
            .extract()?)
    }
}

fn seconds(name: &str, value: u64) -> anyhow::Result<Duration> {
    if value == 0 {
        bail!("{name} must be at least 1 second");
    }
    if value > MAX_SECONDS {
        bail!("{name} must be at most {MAX_SECONDS} seconds (10 years)");
    }
    Ok(Duration::from_secs(value))
}

/// The shipping fee, exact in `currency` (more decimals than the currency has, or a negative
/// amount, is an error).
fn fee_ship(fee: Option<&MajorUnits>, currency: Currency) -> anyhow::Result<Money> {
    let Some(fee) = fee else {
        return Ok(Money::zero(currency));
    };
    let money = Money::parse_major(fee, currency, "fee_ship")
        .map_err(|err| anyhow::anyhow!("ECOM_FEE_SHIP: {err}"))?;
    if money.minor < 0 {
        bail!("ECOM_FEE_SHIP: must not be negative");
    }
    Ok(money)
}

impl TryFrom<Settings> for Config {
    type Error = anyhow::Error;

    /// Checks every setting present and takes [`Config::default`]'s value for every other:
    /// the one place settings are checked.
    fn try_from(s: Settings) -> anyhow::Result<Config> {
        let d = Config::default();
        let currency = match &s.currency {
            Some(code) => Currency::from_code(code)
                .map_err(|_| anyhow::anyhow!("ECOM_CURRENCY: unknown currency {code:?}"))?,
            None => d.currency,
        };
        let secret = match &s.secret {
            Some(secret) if secret.expose_secret().len() < MIN_SECRET_LEN => {
                bail!("ECOM_SECRET must be at least {MIN_SECRET_LEN} bytes")
            }
            Some(secret) => Some(Secret::new(secret.expose_secret().as_bytes())),
            None => d.secret,
        };
        let payment_webhook_secret = match s.payment_webhook_secret {
            Some(secret) if secret.expose_secret().len() < MIN_SECRET_LEN => {
                bail!("ECOM_PAYMENT_WEBHOOK_SECRET must be at least {MIN_SECRET_LEN} bytes")
            }
            other => other.or(d.payment_webhook_secret),
        };
        let body_limit = match s.body_limit {
            Some(0) => bail!("ECOM_BODY_LIMIT must be at least 1 byte"),
            Some(limit) => limit,
            None => d.http.body_limit,
        };
        let checkout_strategy = match &s.checkout_strategy {
            Some(name) => CheckoutStrategy::parse(name)
                .map_err(|err| anyhow::anyhow!("ECOM_CHECKOUT_STRATEGY: {err}"))?,
            None => d.checkout_strategy,
        };
        let seconds_or = |name: &str, value: Option<u64>, default: Duration| {
            value.map_or(Ok(default), |value| seconds(name, value))
        };
        Ok(Config {
            bind: s.bind.unwrap_or(d.bind),
            secret,
            currency,
            bootstrap_api_key: s.bootstrap_api_key.or(d.bootstrap_api_key),
            access_token_ttl: seconds_or(
                "ECOM_ACCESS_TOKEN_TTL",
                s.access_token_ttl,
                d.access_token_ttl,
            )?,
            refresh_token_ttl: seconds_or(
                "ECOM_REFRESH_TOKEN_TTL",
                s.refresh_token_ttl,
                d.refresh_token_ttl,
            )?,
            mongo_uri: s.mongo_uri.filter(|uri| !uri.is_blank()).or(d.mongo_uri),
            mongo_db: s.mongo_db.unwrap_or(d.mongo_db),
            redis_url: s.redis_url.filter(|url| !url.is_blank()).or(d.redis_url),
            redis_prefix: s.redis_prefix.unwrap_or(d.redis_prefix),
            checkout_strategy,
            checkout_lease: seconds_or("ECOM_CHECKOUT_LEASE", s.checkout_lease, d.checkout_lease)?,
            fee_ship: fee_ship(s.fee_ship.as_ref(), currency)?,
            payment_webhook_secret,
            payment_timeout: seconds_or(
                "ECOM_PAYMENT_TIMEOUT",
                s.payment_timeout,
                d.payment_timeout,
            )?,
            recovery_every: seconds_or("ECOM_RECOVERY_EVERY", s.recovery_every, d.recovery_every)?,
            event_relay_every: match s.event_relay_ms {
                Some(ms @ 1..=60_000) => Duration::from_millis(ms),
                Some(_) => bail!("ECOM_EVENT_RELAY_MS must be between 1 and 60000"),
                None => d.event_relay_every,
            },
            webhook_allow_private: s.webhook_allow_private.unwrap_or(d.webhook_allow_private),
            webhook_allow_http: s.webhook_allow_http.unwrap_or(d.webhook_allow_http),
            webhook_disable_after: match s.webhook_disable_after_days {
                Some(days @ 1..=365) => Duration::from_secs(days * 24 * 3600),
                Some(_) => bail!("ECOM_WEBHOOK_DISABLE_AFTER_DAYS must be between 1 and 365"),
                None => d.webhook_disable_after,
            },
            webhook_yield_lag: match s.webhook_yield_lag {
                Some(secs @ 0..=3600) => Duration::from_secs(secs),
                Some(_) => bail!("ECOM_WEBHOOK_YIELD_LAG must be between 0 and 3600"),
                None => d.webhook_yield_lag,
            },
            catalogue_cache: match s.catalogue_cache_ms {
                Some(ms) if ms > MAX_SECONDS * 1000 => {
                    bail!("ECOM_CATALOGUE_CACHE_MS must be at most {MAX_SECONDS}000")
                }
                Some(ms) => Duration::from_millis(ms),
                // The read model answers in microseconds and sees writes: no cache by default.
                None if s.catalogue_index.unwrap_or(d.catalogue_index) => d.catalogue_cache,
                None => Duration::from_secs(1),
            },
            webhook_endpoints: s
                .webhook_endpoints
                .unwrap_or_default()
                .into_iter()
                .map(DeclaredEndpoint::checked)
                .collect::<anyhow::Result<_>>()?,
            catalogue_index: s.catalogue_index.unwrap_or(d.catalogue_index),
            http: HttpConfig {
                body_limit,
                request_timeout: seconds_or(
                    "ECOM_REQUEST_TIMEOUT",
                    s.request_timeout,
                    d.http.request_timeout,
                )?,
                cors_origins: s.cors_origins.map_or(d.http.cors_origins, |origins| {
                    origins
                        .into_iter()
                        .map(|o| o.trim().to_owned())
                        .filter(|o| !o.is_empty())
                        .collect()
                }),
                auth_rate_limit: s.auth_rate_limit.unwrap_or(d.http.auth_rate_limit),
            },
        })
    }
}

impl Config {
    /// The TOML file at `file` (if any) overlaid by `overrides` (environment and flags, as clap
    /// resolved them), checked.
    pub fn load(file: Option<&Path>, overrides: Settings) -> anyhow::Result<Self> {
        let settings = match file {
            Some(path) => Settings::from_toml_file(path)?.merge(overrides)?,
            None => overrides,
        };
        Config::try_from(settings)
    }

    /// How often the server looks for unpaid orders past their expiry and refunds due: a
    /// tenth of the payment timeout, between 1 and 10 seconds.
    pub fn payment_sweep_every(&self) -> Duration {
        (self.payment_timeout / 10).clamp(Duration::from_secs(1), Duration::from_secs(10))
    }

    /// The services' configuration. A missing secret is random (only valid for the memory
    /// backend; [`crate::serve`] refuses that combination with a database).
    pub fn ecom_config(&self) -> anyhow::Result<EcomConfig> {
        let mut ecom = EcomConfig::new(self.secret.clone().unwrap_or_else(Secret::random));
        ecom.currency = self.currency;
        ecom.access_token_ttl = chrono::Duration::from_std(self.access_token_ttl)
            .context("access token lifetime is too long")?;
        ecom.refresh_token_ttl = chrono::Duration::from_std(self.refresh_token_ttl)
            .context("refresh token lifetime is too long")?;
        ecom.checkout.strategy = self.checkout_strategy;
        ecom.checkout.lease = chrono::Duration::from_std(self.checkout_lease)
            .context("checkout lease is too long")?;
        ecom.checkout.fee_ship_minor = self.fee_ship.minor;
        ecom.catalogue_cache = self.catalogue_cache;
        ecom.catalogue_index = self.catalogue_index;
        ecom.webhooks.allow_private = self.webhook_allow_private;
        ecom.webhooks.allow_http = self.webhook_allow_http;
        ecom.webhooks.disable_after = chrono::Duration::from_std(self.webhook_disable_after)
            .context("webhook disable-after is too long")?;
        // A claim outlives an attempt (its timeout) with room to record it; a killed server's
        // claims lapse soon after.
        ecom.webhooks.lease =
            chrono::Duration::from_std(crate::webhook_client::DELIVERY_TIMEOUT * 2)
                .context("webhook lease")?;
        // Enough deliveries in flight per endpoint to keep up with a flash sale's orders (each
        // claim records its results together, so bigger claims cost the store less per
        // delivery), few enough that one slow receiver cannot take every slot (128 per
        // process).
        ecom.webhooks.max_in_flight = 128;
        ecom.webhooks.max_in_flight_per_endpoint = 64;
        ecom.webhooks.transport = Some(std::sync::Arc::new(
            crate::webhook_client::HttpTransport::new(self.webhook_allow_private)
                .context("cannot build the webhook client")?,
        ));
        if let Some(secret) = &self.payment_webhook_secret {
            let timeout = chrono::Duration::from_std(self.payment_timeout)
                .context("payment timeout is too long")?;
            ecom.payments
                .register(std::sync::Arc::new(SignedWebhook::new(
                    Secret::new(secret.expose_secret().as_bytes()),
                    timeout,
                )))
                .map_err(|e| anyhow::anyhow!("registering the online payment method: {e}"))?;
        }
        Ok(ecom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_config::DEFAULT_BODY_LIMIT;

    fn layer(toml: &str) -> Settings {
        Settings::from_toml(toml).unwrap()
    }

    #[test]
    fn layers_apply_in_order_and_secrets_stay_hidden() {
        let file = layer(
            r#"
            bind = "0.0.0.0:8080"
            currency = "eur"
            secret = "file-secret-0123456789"
            mongo_db = "shop"
            cors_origins = ["https://a.example"]
            "#,
        );
        let flags = Settings {
            bind: Some("127.0.0.1:9000".parse().unwrap()),
            bootstrap_api_key: Some("bootstrap-key-0123456789".into()),
            mongo_uri: Some("mongodb://user:hunter2@db1:27017,db2/shop?tls=true".into()),
            redis_url: Some("redis://:swordfish@cache:6379/0".into()),
            ..Settings::default()
        };
        let merged = file.merge(flags).unwrap();
        let config = Config::try_from(merged.clone()).unwrap();
        assert_eq!(config.bind.to_string(), "127.0.0.1:9000");
        assert_eq!(config.currency.code(), "EUR");
        assert_eq!(config.mongo_db, "shop");
        assert_eq!(config.secret, Some(Secret::new("file-secret-0123456789")));
        assert_eq!(config.http.cors_origins, vec!["https://a.example"]);
        assert_eq!(config.http.body_limit, DEFAULT_BODY_LIMIT);
        assert_eq!(
            config.mongo_uri.as_ref().unwrap().expose(),
            "mongodb://user:hunter2@db1:27017,db2/shop?tls=true"
        );
        for debug in [format!("{config:?}"), format!("{merged:?}")] {
            for secret in ["file-secret", "bootstrap-key", "hunter2", "swordfish"] {
                assert!(!debug.contains(secret), "{debug}");
            }
            assert!(
                debug.contains("mongodb://user:***@db1:27017,db2/shop?tls=true"),
                "{debug}"
            );
            assert!(debug.contains("redis://:***@cache:6379/0"), "{debug}");
        }
    }

    /// The table of this module's documentation names every setting with the variable and flag
    /// clap reads and the key TOML files use, and nothing else.
    #[test]
    fn the_settings_table_lists_every_setting() {
        let rows: Vec<Vec<String>> = include_str!("config.rs")
            .lines()
            .filter_map(|line| line.strip_prefix("//! | "))
            .filter(|row| row.contains("`ECOM_"))
            .map(|row| {
                // The quoted words of the env / flag and TOML key columns.
                row.split('|')
                    .skip(1)
                    .take(2)
                    .flat_map(|cell| cell.split('`').skip(1).step_by(2).map(str::to_owned))
                    .collect()
            })
            .collect();
        let command = <Settings as clap::Args>::augment_args(clap::Command::new("settings"));
        let arguments: Vec<&clap::Arg> = command.get_arguments().collect();
        for arg in &arguments {
            let key = arg.get_id().as_str();
            let env = arg.get_env().and_then(|e| e.to_str()).unwrap_or_default();
            let flag = format!("--{}", arg.get_long().unwrap_or_default());
            let row = rows
                .iter()
                .find(|row| row.last().map(String::as_str) == Some(key))
                .unwrap_or_else(|| panic!("no row of the settings table for `{key}`"));
            assert_eq!(row[..2], [env.to_owned(), flag], "the row of `{key}`");
        }
        assert_eq!(rows.len(), arguments.len(), "rows: {rows:?}");
        // The README's table of settings names the same variables.
        let mut readme: Vec<&str> = include_str!("../../README.md")
            .lines()
            .filter_map(|line| line.strip_prefix("| `ECOM_"))
            .filter_map(|rest| rest.split('`').next())
            .collect();
        let mut envs: Vec<String> = arguments
            .iter()
            .filter_map(|arg| arg.get_env().and_then(|e| e.to_str()))
            .map(|env| env.trim_start_matches("ECOM_").to_owned())
            .collect();
        readme.sort_unstable();
        envs.sort_unstable();
        assert_eq!(readme, envs, "the README's table of settings");
    }

    #[test]
    fn connection_strings_show_hosts_but_no_password() {
        for (uri, shown) in [
            ("mongodb://db:27017/ecom", "mongodb://db:27017/ecom"),
            ("mongodb://u:p@a,b/x", "mongodb://u:***@a,b/x"),
            (
                "mongodb+srv://u:p%40ss@cluster.example",
                "mongodb+srv://u:***@cluster.example",
            ),
            ("redis://only-user@cache", "redis://only-user@cache"),
            ("redis://u:p@w:rd@cache/0", "redis://u:***@cache/0"),
            ("redis://cache/0?x=a@b", "redis://cache/0?x=a@b"),
        ] {
            assert_eq!(ConnectionString::from(uri).to_string(), shown, "{uri}");
        }
    }

    #[test]
    fn bad_values_are_clear_errors() {
        for (toml, needle) in [
            ("currency = \"XXX\"", "unknown currency"),
            ("secret = \"short\"", "at least 16 bytes"),
            ("access_token_ttl = 0", "at least 1 second"),
            ("refresh_token_ttl = 315360001", "at most"),
            ("access_token_ttl = 9223372036854775807", "at most"),
            ("request_timeout = 315360001", "at most"),
            ("body_limit = 0", "at least 1 byte"),
        ] {
            let err = Settings::from_toml(toml)
                .and_then(Config::try_from)
                .unwrap_err();
            assert!(format!("{err:#}").contains(needle), "{toml}: {err:#}");
        }
        assert!(Settings::from_toml("nonsense = 1").is_err());
    }

    #[test]
    fn declared_webhook_endpoints_are_checked_and_their_secrets_hidden() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let declared = |events: &str, secret: &str| {
            format!(
                "[[webhook_endpoints]]\nurl = \"https://erp.example/hooks\"\n\
                 events = {events}\nsecret = \"{secret}\"\n"
            )
        };
        let file = layer(&declared(r#"["order.placed", "order.paid"]"#, secret));
        // A later layer (environment, flags) without endpoints keeps the file's.
        let merged = file.merge(Settings::default()).unwrap();
        let config = Config::try_from(merged).unwrap();
        let [endpoint] = config.webhook_endpoints.as_slice() else {
            panic!("{:?}", config.webhook_endpoints)
        };
        assert_eq!(endpoint.endpoint.url, "https://erp.example/hooks");
        assert_eq!(
            endpoint.endpoint.events,
            [EventKind::OrderPlaced, EventKind::OrderPaid]
        );
        assert_eq!(endpoint.secret.expose_secret(), secret);
        assert!(!format!("{config:?}").contains("MfKQ9r8"));
        assert!(Config::default().webhook_endpoints.is_empty());
        for (toml, needle) in [
            (declared(r#"["order.shipped"]"#, secret), "order.shipped"),
            (
                declared(r#"["order.placed"]"#, "whsec_short"),
                "base64 of 24 to 64",
            ),
            (
                declared(r#"["order.placed"]"#, "not-prefixed-0123456789abcdef"),
                "whsec_",
            ),
        ] {
            let err = Settings::from_toml(&toml)
                .and_then(Config::try_from)
                .unwrap_err();
            assert!(format!("{err:#}").contains(needle), "{toml}: {err:#}");
        }
        let unknown = declared(r#"["order.placed"]"#, secret) + "colour = \"red\"\n";
        assert!(Settings::from_toml(&unknown).is_err());
    }

    #[test]
    fn checkout_strategy_and_fee_ship_feed_the_services() {
        assert_eq!(Config::default().fee_ship.minor, 0);
        assert_eq!(
            Config::default().checkout_strategy,
            CheckoutStrategy::default()
        );
        for (name, strategy) in CheckoutStrategy::ALL {
            let config = Config::try_from(layer(&format!(
                "checkout_strategy = {:?}\nfee_ship = 2.5",
                name.to_uppercase()
            )))
            .unwrap();
            assert_eq!(config.checkout_strategy, *strategy);
            let ecom = config.ecom_config().unwrap();
            assert_eq!(ecom.checkout.strategy, *strategy);
            assert_eq!(ecom.checkout.fee_ship_minor, 250);
        }
        let flags = Settings {
            fee_ship: Some("3.99".into()),
            redis_prefix: Some("shop1:".into()),
            ..Settings::default()
        };
        let config = Config::try_from(flags.clone()).unwrap();
        assert_eq!(config.ecom_config().unwrap().checkout.fee_ship_minor, 399);
        assert_eq!(config.redis_prefix, "shop1:");
        // A fee valid in USD is invalid once a later layer switches to a currency without
        // decimals: the merged settings are checked as a whole.
        let jpy = Settings {
            currency: Some("JPY".into()),
            ..Settings::default()
        };
        let err = Config::try_from(flags.merge(jpy).unwrap()).unwrap_err();
        assert!(format!("{err:#}").contains("ECOM_FEE_SHIP"), "{err:#}");
        for (toml, needle) in [
            ("checkout_strategy = \"bogus\"", "ECOM_CHECKOUT_STRATEGY"),
            ("fee_ship = \"1.999\"", "ECOM_FEE_SHIP"),
            ("fee_ship = -1", "must not be negative"),
            ("fee_ship = \"1e3\"", "ECOM_FEE_SHIP"),
        ] {
            let err = Settings::from_toml(toml)
                .and_then(Config::try_from)
                .unwrap_err();
            assert!(format!("{err:#}").contains(needle), "{toml}: {err:#}");
        }
    }
}
