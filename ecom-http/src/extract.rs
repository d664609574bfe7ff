//! Extractors: a JSON body and a query string whose rejections name the field, typed path
//! ids, and the callers (API key, shop, customer) read from the request headers.
//!
//! Authentication order is fixed: the API key is checked first (403), then the token (401),
//! then the body (400), so a request without a key never learns anything else.

use crate::dto::event::Audience;
use crate::error::AppError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use ecom_core::account::AccountKind;
use ecom_core::api_key::{ApiKey, Permission};
use ecom_core::id::{CustomerId, ShopId};
use ecom_core::service::Principal;
use ecom_core::Error;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// Header carrying the API key.
pub const API_KEY: &str = "x-api-key";
/// Header carrying the account id the token belongs to.
pub const CLIENT_ID: &str = "x-client-id";
/// Header carrying a refresh token.
pub const REFRESH_TOKEN: &str = "x-rtoken-id";

/// The text of header `name`, if present and printable.
fn header_text<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// A JSON body. Malformed JSON, wrong types, missing fields and unknown enum values are `400`s
/// naming the field (the path inside the body, e.g. `product_attributes.brand`); object keys
/// starting with `$` (MongoDB operators such as `{"$gt": ""}`) are refused anywhere in the body;
/// a body over the limit is `413`; a declared content type other than JSON is `415`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        if let Some(content_type) = request.headers().get(header::CONTENT_TYPE) {
            let is_json = content_type
                .to_str()
                .ok()
                .and_then(|ct| ct.split(';').next())
                .map(|mime| {
                    let mime = mime.trim().to_ascii_lowercase();
                    mime == "application/json" || mime.ends_with("+json")
                })
                .unwrap_or(false);
            if !is_json {
                return Err(AppError::http(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "expected a JSON body (content-type: application/json)",
                ));
            }
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                let status = rejection.status();
                if status == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::http(status, "request body is too large")
                } else {
                    AppError::http(status, "could not read the request body")
                }
            })?;
        parse_json(&bytes).map(Json)
    }
}

/// Parses a JSON object body into `T` (see [`Json`] for the rules).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|err| AppError::invalid("body", format!("malformed JSON ({err})")))?;
    if !value.is_object() {
        // serde would also accept a struct written as an array; the API speaks objects only.
        return Err(AppError::invalid("body", "must be a JSON object"));
    }
    reject_operator_keys(&value, &mut String::new())?;
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        field_error(&path, &inner)
    })
}

/// Refuses object keys that MongoDB would read as operators or paths.
fn reject_operator_keys(value: &Value, path: &mut String) -> Result<(), AppError> {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let field = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if key.starts_with('$') {
                    return Err(AppError::invalid(
                        field,
                        "keys starting with '$' are not allowed",
                    ));
                }
                let mut child_path = field;
                reject_operator_keys(child, &mut child_path)?;
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let mut child_path = format!("{path}[{i}]");
                reject_operator_keys(child, &mut child_path)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A `400` for a serde error at `path` (serde_path_to_error's notation; `.` is the root).
fn field_error(path: &str, message: &str) -> AppError {
    let at_root = path == "." || path.is_empty();
    // serde reports a missing field at the path of the object that lacks it.
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        let field = if at_root {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        return AppError::invalid(field, "is required");
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        // serde reports an unknown field at its own path.
        let field = if at_root { name } else { path };
        return AppError::invalid(field, "is not a known field");
    }
    if at_root {
        return AppError::invalid("body", "must be a JSON object");
    }
    AppError::invalid(path, message)
}

/// A query string whose rejections name the parameter (`limit`, `page`...).
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or("");
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(Query)
            .map_err(|err| {
                let path = err.path().to_string();
                let inner = err.into_inner().to_string();
                if path == "." || path.is_empty() {
                    AppError::invalid("query", inner)
                } else {
                    // A typed value's own error already names the parameter.
                    let reason = inner
                        .strip_prefix(&format!("invalid {path}: "))
                        .unwrap_or(&inner)
                        .to_owned();
                    AppError::invalid(path, reason)
                }
            })
    }
}

/// A typed id from the route's only path parameter, parsed with the id's own `parse`: a wrong
/// form is a `400` naming the id (`productId`, `orderId`...).
#[derive(Debug, Clone)]
pub struct PathId<T>(pub T);

impl<S: Send + Sync, T: FromStr<Err = Error> + Send> FromRequestParts<S> for PathId<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let text = PathText::from_request_parts(parts, state).await?;
        T::from_str(&text.0).map(PathId).map_err(AppError::from)
    }
}

