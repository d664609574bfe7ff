//! API keys: minted at random, stored only as HMAC-SHA256 under the server secret.

use crate::api_key::{ApiKey, Permission};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::id::ApiKeyId;
use crate::service::config::EcomConfig;
use crate::service::lookups::{Fetch, Lookups};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::sync::Arc;

/// A key just created: the clear `key` is shown once and not stored anywhere.
#[derive(Clone, Debug)]
pub struct NewApiKey {
    /// The clear key to give the client.
    pub key: String,
    /// What is stored.
    pub record: ApiKey,
}

/// The API-key use cases.
#[derive(Clone, Debug)]
pub struct ApiKeyService {
    backend: Backend,
    config: Arc<EcomConfig>,
    /// Key lookups, batched when group commit is on.
    lookups: Option<Arc<Lookups<String, ApiKey>>>,
}

/// The message clients get for a missing, unknown or disabled key.
const FORBIDDEN: &str = "Forbidden Error";

impl ApiKeyService {
    pub(crate) fn new(backend: Backend, config: Arc<EcomConfig>) -> Self {
        let lookups = config.group_commit.then(|| {
            let keys = backend.api_keys.clone();
            let fetch: Fetch<String, ApiKey> = Arc::new(move |hashes| {
                let keys = keys.clone();
                Box::pin(async move { keys.find_many_by_hash(&hashes).await })
            });
            Arc::new(Lookups::new(fetch, |k: &ApiKey| k.key_hash.clone()))
        });
        ApiKeyService {
            backend,
            config,
            lookups,
        }
    }

    /// The stored form of a clear key: lowercase hex HMAC-SHA256 under the server secret.
    pub fn hash(&self, clear: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.config.api_key_secret.expose())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(clear.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Mints a new random key with `permissions`.
    pub async fn create(&self, permissions: Vec<Permission>) -> Result<NewApiKey> {
        let mut bytes = [0_u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let key = format!("ecom_{}", hex::encode(bytes));
        let record = self.store(&key, permissions).await?;
        Ok(NewApiKey { key, record })
    }

    /// Makes sure the clear key `key` exists (for bootstrap keys set by an operator); inserts it
    /// with `permissions` if absent, else returns the stored record unchanged.
    pub async fn ensure(&self, key: &str, permissions: Vec<Permission>) -> Result<ApiKey> {
        if key.len() < 16 || key.len() > 256 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::validation(
                "api key",
                "must be 16 to 256 printable characters",
            ));
        }
        if let Some(existing) = self.backend.api_keys.find_by_hash(&self.hash(key)).await? {
            return Ok(existing);
        }
        match self.store(key, permissions).await {
            Err(Error::AlreadyExists { .. }) => self
                .backend
                .api_keys
                .find_by_hash(&self.hash(key))
                .await?
                .ok_or_else(|| Error::not_found("api key")),
            other => other,
        }
    }

    /// Checks a presented key: [`Error::Forbidden`] if unknown or disabled,
    /// [`Error::PermissionDenied`] if it lacks `needed`.
    pub async fn check(&self, key: &str, needed: Permission) -> Result<ApiKey> {
        let forbidden = || Error::Forbidden(FORBIDDEN.into());
        if key.is_empty() || key.len() > 256 {
            return Err(forbidden());
        }
        let hash = self.hash(key);
        let found = match &self.lookups {
            Some(lookups) => lookups.get(hash).await?,
            None => self.backend.api_keys.find_by_hash(&hash).await?,
        };
        let record = found.filter(|k| k.active).ok_or_else(forbidden)?;
        if record.permissions.contains(&needed) {
            Ok(record)
        } else {
            Err(Error::PermissionDenied)
        }
    }

    /// Disables a key; [`Error::NotFound`] if there is none.
    pub async fn disable(&self, id: &ApiKeyId) -> Result<()> {
        if self.backend.api_keys.set_active(id, false).await? {
            Ok(())
        } else {
            Err(Error::not_found("api key"))
        }
    }

    async fn store(&self, key: &str, mut permissions: Vec<Permission>) -> Result<ApiKey> {
        permissions.sort_by_key(|p| p.code());
        permissions.dedup();
        if permissions.is_empty() {
            return Err(Error::validation("permissions", "at least one is required"));
        }
        let record = ApiKey {
            id: ApiKeyId::generate(),
            key_hash: self.hash(key),
            permissions,
            active: true,
            created_at: self.backend.clock.now(),
        };
        self.backend.api_keys.insert(&record).await?;
        Ok(record)
    }
}
