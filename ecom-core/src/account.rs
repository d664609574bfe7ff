//! Accounts: shops (sellers) and customers, and their repository port.

use crate::clock::Timestamp;
use crate::error::Result;
use crate::id::AccountId;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// Which side of the marketplace an account is on.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    /// A seller.
    Shop,
    /// A buyer (`user` in the API).
    #[serde(rename = "user")]
    Customer,
}

impl AccountKind {
    /// The name used in the API and in tokens: `shop` or `user`.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Shop => "shop",
            AccountKind::Customer => "user",
        }
    }
}

/// Roles of a shop account (`SHOP`, `WRITER`, `EDITOR`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Role {
    /// The shop owner: everything on its own data.
    Shop,
    /// May write products.
    Writer,
    /// May edit products.
    Editor,
}

/// A shop's settings (defaults for its products).
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct ShopSettings {
    /// The low-stock threshold its new products get when they name none (none: the operator's
    /// default, [`EcomConfig::low_stock_threshold`](crate::EcomConfig)). Products keep the
    /// threshold they were created with; a product's own is changed on the product.
    #[serde(default)]
    pub low_stock_threshold: Option<u32>,
    /// How many days after delivery its lines may be asked back (1 to 90; none: the
    /// operator's [`ReturnPolicy::window`](crate::returns::ReturnPolicy)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_window_days: Option<u32>,
}

/// A shop or customer account.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Account {
    /// The id.
    pub id: AccountId,
    /// Shop or customer.
    pub kind: AccountKind,
    /// Display name.
    pub name: String,
    /// Email, trimmed and lowercased; unique per kind.
    pub email: String,
    /// Argon2id PHC string; never the password.
    pub password_hash: String,
    /// Roles (shops get `[Shop]` at signup; customers none).
    pub roles: Vec<Role>,
    /// False once the account is disabled.
    pub active: bool,
    /// A shop's settings (default for a customer).
    #[serde(default)]
    pub settings: ShopSettings,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Storage of accounts.
#[async_trait]
pub trait AccountRepo: Send + Sync + Debug + 'static {
    /// Inserts a new account. Fails with [`Error::AlreadyExists`](crate::Error::AlreadyExists) if an
    /// account of the same kind has the same email (atomically: two concurrent signups with one
    /// email give one success).
    async fn insert(&self, account: &Account) -> Result<()>;

    /// The account of `kind` with `id`, if any.
    async fn get(&self, kind: AccountKind, id: &AccountId) -> Result<Option<Account>>;

    /// The account of `kind` with the (already normalized) `email`, if any.
    async fn find_by_email(&self, kind: AccountKind, email: &str) -> Result<Option<Account>>;

    /// Replaces the settings of the account of `kind` with `id` (stamping `updated_at` with
    /// `at`); whether it exists.
    async fn set_settings(
        &self,
        kind: AccountKind,
        id: &AccountId,
        settings: &ShopSettings,
        at: Timestamp,
    ) -> Result<bool>;
}
