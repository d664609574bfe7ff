//! What the callers of the [`ReturnService`](super::ReturnService) send, and its checks.

use crate::error::{Error, Result};
use crate::id::ProductId;
use crate::idempotency::IdempotencyKey;
use crate::returns::{Condition, ReturnReason};
use crate::validate;

/// Most lines one return or receipt names.
pub const MAX_LINES: usize = 100;
/// Most evidence addresses one return carries.
pub const MAX_EVIDENCE: usize = 10;

/// Units of one order line asked back.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReturnItem {
    /// The product.
    pub product_id: ProductId,
    /// The model, for a line of a product with models.
    pub model_id: Option<ProductId>,
    /// Units.
    pub quantity: u32,
}

/// A customer's return request ([`ReturnService::request`](super::ReturnService::request)).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NewReturn {
    /// The units asked back (lines of one shop).
    pub lines: Vec<ReturnItem>,
    /// Why.
    pub reason: ReturnReason,
    /// In the customer's words (at most 1,000 characters).
    pub note: Option<String>,
    /// Addresses (`https://` or `http://`, at most 500 characters) of photos or videos.
    pub evidence: Vec<String>,
    /// The client's key: asking again with it answers the same return.
    pub request_key: Option<IdempotencyKey>,
}

impl NewReturn {
    /// The request with its text trimmed, or the first rule it breaks.
    pub(super) fn validated(mut self) -> Result<Self> {
        if self.lines.is_empty() || self.lines.len() > MAX_LINES {
            return Err(Error::validation(
                "lines",
                format!("must name 1 to {MAX_LINES} lines"),
            ));
        }
        for (i, item) in self.lines.iter().enumerate() {
            validate::quantity("quantity", item.quantity)?;
            if self.lines[..i]
                .iter()
                .any(|o| o.product_id == item.product_id && o.model_id == item.model_id)
            {
                return Err(Error::validation("lines", "name each line once"));
            }
        }
        self.note = match self
            .note
            .as_deref()
            .map(|n| validate::optional_text("note", n, 1000))
        {
            Some(Ok(note)) if note.is_empty() => None,
            other => other.transpose()?,
        };
        if self.evidence.len() > MAX_EVIDENCE {
            return Err(Error::validation(
                "evidence",
                format!("must be at most {MAX_EVIDENCE} addresses"),
            ));
        }
        for url in &mut self.evidence {
            let trimmed = validate::text("evidence", url, 500)?;
            if !(trimmed.starts_with("https://") || trimmed.starts_with("http://"))
                || trimmed.chars().any(char::is_whitespace)
            {
                return Err(Error::validation(
                    "evidence",
                    "must be http(s) addresses without spaces",
                ));
            }
            *url = trimmed;
        }
        Ok(self)
    }
}

/// Units of one return line the shop received, in one condition.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReceivedLine {
    /// The product.
    pub product_id: ProductId,
    /// The model, for a line of a product with models.
    pub model_id: Option<ProductId>,
    /// Units.
    pub quantity: u32,
    /// Their condition.
    pub condition: Condition,
}

/// The operator's decision of a disputed return.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DisputeOutcome {
    /// Refund the units asked.
    Refund,
    /// Reject the return for good.
    Reject,
}

/// A receipt names 1 to [`MAX_LINES`] lines of at least one unit each.
pub(super) fn check_receipt(received: &[ReceivedLine]) -> Result<()> {
    if received.is_empty() || received.len() > MAX_LINES {
        return Err(Error::validation(
            "lines",
            format!("must name 1 to {MAX_LINES} lines"),
        ));
    }
    for line in received {
        validate::quantity("quantity", line.quantity)?;
    }
    Ok(())
}
