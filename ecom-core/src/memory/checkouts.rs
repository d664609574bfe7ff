use super::locked;
use crate::checkout::{CheckoutRecord, CheckoutRepo, Transition};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::id::{CheckoutId, CustomerId};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// In-process [`CheckoutRepo`].
#[derive(Debug, Default)]
pub struct MemoryCheckouts {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<CheckoutId, CheckoutRecord>,
    by_key: HashMap<(CustomerId, String), CheckoutId>,
}

#[async_trait]
impl CheckoutRepo for MemoryCheckouts {
    async fn insert(&self, record: &CheckoutRecord) -> Result<()> {
        let mut inner = locked(&self.inner);
        let key = (record.customer_id.clone(), record.idempotency_key.clone());
        if inner.by_key.contains_key(&key) || inner.by_id.contains_key(&record.id) {
            return Err(Error::Conflict(
                "checkout exists for this idempotency key".into(),
            ));
        }
        inner.by_key.insert(key, record.id.clone());
        inner.by_id.insert(record.id.clone(), record.clone());
        Ok(())
    }

    async fn get(&self, id: &CheckoutId) -> Result<Option<CheckoutRecord>> {
        Ok(locked(&self.inner).by_id.get(id).cloned())
    }

    async fn find_by_key(
        &self,
        customer_id: &CustomerId,
        idempotency_key: &str,
    ) -> Result<Option<CheckoutRecord>> {
        let inner = locked(&self.inner);
        Ok(inner
            .by_key
            .get(&(customer_id.clone(), idempotency_key.to_owned()))
            .and_then(|id| inner.by_id.get(id))
            .cloned())
    }

    async fn transition(&self, id: &CheckoutId, change: &Transition) -> Result<bool> {
        let mut inner = locked(&self.inner);
        match inner.by_id.get_mut(id) {
            Some(record) if record.state == change.from => {
                record.state = change.to;
                record.deadline = change.deadline;
                record.failure = change.failure.clone();
                record.updated_at = change.now;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn list_stale(&self, now: Timestamp, limit: u32) -> Result<Vec<CheckoutRecord>> {
        let inner = locked(&self.inner);
        let mut stale: Vec<&CheckoutRecord> = inner
            .by_id
            .values()
            .filter(|r| !r.state.is_terminal() && r.deadline < now)
            .collect();
        stale.sort_by_key(|r| r.deadline);
        Ok(stale.into_iter().take(limit as usize).cloned().collect())
    }
}
