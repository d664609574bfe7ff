//! Server configuration in layers: defaults < optional TOML file < `ECOM_*` environment <
//! command-line flags. Secrets (the API-key secret, the bootstrap key, backend URIs that may
//! carry passwords) never show in `Debug` output.
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
//! | recovery pass period (s) | `ECOM_RECOVERY_EVERY` / `--recovery-every` | `recovery_every` | `30` |
//! | shipping fee per order (major units) | `ECOM_FEE_SHIP` / `--fee-ship` | `fee_ship` | `0` |
//! | body limit (bytes) | `ECOM_BODY_LIMIT` / `--body-limit` | `body_limit` | `1048576` |
//! | request timeout (s) | `ECOM_REQUEST_TIMEOUT` / `--request-timeout` | `request_timeout` | `30` |
//! | signup/login/refresh attempts per minute, per client address and per email or account (0: off) | `ECOM_AUTH_RATE_LIMIT` / `--auth-rate-limit` | `auth_rate_limit` | `30` |
//! | CORS origins | `ECOM_CORS_ORIGINS` / `--cors-origins` (comma-separated) | `cors_origins` | none |

use anyhow::{bail, Context};
use ecom_core::money::{Currency, MajorUnits, Money};
use ecom_core::service::CheckoutStrategy;
use ecom_core::{EcomConfig, Secret};
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
#[cfg(feature = "server")]
use std::path::Path;
use std::time::Duration;

/// The default listen address.
pub const DEFAULT_BIND: &str = "127.0.0.1:3055";
/// The default body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// The default prefix of every Redis key the server writes.
pub const DEFAULT_REDIS_PREFIX: &str = "ecom:";
/// Longest accepted lifetime or timeout, in seconds (10 years): dates computed from it stay
/// far inside what timestamps can hold.
const MAX_SECONDS: u64 = 10 * 365 * 24 * 3600;

/// Shortest accepted `ECOM_SECRET`, in bytes.
pub const MIN_SECRET_LEN: usize = 16;

/// Settings of the HTTP layer itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    /// Largest request body, in bytes (413 beyond).
    pub body_limit: usize,
    /// Longest time a request may take (503 beyond).
    pub request_timeout: Duration,
    /// Origins allowed by CORS; `*` allows any; empty allows no cross-origin use.
    pub cors_origins: Vec<String>,
    /// Signup, login and refresh attempts allowed per minute per client address and per email
    /// or account (429 beyond); 0 turns the limits off (e.g. for load tests).
    pub auth_rate_limit: u32,
    /// How often the server looks for checkouts a crashed or stalled process left half-way
    /// (holds older than the lease); default [`crate::server::RECOVERY_EVERY`].
    pub recovery_every: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            body_limit: DEFAULT_BODY_LIMIT,
            request_timeout: Duration::from_secs(30),
            auth_rate_limit: 30,
            cors_origins: Vec::new(),
            recovery_every: crate::server::RECOVERY_EVERY,
        }
    }
}

/// The resolved configuration of a server.
#[derive(Clone)]
pub struct Config {
    /// Where to listen.
    pub bind: SocketAddr,
    /// Key of the HMAC under which API keys are stored; random per process when absent
    /// (allowed only with the memory backend, whose keys die with the process anyway).
    pub secret: Option<Secret>,
    /// Currency of all prices.
    pub currency: Currency,
    /// A clear API key ensured at start with permission `0000`.
    pub bootstrap_api_key: Option<String>,
    /// Lifetime of access tokens.
    pub access_token_ttl: Duration,
    /// Lifetime of refresh tokens (and of sessions).
    pub refresh_token_ttl: Duration,
    /// MongoDB connection string; none means the memory backend.
    pub mongo_uri: Option<String>,
    /// MongoDB database name.
    pub mongo_db: String,
    /// Redis URL for the lock and stock gate; none means the in-process lock.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key the server writes (servers sharing a Redis with the same
    /// prefix share their locks).
    pub redis_prefix: String,
    /// How checkouts reserve stock.
    pub checkout_strategy: CheckoutStrategy,
    /// How long a checkout may hold stock and code uses before recovery settles or gives them
    /// back.
    pub checkout_lease: Duration,
    /// Shipping fee per order in major units of [`Config::currency`], as configured (parsed
    /// exactly by [`Config::fee_ship`]); none means free shipping.
    pub fee_ship: Option<MajorUnits>,
    /// HTTP settings.
    pub http: HttpConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 3055)),
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
            fee_ship: None,
            http: HttpConfig::default(),
        }
    }
}

