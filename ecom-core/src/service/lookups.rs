//! Concurrent lookups of single keys coalesced into one lookup of many keys per batch (group
//! commit for reads): sessions by id, API keys by hash.

use crate::error::Result;
use crate::service::group_commit::{BoxFuture, GroupCommit, Runner};
use std::sync::Arc;

/// Fetches the values stored under some keys (those missing are left out).
pub(crate) type Fetch<K, V> = Arc<dyn Fn(Vec<K>) -> BoxFuture<Result<Vec<V>>> + Send + Sync>;

/// Concurrent lookups of single keys (a session by id, an API key by hash), coalesced into
/// one lookup of many keys per batch.
pub(crate) struct Lookups<K, V> {
    commit: Arc<GroupCommit<(), K, Result<Option<V>>>>,
}

impl<K, V> std::fmt::Debug for Lookups<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lookups").finish_non_exhaustive()
    }
}

impl<K, V> Lookups<K, V>
where
    K: Eq + std::hash::Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Lookups through `fetch`, matching the values found to keys with `key_of`.
    pub(crate) fn new(fetch: Fetch<K, V>, key_of: fn(&V) -> K) -> Self {
        let run: Runner<(), K, Result<Option<V>>> = Arc::new(move |(), keys| {
            let fetch = fetch.clone();
            Box::pin(async move {
                let mut unique = keys.clone();
                unique.dedup();
                match fetch(unique).await {
                    Ok(found) => {
                        let by_key: std::collections::HashMap<K, V> =
                            found.into_iter().map(|v| (key_of(&v), v)).collect();
                        keys.iter().map(|k| Ok(by_key.get(k).cloned())).collect()
                    }
                    Err(e) => keys.iter().map(|_| Err(e.replicate())).collect(),
                }
            })
        });
        Lookups {
            commit: GroupCommit::new(run),
        }
    }

    /// The value stored under `key`, if any.
    pub(crate) async fn get(&self, key: K) -> Result<Option<V>> {
        self.commit.submit((), key).await
    }
}
