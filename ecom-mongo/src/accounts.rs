//! [`AccountRepo`] on the `Shops` and `Customers` collections (one per account kind, as in the
//! seed), each with a unique index on `email`.

use crate::collection::{collection, unique};
use crate::error::{exists_as, to_core};
use crate::timestamp;
use async_trait::async_trait;
use bson::doc;
use ecom_core::account::{Account, AccountKind, AccountRepo, Role, ShopSettings};
use ecom_core::clock::Timestamp;
use ecom_core::id::AccountId;
use ecom_core::Result;

use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

/// Collection of shop accounts.
pub(crate) const SHOPS: &str = "Shops";
/// Collection of customer accounts.
pub(crate) const CUSTOMERS: &str = "Customers";

/// Indexes of both account collections: the email is unique per kind.
pub(crate) fn indexes() -> Vec<IndexModel> {
    vec![unique("email_unique", doc! { "email": 1 })]
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountDoc {
    #[serde(rename = "_id")]
    id: AccountId,
    name: String,
    email: String,
    password_hash: String,
    roles: Vec<Role>,
    /// The `status` flag of the stored document.
    active: bool,
    /// A shop's settings.
    #[serde(default)]
    settings: ShopSettings,
    #[serde(with = "timestamp")]
    created_at: Timestamp,
    #[serde(with = "timestamp")]
    updated_at: Timestamp,
}

impl AccountDoc {
    fn from_account(a: &Account) -> Self {
        AccountDoc {
            id: a.id.clone(),
            name: a.name.clone(),
            email: a.email.clone(),
            password_hash: a.password_hash.clone(),
            roles: a.roles.clone(),
            active: a.active,
            settings: a.settings.clone(),
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }

    fn into_account(self, kind: AccountKind) -> Account {
        Account {
            id: self.id,
            kind,
            name: self.name,
            email: self.email,
            password_hash: self.password_hash,
            roles: self.roles,
            active: self.active,
            settings: self.settings,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// MongoDB [`AccountRepo`]: shops in `Shops`, customers in `Customers`.
#[derive(Debug, Clone)]
pub struct MongoAccounts {
    shops: Collection<AccountDoc>,
    customers: Collection<AccountDoc>,
}

impl MongoAccounts {
    /// The repository on `db`.
    pub fn new(db: &Database) -> Self {
        MongoAccounts {
            shops: collection(db, SHOPS),
            customers: collection(db, CUSTOMERS),
        }
    }

    fn of(&self, kind: AccountKind) -> &Collection<AccountDoc> {
        match kind {
            AccountKind::Shop => &self.shops,
            AccountKind::Customer => &self.customers,
        }
    }
}

#[async_trait]
impl AccountRepo for MongoAccounts {
    async fn insert(&self, account: &Account) -> Result<()> {
        self.of(account.kind)
            .insert_one(AccountDoc::from_account(account))
            .await
            .map_err(to_core)
            .map_err(|e| exists_as(e, "email"))?;
        Ok(())
    }

    async fn get(&self, kind: AccountKind, id: &AccountId) -> Result<Option<Account>> {
        let found = self
            .of(kind)
            .find_one(doc! { "_id": id.as_str() })
            .await
            .map_err(to_core)?;
        Ok(found.map(|d| d.into_account(kind)))
    }

    async fn find_by_email(&self, kind: AccountKind, email: &str) -> Result<Option<Account>> {
        let found = self
            .of(kind)
            .find_one(doc! { "email": email })
            .await
            .map_err(to_core)?;
        Ok(found.map(|d| d.into_account(kind)))
    }

    async fn set_settings(
        &self,
        kind: AccountKind,
        id: &AccountId,
        settings: &ShopSettings,
        at: Timestamp,
    ) -> Result<bool> {
        let settings = bson::to_bson(settings).map_err(ecom_core::Error::backend)?;
        let at = timestamp::to_bson(&at).map_err(ecom_core::Error::backend)?;
        let updated = self
            .of(kind)
            .update_one(
                doc! { "_id": id.as_str() },
                doc! { "$set": { "settings": settings, "updatedAt": at } },
            )
            .await
            .map_err(to_core)?;
        Ok(updated.matched_count == 1)
    }
}
