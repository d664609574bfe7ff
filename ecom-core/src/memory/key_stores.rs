use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::id::{AccountId, SessionId};
use crate::in_process::sync::locked;
use crate::in_process::sync::Map;
use crate::key_store::{KeyStore, KeyStoreRepo};
use async_trait::async_trait;
use std::sync::Mutex;

/// In-process [`KeyStoreRepo`].
#[derive(Debug, Default)]
pub struct MemoryKeyStores {
    sessions: Mutex<Map<SessionId, KeyStore>>,
}

#[async_trait]
impl KeyStoreRepo for MemoryKeyStores {
    async fn insert(&self, store: &KeyStore) -> Result<()> {
        let mut sessions = locked(&self.sessions);
        if sessions.contains_key(&store.id) {
            return Err(Error::already_exists("session"));
        }
        sessions.insert(store.id.clone(), store.clone());
        Ok(())
    }

    async fn get(&self, id: &SessionId) -> Result<Option<KeyStore>> {
        Ok(locked(&self.sessions).get(id).cloned())
    }

    async fn rotate_refresh(
        &self,
        id: &SessionId,
        current: &str,
        next: &str,
        expires_at: Timestamp,
    ) -> Result<bool> {
        let mut sessions = locked(&self.sessions);
        match sessions.get_mut(id) {
            Some(store) if store.refresh_jti == current => {
                store.used_refresh_jtis.push(current.to_owned());
                store.refresh_jti = next.to_owned();
                store.expires_at = expires_at;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete(&self, id: &SessionId) -> Result<bool> {
        Ok(locked(&self.sessions).remove(id).is_some())
    }

    async fn delete_for_account(&self, account_id: &AccountId) -> Result<u64> {
        let mut sessions = locked(&self.sessions);
        let before = sessions.len();
        sessions.retain(|_, s| &s.account_id != account_id);
        Ok((before - sessions.len()) as u64)
    }

    async fn delete_expired(&self, now: Timestamp) -> Result<u64> {
        let mut sessions = locked(&self.sessions);
        let before = sessions.len();
        sessions.retain(|_, s| s.expires_at > now);
        Ok((before - sessions.len()) as u64)
    }
}
