//! Webhook endpoints: a shop registers, reads, changes, deletes and tests its own, rotates
//! their secrets, and sees and retries their deliveries. The operator's key (permission
//! `2222`, no token) does the same with the platform's endpoints, which receive every shop's
//! events.

use crate::dto::event::Audience;
use crate::dto::webhook::{
    CreateEndpointBody, DeletedEndpointDto, DeliveriesQuery, DeliveryDto, EndpointDto,
    PatchEndpointBody,
};
use crate::envelope::{Envelope, ErrorBody, Reply};
use crate::error::AppError;
use crate::extract::{Json, PathId, Query, ShopOrOperator};
use crate::state::AppState;
use axum::extract::State;
use ecom_core::id::{DeliveryId, EndpointId};
use ecom_core::webhook::EndpointOwner;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The webhook routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_endpoint, list_endpoints))
        .routes(routes!(get_endpoint, update_endpoint, delete_endpoint))
        .routes(routes!(rotate_secret))
        .routes(routes!(test_endpoint))
        .routes(routes!(list_deliveries))
        .routes(routes!(retry_delivery))
}

/// Whose endpoints the caller manages.
fn owner(audience: Audience) -> EndpointOwner {
    match audience {
        Audience::Shop(shop) => EndpointOwner::Shop(shop),
        Audience::Operator => EndpointOwner::Platform,
    }
}

/// Registers an endpoint of the calling shop (or of the platform, for the operator's key):
/// deliveries of the event types it names go to its URL, signed with the secret shown in this
/// answer only. At most 20 per shop (409 beyond).
#[utoipa::path(
    post, path = "/webhooks/endpoints", tag = "webhooks",
    request_body = CreateEndpointBody,
    responses(
        (status = 201, description = "The endpoint, with its signing secret (shown once)", body = Envelope<EndpointDto>),
        (status = 401, description = "No shop token, and the key is not the operator's", body = ErrorBody),
        (status = 409, description = "The shop has the most endpoints it may have", body = ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []), ("api_key" = []))
)]
pub async fn create_endpoint(
    ShopOrOperator(who): ShopOrOperator,
    State(state): State<AppState>,
    Json(body): Json<CreateEndpointBody>,
) -> Result<Reply<EndpointDto>, AppError> {
    let endpoint = state
        .ecom
        .webhooks
        .create(&owner(who), body.into_new()?)
        .await?;
    Ok(Reply::created(
        "Create webhook endpoint success!",
        EndpointDto::with_secret(endpoint),
    ))
}

/// The caller's endpoints, oldest first (secrets are not shown).
#[utoipa::path(
    get, path = "/webhooks/endpoints", tag = "webhooks",
    responses(
        (status = 200, description = "The endpoints", body = Envelope<Vec<EndpointDto>>),
        (status = 401, description = "No shop token, and the key is not the operator's", body = ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []), ("api_key" = []))
)]
pub async fn list_endpoints(
    ShopOrOperator(who): ShopOrOperator,
    State(state): State<AppState>,
) -> Result<Reply<Vec<EndpointDto>>, AppError> {
    let list = state.ecom.webhooks.list(&owner(who)).await?;
    let list = list.into_iter().map(EndpointDto::of).collect();
    Ok(Reply::ok("Get webhook endpoints success!", list))
}

/// One of the caller's endpoints (anyone else's is 404).
#[utoipa::path(
    get, path = "/webhooks/endpoints/{endpointId}", tag = "webhooks",
    params(("endpointId" = String, Path, description = "The endpoint id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$")),
    responses(
        (status = 200, description = "The endpoint", body = Envelope<EndpointDto>),
        (status = 401, description = "No shop token, and the key is not the operator's", body = ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []), ("api_key" = []))
)]
pub async fn get_endpoint(
    ShopOrOperator(who): ShopOrOperator,
    State(state): State<AppState>,
    PathId(id): PathId<EndpointId>,
) -> Result<Reply<EndpointDto>, AppError> {
    let endpoint = state.ecom.webhooks.get(&owner(who), &id).await?;
    Ok(Reply::ok(
        "Get webhook endpoint success!",
        EndpointDto::of(endpoint),
    ))
}

/// Changes one of the caller's endpoints: its URL, event types, description, or enabled
/// (enabling one that ecom disabled clears why).
#[utoipa::path(
    patch, path = "/webhooks/endpoints/{endpointId}", tag = "webhooks",
    params(("endpointId" = String, Path, description = "The endpoint id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$")),
    request_body = PatchEndpointBody,
    responses(
        (status = 200, description = "The endpoint after the change", body = Envelope<EndpointDto>),
        (status = 401, description = "No shop token, and the key is not the operator's", body = ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []), ("api_key" = []))
)]
pub async fn update_endpoint(
    ShopOrOperator(who): ShopOrOperator,
    State(state): State<AppState>,
    PathId(id): PathId<EndpointId>,
    Json(body): Json<PatchEndpointBody>,
) -> Result<Reply<EndpointDto>, AppError> {
    let endpoint = state
        .ecom
        .webhooks
        .update(&owner(who), &id, body.into_patch()?)
        .await?;
    Ok(Reply::ok(
        "Update webhook endpoint success!",
        EndpointDto::of(endpoint),
    ))
}

