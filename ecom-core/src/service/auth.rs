//! Signup, login, logout, token refresh with reuse detection, and access-token checks.
//!
//! Tokens are HS256 JWTs. Each login creates a [`KeyStore`] with two random secrets: access
//! tokens are signed with one, refresh tokens with the other. The session id travels in the JWT
//! header as `kid`, so a token names the secret that verifies it. The algorithm is pinned
//! (anything but HS256, including `none`, is refused) and `exp` is checked against the
//! [`Clock`](crate::clock::Clock) port.

use crate::account::{Account, AccountKind, Role};
use crate::backend::Backend;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::id::{AccountId, CustomerId, SessionId, ShopId};
use crate::key_store::KeyStore;
use crate::secret::{Password, Secret};
use crate::service::config::EcomConfig;
use crate::service::lookups::{Fetch, Lookups};
use crate::service::password;
use crate::validate;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::OnceCell;

/// Signup input.
#[derive(Clone, Debug, Deserialize)]
pub struct SignupInput {
    /// Display name, 1..=100 characters.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Password, 8..=128 characters (hidden from `Debug`).
    pub password: Password,
}

impl SignupInput {
    /// A signup of `name` at `email` with `password`.
    pub fn new(
        name: impl Into<String>,
        email: impl Into<String>,
        password: impl Into<Password>,
    ) -> Self {
        SignupInput {
            name: name.into(),
            email: email.into(),
            password: password.into(),
        }
    }
}

/// Login input.
#[derive(Clone, Debug, Deserialize)]
pub struct LoginInput {
    /// Email address.
    pub email: String,
    /// Password (hidden from `Debug`).
    pub password: Password,
}

/// An access and a refresh token.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenPair {
    /// Short-lived token for API calls.
    pub access_token: String,
    /// Token to get a new pair; usable once.
    pub refresh_token: String,
}

/// An account with a fresh token pair.
#[derive(Clone, Debug)]
pub struct Session {
    /// The account.
    pub account: Account,
    /// Its new tokens.
    pub tokens: TokenPair,
}

/// Who is calling, proven by a valid access token.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Principal {
    /// The account.
    pub account_id: AccountId,
    /// Shop or customer.
    pub kind: AccountKind,
    /// The session the token belongs to.
    pub session_id: SessionId,
    /// The account's email.
    pub email: String,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum TokenType {
    Access,
    Refresh,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    kind: AccountKind,
    email: String,
    typ: TokenType,
    jti: String,
    iat: i64,
    exp: i64,
}

/// The authentication use cases.
#[derive(Clone, Debug)]
pub struct AuthService {
    backend: Backend,
    config: Arc<EcomConfig>,
    /// A hash verified against when the email is unknown, so both failures take the same time.
    decoy_hash: Arc<OnceCell<String>>,
    /// Session lookups, batched when group commit is on.
    sessions: Option<Arc<Lookups<SessionId, KeyStore>>>,
}

fn unauthorized() -> Error {
    Error::Unauthorized("invalid or expired token".into())
}

impl AuthService {
    pub(crate) fn new(backend: Backend, config: Arc<EcomConfig>) -> Self {
        let sessions = config.group_commit.then(|| {
            let stores = backend.key_stores.clone();
            let fetch: Fetch<SessionId, KeyStore> = Arc::new(move |ids| {
                let stores = stores.clone();
                Box::pin(async move { stores.get_many(&ids).await })
            });
            Arc::new(Lookups::new(fetch, |s: &KeyStore| s.id.clone()))
        });
        AuthService {
            backend,
            config,
            decoy_hash: Arc::new(OnceCell::new()),
            sessions,
        }
    }

    /// Signs up a shop: [`Self::signup`] with the new shop's id, typed.
    pub async fn signup_shop(&self, input: SignupInput) -> Result<(ShopId, Session)> {
        let session = self.signup(AccountKind::Shop, input).await?;
        Ok((session.account.id.clone().into(), session))
    }

    /// Signs up a customer: [`Self::signup`] with the new customer's id, typed.
    pub async fn signup_customer(&self, input: SignupInput) -> Result<(CustomerId, Session)> {
        let session = self.signup(AccountKind::Customer, input).await?;
        Ok((session.account.id.clone().into(), session))
    }

