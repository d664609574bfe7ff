//! Accounts: signup, login, logout and token refresh for shops (`/shop/...`) and customers
//! (`/user/...`). Both kinds share the logic; each route is its own handler so the OpenAPI
//! document names the exact shapes.

use crate::dto::account::{
    LoggedOutDto, LoginBody, RefreshedDto, ShopSessionDto, SignupBody, UserSessionDto,
};
use crate::envelope::{Envelope, Reply};
use crate::error::AppError;
use crate::extract::{ClientAddr, CustomerAuth, Json, RefreshRequest, ShopAuth};
use crate::limits::Route;
use crate::state::AppState;
use axum::extract::State;
use ecom_core::account::AccountKind;
use ecom_core::service::{Principal, Session};
use ecom_core::Error;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The account routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(shop_signup))
        .routes(routes!(shop_login))
        .routes(routes!(shop_logout))
        .routes(routes!(shop_refresh))
        .routes(routes!(user_signup))
        .routes(routes!(user_login))
        .routes(routes!(user_logout))
        .routes(routes!(user_refresh))
}

async fn signup(
    state: &AppState,
    kind: AccountKind,
    addr: ClientAddr,
    body: SignupBody,
) -> Result<Session, AppError> {
    state.limits.attempt(Route::Signup(kind), addr.0)?;
    Ok(state.ecom.auth.signup(kind, body.into()).await?)
}

