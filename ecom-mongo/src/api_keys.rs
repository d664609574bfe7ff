//! [`ApiKeyRepo`] on the `apiKeys` collection, unique on the key's HMAC (`keyHash`).

use crate::collection::{collection, unique};
use crate::error::{exists_as, to_core};
use crate::timestamp;
use async_trait::async_trait;
use bson::doc;
use ecom_core::api_key::{ApiKey, ApiKeyRepo, Permission};
use ecom_core::clock::Timestamp;
use ecom_core::id::ApiKeyId;
use ecom_core::Result;
use futures::TryStreamExt;

use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

/// Collection of API keys.
pub(crate) const API_KEYS: &str = "apiKeys";

/// Indexes of `apiKeys`: the hash is unique.
pub(crate) fn indexes() -> Vec<IndexModel> {
    vec![unique("key_hash_unique", doc! { "keyHash": 1 })]
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiKeyDoc {
    #[serde(rename = "_id")]
    id: ApiKeyId,
    key_hash: String,
    /// Permission codes: `"0000"`, `"1111"`, `"2222"`.
    permissions: Vec<Permission>,
    /// The `status` flag of the stored document.
    status: bool,
    #[serde(with = "timestamp")]
    created_at: Timestamp,
}

/// MongoDB [`ApiKeyRepo`] on the `apiKeys` collection.
#[derive(Debug, Clone)]
pub struct MongoApiKeys {
    keys: Collection<ApiKeyDoc>,
}

impl MongoApiKeys {
    /// The repository on `db`.
    pub fn new(db: &Database) -> Self {
        MongoApiKeys {
            keys: collection(db, API_KEYS),
        }
    }
}

#[async_trait]
impl ApiKeyRepo for MongoApiKeys {
    async fn insert(&self, key: &ApiKey) -> Result<()> {
        let stored = ApiKeyDoc {
            id: key.id.clone(),
            key_hash: key.key_hash.clone(),
            permissions: key.permissions.clone(),
            status: key.active,
            created_at: key.created_at,
        };
        self.keys
            .insert_one(stored)
            .await
            .map_err(to_core)
            .map_err(|e| exists_as(e, "api key"))?;
        Ok(())
    }

    async fn find_many_by_hash(&self, key_hashes: &[String]) -> Result<Vec<ApiKey>> {
        let found: Vec<_> = self
            .keys
            .find(doc! { "keyHash": { "$in": key_hashes } })
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)?;
        Ok(found
            .into_iter()
            .map(|d| ApiKey {
                id: d.id,
                key_hash: d.key_hash,
                permissions: d.permissions,
                active: d.status,
                created_at: d.created_at,
            })
            .collect())
    }

    async fn find_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        let found = self
            .keys
            .find_one(doc! { "keyHash": key_hash })
            .await
            .map_err(to_core)?;
        Ok(found.map(|d| ApiKey {
            id: d.id,
            key_hash: d.key_hash,
            permissions: d.permissions,
            active: d.status,
            created_at: d.created_at,
        }))
    }

    async fn set_active(&self, id: &ApiKeyId, active: bool) -> Result<bool> {
        let updated = self
            .keys
            .update_one(
                doc! { "_id": id.as_str() },
                doc! { "$set": { "status": active } },
            )
            .await
            .map_err(to_core)?;
        Ok(updated.matched_count == 1)
    }
}
