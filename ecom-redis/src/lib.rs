//! # ecom-redis
//!
//! ecom's Redis layer: [`RedisLock`] and [`RedisStockGate`].
//!
//! [`RedisStockGate`] is a [`StockGate`](ecom_core::gate::StockGate): one Lua script admits all
//! lines of an order or none, in front of the store's conditional decrement (which stays the
//! final guard). Use it with `CheckoutStrategy::Gate`; [`RedisLock`] with
//! `CheckoutStrategy::LockThenReserve` (a fenced lock per product around the reservation).
//!
//! [`RedisLock`] is a [`DistributedLock`](ecom_core::lock::DistributedLock) on Redis, safe when several ecom
//! processes share one Redis: `SET key owner NX PX ttl` with a random owner token, a fencing
//! token per key (`INCR`, strictly increasing) handed out in the same Lua script, release by
//! compare-and-delete in Lua, bounded waits with jittered backoff, and errors — never hangs —
//! when Redis cannot be reached. Keys are namespaced by a prefix and hash-tagged, so the scripts
//! also run on Redis Cluster.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ecom_core::Error> {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use ecom_core::lock::DistributedLock;
//!
//! let lock = ecom_redis::RedisLock::connect("redis://127.0.0.1:6379", "shop-a:").await?;
//! let guard = lock.acquire("stock:42", Duration::from_secs(5), Duration::from_secs(2)).await?;
//! // ... the protected work ...
//! lock.release(&guard).await?;
//! let gate = ecom_redis::RedisStockGate::connect("redis://127.0.0.1:6379", "shop-a:").await?;
//! let backend = ecom_core::memory::backend()
//!     .with_lock(Arc::new(lock))
//!     .with_gate(Arc::new(gate));
//! # let _ = backend;
//! # Ok(())
//! # }
//! ```
//!
//! ## Tests
//!
//! The feature `testkit` adds `ecom_redis::testkit`: a private Redis per test binary (or
//! `ECOM_TEST_REDIS_URL`), servers to stop and kill, and per-test key prefixes. Test code only.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod connection;
mod error;
mod gate;
mod lock;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use gate::RedisStockGate;
pub use lock::RedisLock;