/// The route's only path parameter as text (percent-decoded).
#[derive(Debug, Clone)]
pub struct PathText(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathText {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(text)| PathText(text))
            .map_err(|rejection| AppError::invalid("path", rejection.body_text()))
    }
}

/// A caller holding a valid, active API key with permission `0000` (header `x-api-key`).
/// Missing, unknown or disabled: `403 Forbidden Error`; lacking the permission:
/// `403 Permission Denied`. Checked once per request.
#[derive(Debug, Clone)]
pub struct ClientKey(pub ApiKey);

impl ClientKey {
    /// The permission every `/v1/api` route needs.
    pub const REQUIRED: Permission = Permission::P0000;
}

impl FromRequestParts<AppState> for ClientKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(checked) = parts.extensions.get::<ClientKey>() {
            return Ok(checked.clone());
        }
        let key = header_text(parts, API_KEY)
            .ok_or_else(|| Error::Forbidden("Forbidden Error".into()))?;
        let record = state.ecom.api_keys.check(key, Self::REQUIRED).await?;
        let checked = ClientKey(record);
        parts.extensions.insert(checked.clone());
        Ok(checked)
    }
}

/// The API-key check of every `/v1/api` route, as one `route_layer` (see
/// [`router`](crate::router)) instead of each handler remembering to ask: it runs
/// [`ClientKey`]'s check before any other extractor, and handlers that want the key read the
/// checked one. It finds the [`AppState`] in the request's extensions, where the router puts
/// it.
#[derive(Debug, Clone, Copy)]
pub struct ApiKeyGuard;

impl<S: Send + Sync> FromRequestParts<S> for ApiKeyGuard {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let state = parts
            .extensions
            .get::<AppState>()
            .cloned()
            .ok_or_else(|| Error::backend("the router did not put its state in the request"))?;
        ClientKey::from_request_parts(parts, &state).await?;
        Ok(ApiKeyGuard)
    }
}

/// The access token of `authorization`, with or without `Bearer `.
fn access_token(parts: &Parts) -> Option<&str> {
    let value = header_text(parts, header::AUTHORIZATION.as_str())?;
    if value.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = match value.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => value[7..].trim(),
        _ => value,
    };
    (!token.is_empty()).then_some(token)
}

/// Checks the access token of an account of `kind` (the API key was checked by
/// [`ApiKeyGuard`]).
async fn principal(
    parts: &mut Parts,
    state: &AppState,
    kind: AccountKind,
) -> Result<Principal, AppError> {
    let client_id = header_text(parts, CLIENT_ID)
        .ok_or_else(|| Error::Unauthorized("missing x-client-id header".into()))?;
    let token = access_token(parts)
        .ok_or_else(|| Error::Unauthorized("missing authorization header".into()))?;
    Ok(state.ecom.auth.authenticate(kind, client_id, token).await?)
}

/// A shop proven by `x-client-id` + `authorization` (after the API key).
#[derive(Debug, Clone)]
pub struct ShopAuth {
    /// The shop.
    pub shop_id: ShopId,
    /// The session behind the token.
    pub principal: Principal,
}

impl FromRequestParts<AppState> for ShopAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let principal = principal(parts, state, AccountKind::Shop).await?;
        Ok(ShopAuth {
            shop_id: principal.account_id.clone().into(),
            principal,
        })
    }
}

/// A shop proven by its token, else the operator: an API key with permission `2222` sent
/// without a token. Anyone else is refused as on shop routes (401 without a token, 403 with a
/// customer's).
#[derive(Debug, Clone)]
pub struct ShopOrOperator(pub Audience);

impl FromRequestParts<AppState> for ShopOrOperator {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let key = ClientKey::from_request_parts(parts, state).await?;
        let has_token = parts.headers.contains_key(header::AUTHORIZATION);
        if !has_token && key.0.permissions.contains(&Permission::P2222) {
            return Ok(ShopOrOperator(Audience::Operator));
        }
        let shop = ShopAuth::from_request_parts(parts, state).await?;
        Ok(ShopOrOperator(Audience::Shop(shop.shop_id)))
    }
}

/// The operator: an API key with permission `1111` or `2222` sent without a token (anyone
/// else is 403).
#[derive(Debug, Clone, Copy)]
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let key = ClientKey::from_request_parts(parts, state).await?;
        let has_token = parts.headers.contains_key(header::AUTHORIZATION);
        let operator = key
            .0
            .permissions
            .iter()
            .any(|p| matches!(p, Permission::P1111 | Permission::P2222));
        if has_token || !operator {
            return Err(AppError::from(Error::Forbidden(
                "this needs the operator's API key (permission 1111 or 2222) without a token"
                    .to_owned(),
            )));
        }
        Ok(Operator)
    }
}

