//! Idempotency keys: how a client makes a retried checkout safe.

use crate::error::{Error, Result};
use crate::id::OrderId;
use std::fmt;

/// A client's idempotency key: 1 to [`IdempotencyKey::MAX_LEN`] printable ASCII characters
/// (`!` to `~`). A repeat of a customer's key returns the first outcome. Parse one with
/// [`IdempotencyKey::parse`]; errors name `idempotency_key`.
///
/// ```
/// use ecom_core::idempotency::IdempotencyKey;
///
/// assert_eq!(IdempotencyKey::parse("order-42").unwrap().as_str(), "order-42");
/// assert!(IdempotencyKey::parse("has space").is_err());
/// assert!(IdempotencyKey::parse("").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Longest key, in characters.
    pub const MAX_LEN: usize = 255;

    /// The rule as a regular expression, for documents that describe it (OpenAPI).
    pub const PATTERN: &'static str = "^[!-~]{1,255}$";

    /// Parses a key: 1 to 255 printable ASCII characters.
    pub fn parse(value: &str) -> Result<Self> {
        Self::parse_bytes(value.as_bytes())
    }

    /// Parses a key from raw bytes (a header value): the same rule.
    pub fn parse_bytes(value: &[u8]) -> Result<Self> {
        if value.is_empty()
            || value.len() > Self::MAX_LEN
            || !value.iter().all(u8::is_ascii_graphic)
        {
            return Err(Error::validation(
                "idempotency_key",
                "must be 1 to 255 printable characters",
            ));
        }
        Ok(IdempotencyKey(String::from_utf8_lossy(value).into_owned()))
    }

    /// A key no client sent: every call with it is a new checkout.
    pub fn generate() -> Self {
        IdempotencyKey(OrderId::generate().to_string())
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_and_its_pattern_agree() {
        for (key, ok) in [
            ("a", true),
            ("!~", true),
            (&"k".repeat(255), true),
            (&"k".repeat(256), false),
            ("", false),
            ("tab\t", false),
            ("é", false),
        ] {
            assert_eq!(IdempotencyKey::parse(key).is_ok(), ok, "{key:?}");
            let pattern_ok = !key.is_empty()
                && key.len() <= 255
                && key.chars().all(|c| ('!'..='~').contains(&c));
            assert_eq!(
                pattern_ok,
                ok,
                "the pattern {} on {key:?}",
                IdempotencyKey::PATTERN
            );
        }
    }
}
