//! One way to open a Redis connection: multiplexed, self-reconnecting, with bounded waits.

use crate::error::{from_redis, timed_out};
use ecom_core::{Error, Result};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::future::Future;
use std::time::Duration;

/// Longest time one Redis call may take before it counts as an outage.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// Connects to `url`; [`Error::Unavailable`] if Redis cannot be reached in time.
pub(crate) async fn connect(url: &str) -> Result<ConnectionManager> {
    let client = redis::Client::open(url).map_err(|e| Error::validation("redis url", e))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(CALL_TIMEOUT)
        .set_response_timeout(CALL_TIMEOUT)
        .set_number_of_retries(1);
    bounded(client.get_connection_manager_with_config(config)).await
}

/// Runs one Redis call with the [`CALL_TIMEOUT`], mapping its errors.
pub(crate) async fn bounded<T>(call: impl Future<Output = redis::RedisResult<T>>) -> Result<T> {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .map_err(|_| timed_out())?
        .map_err(from_redis)
}
