use crate::account::{Account, AccountKind, AccountRepo, ShopSettings};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::id::AccountId;
use crate::in_process::sync::locked;
use crate::in_process::sync::Map;
use async_trait::async_trait;
use std::sync::Mutex;

/// In-process [`AccountRepo`].
#[derive(Debug, Default)]
pub struct MemoryAccounts {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: Map<AccountId, Account>,
    by_email: Map<(AccountKind, String), AccountId>,
}

#[async_trait]
impl AccountRepo for MemoryAccounts {
    async fn insert(&self, account: &Account) -> Result<()> {
        let mut inner = locked(&self.inner);
        let email_key = (account.kind, account.email.clone());
        if inner.by_email.contains_key(&email_key) || inner.by_id.contains_key(&account.id) {
            return Err(Error::already_exists("email"));
        }
        inner.by_email.insert(email_key, account.id.clone());
        inner.by_id.insert(account.id.clone(), account.clone());
        Ok(())
    }

    async fn get(&self, kind: AccountKind, id: &AccountId) -> Result<Option<Account>> {
        let inner = locked(&self.inner);
        Ok(inner.by_id.get(id).filter(|a| a.kind == kind).cloned())
    }

    async fn find_by_email(&self, kind: AccountKind, email: &str) -> Result<Option<Account>> {
        let inner = locked(&self.inner);
        Ok(inner
            .by_email
            .get(&(kind, email.to_owned()))
            .and_then(|id| inner.by_id.get(id))
            .cloned())
    }

    async fn set_settings(
        &self,
        kind: AccountKind,
        id: &AccountId,
        settings: &ShopSettings,
        at: Timestamp,
    ) -> Result<bool> {
        let mut inner = locked(&self.inner);
        match inner.by_id.get_mut(id).filter(|a| a.kind == kind) {
            Some(account) => {
                account.settings = settings.clone();
                account.updated_at = at;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}
