//! Autocomplete: completions of what a shopper has typed so far, from popular queries
//! and product titles.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::catalog::{normalise_query, Signals};
use crate::schema::{words, MAX_QUERY_WORDS};

/// Most completions one answer gives.
pub const MAX_SUGGESTIONS: usize = 10;
/// Title candidates examined per answer, so a one-letter prefix stays cheap.
const TITLE_CANDIDATES: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionSource {
    Query,
    Title,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    pub text: String,
    pub source: SuggestionSource,
    /// For a popular query, how often it was searched; for a title, its SKU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub times_searched: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
}

/// Completions of `prefix`: popular queries that start with it (most searched
/// first), then titles that have every typed word, the last one as a prefix (titles
/// that start with the prefix, in stock, and short first). None for a prefix of more
/// than [`MAX_QUERY_WORDS`] words: each typed word is checked against every candidate.
pub fn suggest(signals: &Signals, prefix: &str, limit: usize) -> Vec<Suggestion> {
    let limit = limit.min(MAX_SUGGESTIONS);
    let typed_words = words(prefix);
    if typed_words.is_empty() || typed_words.len() > MAX_QUERY_WORDS || limit == 0 {
        return Vec::new();
    }
    // As normalise_query has it, without splitting the prefix again.
    let typed = typed_words.join(" ");
    let mut queries: Vec<(&String, &u64)> = signals
        .queries
        .range(typed.clone()..)
        .take_while(|(query, _)| query.starts_with(&typed))
        .collect();
    queries.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut out: Vec<Suggestion> = queries
        .into_iter()
        .take(limit)
        .map(|(query, count)| Suggestion {
            text: query.clone(),
            source: SuggestionSource::Query,
            times_searched: Some(*count),
            sku: None,
        })
        .collect();
    let Some((last, earlier)) = typed_words.split_last() else {
        return out;
    };
    let mut candidates: Vec<(&String, &String, bool)> = Vec::new();
    let mut seen = HashSet::new();
    'scan: for (_, skus) in signals
        .title_words
        .range(last.clone()..)
        .take_while(|(word, _)| word.starts_with(last.as_str()))
    {
        for sku in skus {
            if candidates.len() >= TITLE_CANDIDATES {
                break 'scan;
            }
            if !seen.insert(sku) {
                continue;
            }
            if let Some((title, in_stock)) = signals.titles.get(sku) {
                let title_words = words(title);
                if earlier.iter().all(|w| title_words.contains(w)) {
                    candidates.push((sku, title, *in_stock));
                }
            }
        }
    }
    // Titles that start with what was typed first, then in stock, then short.
    candidates.sort_by_cached_key(|(sku, title, in_stock)| {
        (
            !normalise_query(title).starts_with(&typed),
            !*in_stock,
            title.len(),
            (*title).clone(),
            (*sku).clone(),
        )
    });
    let mut titles_given = HashSet::new();
    for (sku, title, _) in candidates {
        if out.len() >= limit {
            break;
        }
        if titles_given.insert(title.to_lowercase()) {
            out.push(Suggestion {
                text: title.clone(),
                source: SuggestionSource::Title,
                times_searched: None,
                sku: Some(sku.clone()),
            });
        }
    }
    out
}
