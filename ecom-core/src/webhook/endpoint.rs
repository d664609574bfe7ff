//! A webhook endpoint: where a shop (or the operator) wants events sent, which ones, and the
//! secrets that sign them.

use crate::clock::Timestamp;
use crate::event::EventKind;
use crate::id::{EndpointId, ShopId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How long a secret replaced by a rotation keeps signing beside the new one.
pub const SECRET_OVERLAP: chrono::Duration = chrono::Duration::hours(24);

/// Most secrets an endpoint keeps (the newest, and those still overlapping after rotations).
pub const MAX_SECRETS: usize = 5;

/// Whose an endpoint is.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(tag = "type", content = "shop_id", rename_all = "snake_case")]
pub enum EndpointOwner {
    /// A shop's: it receives the events that concern the shop.
    Shop(ShopId),
    /// The operator's: it receives every shop's events.
    Platform,
}

impl EndpointOwner {
    /// The owner as one string (`platform`, or the shop's id): how stores index it.
    pub fn key(&self) -> String {
        match self {
            EndpointOwner::Shop(shop) => shop.to_string(),
            EndpointOwner::Platform => "platform".to_owned(),
        }
    }

    /// Whether an event concerning `shops` concerns this owner.
    pub fn concerned(&self, shops: &[ShopId]) -> bool {
        match self {
            EndpointOwner::Shop(shop) => shops.contains(shop),
            EndpointOwner::Platform => true,
        }
    }
}

/// A signing secret (`whsec_` and the base64 of its random bytes). `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningSecret {
    /// The secret, `whsec_...`.
    pub value: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it stops signing (set when a rotation replaces it); none while it is the newest.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningSecret")
            .field("value", &"whsec_***")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl SigningSecret {
    /// Whether it still signs at `now`.
    pub fn live(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// A registered endpoint.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Endpoint {
    /// Its id.
    pub id: EndpointId,
    /// Whose it is.
    pub owner: EndpointOwner,
    /// Where deliveries go (checked by [`validate_url`](super::validate_url)).
    pub url: String,
    /// The types of events it receives (non-empty, distinct).
    pub events: Vec<EventKind>,
    /// The owner's note.
    pub description: String,
    /// Whether deliveries are made to it.
    pub enabled: bool,
    /// Why it was disabled, when ecom disabled it (a `410 Gone`, continuous failure).
    #[serde(default)]
    pub disabled_reason: Option<String>,
    /// Since when every attempt to it failed (none after a success).
    #[serde(default)]
    pub failing_since: Option<Timestamp>,
    /// Its signing secrets, oldest first; the last one is the current.
    pub secrets: Vec<SigningSecret>,
    /// When it was registered.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// Moves up with every change (compare-and-set writes).
    pub version: u64,
}

impl Endpoint {
    /// Whether it is enabled and receives events of `kind`.
    pub fn wants(&self, kind: EventKind) -> bool {
        self.enabled && self.events.contains(&kind)
    }

    /// The current (newest) signing secret: shown to the owner at registration and rotation.
    pub fn current_secret(&self) -> Option<&str> {
        self.secrets.last().map(|s| s.value.as_str())
    }

    /// The secrets that sign at `now`, oldest first.
    pub fn live_secrets(&self, now: Timestamp) -> impl Iterator<Item = &SigningSecret> {
        self.secrets.iter().filter(move |s| s.live(now))
    }

    /// Its secrets after a rotation at `now` to `new`: the live ones keep signing for
    /// [`SECRET_OVERLAP`] (expired ones are dropped), at most [`MAX_SECRETS`] in all.
    pub fn rotated(&self, new: String, now: Timestamp) -> Vec<SigningSecret> {
        let mut secrets: Vec<SigningSecret> = self
            .secrets
            .iter()
            .filter(|s| s.live(now))
            .cloned()
            .map(|mut s| {
                let until = now + SECRET_OVERLAP;
                s.expires_at = Some(s.expires_at.map_or(until, |at| at.min(until)));
                s
            })
            .collect();
        secrets.push(SigningSecret {
            value: new,
            created_at: now,
            expires_at: None,
        });
        let extra = secrets.len().saturating_sub(MAX_SECRETS);
        secrets.drain(..extra);
        secrets
    }
}
