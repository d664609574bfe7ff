//! Webhook endpoints and deliveries, as sent and shown.

use super::event::event_type_schema;
use chrono::{DateTime, Utc};
use ecom_core::event::EventKind;
use ecom_core::service::{EndpointPatch, NewEndpoint};
use ecom_core::webhook::{Attempt, Delivery, DeliveryStatus, Endpoint};
use ecom_core::Error;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

/// Schema of a list of event types: at least one, each a name of the event types, no repeats.
fn event_types_schema() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(event_type_schema())
        .min_items(Some(1))
        .unique_items(true)
        .description(Some(
            "The event types it receives: at least one, no repeats",
        ))
        .into()
}

/// Schema of an endpoint URL.
fn url_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(ecom_core::webhook::MAX_URL_LEN))
        .description(Some(
            "https (http only if the operator allows it); addresses in private, loopback, \
             link-local and metadata ranges are refused unless the operator allows them",
        ))
        .into()
}

/// Parses event type names; errors name `events`.
fn kinds(names: &[String]) -> Result<Vec<EventKind>, Error> {
    names
        .iter()
        .map(|name| EventKind::parse(name, "events"))
        .collect()
}

/// Body of `POST /webhooks/endpoints`; any other field is a 400.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpointBody {
    /// Where deliveries go.
    #[schema(schema_with = url_schema)]
    pub url: String,
    /// The event types it receives.
    #[schema(schema_with = event_types_schema)]
    pub events: Vec<String>,
    /// A note of the shop's, at most 500 characters.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

impl CreateEndpointBody {
    /// The new endpoint asked for.
    pub fn into_new(self) -> Result<NewEndpoint, Error> {
        Ok(NewEndpoint {
            url: self.url,
            events: kinds(&self.events)?,
            description: self.description.unwrap_or_default(),
        })
    }
}

/// Body of `PATCH /webhooks/endpoints/{endpointId}`: fields left out stay as they are; any
/// other field is a 400.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchEndpointBody {
    /// A new URL.
    #[serde(default)]
    #[schema(schema_with = url_schema)]
    pub url: Option<String>,
    /// New event types.
    #[serde(default)]
    #[schema(schema_with = event_types_schema)]
    pub events: Option<Vec<String>>,
    /// Enable or disable it (enabling clears why ecom disabled it).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// A new note, at most 500 characters.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

impl PatchEndpointBody {
    /// The change asked for.
    pub fn into_patch(self) -> Result<EndpointPatch, Error> {
        Ok(EndpointPatch {
            url: self.url,
            events: self.events.as_deref().map(kinds).transpose()?,
            enabled: self.enabled,
            description: self.description,
        })
    }
}

/// A webhook endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointDto {
    /// Its id.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// The event types it receives.
    #[schema(schema_with = event_types_schema)]
    pub events: Vec<String>,
    /// The shop's note.
    pub description: String,
    /// Whether deliveries are made to it.
    pub enabled: bool,
    /// Why ecom disabled it (a `410 Gone`, or failing for too long).
    pub disabled_reason: Option<String>,
    /// Since when every attempt to it failed.
    pub failing_since: Option<DateTime<Utc>>,
    /// The signing secret (`whsec_...`): shown only when the endpoint is created and when its
    /// secret is rotated. Verify deliveries with it as the Standard Webhooks specification
    /// says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl EndpointDto {
    /// `endpoint` as shown, without its secret.
    pub fn of(endpoint: Endpoint) -> Self {
        EndpointDto {
            id: endpoint.id.to_string(),
            url: endpoint.url,
            events: endpoint
                .events
                .iter()
                .map(|k| k.name().to_owned())
                .collect(),
            description: endpoint.description,
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason,
            failing_since: endpoint.failing_since,
            secret: None,
            created_at: endpoint.created_at,
            updated_at: endpoint.updated_at,
        }
    }

    /// `endpoint` as shown once, with its current secret.
    pub fn with_secret(endpoint: Endpoint) -> Self {
        let secret = endpoint.current_secret().map(str::to_owned);
        EndpointDto {
            secret,
            ..Self::of(endpoint)
        }
    }
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptDto {
    /// When it was made.
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<u16>,
    /// How long it took.
    pub duration_ms: u64,
    /// What went wrong, if anything did.
    pub error: Option<String>,
}

impl From<Attempt> for AttemptDto {
    fn from(a: Attempt) -> Self {
        AttemptDto {
            at: a.at,
            status_code: a.status,
            duration_ms: a.duration_ms,
            error: a.error,
        }
    }
}

/// One event (or a ping) to one endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDto {
    /// Its id.
    pub id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event (its `webhook-id`).
    pub event_id: String,
    /// The event's type, or `ping`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `pending` (due at `next_try_at`), `succeeded` or `failed` (given up).
    #[schema(value_type = String, example = "pending")]
    pub status: &'static str,
    /// Attempts made in all.
    pub attempt_count: u32,
    /// The newest attempts, oldest first.
    pub attempts: Vec<AttemptDto>,
    /// When the next attempt is due (pending only).
    pub next_try_at: Option<DateTime<Utc>>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it succeeded or was given up.
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<Delivery> for DeliveryDto {
    fn from(d: Delivery) -> Self {
        DeliveryDto {
            id: d.id.to_string(),
            endpoint_id: d.endpoint_id.to_string(),
            event_id: d.event_id.to_string(),
            kind: d.event_kind.map_or("ping", |k| k.name()).to_owned(),
            status: d.status.name(),
            attempt_count: d.attempt_count,
            attempts: d.attempts.into_iter().map(Into::into).collect(),
            next_try_at: (d.status == DeliveryStatus::Pending).then_some(d.next_try_at),
            created_at: d.created_at,
            finished_at: d.finished_at,
        }
    }
}

/// Answer of `DELETE /webhooks/endpoints/{endpointId}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedEndpointDto {
    /// The endpoint deleted (its deliveries went with it).
    pub id: String,
}

/// Query of `GET /webhooks/endpoints/{endpointId}/deliveries`; any other parameter is a 400.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// Only deliveries in this status: `pending`, `succeeded` or `failed`.
    pub status: Option<String>,
    /// Items per page, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Page number, 1 to 1000000 (default 1).
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u64>,
}

impl DeliveriesQuery {
    /// The status asked for (errors name `status`).
    pub fn status(&self) -> Result<Option<DeliveryStatus>, Error> {
        self.status
            .as_deref()
            .map(|s| DeliveryStatus::parse(s, "status"))
            .transpose()
    }

    /// The page asked for.
    pub fn page(&self) -> Result<ecom_core::page::Page, crate::error::AppError> {
        super::PageQuery {
            limit: self.limit,
            page: self.page,
        }
        .page()
    }
}
