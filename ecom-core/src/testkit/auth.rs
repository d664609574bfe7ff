//! Cases for authentication and [`KeyStoreRepo`](crate::key_store::KeyStoreRepo).

use super::{ecom, email, signup, PASSWORD};
use crate::account::AccountKind;
use crate::backend::Backend;
use crate::clock::ManualClock;
use crate::error::Error;
use crate::id::{AccountId, SessionId};
use crate::key_store::KeyStore;
use crate::secret::Secret;
use crate::service::Ecom;
use crate::service::{LoginInput, SignupInput};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::sync::Arc;

fn login(email: &str, password: &str) -> LoginInput {
    LoginInput {
        email: email.into(),
        password: password.into(),
    }
}

pub async fn signup_login_authenticate(backend: &Backend) {
    let ecom = ecom(backend);
    let email = email();
    let session = ecom
        .auth
        .signup(
            AccountKind::Shop,
            SignupInput {
                name: "  Shop One ".into(),
                email: email.to_uppercase(),
                password: PASSWORD.into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(session.account.email, email, "email is normalized");
    assert_eq!(session.account.name, "Shop One");
    assert!(session.account.password_hash.starts_with("$argon2id$"));
    assert!(!session.account.password_hash.contains(PASSWORD));
    let id = session.account.id.to_string();
    let principal = ecom
        .auth
        .authenticate(AccountKind::Shop, &id, &session.tokens.access_token)
        .await
        .unwrap();
    assert_eq!(principal.account_id, session.account.id);
    // The same email cannot sign up twice as a shop, but may as a customer.
    let again = ecom
        .auth
        .signup(
            AccountKind::Shop,
            SignupInput {
                name: "Other".into(),
                email: email.clone(),
                password: PASSWORD.into(),
            },
        )
        .await;
    assert!(matches!(again, Err(Error::AlreadyExists { .. })));
    let logged_in = ecom
        .auth
        .login(AccountKind::Shop, login(&email, PASSWORD))
        .await
        .unwrap();
    assert_eq!(logged_in.account.id, session.account.id);
    // Both sessions work independently.
    for token in [&session.tokens.access_token, &logged_in.tokens.access_token] {
        ecom.auth
            .authenticate(AccountKind::Shop, &id, token)
            .await
            .unwrap();
    }
    // A shop's genuine token on a customer's route: known, but not allowed (403).
    assert!(matches!(
        ecom.auth
            .authenticate(
                AccountKind::Customer,
                id.as_str(),
                &session.tokens.access_token
            )
            .await,
        Err(Error::Forbidden(_))
    ));
    // An access token is not a refresh token, and a token does not work for another client
    // id (401).
    let other = AccountId::generate().to_string();
    for (kind, client, token) in [
        (
            AccountKind::Shop,
            id.as_str(),
            &session.tokens.refresh_token,
        ),
        (
            AccountKind::Shop,
            other.as_str(),
            &session.tokens.access_token,
        ),
        (
            AccountKind::Customer,
            other.as_str(),
            &session.tokens.access_token,
        ),
    ] {
        assert!(matches!(
            ecom.auth.authenticate(kind, client, token).await,
            Err(Error::Unauthorized(_))
        ));
    }
}

pub async fn wrong_password_is_refused(backend: &Backend) {
    let ecom = ecom(backend);
    let session = signup(&ecom, AccountKind::Customer).await;
    let email = session.account.email.clone();
    for attempt in [
        login(&email, "wrong-password"),
        login(&email, ""),
        login(&super::email(), PASSWORD),
        login("not an email", PASSWORD),
    ] {
        assert!(matches!(
            ecom.auth.login(AccountKind::Customer, attempt).await,
            Err(Error::Unauthorized(_))
        ));
    }
    // Right password, wrong side of the marketplace.
    assert!(matches!(
        ecom.auth
            .login(AccountKind::Shop, login(&email, PASSWORD))
            .await,
        Err(Error::Unauthorized(_))
    ));
}

pub async fn bad_signup_input_writes_nothing(backend: &Backend) {
    let ecom = ecom(backend);
    let cases = [
        ("", "a@b.example", PASSWORD, "name"),
        ("Name", "not-an-email", PASSWORD, "email"),
        ("Name", "{\"$gt\": \"\"}", PASSWORD, "email"),
        ("Name", "x@y.example", "short", "password"),
    ];
    for (name, mail, password, field) in cases {
        let result = ecom
            .auth
            .signup(
                AccountKind::Shop,
                SignupInput {
                    name: name.into(),
                    email: mail.into(),
                    password: password.into(),
                },
            )
            .await;
        match result {
            Err(Error::Validation { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected a validation error on {field}, got {other:?}"),
        }
        assert!(backend
            .accounts
            .find_by_email(AccountKind::Shop, mail)
            .await
            .unwrap()
            .is_none());
    }
}

fn b64_json(part: &str) -> serde_json::Value {
    let bytes = URL_SAFE_NO_PAD.decode(part).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn b64(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// A session's stored record cannot sign its tokens: its keys derive from the server secret
/// and the record's salt. A token re-signed with anything the record holds is refused, and a
/// server with another secret refuses every token of this one.
pub async fn session_keys_need_the_server_secret(backend: &Backend) {
    use hmac::{Hmac, Mac};
    let ecom = ecom(backend);
    let session = signup(&ecom, AccountKind::Customer).await;
    let id = session.account.id.to_string();
    let token = &session.tokens.access_token;
    ecom.auth
        .authenticate(AccountKind::Customer, &id, token)
        .await
        .unwrap();
    let (signed, _) = token.rsplit_once('.').unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(signed.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    let kid = SessionId::parse(header["kid"].as_str().unwrap()).unwrap();
    let stored = backend.key_stores.get(&kid).await.unwrap().unwrap();
    let stored_json = serde_json::to_string(&stored.salt).unwrap();
    let resign = |key: &[u8]| {
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
        mac.update(signed.as_bytes());
        format!(
            "{signed}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    };
    for key in [stored.salt.expose(), stored_json.as_bytes()] {
        assert!(matches!(
            ecom.auth
                .authenticate(AccountKind::Customer, &id, &resign(key))
                .await,
            Err(Error::Unauthorized(_))
        ));
    }
    let other = crate::service::Ecom::new(
        backend.clone(),
        crate::service::EcomConfig::new(Secret::new(b"another-server-secret-0123".to_vec())),
    );
    assert!(matches!(
        other
            .auth
            .authenticate(AccountKind::Customer, &id, token)
            .await,
        Err(Error::Unauthorized(_))
    ));
}

pub async fn tampered_expired_and_alg_none_tokens_are_refused(backend: &Backend) {
    let clock = Arc::new(ManualClock::new(backend.clock.now()));
    let backend = backend.clone().with_clock(clock.clone());
    let ecom = ecom(&backend);
    let session = signup(&ecom, AccountKind::Customer).await;
    let id = session.account.id.to_string();
    let token = session.tokens.access_token.clone();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let (header, payload, signature) = (b64_json(parts[0]), b64_json(parts[1]), parts[2]);
    assert_eq!(header["alg"], "HS256");

    // Payload changed, signature kept.
    let mut forged = payload.clone();
    forged["exp"] = serde_json::json!(payload["exp"].as_i64().unwrap() + 86_400);
    let tampered = format!("{}.{}.{}", parts[0], b64(&forged), signature);
    // Signature changed.
    let mut sig = signature.to_owned();
    let flipped = if sig.ends_with('A') { 'B' } else { 'A' };
    sig.pop();
    sig.push(flipped);
    let bad_sig = format!("{}.{}.{}", parts[0], parts[1], sig);
    // alg: none, no signature.
    let mut none_header = header.clone();
    none_header["alg"] = serde_json::json!("none");
    let alg_none = format!("{}.{}.", b64(&none_header), parts[1]);
    // Signed with another secret.
    let other_key = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            kid: header["kid"].as_str().map(str::to_owned),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        },
        &payload,
        &jsonwebtoken::EncodingKey::from_secret(Secret::random().expose()),
    )
    .unwrap();
    for bad in [
        tampered,
        bad_sig,
        alg_none,
        other_key,
        "garbage".into(),
        String::new(),
    ] {
        assert!(
            matches!(
                ecom.auth
                    .authenticate(AccountKind::Customer, &id, &bad)
                    .await,
                Err(Error::Unauthorized(_))
            ),
            "accepted {bad:?}"
        );
    }
    // The genuine token works until it expires.
    ecom.auth
        .authenticate(AccountKind::Customer, &id, &token)
        .await
        .unwrap();
    clock.advance(ecom.config().access_token_ttl + chrono::Duration::seconds(1));
    assert!(matches!(
        ecom.auth
            .authenticate(AccountKind::Customer, &id, &token)
            .await,
        Err(Error::Unauthorized(_))
    ));
    // The refresh token still works, and gives a working access token.
    let renewed = ecom
        .auth
        .refresh(AccountKind::Customer, &id, &session.tokens.refresh_token)
        .await
        .unwrap();
    ecom.auth
        .authenticate(AccountKind::Customer, &id, &renewed.tokens.access_token)
        .await
        .unwrap();
    // Once the refresh token expires too, the session is over.
    clock.advance(ecom.config().refresh_token_ttl + chrono::Duration::seconds(1));
    assert!(matches!(
        ecom.auth
            .refresh(AccountKind::Customer, &id, &renewed.tokens.refresh_token)
            .await,
        Err(Error::Unauthorized(_))
    ));
}

pub async fn refresh_rotates_and_reuse_revokes(backend: &Backend) {
    let ecom = ecom(backend);
    let session = signup(&ecom, AccountKind::Shop).await;
    let second = ecom
        .auth
        .login(AccountKind::Shop, login(&session.account.email, PASSWORD))
        .await
        .unwrap();
    let id = session.account.id.to_string();
    let first_refresh = session.tokens.refresh_token.clone();
    let rotated = ecom
        .auth
        .refresh(AccountKind::Shop, &id, &first_refresh)
        .await
        .unwrap();
    assert_ne!(rotated.tokens.refresh_token, first_refresh);
    ecom.auth
        .authenticate(AccountKind::Shop, &id, &rotated.tokens.access_token)
        .await
        .unwrap();
    // The same refresh token again: reuse. Every session of the account is revoked.
    assert!(matches!(
        ecom.auth
            .refresh(AccountKind::Shop, &id, &first_refresh)
            .await,
        Err(Error::Forbidden(_))
    ));
    for token in [&rotated.tokens.access_token, &second.tokens.access_token] {
        assert!(matches!(
            ecom.auth.authenticate(AccountKind::Shop, &id, token).await,
            Err(Error::Unauthorized(_))
        ));
    }
    assert!(ecom
        .auth
        .refresh(AccountKind::Shop, &id, &rotated.tokens.refresh_token)
        .await
        .is_err());
    // Logging in again works.
    ecom.auth
        .login(AccountKind::Shop, login(&session.account.email, PASSWORD))
        .await
        .unwrap();
}

/// Many refreshes with one token at once: exactly one rotates it. Several rounds, each with
/// its own jitter seed, so the racers' reads and compare-and-sets interleave differently.
pub async fn concurrent_refresh_with_one_token_revokes(backend: &Backend) {
    for round in 0..12 {
        let racing = super::probe::Probe::new()
            .with_jitter(super::seed().wrapping_add(round), 3)
            .wrap(backend);
        refresh_race(&ecom(&racing)).await;
    }
}

async fn refresh_race(ecom: &Ecom) {
    let session = signup(ecom, AccountKind::Customer).await;
    let id = session.account.id.to_string();
    let token = session.tokens.refresh_token.clone();
    let results = super::rush(10, |_| {
        let (ecom, id, token) = (ecom.clone(), id.clone(), token.clone());
        async move { ecom.auth.refresh(AccountKind::Customer, &id, &token).await }
    })
    .await;
    // Exactly one refresh rotates the token; every other one sees it used (reuse: 403, and
    // the account's sessions are revoked) or finds the session already revoked (401).
    super::assert_race(
        &results,
        1,
        |e| matches!(e, Error::Forbidden(_) | Error::Unauthorized(_)),
        "concurrent refresh",
    );
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(Error::Forbidden(_)))),
        "reuse was detected"
    );
    // The winner's new tokens died with the revocation, and so did the original session.
    let winner = results.iter().flatten().next().expect("one winner");
    assert!(matches!(
        ecom.auth
            .authenticate(AccountKind::Customer, &id, &winner.tokens.access_token)
            .await,
        Err(Error::Unauthorized(_))
    ));
    assert!(matches!(
        ecom.auth
            .refresh(AccountKind::Customer, &id, &winner.tokens.refresh_token)
            .await,
        Err(Error::Unauthorized(_))
    ));
    assert!(matches!(
        ecom.auth
            .authenticate(AccountKind::Customer, &id, &session.tokens.access_token)
            .await,
        Err(Error::Unauthorized(_))
    ));
}

pub async fn logout_ends_session(backend: &Backend) {
    let ecom = ecom(backend);
    let session = signup(&ecom, AccountKind::Customer).await;
    let id = session.account.id.to_string();
    let principal = ecom
        .auth
        .authenticate(AccountKind::Customer, &id, &session.tokens.access_token)
        .await
        .unwrap();
    ecom.auth.logout(&principal).await.unwrap();
    assert!(matches!(
        ecom.auth
            .authenticate(AccountKind::Customer, &id, &session.tokens.access_token)
            .await,
        Err(Error::Unauthorized(_))
    ));
    assert!(matches!(
        ecom.auth
            .refresh(AccountKind::Customer, &id, &session.tokens.refresh_token)
            .await,
        Err(Error::Unauthorized(_))
    ));
}

/// Expired sessions are swept from the store (already refused, now also gone); live ones stay.
pub async fn expired_sessions_are_swept(backend: &Backend) {
    let ecom = ecom(backend);
    let now = backend.clock.now();
    let account_id = AccountId::generate();
    let store = |expires_at| KeyStore {
        id: SessionId::generate(),
        account_id: account_id.clone(),
        kind: AccountKind::Customer,
        salt: Secret::random(),
        refresh_jti: "r1".into(),
        used_refresh_jtis: Vec::new(),
        created_at: now - chrono::Duration::days(8),
        expires_at,
    };
    let dead = store(now - chrono::Duration::seconds(1));
    let edge = store(now);
    let live = store(now + chrono::Duration::seconds(1));
    for s in [&dead, &edge, &live] {
        backend.key_stores.insert(s).await.unwrap();
    }
    assert_eq!(ecom.auth.sweep_expired_sessions(now).await.unwrap(), 2);
    assert!(backend.key_stores.get(&dead.id).await.unwrap().is_none());
    assert!(backend.key_stores.get(&edge.id).await.unwrap().is_none());
    assert!(backend.key_stores.get(&live.id).await.unwrap().is_some());
    assert_eq!(ecom.auth.sweep_expired_sessions(now).await.unwrap(), 0);
}

pub async fn key_store_ports(backend: &Backend) {
    let now = backend.clock.now();
    let account_id = AccountId::generate();
    let store = |jti: &str| KeyStore {
        id: SessionId::generate(),
        account_id: account_id.clone(),
        kind: AccountKind::Customer,
        salt: Secret::random(),
        refresh_jti: jti.into(),
        used_refresh_jtis: Vec::new(),
        created_at: now,
        expires_at: now + chrono::Duration::days(1),
    };
    let a = store("a1");
    let b = store("b1");
    backend.key_stores.insert(&a).await.unwrap();
    backend.key_stores.insert(&b).await.unwrap();
    assert_eq!(
        backend.key_stores.get(&a.id).await.unwrap(),
        Some(a.clone())
    );
    // Compare-and-set rotation: of many concurrent rotations from "a1", one wins.
    let later = now + chrono::Duration::days(2);
    let racing = super::interleaved(backend);
    let wins = super::rush(20, |i| {
        let (racing, id) = (racing.clone(), a.id.clone());
        async move {
            racing
                .key_stores
                .rotate_refresh(&id, "a1", &format!("a2-{i}"), later)
                .await
        }
    })
    .await;
    assert_eq!(wins.iter().filter(|w| matches!(w, Ok(true))).count(), 1);
    assert!(
        wins.iter().all(|w| w.is_ok()),
        "losing a rotation is Ok(false), not an error: {wins:?}"
    );
    let rotated = backend.key_stores.get(&a.id).await.unwrap().unwrap();
    assert_eq!(rotated.used_refresh_jtis, vec!["a1".to_owned()]);
    assert!(rotated.refresh_jti.starts_with("a2-"));
    assert_eq!(rotated.expires_at.timestamp(), later.timestamp());
    assert!(!backend
        .key_stores
        .rotate_refresh(&SessionId::generate(), "a1", "x", later)
        .await
        .unwrap());
    // Delete one, then all of the account.
    assert!(backend.key_stores.delete(&a.id).await.unwrap());
    assert!(!backend.key_stores.delete(&a.id).await.unwrap());
    backend.key_stores.insert(&store("c1")).await.unwrap();
    assert_eq!(
        backend
            .key_stores
            .delete_for_account(&account_id)
            .await
            .unwrap(),
        2
    );
    assert!(backend.key_stores.get(&b.id).await.unwrap().is_none());
}