/// A customer proven by `x-client-id` + `authorization` (after the API key).
#[derive(Debug, Clone)]
pub struct CustomerAuth {
    /// The customer.
    pub customer_id: CustomerId,
    /// The session behind the token.
    pub principal: Principal,
}

impl FromRequestParts<AppState> for CustomerAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let principal = principal(parts, state, AccountKind::Customer).await?;
        Ok(CustomerAuth {
            customer_id: principal.account_id.clone().into(),
            principal,
        })
    }
}

/// The shop looking at a public route, if it proved who it is: a valid shop token makes it
/// the viewer (owners see their drafts); no token, a customer's token, or any token that does
/// not authenticate a shop makes an anonymous viewer (only published data), never an error.
/// Only a failure to check the token at all (the store is down) is one.
#[derive(Debug, Clone)]
pub struct Viewer(pub Option<ShopId>);

impl FromRequestParts<AppState> for Viewer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let (Some(client_id), Some(token)) = (header_text(parts, CLIENT_ID), access_token(parts))
        else {
            return Ok(Viewer(None));
        };
        match state
            .ecom
            .auth
            .authenticate(AccountKind::Shop, client_id, token)
            .await
        {
            Ok(principal) => Ok(Viewer(Some(principal.account_id.into()))),
            Err(Error::Backend(e)) => Err(Error::Backend(e).into()),
            Err(e) if e.is_retryable() => Err(e.into()),
            Err(_) => Ok(Viewer(None)),
        }
    }
}

/// The client's address: the TCP peer's, when the server runs with connect info (as
/// [`serve`](crate::serve) does); `None` otherwise (e.g. a router driven in-process).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}

/// A refresh request: `x-client-id` and the refresh token of `x-rtoken-id` (after the API
/// key). Missing either is `401`.
#[derive(Debug, Clone)]
pub struct RefreshRequest {
    /// The account id the token claims to belong to.
    pub client_id: String,
    /// The refresh token.
    pub refresh_token: String,
}

impl FromRequestParts<AppState> for RefreshRequest {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        ClientKey::from_request_parts(parts, state).await?;
        let client_id = header_text(parts, CLIENT_ID)
            .ok_or_else(|| Error::Unauthorized("missing x-client-id header".into()))?;
        let refresh_token = header_text(parts, REFRESH_TOKEN)
            .ok_or_else(|| Error::Unauthorized("missing x-rtoken-id header".into()))?;
        Ok(RefreshRequest {
            client_id: client_id.to_owned(),
            refresh_token: refresh_token.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Line {
        quantity: u32,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        lines: Vec<Line>,
    }

    fn message(result: Result<Body, AppError>) -> String {
        match result {
            Err(AppError::Core(err)) => err.to_string(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn rejections_name_the_field() {
        let cases = [
            (r#"{"name": 1, "lines": []}"#, "invalid name:"),
            (r#"{"lines": []}"#, "invalid name: is required"),
            (
                r#"{"name": "a", "lines": [{"quantity": -1}]}"#,
                "invalid lines[0].quantity:",
            ),
            (
                r#"{"name": "a", "lines": [{}]}"#,
                "invalid lines[0].quantity: is required",
            ),
            (
                r#"{"name": "a", "lines": [{"quantity": 1}"#,
                "invalid body:",
            ),
            (r#"[1, 2]"#, "invalid body: must be a JSON object"),
            (
                r#"{"name": {"$gt": ""}, "lines": []}"#,
                "invalid name.$gt: keys starting with '$'",
            ),
            (
                r#"{"name": "a", "lines": [{"quantity": 1, "x": {"$ne": 1}}]}"#,
                "invalid lines[0].x.$ne:",
            ),
        ];
        for (body, expected) in cases {
            let got = message(parse_json::<Body>(body.as_bytes()));
            assert!(got.starts_with(expected), "{body}: {got}");
        }
    }

    #[test]
    fn bearer_prefix_is_optional() {
        let parts = |value: &str| {
            let (parts, ()) = axum::http::Request::builder()
                .header("authorization", value)
                .body(())
                .unwrap()
                .into_parts();
            parts
        };
        assert_eq!(access_token(&parts("Bearer abc")), Some("abc"));
        assert_eq!(access_token(&parts("bearer abc")), Some("abc"));
        assert_eq!(access_token(&parts("abc")), Some("abc"));
        assert_eq!(access_token(&parts("Bearer ")), None);
    }
}
