//! A shop's own settings: the defaults its new products get.

use crate::account::{AccountKind, ShopSettings};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::id::ShopId;
use crate::service::config::EcomConfig;
use crate::validate;

/// A change of a shop's settings: each field given replaces the stored one.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ShopSettingsPatch {
    /// The low-stock threshold of its new products: a number (0 to 1000000), or none to fall
    /// back to the operator's default.
    pub low_stock_threshold: Option<Option<u32>>,
    /// Its return window in days (1 to 90), or none to fall back to the operator's.
    pub return_window_days: Option<Option<u32>>,
}

/// A shop's settings. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ShopService {
    backend: Backend,
}

impl ShopService {
    pub(crate) fn new(backend: Backend) -> Self {
        ShopService { backend }
    }

    /// The settings of `shop` ([`Error::NotFound`] for an unknown shop).
    pub async fn settings(&self, shop: &ShopId) -> Result<ShopSettings> {
        let account = self
            .backend
            .accounts
            .get(AccountKind::Shop, &shop.clone().into())
            .await?
            .ok_or_else(|| Error::not_found("shop"))?;
        Ok(account.settings)
    }

    /// Changes the settings of `shop` by `patch` (validated first: a refused patch changes
    /// nothing; errors name the field) and returns them.
    pub async fn update_settings(
        &self,
        shop: &ShopId,
        patch: ShopSettingsPatch,
    ) -> Result<ShopSettings> {
        let mut settings = self.settings(shop).await?;
        if let Some(threshold) = patch.low_stock_threshold {
            settings.low_stock_threshold =
                threshold.map(validate::low_stock_threshold).transpose()?;
        }
        if let Some(days) = patch.return_window_days {
            settings.return_window_days = days.map(validate::return_window_days).transpose()?;
        }
        let now = self.backend.clock.now();
        let found = self
            .backend
            .accounts
            .set_settings(AccountKind::Shop, &shop.clone().into(), &settings, now)
            .await?;
        match found {
            true => Ok(settings),
            false => Err(Error::not_found("shop")),
        }
    }
}

/// The low-stock threshold a new product of `shop` gets when it names none: the shop's
/// default, else the operator's.
pub(crate) async fn default_threshold(
    backend: &Backend,
    config: &EcomConfig,
    shop: &ShopId,
) -> Result<u32> {
    let account = backend
        .accounts
        .get(AccountKind::Shop, &shop.clone().into())
        .await?;
    Ok(account
        .and_then(|a| a.settings.low_stock_threshold)
        .unwrap_or(config.low_stock_threshold))
}
