//! The one error type of ecom: every port and service returns [`Error`].

use std::fmt;

/// A boxed error from a backend, kept for logs and never shown to clients.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result with ecom's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, by meaning. Adapters convert their own errors into it with `From`;
/// the HTTP layer maps each variant to one status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Input was rejected; `field` names the offending field (e.g. `product_price`).
    #[error("invalid {field}: {message}")]
    Validation {
        /// The field, as named in the API.
        field: String,
        /// Why it was rejected.
        message: String,
    },
    /// The entity does not exist (or is not visible to the caller).
    #[error("{entity} not found")]
    NotFound {
        /// What was looked for, e.g. `product`.
        entity: &'static str,
    },
    /// Something with the same identity exists already: an email, an id, an active code.
    #[error("{}", already_exists_text(entity))]
    AlreadyExists {
        /// What exists, e.g. `email` or `discount code`.
        entity: &'static str,
    },
    /// The entity's current state refuses the write: it changed since it was read, or a rule
    /// of its life cycle forbids the action.
    #[error("{entity} {reason}")]
    Conflict {
        /// What refused, e.g. `order`.
        entity: &'static str,
        /// Why.
        reason: ConflictReason,
    },
    /// A conditional stock decrement lost: less stock than requested.
    #[error("insufficient stock for product {product_id}")]
    InsufficientStock {
        /// The product whose stock was short; for a model, the checkout names both
        /// (`<product id> (model Red / M <model id>)`).
        product_id: String,
    },
    /// Missing, invalid or expired credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Credentials are valid but the action is not allowed (also refresh-token reuse).
    #[error("{0}")]
    Forbidden(String),
    /// The API key lacks the permission the action needs.
    #[error("Permission Denied")]
    PermissionDenied,
    /// `product_type` names no registered [`ProductKind`](crate::kind::ProductKind).
    #[error("invalid product type: {0}")]
    InvalidProductType(String),
    /// A discount code cannot be applied (expired, used up, below minimum order...).
    #[error("discount not applicable: {0}")]
    DiscountNotApplicable(String),
    /// A lock stayed busy for the whole bounded wait. Retryable; never means out of stock.
    #[error("resource busy, retry later: {0}")]
    Busy(String),
    /// A backend is unreachable or timed out. Retryable (HTTP 503).
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// An unexpected backend failure. The source is for logs, not for clients.
    #[error("internal backend error")]
    Backend(#[source] BoxError),
}

/// Why an [`Error::Conflict`] happened; its `Display` is the wording clients see.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConflictReason {
    /// The entity changed between read and write; reading it again and retrying may succeed.
    Changed,
    /// A return of units would take the units counted as sold below zero.
    ReturnExceedsSold,
    /// A rule of the entity's life cycle forbids the action; the text names the rule.
    State(String),
}

impl fmt::Display for ConflictReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Changed => f.write_str("was changed concurrently; retry"),
            Self::ReturnExceedsSold => f.write_str("has fewer units sold than the return"),
            Self::State(rule) => f.write_str(rule),
        }
    }
}

/// The client-facing wording of [`Error::AlreadyExists`], one place for every entity.
fn already_exists_text(entity: &str) -> String {
    match entity {
        "email" => "email is already registered".to_owned(),
        "discount code" => {
            "an active discount code with this code already exists in the shop".to_owned()
        }
        "order" => "the order id or its idempotency key is taken".to_owned(),
        _ => format!("{entity} already exists"),
    }
}

impl Error {
    /// A [`Error::Validation`] for `field`.
    pub fn validation(field: impl Into<String>, message: impl fmt::Display) -> Self {
        Self::Validation {
            field: field.into(),
            message: message.to_string(),
        }
    }

    /// A [`Error::NotFound`] for `entity`.
    pub fn not_found(entity: &'static str) -> Self {
        Self::NotFound { entity }
    }

    /// An [`Error::AlreadyExists`] for `entity`.
    pub fn already_exists(entity: &'static str) -> Self {
        Self::AlreadyExists { entity }
    }

    /// A [`Error::Conflict`]: `entity` changed since it was read (a stale version).
    pub fn changed(entity: &'static str) -> Self {
        Self::Conflict {
            entity,
            reason: ConflictReason::Changed,
        }
    }

    /// A [`Error::Conflict`]: `entity`'s state forbids the action, as `rule` says.
    pub fn refused(entity: &'static str, rule: impl Into<String>) -> Self {
        Self::Conflict {
            entity,
            reason: ConflictReason::State(rule.into()),
        }
    }

    /// True for an [`Error::Conflict`] that says the entity changed since it was read.
    pub fn is_changed(&self) -> bool {
        matches!(
            self,
            Self::Conflict {
                reason: ConflictReason::Changed,
                ..
            }
        )
    }

    /// A [`Error::Backend`] wrapping any error.
    pub fn backend(err: impl Into<BoxError>) -> Self {
        Self::Backend(err.into())
    }

    /// This error with the field it names renamed by `names` (pairs of core name and outside
    /// name; a field `a.b` is renamed by the pair for `a`): how an outer layer speaks of its
    /// own field names (the HTTP contract's `product_price` for the core's `price`).
    pub fn rename_fields(self, names: &[(&str, &str)]) -> Self {
        match self {
            Self::Validation { field, message } => {
                let (head, tail) = field
                    .split_once('.')
                    .map_or((field.as_str(), None), |(h, t)| (h, Some(t)));
                let field = match names.iter().find(|(core, _)| *core == head) {
                    Some((_, outside)) => match tail {
                        Some(tail) => format!("{outside}.{tail}"),
                        None => (*outside).to_owned(),
                    },
                    None => field.clone(),
                };
                Self::Validation { field, message }
            }
            other => other,
        }
    }

    /// True when retrying the same request later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Busy(_) | Self::Unavailable(_))
    }

    /// An error of the same kind and message, for telling one outcome to several waiters
    /// (a backend error's source becomes its text).
    pub fn replicate(&self) -> Self {
        match self {
            Self::Validation { field, message } => Self::Validation {
                field: field.clone(),
                message: message.clone(),
            },
            Self::NotFound { entity } => Self::NotFound { entity },
            Self::AlreadyExists { entity } => Self::AlreadyExists { entity },
            Self::Conflict { entity, reason } => Self::Conflict {
                entity,
                reason: reason.clone(),
            },
            Self::InsufficientStock { product_id } => Self::InsufficientStock {
                product_id: product_id.clone(),
            },
            Self::Unauthorized(m) => Self::Unauthorized(m.clone()),
            Self::Forbidden(m) => Self::Forbidden(m.clone()),
            Self::PermissionDenied => Self::PermissionDenied,
            Self::InvalidProductType(m) => Self::InvalidProductType(m.clone()),
            Self::DiscountNotApplicable(m) => Self::DiscountNotApplicable(m.clone()),
            Self::Busy(m) => Self::Busy(m.clone()),
            Self::Unavailable(m) => Self::Unavailable(m.clone()),
            Self::Backend(source) => Self::Backend(source.to_string().into()),
        }
    }
}
