//! The `DistributedLock` port: mutual exclusion with fencing tokens.

use crate::error::Result;
use async_trait::async_trait;
use std::fmt::Debug;
use std::time::Duration;

/// Proof of holding a lock. Release it with [`DistributedLock::release`]; if it is dropped
/// instead, the lock frees itself when its TTL runs out.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LockGuard {
    /// The locked key.
    pub key: String,
    /// Random owner token; only this owner can release.
    pub owner: String,
    /// Fencing token: strictly greater than that of every earlier holder of `key`.
    pub fence: u64,
}

/// A lock shared by every process that uses the same backend.
///
/// A holder that outlives its TTL loses the lock silently; ecom never relies on the lock alone
/// for correctness (stock writes are conditional), so a stale holder cannot oversell.
#[async_trait]
pub trait DistributedLock: Send + Sync + Debug + 'static {
    /// Acquires `key` for at most `ttl`, waiting (with backoff) up to `wait` for it to be free.
    /// [`Error::Busy`](crate::Error::Busy) if it stays taken for the whole wait;
    /// [`Error::Unavailable`](crate::Error::Unavailable) if the lock service cannot be reached.
    async fn acquire(&self, key: &str, ttl: Duration, wait: Duration) -> Result<LockGuard>;

    /// Releases the lock if `guard` still owns it; returns false (changing nothing) if it
    /// expired or another owner holds it now.
    async fn release(&self, guard: &LockGuard) -> Result<bool>;

    /// Checks that the lock service answers (for readiness probes). In-process locks always do.
    async fn ping(&self) -> Result<()> {
        Ok(())
    }
}
