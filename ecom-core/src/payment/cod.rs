//! Cash on delivery, the built-in `cod` method.

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::money::Money;
use crate::order::Order;
use crate::payment::provider::{Callback, PaymentEvent, PaymentProvider, RefundOutcome};
use crate::payment::state::Capture;
use async_trait::async_trait;

/// Cash on delivery (`cod`): paid when every line is delivered; takes no callbacks.
#[derive(Debug, Clone, Copy, Default)]
pub struct CashOnDelivery;

#[async_trait]
impl PaymentProvider for CashOnDelivery {
    fn name(&self) -> &str {
        "cod"
    }

    fn capture(&self) -> Capture {
        Capture::OnDelivery
    }

    /// Cash is handed back by the shop; nothing to ask of anyone.
    async fn refund(
        &self,
        _order: &Order,
        _amount: Money,
        _reference: &str,
    ) -> Result<RefundOutcome> {
        Ok(RefundOutcome::Refunded)
    }

    fn verify(&self, _callback: &Callback, _now: Timestamp) -> Result<PaymentEvent> {
        Err(Error::validation(
            "method",
            "cash on delivery takes no callbacks",
        ))
    }
}
