//! A shop's own settings, as sent and shown.

use ecom_core::account::ShopSettings;
use ecom_core::service::ShopSettingsPatch;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// A shop's settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShopSettingsDto {
    /// The low-stock threshold its new products get when they name none; `null`: the
    /// operator's default (5).
    pub low_stock_threshold: Option<u32>,
    /// How many days after delivery the shop's lines may be asked back; `null`: the
    /// operator's default (15).
    pub return_window_days: Option<u32>,
}

impl From<ShopSettings> for ShopSettingsDto {
    fn from(settings: ShopSettings) -> Self {
        ShopSettingsDto {
            low_stock_threshold: settings.low_stock_threshold,
            return_window_days: settings.return_window_days,
        }
    }
}

/// Body of `PATCH /shop/settings`: each field given replaces the stored one; any other field
/// is a 400.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShopSettingsBody {
    /// The low-stock threshold of the shop's new products, 0 to 1000000; `null` falls back to
    /// the operator's default. Products already created keep theirs (change it on the product).
    #[serde(default, deserialize_with = "whole_or_null")]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 1000000)]
    pub low_stock_threshold: Option<Option<u32>>,
    /// The shop's return window, 1 to 90 days after delivery; `null` falls back to the
    /// operator's default. Applies to requests made from now on.
    #[serde(default, deserialize_with = "whole_or_null")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 90)]
    pub return_window_days: Option<Option<u32>>,
}

/// A present field: a whole number, or `null`.
fn whole_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        None => Ok(Some(None)),
        Some(value) => super::whole(value)
            .map(|n| Some(Some(n)))
            .map_err(serde::de::Error::custom),
    }
}

impl From<ShopSettingsBody> for ShopSettingsPatch {
    fn from(body: ShopSettingsBody) -> Self {
        ShopSettingsPatch {
            low_stock_threshold: body.low_stock_threshold,
            return_window_days: body.return_window_days,
        }
    }
}
