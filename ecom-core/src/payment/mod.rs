//! Payments: the state of an order's payment and its rules ([`Payment`]), the
//! [`PaymentProvider`] port, the registry of providers by method name ([`PaymentProviders`]),
//! and the two built-in providers: cash on delivery ([`CashOnDelivery`], `cod`) and a
//! signed-webhook provider ([`SignedWebhook`], `online`).

mod cod;
mod provider;
mod registry;
mod signed_webhook;
pub(crate) mod state;

pub use cod::CashOnDelivery;
pub use provider::{Callback, PaymentEvent, PaymentEventKind, PaymentProvider, RefundOutcome};
pub use registry::PaymentProviders;
pub use signed_webhook::{SignedWebhook, MAX_SIGNATURES, MAX_SIGNATURE_HEADER, SIGNATURE_HEADER};
pub use state::{Capture, Payment, PaymentStatus, MAX_EVENTS};
