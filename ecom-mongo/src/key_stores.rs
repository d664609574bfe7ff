//! [`KeyStoreRepo`] on the `Keys` collection (one document per login session).

use crate::collection::{collection, index};
use crate::error::{exists_as, to_core};
use crate::timestamp;
use async_trait::async_trait;
use bson::doc;
use ecom_core::account::AccountKind;
use ecom_core::clock::Timestamp;
use ecom_core::id::{AccountId, SessionId};
use ecom_core::key_store::{KeyStore, KeyStoreRepo};
use ecom_core::{Result, Secret};
use futures::TryStreamExt;

use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

/// Collection of key stores.
pub(crate) const KEYS: &str = "Keys";

/// Indexes of `Keys`: sessions by account, for "log out everywhere"; by expiry, for the
/// sweep of expired sessions.
pub(crate) fn indexes() -> Vec<IndexModel> {
    vec![
        index("account", doc! { "accountId": 1 }),
        index("expiry", doc! { "expiresAt": 1 }),
    ]
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyStoreDoc {
    #[serde(rename = "_id")]
    id: SessionId,
    account_id: AccountId,
    kind: AccountKind,
    /// Lowercase hex.
    /// Absent in sessions stored before keys were derived: such a session's tokens no longer
    /// verify (their holders log in again).
    #[serde(default = "no_salt")]
    salt: Secret,
    /// Lowercase hex.
    refresh_jti: String,
    used_refresh_jtis: Vec<String>,
    #[serde(with = "timestamp")]
    created_at: Timestamp,
    #[serde(with = "timestamp")]
    expires_at: Timestamp,
}

impl From<&KeyStore> for KeyStoreDoc {
    fn from(k: &KeyStore) -> Self {
        KeyStoreDoc {
            id: k.id.clone(),
            account_id: k.account_id.clone(),
            kind: k.kind,
            salt: k.salt.clone(),
            refresh_jti: k.refresh_jti.clone(),
            used_refresh_jtis: k.used_refresh_jtis.clone(),
            created_at: k.created_at,
            expires_at: k.expires_at,
        }
    }
}

impl From<KeyStoreDoc> for KeyStore {
    fn from(d: KeyStoreDoc) -> Self {
        KeyStore {
            id: d.id,
            account_id: d.account_id,
            kind: d.kind,
            salt: d.salt,
            refresh_jti: d.refresh_jti,
            used_refresh_jtis: d.used_refresh_jtis,
            created_at: d.created_at,
            expires_at: d.expires_at,
        }
    }
}

/// MongoDB [`KeyStoreRepo`] on the `Keys` collection.
#[derive(Debug, Clone)]
pub struct MongoKeyStores {
    keys: Collection<KeyStoreDoc>,
}

impl MongoKeyStores {
    /// The repository on `db`.
    pub fn new(db: &Database) -> Self {
        MongoKeyStores {
            keys: collection(db, KEYS),
        }
    }
}

#[async_trait]
impl KeyStoreRepo for MongoKeyStores {
    async fn insert(&self, store: &KeyStore) -> Result<()> {
        self.keys
            .insert_one(KeyStoreDoc::from(store))
            .await
            .map_err(to_core)
            .map_err(|e| exists_as(e, "session"))?;
        Ok(())
    }

    async fn get(&self, id: &SessionId) -> Result<Option<KeyStore>> {
        let found = self
            .keys
            .find_one(doc! { "_id": id.as_str() })
            .await
            .map_err(to_core)?;
        Ok(found.map(KeyStore::from))
    }

    async fn get_many(&self, ids: &[SessionId]) -> Result<Vec<KeyStore>> {
        let ids: Vec<&str> = ids.iter().map(SessionId::as_str).collect();
        let found: Vec<_> = self
            .keys
            .find(doc! { "_id": { "$in": ids } })
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)?;
        Ok(found.into_iter().map(KeyStore::from).collect())
    }

    async fn rotate_refresh(
        &self,
        id: &SessionId,
        current: &str,
        next: &str,
        expires_at: Timestamp,
    ) -> Result<bool> {
        // The guard is the filter: only the holder of the current jti matches.
        let updated = self
            .keys
            .update_one(
                doc! { "_id": id.as_str(), "refreshJti": current },
                doc! {
                    "$set": { "refreshJti": next, "expiresAt": timestamp::to_bson(&expires_at).map_err(to_core)? },
                    "$push": { "usedRefreshJtis": current },
                },
            )
            .await
            .map_err(to_core)?;
        Ok(updated.modified_count == 1)
    }

    async fn delete(&self, id: &SessionId) -> Result<bool> {
        let deleted = self
            .keys
            .delete_one(doc! { "_id": id.as_str() })
            .await
            .map_err(to_core)?;
        Ok(deleted.deleted_count == 1)
    }

    async fn delete_for_account(&self, account_id: &AccountId) -> Result<u64> {
        let deleted = self
            .keys
            .delete_many(doc! { "accountId": account_id.as_str() })
            .await
            .map_err(to_core)?;
        Ok(deleted.deleted_count)
    }

    async fn delete_expired(&self, now: Timestamp) -> Result<u64> {
        let now = timestamp::to_bson(&now).map_err(to_core)?;
        let deleted = self
            .keys
            .delete_many(doc! { "expiresAt": { "$lte": now } })
            .await
            .map_err(to_core)?;
        Ok(deleted.deleted_count)
    }
}

/// The salt of a session stored without one: empty, so no token verifies against it.
fn no_salt() -> Secret {
    Secret::new(Vec::new())
}
