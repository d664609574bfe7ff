//! The two JSON envelopes of the API: success `{"message","status","metadata"}` and error
//! `{"status":"error","code","message"}`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// A successful answer: `metadata` holds the payload (a JSON array for lists).
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T> {
    /// What happened, e.g. `Create new Product success!`.
    pub message: String,
    /// The HTTP status, repeated.
    pub status: u16,
    /// The payload.
    pub metadata: T,
}

/// An error answer. The HTTP status equals `code`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Always `error`.
    #[schema(example = "error")]
    pub status: &'static str,
    /// The HTTP status.
    pub code: u16,
    /// A clear reason, naming the offending field for bad input.
    pub message: String,
}

impl ErrorBody {
    /// An error body for `status` with `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ErrorBody {
            status: "error",
            code: status.as_u16(),
            message: message.into(),
        }
    }
}

/// The response header giving a list's number of items over all pages.
pub const TOTAL_COUNT: &str = "x-total-count";

/// The response header giving the cursor of a listing's next page (`after=`).
pub const NEXT_CURSOR: &str = "x-next-cursor";

/// A handler's successful result: status, message and payload, rendered as an [`Envelope`].
#[derive(Debug)]
pub struct Reply<T> {
    status: StatusCode,
    message: &'static str,
    metadata: T,
    total: Option<u64>,
    next: Option<String>,
}

impl<T> Reply<T> {
    /// `200 OK` with `metadata`.
    pub fn ok(message: &'static str, metadata: T) -> Self {
        Reply {
            status: StatusCode::OK,
            message,
            metadata,
            total: None,
            next: None,
        }
    }

    /// `201 Created` with `metadata`.
    pub fn created(message: &'static str, metadata: T) -> Self {
        Reply {
            status: StatusCode::CREATED,
            message,
            metadata,
            total: None,
            next: None,
        }
    }

    /// With the `x-total-count` header: how many items the whole list holds, over all pages.
    pub fn with_total(mut self, total: u64) -> Self {
        self.total = Some(total);
        self
    }

    /// With the `x-next-cursor` header when there is a next page's cursor.
    pub fn with_next(mut self, next: Option<String>) -> Self {
        self.next = next;
        self
    }
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        let body = Envelope {
            message: self.message.to_owned(),
            status: self.status.as_u16(),
            metadata: self.metadata,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(total) = self.total {
            response
                .headers_mut()
                .insert(TOTAL_COUNT, HeaderValue::from(total));
        }
        // A cursor is URL-safe base64: always a valid header value.
        if let Some(next) = self.next.and_then(|n| HeaderValue::from_str(&n).ok()) {
            response.headers_mut().insert(NEXT_CURSOR, next);
        }
        response
    }
}
