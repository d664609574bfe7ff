//! The whole conformance suite on the memory backend with the Redis lock and stock gate in place
//! of the in-process ones: the lock and gate cases and the lock- and gate-based checkouts run
//! through real Redis.
#![allow(clippy::expect_used)]

mod common;

use common::{prefix, redis_url, Prefix};
use std::sync::Arc;

struct Fixture {
    backend: ecom_core::Backend,
    _prefix: Prefix,
}

impl AsRef<ecom_core::Backend> for Fixture {
    fn as_ref(&self) -> &ecom_core::Backend {
        &self.backend
    }
}

async fn backend() -> Fixture {
    let url = tokio::task::spawn_blocking(redis_url)
        .await
        .expect("a Redis");
    let prefix = prefix();
    let lock = ecom_redis::RedisLock::connect(&url, prefix.as_str())
        .await
        .expect("Redis answers");
    let gate = ecom_redis::RedisStockGate::connect(&url, prefix.as_str())
        .await
        .expect("Redis answers");
    Fixture {
        backend: ecom_core::memory::backend()
            .with_lock(Arc::new(lock))
            .with_gate(Arc::new(gate)),
        _prefix: prefix,
    }
}

ecom_core::conformance_suite!(backend);
