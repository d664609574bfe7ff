//! The pull API of events: a shop (or the operator) reads the log from its own cursor, so a
//! consumer that was down catches up without webhooks.

use crate::dto::event::{Audience, EventDto, EventsQuery};
use crate::envelope::{Envelope, Reply};
use crate::error::AppError;
use crate::extract::{Query, ShopOrOperator};
use crate::state::AppState;
use axum::extract::State;
use ecom_core::event::EventFilter;
use ecom_core::Error;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The event routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_events))
}

/// Events after `after`, oldest first, at most `limit`: a shop's own (each in its view), or
/// every shop's for the operator's key (permission `2222`, no token). Pass the `cursor` of the
/// last event handled as `after` to read on; an empty list means nothing newer yet. Events are
/// kept 7 days.
#[utoipa::path(
    get, path = "/events", tag = "events",
    params(EventsQuery),
    responses(
        (status = 200, description = "Events, in log order", body = Envelope<Vec<EventDto>>),
        (status = 401, description = "No shop token, and the key is not the operator's (`2222`); or a token that is missing, invalid or expired", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []), ("api_key" = []))
)]
pub async fn list_events(
    ShopOrOperator(audience): ShopOrOperator,
    State(state): State<AppState>,
    Query(query): Query<EventsQuery>,
) -> Result<Reply<Vec<EventDto>>, AppError> {
    let filter = EventFilter {
        shop: match &audience {
            Audience::Shop(shop) => Some(shop.clone()),
            Audience::Operator => None,
        },
        kinds: query.kinds()?,
    };
    let limit = query.limit.unwrap_or(EventsQuery::DEFAULT_LIMIT);
    let logged = state
        .ecom
        .events
        .list(query.after()?, &filter, limit)
        .await?;
    let events = logged
        .iter()
        .map(|l| EventDto::view(l, &audience))
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Reply::ok("Get events success!", events))
}