fn hidden<T>(value: &Option<T>) -> &'static str {
    if value.is_some() {
        "Some(***)"
    } else {
        "None"
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("secret", &hidden(&self.secret))
            .field("currency", &self.currency)
            .field("bootstrap_api_key", &hidden(&self.bootstrap_api_key))
            .field("access_token_ttl", &self.access_token_ttl)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .field("mongo_uri", &hidden(&self.mongo_uri))
            .field("mongo_db", &self.mongo_db)
            .field("redis_url", &hidden(&self.redis_url))
            .field("redis_prefix", &self.redis_prefix)
            .field("checkout_strategy", &self.checkout_strategy)
            .field("checkout_lease", &self.checkout_lease)
            .field("fee_ship", &self.fee_ship)
            .field("http", &self.http)
            .finish()
    }
}

/// One layer of settings, every field optional: a TOML file, or the environment and flags
/// (clap reads `ECOM_*` for each flag; a flag wins over its variable).
#[derive(Clone, Default, Deserialize)]
#[cfg_attr(feature = "server", derive(clap::Args))]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Listen address [default: 127.0.0.1:3055].
    #[cfg_attr(feature = "server", arg(long, env = "ECOM_BIND", global = true))]
    pub bind: Option<SocketAddr>,
    /// API-key HMAC secret, at least 16 bytes (required with MongoDB).
    #[cfg_attr(
        feature = "server",
        arg(long, env = "ECOM_SECRET", hide_env_values = true, global = true)
    )]
    pub secret: Option<String>,
    /// ISO 4217 currency of all prices [default: USD].
    #[cfg_attr(feature = "server", arg(long, env = "ECOM_CURRENCY", global = true))]
    pub currency: Option<String>,
    /// An API key to ensure at start with permission 0000.
    #[cfg_attr(
        feature = "server",
        arg(
            long,
            env = "ECOM_BOOTSTRAP_API_KEY",
            hide_env_values = true,
            global = true
        )
    )]
    pub bootstrap_api_key: Option<String>,
    /// Access token lifetime in seconds [default: 900].
    #[cfg_attr(
        feature = "server",
        arg(long, env = "ECOM_ACCESS_TOKEN_TTL", global = true)
    )]
    pub access_token_ttl: Option<u64>,
    /// Refresh token lifetime in seconds [default: 604800].
    #[cfg_attr(
        feature = "server",
        arg(long, env = "ECOM_REFRESH_TOKEN_TTL", global = true)
    )]
    pub refresh_token_ttl: Option<u64>,
    /// MongoDB connection string [default: none, memory backend].
    #[cfg_attr(
        feature = "server",
        arg(long, env = "ECOM_MONGO_URI", hide_env_values = true, global = true)
    )]
    pub mongo_uri: Option<String>,
    /// MongoDB database [default: ecom].
    #[cfg_attr(feature = "server", arg(long, env = "ECOM_MONGO_DB", global = true))]
    pub mongo_db: Option<String>,
    /// Redis URL [default: none, in-process lock].
    #[cfg_attr(
        feature = "server",
        arg(long, env = "ECOM_REDIS_URL", hide_env_values = true, global = true)
    )]
    pub redis_url: Option<String>,
    /// Prefix of the server's Redis keys [default: ecom:].
    #[cfg_attr(
        feature = "server",
        arg(long, env = "ECOM_REDIS_PREFIX", global = true)
    )]
    pub redis_prefix: Option<String>,
    /// How checkouts reserve stock: one of the names of `CheckoutStrategy::ALL`, e.g. atomic or
    /// lock_then_reserve [default: atomic].
    #[cfg_attr(
        feature = "server",
        arg(long, env = "ECOM_CHECKOUT_STRATEGY", global = true)
    )]
    pub checkout_strategy: Option<String>,
    /// Checkout lease in seconds [default: 30].
    #[cfg_attr(
        feature = "server",
        arg(long, env = "ECOM_CHECKOUT_LEASE", global = true)
    )]
    pub checkout_lease: Option<u64>,
    /// Seconds between recovery passes (stale checkouts, the stock gate's reconcile, expired
    /// sessions) [default: 30].
    #[cfg_attr(
        feature = "server",
        arg(long, env = "ECOM_RECOVERY_EVERY", global = true)
    )]
    pub recovery_every: Option<u64>,
    /// Shipping fee per order, in major units of the currency (e.g. 2.50) [default: 0].
    #[cfg_attr(feature = "server", arg(long, env = "ECOM_FEE_SHIP", global = true))]
    pub fee_ship: Option<MajorUnits>,
    /// Largest request body in bytes [default: 1048576].
    #[cfg_attr(feature = "server", arg(long, env = "ECOM_BODY_LIMIT", global = true))]
    pub body_limit: Option<usize>,
    /// Request timeout in seconds [default: 30].
    #[cfg_attr(
        feature = "server",
        arg(long, env = "ECOM_REQUEST_TIMEOUT", global = true)
    )]
    pub request_timeout: Option<u64>,
    /// Signup, login and refresh attempts per minute per client address and per email or
    /// account; 0 turns the limits off [default: 30].
    #[cfg_attr(
        feature = "server",
        arg(long, env = "ECOM_AUTH_RATE_LIMIT", global = true)
    )]
    pub auth_rate_limit: Option<u32>,
    /// CORS origins, comma-separated; `*` for any [default: none].
    #[cfg_attr(
        feature = "server",
        arg(long, env = "ECOM_CORS_ORIGINS", value_delimiter = ',', global = true)
    )]
    pub cors_origins: Option<Vec<String>>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("secret", &hidden(&self.secret))
            .field("currency", &self.currency)
            .field("bootstrap_api_key", &hidden(&self.bootstrap_api_key))
            .field("access_token_ttl", &self.access_token_ttl)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .field("mongo_uri", &hidden(&self.mongo_uri))
            .field("mongo_db", &self.mongo_db)
            .field("redis_url", &hidden(&self.redis_url))
            .field("redis_prefix", &self.redis_prefix)
            .field("checkout_strategy", &self.checkout_strategy)
            .field("checkout_lease", &self.checkout_lease)
            .field("fee_ship", &self.fee_ship)
            .field("body_limit", &self.body_limit)
            .field("request_timeout", &self.request_timeout)
            .field("auth_rate_limit", &self.auth_rate_limit)
            .field("cors_origins", &self.cors_origins)
            .field("recovery_every", &self.recovery_every)
            .finish()
    }
}

