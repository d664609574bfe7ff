//! # ecom-redis
//!
//! Redis lock (with fencing tokens) and stock gate for ecom. The implementations arrive with
//! the "ecom-redis" issue; until then this crate only re-exports the lock port.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use ecom_core::lock::{DistributedLock, LockGuard};
