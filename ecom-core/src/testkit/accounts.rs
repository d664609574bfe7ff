//! Cases for [`AccountRepo`](crate::account::AccountRepo).

use super::email;
use super::{assert_race, interleaved, rush};
use crate::account::{Account, AccountKind, Role};
use crate::backend::Backend;
use crate::error::Error;
use crate::id::AccountId;

fn account(kind: AccountKind, email: &str, backend: &Backend) -> Account {
    let now = backend.clock.now();
    Account {
        id: AccountId::generate(),
        kind,
        name: "Someone".into(),
        email: email.into(),
        password_hash: "$argon2id$not-a-real-hash".into(),
        roles: vec![Role::Shop],
        active: true,
        settings: Default::default(),
        created_at: now,
        updated_at: now,
    }
}

pub async fn insert_get_find(backend: &Backend) {
    let email = email();
    let shop = account(AccountKind::Shop, &email, backend);
    backend.accounts.insert(&shop).await.unwrap();
    let got = backend
        .accounts
        .get(AccountKind::Shop, &shop.id)
        .await
        .unwrap();
    assert_eq!(got.as_ref().map(|a| &a.email), Some(&email));
    assert_eq!(got.map(|a| a.roles), Some(vec![Role::Shop]));
    let found = backend
        .accounts
        .find_by_email(AccountKind::Shop, &email)
        .await
        .unwrap();
    assert_eq!(found.map(|a| a.id), Some(shop.id.clone()));
    // Kinds are separate namespaces.
    assert!(backend
        .accounts
        .get(AccountKind::Customer, &shop.id)
        .await
        .unwrap()
        .is_none());
    assert!(backend
        .accounts
        .find_by_email(AccountKind::Customer, &email)
        .await
        .unwrap()
        .is_none());
    let customer = account(AccountKind::Customer, &email, backend);
    backend.accounts.insert(&customer).await.unwrap();
    assert!(backend
        .accounts
        .get(AccountKind::Shop, &AccountId::generate())
        .await
        .unwrap()
        .is_none());
}

pub async fn duplicate_email_conflicts_under_concurrency(backend: &Backend) {
    let backend = &interleaved(backend);
    let email = email();
    let results = rush(20, |_| {
        let account = account(AccountKind::Customer, &email, backend);
        let backend = backend.clone();
        async move { backend.accounts.insert(&account).await }
    })
    .await;
    assert_race(
        &results,
        1,
        |e| matches!(e, Error::AlreadyExists { .. }),
        "duplicate email",
    );
    // Through the service too: one signup wins, the others are told the email is taken.
    let ecom = super::ecom(backend);
    let email = super::email();
    let results = rush(10, |_| {
        let ecom = ecom.clone();
        let email = email.clone();
        async move {
            ecom.auth
                .signup(
                    AccountKind::Shop,
                    crate::service::SignupInput {
                        name: "Racer".into(),
                        email,
                        password: super::PASSWORD.into(),
                    },
                )
                .await
        }
    })
    .await;
    assert_race(
        &results,
        1,
        |e| matches!(e, Error::AlreadyExists { .. }),
        "concurrent signup",
    );
}
