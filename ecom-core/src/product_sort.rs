//! The orders of product listings ([`ProductSort`]) and cursors into them: where a page
//! ended, so that the next page starts right after it (`after=`) at the cost of one page however deep it is, and without the duplicates or
//! gaps a page number shows when products are added or removed before it meanwhile.
//!
//! A cursor holds the last product's sort key and id ([`ProductQuery::cursor_of`]); the
//! products after it are those [`ProductQuery::compare`] puts after that position
//! ([`ProductQuery::is_after`]), whether or not that product is still listed. On the wire it is
//! an opaque URL-safe text naming its sort, so a cursor of another sort is refused.
//!
//! [`ProductQuery::compare`]: crate::product::ProductQuery::compare
//! [`ProductQuery::cursor_of`]: crate::product::ProductQuery::cursor_of
//! [`ProductQuery::is_after`]: crate::product::ProductQuery::is_after

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::id::ProductId;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Order of a product list. Ties are broken by id, descending, so pages are stable.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum ProductSort {
    /// Newest first by `created_at`.
    #[default]
    Newest,
    /// Most recently updated first (shop lists).
    RecentlyUpdated,
    /// Cheapest first.
    PriceAsc,
    /// Dearest first.
    PriceDesc,
    /// Most keywords matched first, then newest ([`CatalogueFilter::relevance`](crate::product::CatalogueFilter::relevance)); newest
    /// first when the filter has no keywords.
    Relevance,
    /// Most units sold first (the stored [`Product::sold`](crate::product::Product::sold)).
    BestSelling,
}

/// A product's key in one sort (before its id, which breaks ties).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SortKey {
    /// When it was created ([`ProductSort::Newest`]) or last updated
    /// ([`ProductSort::RecentlyUpdated`]).
    At(Timestamp),
    /// Its price in minor units ([`ProductSort::PriceAsc`], [`ProductSort::PriceDesc`]).
    Price(i64),
    /// Units sold ([`ProductSort::BestSelling`]).
    Sold(u64),
    /// Words matched, then when it was created ([`ProductSort::Relevance`]).
    Relevance(u32, Timestamp),
}

/// Where a page of a listing ended: the sort, and the last product's key and id in it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ProductCursor {
    /// The sort the cursor belongs to.
    pub sort: ProductSort,
    /// The last product's key in that sort.
    pub key: SortKey,
    /// The last product's id.
    pub id: ProductId,
}

/// The field errors of a malformed cursor name.
const FIELD: &str = "after";

impl ProductCursor {
    /// The cursor as opaque URL-safe text.
    pub fn encode(&self) -> String {
        let key = match self.key {
            SortKey::At(at) => nanos(at).to_string(),
            SortKey::Price(minor) => minor.to_string(),
            SortKey::Sold(sold) => sold.to_string(),
            SortKey::Relevance(score, at) => format!("{score}.{}", nanos(at)),
        };
        let plain = format!("{}.{key}.{}", tag(self.sort), self.id.as_str());
        URL_SAFE_NO_PAD.encode(plain)
    }

    /// Reads a cursor that [`encode`](Self::encode) wrote for `sort`; a malformed cursor, or
    /// one of another sort, is a validation error naming `after`.
    pub fn parse(text: &str, sort: ProductSort) -> Result<Self> {
        let malformed = || Error::validation(FIELD, "is not a cursor this listing gave");
        let plain = URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(malformed)?;
        let parts: Vec<&str> = plain.split('.').collect();
        let (first, rest) = parts.split_first().ok_or_else(malformed)?;
        if *first != tag(sort) {
            return Err(Error::validation(
                FIELD,
                "was given by a listing in another sort",
            ));
        }
        let number = |s: &str| s.parse::<i64>().map_err(|_| malformed());
        let at = |s: &str| {
            number(s).map(|n| chrono::DateTime::from_timestamp_nanos(n).with_timezone(&chrono::Utc))
        };
        let (key, id) = match (sort, rest) {
            (ProductSort::Newest | ProductSort::RecentlyUpdated, [key, id]) => {
                (SortKey::At(at(key)?), id)
            }
            (ProductSort::PriceAsc | ProductSort::PriceDesc, [key, id]) => {
                (SortKey::Price(number(key)?), id)
            }
            (ProductSort::BestSelling, [key, id]) => (
                SortKey::Sold(key.parse::<u64>().map_err(|_| malformed())?),
                id,
            ),
            (ProductSort::Relevance, [score, key, id]) => (
                SortKey::Relevance(score.parse::<u32>().map_err(|_| malformed())?, at(key)?),
                id,
            ),
            _ => return Err(malformed()),
        };
        Ok(ProductCursor {
            sort,
            key,
            id: ProductId::parse(id).map_err(|_| malformed())?,
        })
    }
}

/// `at` in nanoseconds since the epoch (timestamps past the year 2262 saturate).
fn nanos(at: Timestamp) -> i64 {
    at.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// The short name of `sort` in a cursor.
fn tag(sort: ProductSort) -> &'static str {
    match sort {
        ProductSort::Newest => "n",
        ProductSort::RecentlyUpdated => "u",
        ProductSort::PriceAsc => "pa",
        ProductSort::PriceDesc => "pd",
        ProductSort::Relevance => "r",
        ProductSort::BestSelling => "b",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn id() -> ProductId {
        ProductId::parse("0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn every_key_reads_back_as_written() {
        let at = chrono::Utc
            .timestamp_opt(1_800_000_000, 123_456_789)
            .unwrap();
        for (sort, key) in [
            (ProductSort::Newest, SortKey::At(at)),
            (ProductSort::RecentlyUpdated, SortKey::At(at)),
            (ProductSort::PriceAsc, SortKey::Price(-5)),
            (ProductSort::PriceDesc, SortKey::Price(129_900)),
            (ProductSort::BestSelling, SortKey::Sold(u64::MAX)),
            (ProductSort::Relevance, SortKey::Relevance(3, at)),
        ] {
            let cursor = ProductCursor {
                sort,
                key,
                id: id(),
            };
            assert_eq!(
                ProductCursor::parse(&cursor.encode(), sort).unwrap(),
                cursor
            );
        }
    }

    #[test]
    fn a_cursor_of_another_sort_or_a_made_up_one_is_refused() {
        let cursor = ProductCursor {
            sort: ProductSort::PriceAsc,
            key: SortKey::Price(100),
            id: id(),
        };
        let err = ProductCursor::parse(&cursor.encode(), ProductSort::PriceDesc).unwrap_err();
        assert!(err.to_string().contains("another sort"), "{err}");
        for text in [
            "",
            "!!",
            "cGE",
            "cGEuMTAw",
            "cGEueC4w",
            &URL_SAFE_NO_PAD.encode("pa.1.nothex"),
        ] {
            let err = ProductCursor::parse(text, ProductSort::PriceAsc).unwrap_err();
            assert!(
                matches!(err, Error::Validation { ref field, .. } if field == FIELD),
                "{text}: {err}"
            );
        }
    }
}
