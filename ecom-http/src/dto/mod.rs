//! Wire shapes: request bodies and response payloads, snake_case as in API.md, with their
//! OpenAPI schemas. Conversions from core types live beside each shape.

pub mod account;
pub mod inventory;
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
