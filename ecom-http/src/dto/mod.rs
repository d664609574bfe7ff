//! Wire shapes: request bodies and response payloads, snake_case as the contract has them, with their
//! OpenAPI schemas. Conversions from core types live beside each shape.

pub mod account;
pub mod cart;
pub mod catalogue;
pub mod checkout;
pub mod discount;
pub mod event;
pub mod inventory;
pub mod order;
pub mod product;
pub mod returns;
pub mod shop;
pub mod webhook;

use utoipa::openapi::schema::{
    AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr};

/// Control characters the server refuses in text (all but tab, newline and carriage return), as
/// the inside of a regular-expression character class.
const CONTROL: &str = r"\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F";

/// The characters the server trims as white space (Rust's `char::is_whitespace`), as the
/// inside of a character class: spelled out, since `\s` means other things in other engines.
const WHITE: &str = r"\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// A regular expression of decimal text: `body` (an alternation), trimmed of white space.
pub(crate) fn trimmed(body: &str) -> String {
    format!("^[{WHITE}]*({body})[{WHITE}]*$")
}

/// Decimal text greater than 0, at most 10^12, at most two decimals (trailing zeros aside).
const POSITIVE: &str =
    r"0*[1-9][0-9]{0,11}(\.[0-9]{1,2}0*)?|0*1000000000000(\.0+)?|0+\.(0[1-9]|[1-9][0-9]?)0*";

/// Schema of a price or an amount off: greater than 0, at most 10^12, at most two decimals
/// (the default currency's; a currency with fewer decimals refuses more of them with a 400).
pub fn price_schema() -> RefOr<Schema> {
    money(
        Some(0.0),
        None,
        1e12,
        &trimmed(POSITIVE),
        "Major units, greater than 0, at most 10^12, parsed exactly: more decimals than the \
         currency has (two for USD) is a 400.",
    )
}

/// [`price_schema`], or `null` (the same as leaving the field out).
pub fn nullable_price_schema() -> RefOr<Schema> {
    let RefOr::T(Schema::OneOf(mut one_of)) = price_schema() else {
        unreachable!("price_schema is a oneOf");
    };
    one_of
        .items
        .push(ObjectBuilder::new().schema_type(Type::Null).into());
    RefOr::T(Schema::OneOf(one_of))
}

/// Schema of an amount that may be 0 (a minimum order value): 0 to 10^12, at most two decimals.
pub fn amount_schema() -> RefOr<Schema> {
    money(
        None,
        Some(0.0),
        1e12,
        &trimmed(AMOUNT),
        "Major units, 0 to 10^12, parsed exactly: more decimals than the currency has (two for \
         USD) is a 400.",
    )
}

/// [`amount_schema`], or `null` (the same as leaving the field out).
pub fn nullable_amount_schema() -> RefOr<Schema> {
    let RefOr::T(Schema::OneOf(mut one_of)) = amount_schema() else {
        unreachable!("amount_schema is a oneOf");
    };
    one_of
        .items
        .push(ObjectBuilder::new().schema_type(Type::Null).into());
    RefOr::T(Schema::OneOf(one_of))
}

/// Decimal text from 0 to 10^12, at most two decimals.
const AMOUNT: &str = r"0*[0-9]{1,12}(\.[0-9]{1,2}0*)?|0*1000000000000(\.0+)?|-0+(\.0+)?";

/// Schema of a price filter in a query string: an amount from 0 to 10^12 in major units.
pub fn price_filter_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(trimmed(AMOUNT)))
        .description(Some(
            "Major units, 0 to 10^12, e.g. \"19.99\"; more decimals than the currency has is a 400.",
        ))
        .into()
}

/// Schema of a category path: 1 to 4 levels separated by `/`, each 1 to 50 characters with
/// no control character (and not only white space: levels are trimmed).
pub fn category_schema() -> RefOr<Schema> {
    category_object().into()
}

/// [`category_schema`], or `null` (the same as leaving the field out).
pub fn nullable_category_schema() -> RefOr<Schema> {
    category_object()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .into()
}

fn category_object() -> ObjectBuilder {
    let level = r"[^/\x00-\x1F\x7F-\x9F]{1,50}";
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(203))
        .pattern(Some(format!("^{level}(/{level}){{0,3}}$")))
        .examples([serde_json::json!("Fashion/Men/T-Shirts")])
}

