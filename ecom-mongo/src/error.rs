//! The one place where driver errors become [`ecom_core::Error`]s.
//!
//! Duplicate keys are [`Error::AlreadyExists`], an unreachable or overloaded server is
//! [`Error::Unavailable`], anything else is [`Error::Backend`]. Driver text never reaches the
//! messages of the first two (clients may see those); it stays in the boxed source and the log.

use ecom_core::Error;
use mongodb::error::{ErrorKind, WriteFailure};

/// MongoDB's duplicate-key error code.
const DUPLICATE_KEY: i32 = 11000;

/// Server codes that mean "try again later": timeouts, shutdowns, elections, overload.
const TRANSIENT_CODES: &[i32] = &[
    6,     // HostUnreachable
    7,     // HostNotFound
    50,    // MaxTimeMSExpired
    89,    // NetworkTimeout
    91,    // ShutdownInProgress
    189,   // PrimarySteppedDown
    262,   // ExceededTimeLimit
    9001,  // SocketException
    10107, // NotWritablePrimary
    11600, // InterruptedAtShutdown
    11602, // InterruptedDueToReplStateChange
    13435, // NotPrimaryNoSecondaryOk
    13436, // NotPrimaryOrSecondary
];

/// Everything that can go wrong inside this crate.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    /// The driver or the server failed.
    #[error(transparent)]
    Driver(#[from] mongodb::error::Error),
    /// A value could not be encoded as BSON.
    #[error("cannot encode a document: {0}")]
    Encode(#[from] bson::ser::Error),
    /// A stored document does not have the expected shape.
    #[error("stored document is malformed: {0}")]
    Malformed(String),
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Driver(driver) => from_driver(driver),
            other => {
                tracing::error!(error = %other, "mongodb adapter failure");
                Error::backend(other)
            }
        }
    }
}

fn from_driver(err: mongodb::error::Error) -> Error {
    let code = match err.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(e)) => Some(e.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(e)) => Some(e.code),
        ErrorKind::Command(e) => Some(e.code),
        ErrorKind::InsertMany(e) => e
            .write_errors
            .as_ref()
            .and_then(|errors| errors.iter().map(|w| w.code).find(|c| *c == DUPLICATE_KEY)),
        _ => None,
    };
    if code == Some(DUPLICATE_KEY) {
        return Error::already_exists("record");
    }
    let unreachable = matches!(
        err.kind.as_ref(),
        ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::ServerSelection { .. }
            | ErrorKind::DnsResolve { .. }
            | ErrorKind::Shutdown
    );
    let transient = code.is_some_and(|c| TRANSIENT_CODES.contains(&c))
        || err.contains_label("RetryableWriteError")
        || err.contains_label("TransientTransactionError");
    if unreachable || transient {
        tracing::warn!(error = %err, "mongodb unavailable");
        return Error::Unavailable("the database is unavailable".into());
    }
    tracing::error!(error = %err, "mongodb error");
    Error::backend(err)
}

/// Converts any error of this crate into ecom's error; for `map_err`.
pub(crate) fn to_core(err: impl Into<StoreError>) -> Error {
    Error::from(err.into())
}

/// A duplicate key named for the entity it is about; other errors pass through.
pub(crate) fn exists_as(err: Error, entity: &'static str) -> Error {
    match err {
        Error::AlreadyExists { .. } => Error::already_exists(entity),
        other => other,
    }
}

/// A number read back from the store that does not fit the domain type.
pub(crate) fn out_of_range(field: &str) -> Error {
    to_core(StoreError::Malformed(format!("{field} is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_errors_map_by_meaning_without_driver_text() {
        let failure = mongodb::error::Error::custom("x");
        assert!(matches!(from_driver(failure), Error::Backend(_)));
        let io = mongodb::error::Error::from(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        ));
        match from_driver(io) {
            Error::Unavailable(message) => assert!(!message.contains("refused")),
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
}