/// Deletes one of the caller's endpoints and its deliveries.
#[utoipa::path(
    delete, path = "/webhooks/endpoints/{endpointId}", tag = "webhooks",
    params(("endpointId" = String, Path, description = "The endpoint id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$")),
    responses(
        (status = 200, description = "The endpoint is gone", body = Envelope<DeletedEndpointDto>),
        (status = 401, description = "No shop token, and the key is not the operator's", body = ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []), ("api_key" = []))
)]
pub async fn delete_endpoint(
    ShopOrOperator(who): ShopOrOperator,
    State(state): State<AppState>,
    PathId(id): PathId<EndpointId>,
) -> Result<Reply<DeletedEndpointDto>, AppError> {
    state.ecom.webhooks.delete(&owner(who), &id).await?;
    Ok(Reply::ok(
        "Delete webhook endpoint success!",
        DeletedEndpointDto { id: id.to_string() },
    ))
}

/// Gives one of the caller's endpoints a new signing secret, shown in this answer only; the
/// old one keeps signing beside it for 24 hours (deliveries carry both signatures).
#[utoipa::path(
    post, path = "/webhooks/endpoints/{endpointId}/rotate-secret", tag = "webhooks",
    params(("endpointId" = String, Path, description = "The endpoint id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$")),
    responses(
        (status = 200, description = "The endpoint, with its new secret (shown once)", body = Envelope<EndpointDto>),
        (status = 401, description = "No shop token, and the key is not the operator's", body = ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []), ("api_key" = []))
)]
pub async fn rotate_secret(
    ShopOrOperator(who): ShopOrOperator,
    State(state): State<AppState>,
    PathId(id): PathId<EndpointId>,
) -> Result<Reply<EndpointDto>, AppError> {
    let endpoint = state.ecom.webhooks.rotate_secret(&owner(who), &id).await?;
    Ok(Reply::ok(
        "Rotate webhook secret success!",
        EndpointDto::with_secret(endpoint),
    ))
}

/// Sends a `ping` to one of the caller's endpoints (a delivery like any other: signed,
/// retried, listed). A disabled endpoint is 409.
#[utoipa::path(
    post, path = "/webhooks/endpoints/{endpointId}/test", tag = "webhooks",
    params(("endpointId" = String, Path, description = "The endpoint id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$")),
    responses(
        (status = 200, description = "The ping's delivery, due now", body = Envelope<DeliveryDto>),
        (status = 401, description = "No shop token, and the key is not the operator's", body = ErrorBody),
        (status = 409, description = "The endpoint is disabled", body = ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []), ("api_key" = []))
)]
pub async fn test_endpoint(
    ShopOrOperator(who): ShopOrOperator,
    State(state): State<AppState>,
    PathId(id): PathId<EndpointId>,
) -> Result<Reply<DeliveryDto>, AppError> {
    let delivery = state.ecom.webhooks.test(&owner(who), &id).await?;
    Ok(Reply::ok("Test webhook endpoint success!", delivery.into()))
}

/// The deliveries of one of the caller's endpoints, newest first, with every attempt (status
/// code, duration, error) and the next try; `status=failed` lists those given up.
#[utoipa::path(
    get, path = "/webhooks/endpoints/{endpointId}/deliveries", tag = "webhooks",
    params(
        ("endpointId" = String, Path, description = "The endpoint id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$"),
        DeliveriesQuery,
    ),
    responses(
        (status = 200, description = "The deliveries", body = Envelope<Vec<DeliveryDto>>),
        (status = 401, description = "No shop token, and the key is not the operator's", body = ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []), ("api_key" = []))
)]
pub async fn list_deliveries(
    ShopOrOperator(who): ShopOrOperator,
    State(state): State<AppState>,
    PathId(id): PathId<EndpointId>,
    Query(query): Query<DeliveriesQuery>,
) -> Result<Reply<Vec<DeliveryDto>>, AppError> {
    let list = state
        .ecom
        .webhooks
        .deliveries(&owner(who), &id, query.status()?, query.page()?)
        .await?;
    let list = list.into_iter().map(Into::into).collect();
    Ok(Reply::ok("Get webhook deliveries success!", list))
}

/// Makes one of the caller's deliveries due now again (one given up, or one waiting for its
/// next try); one that succeeded is 409.
#[utoipa::path(
    post, path = "/webhooks/deliveries/{deliveryId}/retry", tag = "webhooks",
    params(("deliveryId" = String, Path, description = "The delivery id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$")),
    responses(
        (status = 200, description = "The delivery, due now", body = Envelope<DeliveryDto>),
        (status = 401, description = "No shop token, and the key is not the operator's", body = ErrorBody),
        (status = 409, description = "The delivery succeeded already", body = ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []), ("api_key" = []))
)]
pub async fn retry_delivery(
    ShopOrOperator(who): ShopOrOperator,
    State(state): State<AppState>,
    PathId(id): PathId<DeliveryId>,
) -> Result<Reply<DeliveryDto>, AppError> {
    let delivery = state.ecom.webhooks.retry(&owner(who), &id).await?;
    Ok(Reply::ok(
        "Retry webhook delivery success!",
        delivery.into(),
    ))
}