    /// Creates an account and logs it in. [`Error::AlreadyExists`] if the email is taken.
    pub async fn signup(&self, kind: AccountKind, input: SignupInput) -> Result<Session> {
        let name = validate::text("name", &input.name, 100)?;
        let email = validate::email("email", &input.email)?;
        validate::password("password", input.password.expose())?;
        if self
            .backend
            .accounts
            .find_by_email(kind, &email)
            .await?
            .is_some()
        {
            return Err(Error::already_exists("email"));
        }
        let now = self.backend.clock.now();
        let account = Account {
            id: AccountId::generate(),
            kind,
            name,
            email,
            password_hash: password::hash(input.password.into_inner()).await?,
            roles: match kind {
                AccountKind::Shop => vec![Role::Shop],
                AccountKind::Customer => Vec::new(),
            },
            active: true,
            settings: Default::default(),
            created_at: now,
            updated_at: now,
        };
        self.backend.accounts.insert(&account).await?;
        let tokens = self.start_session(&account, now).await?;
        Ok(Session { account, tokens })
    }

    /// Logs in with email and password; [`Error::Unauthorized`] if either is wrong.
    pub async fn login(&self, kind: AccountKind, input: LoginInput) -> Result<Session> {
        let wrong = || Error::Unauthorized("invalid email or password".into());
        let email = validate::email("email", &input.email).map_err(|_| wrong())?;
        let account = self.backend.accounts.find_by_email(kind, &email).await?;
        let phc = match &account {
            Some(a) => a.password_hash.clone(),
            None => self.decoy_hash().await?,
        };
        let matches = password::verify(input.password.into_inner(), phc).await?;
        let account = match account {
            Some(a) if matches && a.active => a,
            _ => return Err(wrong()),
        };
        let tokens = self
            .start_session(&account, self.backend.clock.now())
            .await?;
        Ok(Session { account, tokens })
    }

    /// Ends the principal's session; its tokens stop working.
    pub async fn logout(&self, principal: &Principal) -> Result<()> {
        self.backend
            .key_stores
            .delete(&principal.session_id)
            .await?;
        Ok(())
    }

    /// Checks an access token presented by `client_id` (the `x-client-id` header) for an
    /// account of `kind`. [`Error::Unauthorized`] unless the token is a valid, unexpired access
    /// token of a live session of that very account.
    pub async fn authenticate(
        &self,
        kind: AccountKind,
        client_id: &str,
        access_token: &str,
    ) -> Result<Principal> {
        let store = self.session_of(access_token).await?;
        let claims = self.verify(access_token, &store, TokenType::Access, kind, client_id)?;
        Ok(Principal {
            account_id: store.account_id,
            kind,
            session_id: store.id,
            email: claims.email,
        })
    }

    /// Exchanges a refresh token for a new pair (rotation). Presenting a refresh token that was
    /// already used revokes every session of the account and fails with [`Error::Forbidden`].
    pub async fn refresh(
        &self,
        kind: AccountKind,
        client_id: &str,
        refresh_token: &str,
    ) -> Result<Session> {
        let store = self.session_of(refresh_token).await?;
        let claims = self.verify(refresh_token, &store, TokenType::Refresh, kind, client_id)?;
        if store.used_refresh_jtis.contains(&claims.jti) {
            return Err(self.revoke_for_reuse(&store.account_id).await);
        }
        if store.refresh_jti != claims.jti {
            return Err(unauthorized());
        }
        let account = self
            .backend
            .accounts
            .get(kind, &store.account_id)
            .await?
            .filter(|a| a.active)
            .ok_or_else(unauthorized)?;
        let now = self.backend.clock.now();
        let next_jti = uuid::Uuid::new_v4().simple().to_string();
        let expires_at = now + self.config.refresh_token_ttl;
        let rotated = self
            .backend
            .key_stores
            .rotate_refresh(&store.id, &claims.jti, &next_jti, expires_at)
            .await?;
        if !rotated {
            // Someone else used this token in the meantime: that is reuse too.
            return Err(self.revoke_for_reuse(&store.account_id).await);
        }
        let tokens = self.sign_pair(&account, &store, &next_jti, now)?;
        Ok(Session { account, tokens })
    }

    /// Removes sessions that expired at or before `now` from the store (they are already
    /// refused); returns how many. The server runs it with its recovery pass.
    pub async fn sweep_expired_sessions(&self, now: Timestamp) -> Result<u64> {
        self.backend.key_stores.delete_expired(now).await
    }

    async fn revoke_for_reuse(&self, account_id: &AccountId) -> Error {
        match self.backend.key_stores.delete_for_account(account_id).await {
            Ok(revoked) => {
                tracing::warn!(%account_id, revoked, "refresh token reused; sessions revoked");
                Error::Forbidden("refresh token reused; please log in again".into())
            }
            Err(e) => e,
        }
    }

