//! Input rules shared by the services. Each returns the normalized value or an
//! [`Error::Validation`] naming the field.

use crate::error::{Error, Result};

/// The largest quantity accepted in one request (stock added, units in a cart line or order).
pub const MAX_QUANTITY: u32 = 1_000_000;

/// Trimmed text of 1..=`max` characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Error::validation(field, "must not be empty"));
    }
    optional_text(field, trimmed, max)
}

/// Trimmed text of 0..=`max` characters, without control characters other than newlines/tabs.
pub fn optional_text(field: &str, value: &str, max: usize) -> Result<String> {
    let trimmed = value.trim();
    if trimmed.chars().count() > max {
        return Err(Error::validation(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        return Err(Error::validation(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// A low-stock threshold: at most [`MAX_QUANTITY`]; errors name `low_stock_threshold`.
pub fn low_stock_threshold(threshold: u32) -> Result<u32> {
    if threshold > MAX_QUANTITY {
        return Err(Error::validation(
            "low_stock_threshold",
            format!("must be at most {MAX_QUANTITY}"),
        ));
    }
    Ok(threshold)
}

/// The most days a shop's return window may have.
pub const MAX_RETURN_WINDOW_DAYS: u32 = 90;

/// A shop's return window: 1 to [`MAX_RETURN_WINDOW_DAYS`] days; errors name
/// `return_window_days`.
pub fn return_window_days(days: u32) -> Result<u32> {
    if days == 0 || days > MAX_RETURN_WINDOW_DAYS {
        return Err(Error::validation(
            "return_window_days",
            format!("must be between 1 and {MAX_RETURN_WINDOW_DAYS}"),
        ));
    }
    Ok(days)
}

/// A quantity in `1..=MAX_QUANTITY`.
pub fn quantity(field: &str, value: u32) -> Result<u32> {
    if value == 0 || value > MAX_QUANTITY {
        return Err(Error::validation(
            field,
            format!("must be between 1 and {MAX_QUANTITY}"),
        ));
    }
    Ok(value)
}

/// An email address, trimmed and lowercased. Deliberately simple: one `@`, a non-empty local
/// part, a dotted domain, no spaces, at most 254 characters.
pub fn email(field: &str, value: &str) -> Result<String> {
    let email = value.trim().to_lowercase();
    let invalid = || Error::validation(field, "must be a valid email address");
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !domain.contains('@');
    if local.is_empty() || !domain_ok {
        return Err(invalid());
    }
    Ok(email)
}

/// A password of 8..=128 characters (kept as given; never trimmed).
pub fn password(field: &str, value: &str) -> Result<()> {
    let len = value.chars().count();
    if !(8..=128).contains(&len) {
        return Err(Error::validation(
            field,
            "must be between 8 and 128 characters",
        ));
    }
    Ok(())
}

/// Free-form client JSON (an address, payment details, attributes, variations) that every
/// backend can store the same way: no object key starting with `$` or containing `.` or NUL
/// (they would be operators or paths in a document store), integers within 64-bit signed range
/// (a document store has no unsigned 64-bit integers), at most 8 levels deep.
pub fn plain_json(field: &str, value: &serde_json::Value) -> Result<()> {
    fn walk(field: &str, value: &serde_json::Value, depth: usize) -> Result<()> {
        if depth > 8 {
            return Err(Error::validation(field, "is nested too deeply"));
        }
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    if key.starts_with('$') || key.contains('.') || key.contains('\0') {
                        return Err(Error::validation(
                            field,
                            format!("key {key:?} may not start with '$' or contain '.' or NUL"),
                        ));
                    }
                    walk(field, inner, depth + 1)?;
                }
                Ok(())
            }
            serde_json::Value::Array(items) => items
                .iter()
                .try_for_each(|inner| walk(field, inner, depth + 1)),
            // An integer above 2^63 - 1, or a fraction that reads as 2^63 or more (the nearest
            // double of 9223372036854775807.0 is 2^63): neither is storable as documented.
            serde_json::Value::Number(n)
                if (n.is_u64() && n.as_i64().is_none())
                    || (n.is_f64() && n.as_f64().is_some_and(|f| f >= TWO_POW_63)) =>
            {
                Err(Error::validation(
                    field,
                    format!("number {n} is out of range (at most 2^63 - 1)"),
                ))
            }
            _ => Ok(()),
        }
    }
    walk(field, value, 0)
}

/// 2^63, the first double above every `i64`.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// A date every backend stores the same way: years 1 to 9999.
pub fn date(field: &str, value: crate::clock::Timestamp) -> Result<crate::clock::Timestamp> {
    use chrono::Datelike;
    if (1..=9999).contains(&value.year()) {
        Ok(value)
    } else {
        Err(Error::validation(field, "must be in the years 1 to 9999"))
    }
}

/// A URL slug: lowercase alphanumeric words joined by `-`.
pub fn slug(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email("email", " A@B.io ").ok().as_deref(), Some("a@b.io"));
        for bad in [
            "", "a", "a@b", "@b.io", "a b@c.io", "a@.io", "a@b..io", "a@b@c.io",
        ] {
            assert!(email("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("  Red T-Shirt!! "), "red-t-shirt");
    }

    #[test]
    fn plain_json_numbers_stay_within_2_pow_63() {
        let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
        for fine in [
            "9223372036854775807",
            "-9223372036854775808",
            "9.223372036854775e18",
            "1.5",
        ] {
            assert!(plain_json("v", &parse(fine)).is_ok(), "{fine}");
        }
        for bad in [
            "9223372036854775808",
            "9223372036854775807.0",
            "9.223372036854776e18",
            "[1e300]",
        ] {
            assert!(plain_json("v", &parse(bad)).is_err(), "{bad}");
        }
    }
}
