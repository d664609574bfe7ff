//! Paging of list queries.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The most items one page may hold.
pub const MAX_PAGE_LIMIT: u32 = 100;
/// Items per page when the client does not say.
pub const DEFAULT_PAGE_LIMIT: u32 = 50;

/// A window of a list: skip `skip` items, return at most `limit`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Page {
    /// Items to return, 1..=[`MAX_PAGE_LIMIT`].
    pub limit: u32,
    /// Items to skip.
    pub skip: u64,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            limit: DEFAULT_PAGE_LIMIT,
            skip: 0,
        }
    }
}

impl Page {
    /// Page `page` (1-based) of `limit` items; both validated.
    pub fn numbered(page: u64, limit: u32) -> Result<Self> {
        Self::check_limit(limit)?;
        if page == 0 || page > 1_000_000 {
            return Err(Error::validation("page", "must be between 1 and 1000000"));
        }
        Ok(Page {
            limit,
            skip: (page - 1) * u64::from(limit),
        })
    }

    /// `limit` items after skipping `skip`; validated.
    pub fn offset(skip: u64, limit: u32) -> Result<Self> {
        Self::check_limit(limit)?;
        if skip > 100_000_000 {
            return Err(Error::validation("skip", "is too large"));
        }
        Ok(Page { limit, skip })
    }

    fn check_limit(limit: u32) -> Result<()> {
        if limit == 0 || limit > MAX_PAGE_LIMIT {
            return Err(Error::validation(
                "limit",
                format!("must be between 1 and {MAX_PAGE_LIMIT}"),
            ));
        }
        Ok(())
    }

    /// Applies the window to an already sorted iterator (for in-memory backends).
    pub fn apply<T>(&self, items: impl IntoIterator<Item = T>) -> Vec<T> {
        items
            .into_iter()
            .skip(usize::try_from(self.skip).unwrap_or(usize::MAX))
            .take(self.limit as usize)
            .collect()
    }
}
