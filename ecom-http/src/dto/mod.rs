//! Wire shapes: request bodies and response payloads, snake_case as in API.md, with their
//! OpenAPI schemas. Conversions from core types live beside each shape.

pub mod account;
pub mod cart;
pub mod checkout;
pub mod discount;
pub mod inventory;
pub mod order;
pub mod product;

use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// Schema of an amount in major units as clients may send it: a JSON number (`19.99`) or a
/// decimal string (`"19.99"`), with at most the currency's decimals.
pub fn money_input_schema() -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Number)
                .description(Some("amount in major units, e.g. 19.99")),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^-?[0-9]+(\.[0-9]+)?$"))
                .description(Some("amount in major units as text, e.g. \"19.99\"")),
        )
        .description(Some(
            "Major units, parsed exactly: more decimals than the currency has is a 400.",
        ))
        .into()
}

/// Schema of an id: 32 lowercase hex characters.
pub fn id_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[0-9a-f]{32}$"))
        .description(Some("an id: 32 lowercase hex characters"))
        .into()
}

/// Query of numbered lists (`GET /discounts`, `GET /orders`): `limit` (1..=100, default 50) and
/// `page` (from 1); any other parameter is a 400.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Items per page, 1 to 100 (default 50).
    pub limit: Option<u32>,
    /// Page number, from 1 (default 1).
    pub page: Option<u64>,
}

impl PageQuery {
    /// The page this query asks for.
    pub fn page(&self) -> Result<ecom_core::page::Page, crate::error::AppError> {
        Ok(ecom_core::page::Page::numbered(
            self.page.unwrap_or(1),
            self.limit.unwrap_or(ecom_core::page::DEFAULT_PAGE_LIMIT),
        )?)
    }
}
