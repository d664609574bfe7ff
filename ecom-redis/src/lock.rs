//! [`RedisLock`]: the lock port on Redis.

use crate::connection::{bounded, connect};
use async_trait::async_trait;
use ecom_core::lock::{DistributedLock, LockGuard};
use ecom_core::{Error, Result};
use rand::Rng;
use redis::aio::ConnectionManager;
use redis::Script;
use std::fmt;
use std::time::Duration;
use tokio::time::Instant;

/// First pause between attempts to take a held lock.
const FIRST_BACKOFF: Duration = Duration::from_millis(2);
/// Longest pause between attempts.
const MAX_BACKOFF: Duration = Duration::from_millis(50);

/// A [`DistributedLock`] on Redis. Cheap to clone; clones share one multiplexed connection
/// that reconnects by itself after an outage.
#[derive(Clone)]
pub struct RedisLock {
    conn: ConnectionManager,
    prefix: String,
    acquire: Script,
    release: Script,
}

impl fmt::Debug for RedisLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLock")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisLock {
    /// Connects to `url` (e.g. `redis://127.0.0.1:6379`); every key gets `prefix` in front.
    /// [`Error::Unavailable`] if Redis cannot be reached.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self> {
        Ok(RedisLock {
            conn: connect(url).await?,
            prefix: prefix.to_owned(),
            acquire: Script::new(include_str!("../lua/lock_acquire.lua")),
            release: Script::new(include_str!("../lua/lock_release.lua")),
        })
    }

    /// The Redis key holding lock `key` (hash-tagged so the fence key lands on the same slot).
    pub fn lock_key(&self, key: &str) -> String {
        format!("{}lock:{{{key}}}", self.prefix)
    }

    fn fence_key(&self, key: &str) -> String {
        format!("{}fence:{{{key}}}", self.prefix)
    }

    async fn try_acquire(&self, key: &str, owner: &str, ttl: Duration) -> Result<u64> {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut conn = self.conn.clone();
        let mut invocation = self.acquire.prepare_invoke();
        invocation
            .key(self.lock_key(key))
            .key(self.fence_key(key))
            .arg(owner)
            .arg(ttl_ms);
        bounded(invocation.invoke_async::<u64>(&mut conn)).await
    }
}

#[async_trait]
impl DistributedLock for RedisLock {
    async fn acquire(&self, key: &str, ttl: Duration, wait: Duration) -> Result<LockGuard> {
        let owner = uuid::Uuid::new_v4().simple().to_string();
        let deadline = Instant::now() + wait;
        let mut backoff = FIRST_BACKOFF;
        loop {
            let fence = self.try_acquire(key, &owner, ttl).await?;
            if fence > 0 {
                return Ok(LockGuard {
                    key: key.to_owned(),
                    owner,
                    fence,
                });
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Busy(format!("lock {key} is held")));
            }
            let jittered = backoff.mul_f64(rand::thread_rng().gen_range(0.5..1.5));
            tokio::time::sleep(jittered.min(deadline - now)).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn release(&self, guard: &LockGuard) -> Result<bool> {
        let mut conn = self.conn.clone();
        let mut invocation = self.release.prepare_invoke();
        invocation.key(self.lock_key(&guard.key)).arg(&guard.owner);
        let released = bounded(invocation.invoke_async::<i64>(&mut conn)).await?;
        Ok(released == 1)
    }
    async fn ping(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        bounded(redis::cmd("PING").query_async::<String>(&mut conn)).await?;
        Ok(())
    }
}
