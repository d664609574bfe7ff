use crate::api_key::{ApiKey, ApiKeyRepo};
use crate::error::{Error, Result};
use crate::id::ApiKeyId;
use crate::in_process::sync::locked;
use crate::in_process::sync::Map;
use async_trait::async_trait;
use std::sync::Mutex;

/// In-process [`ApiKeyRepo`], indexed by key hash.
#[derive(Debug, Default)]
pub struct MemoryApiKeys {
    by_hash: Mutex<Map<String, ApiKey>>,
}

#[async_trait]
impl ApiKeyRepo for MemoryApiKeys {
    async fn insert(&self, key: &ApiKey) -> Result<()> {
        let mut keys = locked(&self.by_hash);
        if keys.contains_key(&key.key_hash) {
            return Err(Error::already_exists("api key"));
        }
        keys.insert(key.key_hash.clone(), key.clone());
        Ok(())
    }

    async fn find_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        Ok(locked(&self.by_hash).get(key_hash).cloned())
    }

    async fn set_active(&self, id: &ApiKeyId, active: bool) -> Result<bool> {
        let mut keys = locked(&self.by_hash);
        match keys.values_mut().find(|k| &k.id == id) {
            Some(key) => {
                key.active = active;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}
