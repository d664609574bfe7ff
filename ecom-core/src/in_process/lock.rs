use crate::error::{Error, Result};
use crate::in_process::sync::locked;
use crate::in_process::sync::Map;
use crate::lock::{DistributedLock, LockGuard};
use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// In-process [`DistributedLock`]: exclusive within one process only. Waiters queue FIFO and
/// are woken on release or when the holder's TTL runs out.
#[derive(Debug, Default)]
pub struct MemoryLock {
    keys: Mutex<Map<String, KeyState>>,
}

#[derive(Debug, Default)]
struct KeyState {
    holder: Option<(String, Instant)>,
    fence: u64,
    waiters: Arc<Notify>,
}

enum Attempt {
    Acquired(LockGuard),
    Wait(Arc<Notify>, Instant),
}

impl MemoryLock {
    fn try_acquire(&self, key: &str, ttl: Duration) -> Attempt {
        let mut keys = locked(&self.keys);
        let state = keys.entry(key.to_owned()).or_default();
        let now = Instant::now();
        match &state.holder {
            Some((_, expires)) if *expires > now => Attempt::Wait(state.waiters.clone(), *expires),
            _ => {
                let owner = uuid::Uuid::new_v4().simple().to_string();
                state.fence += 1;
                state.holder = Some((owner.clone(), now + ttl));
                Attempt::Acquired(LockGuard {
                    key: key.to_owned(),
                    owner,
                    fence: state.fence,
                })
            }
        }
    }
}

#[async_trait]
impl DistributedLock for MemoryLock {
    async fn acquire(&self, key: &str, ttl: Duration, wait: Duration) -> Result<LockGuard> {
        let deadline = Instant::now() + wait;
        loop {
            let (waiters, holder_expires) = match self.try_acquire(key, ttl) {
                Attempt::Acquired(guard) => return Ok(guard),
                Attempt::Wait(waiters, expires) => (waiters, expires),
            };
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Busy(format!("lock {key} is held")));
            }
            let notified = waiters.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // The holder may have released between try_acquire and enable(): check again.
            if let Attempt::Acquired(guard) = self.try_acquire(key, ttl) {
                return Ok(guard);
            }
            let _ = tokio::time::timeout_at(holder_expires.min(deadline), notified).await;
        }
    }

    async fn release(&self, guard: &LockGuard) -> Result<bool> {
        let mut keys = locked(&self.keys);
        let Some(state) = keys.get_mut(&guard.key) else {
            return Ok(false);
        };
        let owned = matches!(&state.holder, Some((owner, expires))
            if *owner == guard.owner && *expires > Instant::now());
        if owned {
            state.holder = None;
            state.waiters.notify_one();
        }
        Ok(owned)
    }
}