/// A login: the address's budget first, then the email's delay (earned by wrong passwords
/// only); the outcome of the password check feeds the delay.
async fn login(
    state: &AppState,
    kind: AccountKind,
    addr: ClientAddr,
    body: LoginBody,
) -> Result<Session, AppError> {
    state.limits.attempt(Route::Login(kind), addr.0)?;
    state.limits.login_allowed(kind, &body.email)?;
    let email = body.email.clone();
    match state.ecom.auth.login(kind, body.into()).await {
        Ok(session) => {
            state.limits.login_succeeded(kind, &email);
            Ok(session)
        }
        Err(e @ Error::Unauthorized(_)) => {
            state.limits.login_failed(kind, &email);
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

async fn logout(state: &AppState, principal: &Principal) -> Result<Reply<LoggedOutDto>, AppError> {
    state.ecom.auth.logout(principal).await?;
    Ok(Reply::ok(
        "Logout success!",
        LoggedOutDto {
            user_id: principal.account_id.to_string(),
            session_id: principal.session_id.to_string(),
        },
    ))
}

async fn refresh(
    state: &AppState,
    kind: AccountKind,
    addr: ClientAddr,
    request: RefreshRequest,
) -> Result<Reply<RefreshedDto>, AppError> {
    state.limits.attempt(Route::Refresh(kind), addr.0)?;
    state.limits.refresh(kind, &request.refresh_token)?;
    let session = state
        .ecom
        .auth
        .refresh(kind, &request.client_id, &request.refresh_token)
        .await?;
    Ok(Reply::ok("Get token success!", session.into()))
}

/// Registers a shop and logs it in.
#[utoipa::path(
    post, path = "/shop/signup", tag = "access",
    request_body = SignupBody,
    responses(
        (status = 201, description = "Shop registered and logged in", body = Envelope<ShopSessionDto>),
        (status = 409, description = "Email already registered", body = crate::envelope::ErrorBody),
        (status = 429, description = "Too many attempts from this address", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn shop_signup(
    State(state): State<AppState>,
    addr: ClientAddr,
    Json(body): Json<SignupBody>,
) -> Result<Reply<ShopSessionDto>, AppError> {
    let session = signup(&state, AccountKind::Shop, addr, body).await?;
    Ok(Reply::created("Registered OK!", session.into()))
}

/// Logs a shop in.
#[utoipa::path(
    post, path = "/shop/login", tag = "access",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Logged in", body = Envelope<ShopSessionDto>),
        (status = 401, description = "Wrong email or password", body = crate::envelope::ErrorBody),
        (status = 429, description = "Too many attempts from this address, or a login for this email delayed by wrong passwords", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn shop_login(
    State(state): State<AppState>,
    addr: ClientAddr,
    Json(body): Json<LoginBody>,
) -> Result<Reply<ShopSessionDto>, AppError> {
    let session = login(&state, AccountKind::Shop, addr, body).await?;
    Ok(Reply::ok("Login success!", session.into()))
}

/// Ends the shop's session.
#[utoipa::path(
    post, path = "/shop/logout", tag = "access",
    responses((status = 200, description = "Logged out", body = Envelope<LoggedOutDto>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn shop_logout(
    State(state): State<AppState>,
    shop: ShopAuth,
) -> Result<Reply<LoggedOutDto>, AppError> {
    logout(&state, &shop.principal).await
}

/// Exchanges a shop's refresh token for a new pair. A refresh token works once: presenting
/// a used one answers 403 and revokes every session of the account.
#[utoipa::path(
    post, path = "/shop/handlerRefreshToken", tag = "access",
    responses(
        (status = 200, description = "New tokens", body = Envelope<RefreshedDto>),
        (status = 403, description = "Refresh token reused; all sessions revoked", body = crate::envelope::ErrorBody),
        (status = 429, description = "Too many attempts from this address or with this token", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "refresh_token" = []))
)]
pub async fn shop_refresh(
    State(state): State<AppState>,
    addr: ClientAddr,
    request: RefreshRequest,
) -> Result<Reply<RefreshedDto>, AppError> {
    refresh(&state, AccountKind::Shop, addr, request).await
}

/// Registers a customer and logs them in.
#[utoipa::path(
    post, path = "/user/signup", tag = "access",
    request_body = SignupBody,
    responses(
        (status = 201, description = "Customer registered and logged in", body = Envelope<UserSessionDto>),
        (status = 409, description = "Email already registered", body = crate::envelope::ErrorBody),
        (status = 429, description = "Too many attempts from this address", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn user_signup(
    State(state): State<AppState>,
    addr: ClientAddr,
    Json(body): Json<SignupBody>,
) -> Result<Reply<UserSessionDto>, AppError> {
    let session = signup(&state, AccountKind::Customer, addr, body).await?;
    Ok(Reply::created("Registered OK!", session.into()))
}

/// Logs a customer in.
#[utoipa::path(
    post, path = "/user/login", tag = "access",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Logged in", body = Envelope<UserSessionDto>),
        (status = 401, description = "Wrong email or password", body = crate::envelope::ErrorBody),
        (status = 429, description = "Too many attempts from this address, or a login for this email delayed by wrong passwords", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn user_login(
    State(state): State<AppState>,
    addr: ClientAddr,
    Json(body): Json<LoginBody>,
) -> Result<Reply<UserSessionDto>, AppError> {
    let session = login(&state, AccountKind::Customer, addr, body).await?;
    Ok(Reply::ok("Login success!", session.into()))
}

/// Ends the customer's session.
#[utoipa::path(
    post, path = "/user/logout", tag = "access",
    responses((status = 200, description = "Logged out", body = Envelope<LoggedOutDto>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn user_logout(
    State(state): State<AppState>,
    user: CustomerAuth,
) -> Result<Reply<LoggedOutDto>, AppError> {
    logout(&state, &user.principal).await
}

/// Exchanges a customer's refresh token for a new pair (reuse: 403, all sessions revoked).
#[utoipa::path(
    post, path = "/user/handlerRefreshToken", tag = "access",
    responses(
        (status = 200, description = "New tokens", body = Envelope<RefreshedDto>),
        (status = 403, description = "Refresh token reused; all sessions revoked", body = crate::envelope::ErrorBody),
        (status = 429, description = "Too many attempts from this address or with this token", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "refresh_token" = []))
)]
pub async fn user_refresh(
    State(state): State<AppState>,
    addr: ClientAddr,
    request: RefreshRequest,
) -> Result<Reply<RefreshedDto>, AppError> {
    refresh(&state, AccountKind::Customer, addr, request).await
}
