//! Key stores: one per login session, holding that session's token secrets.

use crate::account::AccountKind;
use crate::clock::Timestamp;
use crate::error::Result;
use crate::id::{AccountId, SessionId};
use crate::secret::Secret;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// A login session: two random HMAC secrets (access and refresh tokens are signed with
/// different ones) and the refresh-token chain.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct KeyStore {
    /// The session id (also the `kid` header of its tokens).
    pub id: SessionId,
    /// Whose session it is.
    pub account_id: AccountId,
    /// Shop or customer.
    pub kind: AccountKind,
    /// Random per session; the session's signing keys are derived from it and the server
    /// secret (HMAC-SHA256 of the secret over a purpose and this salt), so the stored record
    /// alone cannot sign a token.
    pub salt: Secret,
    /// `jti` of the one refresh token that may be used next.
    pub refresh_jti: String,
    /// `jti`s already used; presenting one again is reuse.
    pub used_refresh_jtis: Vec<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When the current refresh token expires; the session is dead after.
    pub expires_at: Timestamp,
}

/// Storage of key stores.
#[async_trait]
pub trait KeyStoreRepo: Send + Sync + Debug + 'static {
    /// Inserts a new session.
    async fn insert(&self, store: &KeyStore) -> Result<()>;

    /// The session with `id`, if any.
    async fn get(&self, id: &SessionId) -> Result<Option<KeyStore>>;

    /// The sessions with these ids that exist (a batch of lookups). The default gets them one
    /// by one.
    async fn get_many(&self, ids: &[SessionId]) -> Result<Vec<KeyStore>> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            found.extend(self.get(id).await?);
        }
        Ok(found)
    }

    /// Atomically rotates the refresh chain: only if the stored `refresh_jti` equals `current`,
    /// moves it to `used_refresh_jtis`, sets `refresh_jti = next` and `expires_at`, and returns
    /// true. Returns false (changing nothing) if `current` is not the stored one or the session
    /// is gone, so of two concurrent rotations with one token exactly one wins.
    async fn rotate_refresh(
        &self,
        id: &SessionId,
        current: &str,
        next: &str,
        expires_at: Timestamp,
    ) -> Result<bool>;

    /// Deletes one session; true if it existed. Idempotent.
    async fn delete(&self, id: &SessionId) -> Result<bool>;

    /// Deletes every session of an account; returns how many.
    async fn delete_for_account(&self, account_id: &AccountId) -> Result<u64>;

    /// Deletes the sessions that expired at or before `now` (they are refused anyway; this
    /// keeps the store from growing with them); returns how many.
    async fn delete_expired(&self, now: Timestamp) -> Result<u64>;
}
