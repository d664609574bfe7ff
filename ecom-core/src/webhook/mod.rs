//! Webhooks: endpoints that shops (and the operator) register to receive events over HTTP
//! ([`Endpoint`]), the deliveries of events to them ([`Delivery`]), how a delivery is signed
//! ([`sign`], Standard Webhooks), which addresses may receive them ([`validate_url`],
//! [`is_forbidden_ip`]), the port that stores them ([`WebhookRepo`]) and the port that sends
//! them ([`WebhookTransport`]). The rules of registering and delivering are the
//! [`WebhookService`](crate::service::WebhookService)'s.

mod delivery;
mod endpoint;
mod repo;
mod sign;
mod url;

pub use delivery::{
    Attempt, AttemptOutcome, Delivery, DeliveryStatus, Lease, WebhookTransport, ATTEMPTS_KEPT,
};
pub use endpoint::{Endpoint, EndpointOwner, SigningSecret, MAX_SECRETS, SECRET_OVERLAP};
pub use repo::{ClaimLimits, WebhookRepo};
pub use sign::{check_secret, new_secret, sign, signatures};
pub use url::{is_forbidden_ip, validate_url, UrlRules, MAX_URL_LEN};