    async fn start_session(&self, account: &Account, now: Timestamp) -> Result<TokenPair> {
        let store = KeyStore {
            id: SessionId::generate(),
            account_id: account.id.clone(),
            kind: account.kind,
            salt: Secret::random(),
            refresh_jti: uuid::Uuid::new_v4().simple().to_string(),
            used_refresh_jtis: Vec::new(),
            created_at: now,
            expires_at: now + self.config.refresh_token_ttl,
        };
        self.backend.key_stores.insert(&store).await?;
        self.sign_pair(account, &store, &store.refresh_jti, now)
    }

    fn sign_pair(
        &self,
        account: &Account,
        store: &KeyStore,
        refresh_jti: &str,
        now: Timestamp,
    ) -> Result<TokenPair> {
        let sign = |typ, jti: String, ttl: chrono::Duration| {
            let secret = self.signing_key(store, typ)?;
            let claims = Claims {
                sub: account.id.to_string(),
                kind: account.kind,
                email: account.email.clone(),
                typ,
                jti,
                iat: now.timestamp(),
                exp: (now + ttl).timestamp(),
            };
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some(store.id.to_string());
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret))
                .map_err(Error::backend)
        };
        Ok(TokenPair {
            access_token: sign(
                TokenType::Access,
                uuid::Uuid::new_v4().simple().to_string(),
                self.config.access_token_ttl,
            )?,
            refresh_token: sign(
                TokenType::Refresh,
                refresh_jti.to_owned(),
                self.config.refresh_token_ttl,
            )?,
        })
    }

    /// The key that signs `store`'s tokens of type `typ`: HMAC-SHA256 under the server secret
    /// of the purpose and the session's salt. Changing the server secret ends every session.
    fn signing_key(&self, store: &KeyStore, typ: TokenType) -> Result<Vec<u8>> {
        use hmac::{Hmac, Mac};
        let mut mac =
            <Hmac<sha2::Sha256> as Mac>::new_from_slice(self.config.api_key_secret.expose())
                .map_err(Error::backend)?;
        mac.update(match typ {
            TokenType::Access => b"ecom session access key\0",
            TokenType::Refresh => b"ecom session refresh key\0",
        });
        mac.update(store.salt.expose());
        Ok(mac.finalize().into_bytes().to_vec())
    }

    /// The live session named by the token's `kid` header.
    async fn session_of(&self, token: &str) -> Result<KeyStore> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| unauthorized())?;
        if header.alg != Algorithm::HS256 {
            return Err(unauthorized());
        }
        let session_id = header
            .kid
            .as_deref()
            .and_then(|kid| SessionId::parse(kid).ok())
            .ok_or_else(unauthorized)?;
        let found = match &self.sessions {
            Some(sessions) => sessions.get(session_id).await?,
            None => self.backend.key_stores.get(&session_id).await?,
        };
        let store = found.ok_or_else(unauthorized)?;
        if store.expires_at <= self.backend.clock.now() {
            return Err(unauthorized());
        }
        Ok(store)
    }

    fn verify(
        &self,
        token: &str,
        store: &KeyStore,
        typ: TokenType,
        kind: AccountKind,
        client_id: &str,
    ) -> Result<Claims> {
        let secret = self.signing_key(store, typ)?;
        let mut validation = Validation::new(Algorithm::HS256);
        // `exp` is checked below against the Clock port, not the system time.
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let claims =
            jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&secret), &validation)
                .map_err(|_| unauthorized())?
                .claims;
        let authentic = claims.typ == typ
            && claims.kind == store.kind
            && claims.sub == client_id
            && claims.sub == store.account_id.as_str()
            && claims.exp > self.backend.clock.now().timestamp();
        if !authentic {
            return Err(unauthorized());
        }
        if store.kind != kind {
            // A genuine token of the other kind of account: who it is is known, what it asks
            // for is not its to ask.
            return Err(Error::Forbidden(format!(
                "this route is for {} accounts",
                match kind {
                    AccountKind::Shop => "shop",
                    AccountKind::Customer => "customer",
                }
            )));
        }
        Ok(claims)
    }

    async fn decoy_hash(&self) -> Result<String> {
        self.decoy_hash
            .get_or_try_init(|| password::hash("decoy-password-never-matches".into()))
            .await
            .cloned()
    }
}
