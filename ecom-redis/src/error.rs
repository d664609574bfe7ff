//! Redis errors as ecom errors: the one place they are mapped.

use ecom_core::Error;

/// Maps a Redis error: unreachable or timed-out Redis is [`Error::Unavailable`] (retryable,
/// HTTP 503); anything else is [`Error::Backend`].
pub(crate) fn from_redis(err: redis::RedisError) -> Error {
    if err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
    {
        Error::Unavailable("redis is unreachable".into())
    } else {
        Error::backend(err)
    }
}

/// The error for a Redis call that did not answer in time.
pub(crate) fn timed_out() -> Error {
    Error::Unavailable("redis did not answer in time".into())
}
