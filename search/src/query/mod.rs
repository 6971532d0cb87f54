//! Answering a search: the request into a tantivy query, one pass of collectors over
//! the matching documents (top hits by the chosen sort, total, facets, price ranges),
//! then records, distances and snippets for the page of hits.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use serde::{Deserialize, Serialize};
use tantivy::collector::{Collector, FacetCollector, SegmentCollector};
use tantivy::query::doc_predicate_query::{DocPredicateQuery, FunctionPredicate};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, RangeQuery,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Term, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, DocId, Score, Searcher, SegmentOrdinal, SegmentReader, TantivyDocument};

use crate::catalog::{ProductRecord, Signals};
use crate::geo::{bounding_box, haversine_km};
use crate::projection::View;
use crate::schema::{self, Fields, LAT, LISTED, LON, MAX_QUERY_WORDS, PRICE, TIE};
use crate::spelling::{did_you_mean, fuzziness, neighbours, Vocabulary};

/// Most hits one page may ask for.
pub const MAX_LIMIT: usize = 100;
/// A fuzzy match scores this share of the field's boost, a constant well below what an
/// exact match of the same word earns, so exact matches rank above typo matches.
const FUZZY_SHARE: f32 = 0.3;
/// Score added for a full share of a shopper's engagement with a category or shop.
const PERSONAL_BOOST: f32 = 2.0;
/// Categories and shops of a shopper's profile that boost results.
pub const PERSONAL_TOP: usize = 10;
/// Fewer hits than this and the answer carries did-you-mean suggestions.
const FEW_HITS: u64 = 3;
/// Facet values returned per facet.
const FACET_VALUES: usize = 20;
/// Upper bounds of the price ranges, in minor units; the last range is open.
const PRICE_EDGES: &[u64] = &[1_000, 2_500, 5_000, 10_000, 25_000];
/// Length of a snippet, in characters.
const SNIPPET_CHARS: usize = 160;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    #[default]
    Relevance,
    PriceAsc,
    PriceDesc,
    Newest,
    Distance,
}

/// A point and, to filter, a radius around it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geo {
    pub lat: f64,
    pub lon: f64,
    pub radius_km: Option<f64>,
}

/// A validated search request.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub q: String,
    pub category: Option<String>,
    pub price_min: Option<u64>,
    pub price_max: Option<u64>,
    /// Products made of any of these.
    pub materials: Vec<String>,
    pub shop_id: Option<String>,
    pub in_stock: bool,
    pub geo: Option<Geo>,
    pub sort: Sort,
    pub limit: usize,
    pub offset: usize,
    /// The shopper's taste (categories, then shops, each with its share of their
    /// engagement): matches in them rank higher under relevance; nothing is removed.
    /// Read from the recommendations' histories, the one profile store.
    pub preferred_categories: Vec<Preference>,
    pub preferred_shops: Vec<Preference>,
}

/// A category or shop and the share of a shopper's engagement it has (0–1).
pub type Preference = (String, f32);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Highlight {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    #[serde(flatten)]
    pub product: ProductRecord,
    pub score: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
    /// Title and description fragments with the matched words in `<b>`, HTML-escaped.
    pub highlight: Highlight,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetValue {
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceRange {
    pub min: u64,
    /// Exclusive; absent for the open last range.
    pub max: Option<u64>,
    pub count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facets {
    /// The sub-categories of the category filter (the top level without one).
    pub category: Vec<FacetValue>,
    pub materials: Vec<FacetValue>,
    pub shop: Vec<FacetValue>,
    pub price: Vec<PriceRange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    pub total: u64,
    pub hits: Vec<Hit>,
    pub facets: Facets,
    pub suggestions: Vec<String>,
    /// Log position of the searcher that answered.
    pub position: i64,
}

mod answer;
mod build;
mod collect;

use answer::{category_root, facets, hits};
pub use build::{build, Built};
use collect::collect;
pub use collect::{Collected, SortKey};

/// Run a request against a view. A query of more than [`MAX_QUERY_WORDS`] words is
/// refused before any work (callers answering people check it first, with
/// [`schema::too_many_words`]).
pub fn search(view: &View, request: &SearchRequest) -> tantivy::Result<SearchResults> {
    if schema::too_many_words(&request.q) {
        return Err(tantivy::TantivyError::InvalidArgument(format!(
            "a query has at most {MAX_QUERY_WORDS} words"
        )));
    }
    let mut built = build(view, request, true);
    let mut fruit = collect(view, request, built.query.as_ref())?;
    if fruit.0.total == 0 && built.words.len() > 1 {
        built = build(view, request, false);
        fruit = collect(view, request, built.query.as_ref())?;
    }
    let (top, facet_counts) = fruit;
    let signals = view.signals.read().expect("signals lock");
    let suggestions = if top.total < FEW_HITS && !built.words.is_empty() {
        did_you_mean(&built.words, &signals.vocabulary)
            .into_iter()
            .collect()
    } else {
        Vec::new()
    };
    let facets = facets(request, &top, &facet_counts, &signals);
    drop(signals);
    let hits = hits(view, request, &built, &top.hits)?;
    Ok(SearchResults {
        total: top.total,
        hits,
        facets,
        suggestions,
        position: view.position,
    })
}
