//! Shared test support: the Redis to test against, and per-test key prefixes.
#![allow(dead_code, clippy::expect_used)]

/// `ECOM_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`.
pub(crate) fn redis_url() -> String {
    std::env::var("ECOM_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A prefix of its own for one test; its keys are deleted when it drops.
pub(crate) struct Prefix(pub(crate) String);

impl Prefix {
    pub(crate) fn new() -> Self {
        Prefix(format!("ecomtest:{}:", uuid::Uuid::new_v4().simple()))
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let Ok(client) = redis::Client::open(redis_url()) else {
            return;
        };
        let Ok(mut conn) = client.get_connection() else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.0))
            .query(&mut conn)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut conn);
        }
    }
}