/// Schema of a discount's value: a percentage (greater than 0, at most 100, at most two
/// decimals) for `percentage`, an amount off (as [`price_schema`]) for `fixed`.
pub fn discount_value_schema() -> RefOr<Schema> {
    money(
        Some(0.0),
        None,
        1e12,
        &trimmed(POSITIVE),
        "For `percentage`, the percentage off: greater than 0, at most 100, at most two \
         decimals (more is a 400); for `fixed`, the amount off in major units (as \
         `product_price`).",
    )
}

fn money(
    exclusive_minimum: Option<f64>,
    minimum: Option<f64>,
    maximum: f64,
    pattern: &str,
    description: &str,
) -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Number)
                .exclusive_minimum(exclusive_minimum)
                .minimum(minimum)
                .maximum(Some(maximum))
                .multiple_of(Some(0.01))
                .description(Some("amount in major units, e.g. 19.99")),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(pattern))
                .description(Some("amount in major units as text, e.g. \"19.99\"")),
        )
        .description(Some(description))
        .into()
}

/// Schema of an id: 32 lowercase hex characters.
pub fn id_schema() -> RefOr<Schema> {
    id_object().into()
}

/// Schema of an optional id: an id or `null`.
pub fn optional_id_schema() -> RefOr<Schema> {
    id_object()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .into()
}

fn id_object() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[0-9a-f]{32}$"))
        .description(Some("an id: 32 lowercase hex characters"))
}

/// Name of the component schema of the fields a request body may carry besides those it lists
/// ([`extra_json_schema`]).
pub const EXTRA_JSON: &str = "ExtraJson";

/// The rules of object keys in every request body, in words: JSON Schema can state them
/// (`propertyNames`), but client generators do not take that, so the document says them in
/// descriptions, the server enforces them (`extract`) and the fuzzer's configuration
/// (`scripts/schemathesis_hooks.py`) puts them back into the schema it generates data from.
pub const NO_OPERATOR_KEYS: &str =
    "Object keys starting with `$` are refused anywhere in a request body (400).";

/// What a request body may carry besides the fields it lists (they are ignored): any JSON. Keys
/// starting with `$` are refused anywhere in a body ([`NO_OPERATOR_KEYS`]); the schema says so
/// in words only, so that client generators take it (it refers to nothing, itself included).
/// Register it as the component [`EXTRA_JSON`].
pub fn extra_json_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::AnyValue)
        .description(Some(format!(
            "Any JSON; ignored by the server. {NO_OPERATOR_KEYS}"
        )))
        .into()
}

/// Schema of a field the server accepts and ignores (a client-sent price): any JSON without
/// object keys starting with `$`.
pub fn ignored_schema() -> RefOr<Schema> {
    Ref::from_schema_name(EXTRA_JSON).into()
}

/// Name of the component schema of free-form client JSON objects ([`plain_json_schema`]).
pub const PLAIN_JSON: &str = "PlainJson";

/// The rules of free-form client JSON that every backend stores the same way, in words (as
/// `ecom_core::validate::plain_json` enforces them; the fuzzer's configuration,
/// `scripts/schemathesis_hooks.py`, states them in JSON Schema).
pub const PLAIN_JSON_RULES: &str = "No object key (at any depth) starting with `$` or holding      `.` or NUL, no integer above 2^63 - 1 (9223372036854775807), at most 8 levels deep;      anything else is a 400.";

/// A JSON object of free-form client data (an address) that every backend stores the same way:
/// any members, under [`PLAIN_JSON_RULES`], stated in words only so that client generators take
/// the schema (it refers to nothing, itself included). Register it as the component
/// [`PLAIN_JSON`].
pub fn plain_json_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(true)))
        .description(Some(format!(
            "A JSON object of free-form data, stored as given. {PLAIN_JSON_RULES}"
        )))
        .into()
}

/// Schema of a JSON object of free-form client data (an address): the component
/// [`PLAIN_JSON`].
pub fn plain_object_schema() -> RefOr<Schema> {
    Ref::from_schema_name(PLAIN_JSON).into()
}

