//! [`AppError`]: every failure a handler can return, rendered in the error envelope.

use crate::envelope::ErrorBody;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ecom_core::Error;

/// A failed request: a core [`Error`] (mapped to a status by meaning) or a transport-level
/// problem (bad JSON, unknown route, body too large...).
#[derive(Debug)]
pub enum AppError {
    /// An error from the services.
    Core(Error),
    /// Too many attempts (rate limited): 429 with `Retry-After`.
    TooMany {
        /// How long until the next attempt is allowed.
        retry_after: std::time::Duration,
    },
    /// An error found by the HTTP layer itself.
    Http {
        /// The status to answer with.
        status: StatusCode,
        /// The reason shown to the client.
        message: String,
    },
}

impl AppError {
    /// A transport-level error with `status` and `message`.
    pub fn http(status: StatusCode, message: impl Into<String>) -> Self {
        AppError::Http {
            status,
            message: message.into(),
        }
    }

    /// A `400` naming `field`, in the same words as core's validation errors.
    pub fn invalid(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        AppError::Core(Error::validation(field, message))
    }

    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Http { status, .. } => *status,
            AppError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Core(err) => status_of(err),
        }
    }
}

impl From<Error> for AppError {
    /// The error with its field named as every route names it ([`crate::fields`]).
    fn from(err: Error) -> Self {
        AppError::Core(crate::fields::rename(err, crate::fields::Area::Any))
    }
}

/// The status of each core error, by meaning.
fn status_of(err: &Error) -> StatusCode {
    match err {
        Error::Validation { .. }
        | Error::InvalidProductType(_)
        | Error::DiscountNotApplicable(_) => StatusCode::BAD_REQUEST,
        Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        Error::Forbidden(_) | Error::PermissionDenied => StatusCode::FORBIDDEN,
        Error::NotFound { .. } => StatusCode::NOT_FOUND,
        Error::AlreadyExists { .. } | Error::Conflict { .. } | Error::InsufficientStock { .. } => {
            StatusCode::CONFLICT
        }
        Error::Busy(_) | Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut retry_after = None;
        let message = match self {
            AppError::Http { message, .. } => message,
            AppError::TooMany { retry_after: wait } => {
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                retry_after = Some(secs.max(1));
                format!("too many attempts; retry in {} s", secs.max(1))
            }
            AppError::Core(err) => match &err {
                Error::Busy(_) | Error::Unavailable(_) => {
                    tracing::warn!(error = %err, "request failed with a retryable backend error");
                    if matches!(err, Error::Busy(_)) {
                        "resource busy, retry later".to_owned()
                    } else {
                        "service unavailable, retry later".to_owned()
                    }
                }
                _ if status.is_server_error() => {
                    tracing::error!(error = ?err, "request failed with an internal error");
                    "internal server error".to_owned()
                }
                _ => err.to_string(),
            },
        };
        let mut response = (status, axum::Json(ErrorBody::new(status, message))).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_error_has_its_status() {
        let cases = [
            (Error::validation("f", "bad"), 400),
            (Error::InvalidProductType("Food".into()), 400),
            (Error::DiscountNotApplicable("expired".into()), 400),
            (Error::Unauthorized("no".into()), 401),
            (Error::Forbidden("no".into()), 403),
            (Error::PermissionDenied, 403),
            (Error::not_found("product"), 404),
            (Error::already_exists("email"), 409),
            (Error::changed("order"), 409),
            (
                Error::InsufficientStock {
                    product_id: "p".into(),
                },
                409,
            ),
            (Error::Busy("lock".into()), 503),
            (Error::Unavailable("down".into()), 503),
            (Error::backend(std::io::Error::other("driver detail")), 500),
        ];
        for (err, code) in cases {
            assert_eq!(AppError::from(err).status().as_u16(), code);
        }
    }

    #[tokio::test]
    async fn internal_errors_hide_their_cause() {
        let response = AppError::from(Error::backend(std::io::Error::other(
            "secret driver detail",
        )))
        .into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let bytes = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"status": "error", "code": 500, "message": "internal server error"})
        );
    }
}
