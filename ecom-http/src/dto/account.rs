//! Accounts: signup, login and refresh shapes.

use ecom_core::account::Account;
use ecom_core::service::{LoginInput, Session, SignupInput, TokenPair};
use ecom_core::Password;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

/// Body of `POST /shop/signup` and `POST /user/signup`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SignupBody {
    /// Display name, 1 to 100 characters (trimmed).
    #[schema(schema_with = super::text::<100>, example = "Tee Shop")]
    pub name: String,
    /// Email address, unique per account kind (trimmed and lowercased): one `@`, a dotted
    /// domain, no spaces, at most 254 characters. The document shows ASCII addresses; the
    /// server also takes others of that form.
    #[schema(schema_with = email_schema, example = "owner@tee.example")]
    pub email: String,
    /// Password, 8 to 128 characters (kept as given).
    #[schema(value_type = String, min_length = 8, max_length = 128, example = "correct horse battery")]
    pub password: Password,
}

/// Schema of a new account's email address (ASCII, see [`SignupBody::email`]).
fn email_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(254))
        .pattern(Some(r"^[!-?A-~]+@[!-\-/-?A-~]+(\.[!-\-/-?A-~]+)+$"))
        .into()
}

impl From<SignupBody> for SignupInput {
    fn from(body: SignupBody) -> Self {
        SignupInput {
            name: body.name,
            email: body.email,
            password: body.password,
        }
    }
}

/// Body of `POST /shop/login` and `POST /user/login`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    /// Email address (anything that is not a registered address is a 401).
    #[schema(example = "owner@tee.example")]
    pub email: String,
    /// Password (a wrong one is a 401).
    #[schema(value_type = String, example = "correct horse battery")]
    pub password: Password,
}

impl From<LoginBody> for LoginInput {
    fn from(body: LoginBody) -> Self {
        LoginInput {
            email: body.email,
            password: body.password,
        }
    }
}

/// An account as shown to its owner.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountDto {
    /// The account id (use it as `x-client-id`).
    #[serde(rename = "_id")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
}

impl From<&Account> for AccountDto {
    fn from(account: &Account) -> Self {
        AccountDto {
            id: account.id.to_string(),
            name: account.name.clone(),
            email: account.email.clone(),
        }
    }
}

/// An access and a refresh token.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokensDto {
    /// Short-lived token for `authorization`.
    pub access_token: String,
    /// Token for `x-rtoken-id`; works once.
    pub refresh_token: String,
}

impl From<TokenPair> for TokensDto {
    fn from(tokens: TokenPair) -> Self {
        TokensDto {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
        }
    }
}

/// A shop with fresh tokens (signup and login of shops).
#[derive(Debug, Serialize, ToSchema)]
pub struct ShopSessionDto {
    /// The shop.
    pub shop: AccountDto,
    /// Its tokens.
    pub tokens: TokensDto,
}

impl From<Session> for ShopSessionDto {
    fn from(session: Session) -> Self {
        ShopSessionDto {
            shop: AccountDto::from(&session.account),
            tokens: session.tokens.into(),
        }
    }
}

/// A customer with fresh tokens (signup and login of users).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserSessionDto {
    /// The customer.
    pub user: AccountDto,
    /// Its tokens.
    pub tokens: TokensDto,
}

impl From<Session> for UserSessionDto {
    fn from(session: Session) -> Self {
        UserSessionDto {
            user: AccountDto::from(&session.account),
            tokens: session.tokens.into(),
        }
    }
}

/// Whose tokens were refreshed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenOwnerDto {
    /// The account id.
    pub user_id: String,
    /// The account's email.
    pub email: String,
}

/// The answer of `handlerRefreshToken`: the account and its new token pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefreshedDto {
    /// The account.
    pub user: TokenOwnerDto,
    /// The new tokens (the presented refresh token is now used up).
    pub tokens: TokensDto,
}

impl From<Session> for RefreshedDto {
    fn from(session: Session) -> Self {
        RefreshedDto {
            user: TokenOwnerDto {
                user_id: session.account.id.to_string(),
                email: session.account.email,
            },
            tokens: session.tokens.into(),
        }
    }
}

/// The answer of `logout`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoggedOutDto {
    /// The account that logged out.
    pub user_id: String,
    /// The ended session; its tokens no longer work.
    pub session_id: String,
}
