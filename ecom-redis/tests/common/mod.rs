//! Shared test support: the Redis to test against, and per-test key prefixes.
#![allow(dead_code, clippy::expect_used)]

pub(crate) use ecom_redis::testkit::Prefix;

/// The Redis of this test binary (`ECOM_TEST_REDIS_URL`, or a private one).
pub(crate) fn redis_url() -> String {
    ecom_redis::testkit::redis_url().expect("a Redis for tests")
}

/// A fresh prefix on [`redis_url`].
pub(crate) fn prefix() -> Prefix {
    Prefix::new(&redis_url())
}