#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
impl Settings {
    /// Reads a TOML file of settings (unknown keys are an error).
    pub fn from_toml_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        Self::from_toml(&text).with_context(|| format!("in config file {}", path.display()))
    }

    /// Parses TOML settings.
    pub fn from_toml(text: &str) -> anyhow::Result<Self> {
        Ok(toml::from_str(text)?)
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

impl Config {
    /// `self` with every setting present in `layer` replaced; validated.
    pub fn merge(mut self, layer: Settings) -> anyhow::Result<Self> {
        if let Some(bind) = layer.bind {
            self.bind = bind;
        }
        if let Some(secret) = layer.secret {
            if secret.len() < MIN_SECRET_LEN {
                bail!("ECOM_SECRET must be at least {MIN_SECRET_LEN} bytes");
            }
            self.secret = Some(Secret::new(secret.into_bytes()));
        }
        if let Some(code) = layer.currency {
            self.currency = Currency::from_code(&code)
                .map_err(|_| anyhow::anyhow!("ECOM_CURRENCY: unknown currency {code:?}"))?;
        }
        if let Some(key) = layer.bootstrap_api_key {
            self.bootstrap_api_key = Some(key);
        }
        if let Some(ttl) = layer.access_token_ttl {
            self.access_token_ttl = seconds("ECOM_ACCESS_TOKEN_TTL", ttl)?;
        }
        if let Some(ttl) = layer.refresh_token_ttl {
            self.refresh_token_ttl = seconds("ECOM_REFRESH_TOKEN_TTL", ttl)?;
        }
        if let Some(uri) = layer.mongo_uri.filter(|u| !u.trim().is_empty()) {
            self.mongo_uri = Some(uri);
        }
        if let Some(db) = layer.mongo_db {
            self.mongo_db = db;
        }
        if let Some(url) = layer.redis_url.filter(|u| !u.trim().is_empty()) {
            self.redis_url = Some(url);
        }
        if let Some(prefix) = layer.redis_prefix {
            self.redis_prefix = prefix;
        }
        if let Some(name) = layer.checkout_strategy {
            self.checkout_strategy = CheckoutStrategy::parse(&name)
                .map_err(|err| anyhow::anyhow!("ECOM_CHECKOUT_STRATEGY: {err}"))?;
        }
        if let Some(lease) = layer.checkout_lease {
            self.checkout_lease = seconds("ECOM_CHECKOUT_LEASE", lease)?;
        }
        if let Some(every) = layer.recovery_every {
            self.http.recovery_every = seconds("ECOM_RECOVERY_EVERY", every)?;
        }
        if let Some(fee) = layer.fee_ship {
            self.fee_ship = Some(fee);
        }
        // Checked against the currency as it stands after this layer, so a later layer that
        // changes the currency re-checks the fee.
        self.fee_ship()?;
        if let Some(limit) = layer.body_limit {
            if limit == 0 {
                bail!("ECOM_BODY_LIMIT must be at least 1 byte");
            }
            self.http.body_limit = limit;
        }
        if let Some(timeout) = layer.request_timeout {
            self.http.request_timeout = seconds("ECOM_REQUEST_TIMEOUT", timeout)?;
        }
        if let Some(limit) = layer.auth_rate_limit {
            self.http.auth_rate_limit = limit;
        }
        if let Some(origins) = layer.cors_origins {
            self.http.cors_origins = origins
                .into_iter()
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect();
        }
        Ok(self)
    }

    /// Defaults, then the TOML file at `file` (if any), then `overrides` (environment and
    /// flags, as clap resolved them).
    #[cfg(feature = "server")]
    #[cfg_attr(docsrs, doc(cfg(feature = "server")))]
    pub fn load(file: Option<&Path>, overrides: Settings) -> anyhow::Result<Self> {
        let mut config = Config::default();
        if let Some(path) = file {
            config = config.merge(Settings::from_toml_file(path)?)?;
        }
        config.merge(overrides)
    }

    /// The shipping fee per order, parsed exactly in the configured currency (more decimals
    /// than the currency has, or a negative amount, is an error).
    pub fn fee_ship(&self) -> anyhow::Result<Money> {
        let Some(fee) = &self.fee_ship else {
            return Ok(Money::zero(self.currency));
        };
        let money = Money::parse_major(fee, self.currency, "fee_ship")
            .map_err(|err| anyhow::anyhow!("ECOM_FEE_SHIP: {err}"))?;
        if money.minor < 0 {
            bail!("ECOM_FEE_SHIP: must not be negative");
        }
        Ok(money)
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
        ecom.checkout.fee_ship_minor = self.fee_ship()?.minor;
        Ok(ecom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order_and_secrets_stay_hidden() {
        let file = Settings::from_toml(
            r#"
            bind = "0.0.0.0:8080"
            currency = "eur"
            secret = "file-secret-0123456789"
            mongo_db = "shop"
            cors_origins = ["https://a.example"]
            "#,
        )
        .unwrap();
        let flags = Settings {
            bind: Some("127.0.0.1:9000".parse().unwrap()),
            bootstrap_api_key: Some("bootstrap-key-0123456789".into()),
            mongo_uri: Some("mongodb://user:hunter2@db".into()),
            ..Settings::default()
        };
        let config = Config::default().merge(file).unwrap().merge(flags).unwrap();
        assert_eq!(config.bind.to_string(), "127.0.0.1:9000");
        assert_eq!(config.currency.code(), "EUR");
        assert_eq!(config.mongo_db, "shop");
        assert_eq!(config.http.cors_origins, vec!["https://a.example"]);
        assert_eq!(config.http.body_limit, DEFAULT_BODY_LIMIT);
        let debug = format!("{config:?}");
        for secret in ["file-secret", "bootstrap-key", "hunter2"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(debug.contains("Some(***)"));
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
                .and_then(|s| Config::default().merge(s))
                .unwrap_err();
            assert!(format!("{err:#}").contains(needle), "{toml}: {err:#}");
        }
        assert!(Settings::from_toml("nonsense = 1").is_err());
    }

    #[test]
    fn checkout_strategy_and_fee_ship_feed_the_services() {
        assert_eq!(Config::default().fee_ship().unwrap().minor, 0);
        assert_eq!(
            Config::default().checkout_strategy,
            CheckoutStrategy::default()
        );
        for (name, strategy) in CheckoutStrategy::ALL {
            let layer = Settings::from_toml(&format!(
                "checkout_strategy = {:?}\nfee_ship = 2.5",
                name.to_uppercase()
            ))
            .unwrap();
            let config = Config::default().merge(layer).unwrap();
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
        let config = Config::default().merge(flags).unwrap();
        assert_eq!(config.ecom_config().unwrap().checkout.fee_ship_minor, 399);
        assert_eq!(config.redis_prefix, "shop1:");
        // A fee valid in USD becomes invalid when a later layer switches to a currency
        // without decimals.
        let jpy = Settings {
            currency: Some("JPY".into()),
            ..Settings::default()
        };
        let err = config.merge(jpy).unwrap_err();
        assert!(format!("{err:#}").contains("ECOM_FEE_SHIP"), "{err:#}");
        for (toml, needle) in [
            ("checkout_strategy = \"bogus\"", "ECOM_CHECKOUT_STRATEGY"),
            ("fee_ship = \"1.999\"", "ECOM_FEE_SHIP"),
            ("fee_ship = -1", "must not be negative"),
            ("fee_ship = \"1e3\"", "ECOM_FEE_SHIP"),
        ] {
            let err = Settings::from_toml(toml)
                .and_then(|s| Config::default().merge(s))
                .unwrap_err();
            assert!(format!("{err:#}").contains(needle), "{toml}: {err:#}");
        }
    }
}
