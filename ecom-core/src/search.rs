//! Keyword search: how text becomes search tokens, and how a query's words match and rank.
//!
//! One rule for every backend. A product's text (name, description and its kind's search
//! terms) becomes *tokens*: runs of letters and digits, case-folded and stripped of accents
//! (Unicode NFKD, combining marks dropped), so `Café` and `CAFE` are both `cafe`. A query is
//! parsed the same way into words; every word but the last must equal a token, the last may
//! also be the start of one (`caf` finds `café`, as a search box does while the buyer types).
//! A product matches when at least one word does, and ranks by how many of the words match.
//!
//! Backends without a text index keep the tokens ([`tokens`]) and all their prefixes
//! ([`prefixes`]) as indexed arrays: a whole word is an equality on the tokens, the last word
//! an equality on the prefixes.
//!
//! ```
//! use ecom_core::search::{tokens, SearchWords};
//!
//! let terms = tokens("Café au lait — crème brûlée");
//! assert_eq!(terms, ["cafe", "au", "lait", "creme", "brulee"]);
//! let q = SearchWords::parse("LAIT bru").unwrap().unwrap();
//! assert_eq!(q.score(&terms), 2);
//! ```

use crate::error::{Error, Result};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Longest token kept (longer runs of letters are cut to this many characters).
pub const MAX_TOKEN: usize = 30;
/// Most tokens kept per product (the first ones in the text).
pub const MAX_TOKENS: usize = 300;
/// Most words in a query.
pub const MAX_QUERY_WORDS: usize = 10;
/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 1_000;

/// The distinct tokens of `text`, in order of first appearance: case-folded, accents
/// stripped, each at most [`MAX_TOKEN`] characters.
pub fn tokens(text: &str) -> Vec<String> {
    let folded: String = text
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect();
    let mut out: Vec<String> = Vec::new();
    for word in folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let word: String = word.chars().take(MAX_TOKEN).collect();
        if !out.contains(&word) {
            out.push(word);
        }
    }
    out
}

/// Every prefix (one character and longer, the token itself included) of every token,
/// without repeats: what a prefix match of the last query word looks up.
pub fn prefixes(tokens: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for token in tokens {
        for (end, c) in token.char_indices() {
            let prefix = &token[..end + c.len_utf8()];
            if !out.iter().any(|p| p == prefix) {
                out.push(prefix.to_owned());
            }
        }
    }
    out
}

/// A parsed query: whole words and the last word, which also matches as a prefix.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SearchWords {
    /// Words that must equal a token to match (the query's words but the last), distinct.
    pub whole: Vec<String>,
    /// The last word: matches any token it starts (or equals).
    pub prefix: String,
}

impl SearchWords {
    /// The words of `text`, or `None` if it holds none. More than [`MAX_QUERY_WORDS`] words,
    /// or more than [`MAX_QUERY_CHARS`] characters, is a validation error on `q`.
    pub fn parse(text: &str) -> Result<Option<Self>> {
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(Error::validation(
                "q",
                format!("at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        let mut words = tokens(text);
        if words.len() > MAX_QUERY_WORDS {
            return Err(Error::validation(
                "q",
                format!("at most {MAX_QUERY_WORDS} words"),
            ));
        }
        let Some(prefix) = words.pop() else {
            return Ok(None);
        };
        words.retain(|w| w != &prefix);
        Ok(Some(SearchWords {
            whole: words,
            prefix,
        }))
    }

    /// How many of the query's words match `terms` (a product's [`tokens`]): 0 means no match.
    pub fn score(&self, terms: &[String]) -> u32 {
        let whole = self.whole.iter().filter(|w| terms.contains(w)).count();
        let last = terms.iter().any(|t| t.starts_with(&self.prefix));
        u32::try_from(whole).unwrap_or(u32::MAX) + u32::from(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_fold_case_and_accents() {
        assert_eq!(tokens("CAFÉ café Cafe"), ["cafe"]);
        assert_eq!(
            tokens("Ångström naïve Straße"),
            ["angstrom", "naive", "straße"]
        );
        assert_eq!(tokens("T-Shirt, 2XL!"), ["t", "shirt", "2xl"]);
        assert_eq!(tokens("ﬁne"), ["fine"]);
        assert!(tokens(" -- ").is_empty());
        let long = "a".repeat(80);
        assert_eq!(tokens(&long), ["a".repeat(MAX_TOKEN)]);
    }

    #[test]
    fn prefixes_cover_every_start_once() {
        let p = prefixes(&["tee".into(), "tea".into()]);
        assert_eq!(p, ["t", "te", "tee", "tea"]);
        assert_eq!(prefixes(&["éa".into()]), ["é", "éa"]);
    }

    #[test]
    fn queries_match_whole_words_and_a_last_prefix() {
        let terms = tokens("Plain cotton tee, Café edition");
        let q = SearchWords::parse("cotton caf").unwrap().unwrap();
        assert_eq!(q.score(&terms), 2);
        let q = SearchWords::parse("cot tee").unwrap().unwrap();
        assert_eq!(q.score(&terms), 1, "only the last word is a prefix");
        let q = SearchWords::parse("wool").unwrap().unwrap();
        assert_eq!(q.score(&terms), 0);
        let q = SearchWords::parse("tee tee").unwrap().unwrap();
        assert!(q.whole.is_empty());
        assert_eq!(SearchWords::parse("  ,, ").unwrap(), None);
        assert!(SearchWords::parse("a b c d e f g h i j k").is_err());
        assert!(SearchWords::parse(&"0".repeat(1_001)).is_err());
        assert!(SearchWords::parse(&"0".repeat(1_000)).is_ok());
    }
}
