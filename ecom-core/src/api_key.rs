//! API keys: what every `/v1/api` call presents, stored only as an HMAC.

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::id::ApiKeyId;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt::{self, Debug};

/// A permission code carried by an API key (`0000`, `1111`, `2222`). A route names the one it needs;
/// a key is allowed when its set contains it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum Permission {
    /// `0000`: the standard client permission, needed by every `/v1/api` route.
    #[serde(rename = "0000")]
    P0000,
    /// `1111`: reserved for partner integrations.
    #[serde(rename = "1111")]
    P1111,
    /// `2222`: reserved for administration.
    #[serde(rename = "2222")]
    P2222,
}

impl Permission {
    /// Parses `0000`, `1111` or `2222`.
    pub fn parse(code: &str) -> Result<Self> {
        match code.trim() {
            "0000" => Ok(Permission::P0000),
            "1111" => Ok(Permission::P1111),
            "2222" => Ok(Permission::P2222),
            other => Err(Error::validation(
                "permissions",
                format!("unknown permission {other:?} (expected 0000, 1111 or 2222)"),
            )),
        }
    }

    /// The code, e.g. `0000`.
    pub fn code(self) -> &'static str {
        match self {
            Permission::P0000 => "0000",
            Permission::P1111 => "1111",
            Permission::P2222 => "2222",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A stored API key. The clear key is shown once at creation and never stored.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct ApiKey {
    /// The record id.
    pub id: ApiKeyId,
    /// Lowercase hex HMAC-SHA256 of the clear key under the server secret; unique.
    pub key_hash: String,
    /// What the key may do.
    pub permissions: Vec<Permission>,
    /// Disabled keys are refused like unknown ones.
    pub active: bool,
    /// When it was created.
    pub created_at: Timestamp,
}

/// Storage of API keys.
#[async_trait]
pub trait ApiKeyRepo: Send + Sync + Debug + 'static {
    /// Inserts a key; [`Error::AlreadyExists`] if `key_hash` exists.
    async fn insert(&self, key: &ApiKey) -> Result<()>;

    /// The key whose hash is `key_hash`, if any.
    async fn find_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>>;

    /// The keys with these hashes that exist (a batch of lookups). The default finds them one
    /// by one.
    async fn find_many_by_hash(&self, key_hashes: &[String]) -> Result<Vec<ApiKey>> {
        let mut found = Vec::with_capacity(key_hashes.len());
        for hash in key_hashes {
            found.extend(self.find_by_hash(hash).await?);
        }
        Ok(found)
    }

    /// Enables or disables a key; false if there is no such key.
    async fn set_active(&self, id: &ApiKeyId, active: bool) -> Result<bool>;
}
