//! Categories: a product's place in the catalogue as a path such as `Fashion/Men/T-Shirts`,
//! and the tree of categories built from counts per path.
//!
//! ```
//! use ecom_core::category::{ancestors, category_path, tree};
//!
//! let path = category_path(" Fashion / Men/T-Shirts ").unwrap();
//! assert_eq!(path, "Fashion/Men/T-Shirts");
//! assert_eq!(ancestors(&path), ["Fashion", "Fashion/Men", "Fashion/Men/T-Shirts"]);
//! let nodes = tree(&[("Fashion".into(), 3), ("Fashion/Men".into(), 2)]);
//! assert_eq!(nodes[0].children[0].path, "Fashion/Men");
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Most levels in a category path.
pub const MAX_LEVELS: usize = 4;
/// Longest level name, in characters.
pub const MAX_LEVEL: usize = 50;

/// `input` as a category path: 1 to [`MAX_LEVELS`] levels separated by `/`, each trimmed and
/// 1 to [`MAX_LEVEL`] characters, without control characters. Errors name `category`.
pub fn category_path(input: &str) -> Result<String> {
    let levels: Vec<&str> = input.split('/').map(str::trim).collect();
    if levels.len() > MAX_LEVELS {
        return Err(Error::validation(
            "category",
            format!("at most {MAX_LEVELS} levels separated by '/'"),
        ));
    }
    for level in &levels {
        let len = level.chars().count();
        if len == 0 || len > MAX_LEVEL {
            return Err(Error::validation(
                "category",
                format!("each level must be 1 to {MAX_LEVEL} characters"),
            ));
        }
        if level.chars().any(char::is_control) {
            return Err(Error::validation(
                "category",
                "must not contain control characters",
            ));
        }
    }
    Ok(levels.join("/"))
}

/// The path and every path above it, shortest first: a product in a category is also in
/// each of these.
pub fn ancestors(path: &str) -> Vec<String> {
    path.match_indices('/')
        .map(|(at, _)| path[..at].to_owned())
        .chain(std::iter::once(path.to_owned()))
        .collect()
}

/// Whether `path` is `category` itself or lies anywhere under it.
pub fn is_within(path: &str, category: &str) -> bool {
    path.strip_prefix(category)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// One category of the tree, with how many products are in it or under it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CategoryNode {
    /// Its own level's name (`T-Shirts`).
    pub name: String,
    /// Its whole path (`Fashion/Men/T-Shirts`).
    pub path: String,
    /// Products in it or in any category under it.
    pub count: u64,
    /// The categories right under it, by name.
    pub children: Vec<CategoryNode>,
}

/// The tree of `counts` (each path with the products in it or under it, as
/// [`ProductRepo::facets`](crate::product::ProductRepo::facets) counts them): roots and
/// children sorted by name; a path whose parent is missing hangs at the root.
pub fn tree(counts: &[(String, u64)]) -> Vec<CategoryNode> {
    let mut sorted: Vec<&(String, u64)> = counts.iter().collect();
    // Parents before children, siblings by name.
    sorted.sort_by(|a, b| a.0.split('/').cmp(b.0.split('/')));
    let mut roots: Vec<CategoryNode> = Vec::new();
    for (path, count) in sorted {
        let node = CategoryNode {
            name: path.rsplit('/').next().unwrap_or(path).to_owned(),
            path: path.clone(),
            count: *count,
            children: Vec::new(),
        };
        insert(&mut roots, node);
    }
    roots
}

fn insert(level: &mut Vec<CategoryNode>, node: CategoryNode) {
    let parent = level.iter_mut().find(|n| is_within(&node.path, &n.path));
    match parent {
        Some(parent) => insert(&mut parent.children, node),
        None => level.push(node),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked_and_trimmed() {
        assert_eq!(category_path("Books").unwrap(), "Books");
        assert_eq!(category_path("a/b/c/d").unwrap(), "a/b/c/d");
        for bad in ["", "/", "a//b", "a/b/c/d/e", "a/ /b", "a/\u{7}"] {
            assert!(category_path(bad).is_err(), "{bad:?}");
        }
        assert!(category_path(&"x".repeat(51)).is_err());
        assert!(category_path(&"é".repeat(50)).is_ok());
    }

    #[test]
    fn a_tree_nests_by_path() {
        let counts = vec![
            ("B".to_owned(), 1),
            ("A/Y".to_owned(), 2),
            ("A".to_owned(), 5),
            ("A/X".to_owned(), 3),
            ("A/X/1".to_owned(), 3),
            ("AB".to_owned(), 4),
        ];
        let t = tree(&counts);
        let names: Vec<&str> = t.iter().map(|n| n.path.as_str()).collect();
        assert_eq!(names, ["A", "AB", "B"]);
        assert_eq!(t[0].children.len(), 2);
        assert_eq!(t[0].children[0].path, "A/X");
        assert_eq!(t[0].children[0].children[0].name, "1");
        assert!(t[1].children.is_empty());
    }
}