/// Schema of required text: at most `MAX` characters, at least one that is not white space
/// (the server trims), no control characters but tab, newline and carriage return.
pub fn text<const MAX: usize>() -> RefOr<Schema> {
    text_object(MAX, true).into()
}

/// Schema of optional text: at most `MAX` characters, no control characters but tab, newline
/// and carriage return; may be empty.
pub fn optional_text<const MAX: usize>() -> RefOr<Schema> {
    text_object(MAX, false).into()
}

/// [`optional_text`], or `null` (the same as leaving the field out).
pub fn nullable_text<const MAX: usize>() -> RefOr<Schema> {
    text_object(MAX, false)
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .into()
}

/// [`text`], or `null` (the same as leaving the field out).
pub fn nullable_required_text<const MAX: usize>() -> RefOr<Schema> {
    text_object(MAX, true)
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .into()
}

fn text_object(max: usize, non_blank: bool) -> ObjectBuilder {
    let pattern = if non_blank {
        format!(r"^[^{CONTROL}]*[^{CONTROL}{WHITE}][^{CONTROL}]*$")
    } else {
        format!(r"^[^{CONTROL}]*$")
    };
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(max))
        .min_length(non_blank.then_some(1))
        .pattern(Some(pattern))
}

/// Schema of a quantity: an integer from 1 to 1000000.
pub fn quantity_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1.0))
        .maximum(Some(f64::from(ecom_core::validate::MAX_QUANTITY)))
        .into()
}

/// Deserializes an unsigned integer written as a JSON integer (`2`) or as a number without a
/// fraction (`2.0`): JSON, and the JSON Schema of the document, make no difference between them.
/// Fractions, negative numbers and values out of `T`'s range are refused as before.
pub fn whole<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    struct Whole<T>(std::marker::PhantomData<T>);
    impl<T: TryFrom<u64>> serde::de::Visitor<'_> for Whole<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "an integer from 0 to {}", std::any::type_name::<T>())
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<T, E> {
            T::try_from(v).map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<T, E> {
            match u64::try_from(v) {
                Ok(v) => self.visit_u64(v),
                Err(_) => Err(E::invalid_value(serde::de::Unexpected::Signed(v), &self)),
            }
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<T, E> {
            // 2^64 and above do not fit; below, a float without a fraction is a whole number.
            if v.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&v) {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                self.visit_u64(v as u64)
            } else {
                Err(E::invalid_type(serde::de::Unexpected::Float(v), &self))
            }
        }
    }
    deserializer.deserialize_any(Whole(std::marker::PhantomData))
}

/// [`whole`] for an optional field (with `#[serde(default)]`): absent is `None`; `null` is
/// refused like any other non-number.
pub fn whole_opt<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    whole(deserializer).map(Some)
}

/// Query of numbered lists (`GET /discounts`, `GET /orders`): `limit` (1..=100, default 50) and
/// `page` (from 1); any other parameter is a 400.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Items per page, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Page number, 1 to 1000000 (default 1).
    #[param(minimum = 1, maximum = 1000000)]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Line {
        #[serde(deserialize_with = "whole")]
        quantity: u32,
    }

    fn quantity(json: &str) -> Result<u32, String> {
        serde_json::from_str::<Line>(json)
            .map(|line| line.quantity)
            .map_err(|err| err.to_string())
    }

    #[test]
    fn whole_numbers_may_be_written_with_a_fraction_of_zero() {
        assert_eq!(quantity(r#"{"quantity": 2}"#), Ok(2));
        assert_eq!(quantity(r#"{"quantity": 2.0}"#), Ok(2));
        assert_eq!(quantity(r#"{"quantity": 4294967295}"#), Ok(u32::MAX));
        for refused in [
            "2.5",
            "-1",
            "-0.5",
            "4294967296",
            "4294967296.0",
            "1e400",
            "18446744073709551616",
            "\"2\"",
            "null",
            "true",
        ] {
            let json = format!(r#"{{"quantity": {refused}}}"#);
            assert!(quantity(&json).is_err(), "{refused} was accepted");
        }
        // -0 is zero.
        assert_eq!(quantity(r#"{"quantity": -0.0}"#), Ok(0));
    }
}
