use crate::kind::ProductKindRegistry;
use crate::money::Currency;
use crate::secret::Secret;
use chrono::Duration;

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
}

impl EcomConfig {
    /// Defaults (USD, built-in kinds, 15 min / 7 days tokens) with the given API-key secret.
    pub fn new(api_key_secret: Secret) -> Self {
        EcomConfig {
            currency: Currency::USD,
            access_token_ttl: Duration::minutes(15),
            refresh_token_ttl: Duration::days(7),
            api_key_secret,
            kinds: ProductKindRegistry::with_builtins(),
        }
    }
}
