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
const PERSONAL_TOP: usize = 10;
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
    pub user_id: Option<String>,
}

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

/// A query built from a request: the tantivy query, and per language field the
/// analyzed words to highlight.
pub struct Built {
    pub query: Box<dyn Query>,
    pub highlight_terms: HashMap<Field, BTreeMap<String, Score>>,
    pub words: Vec<String>,
}

/// Terms of `text` as `field`'s analyzer produces them.
/// The analyzers of the fields a query uses, taken from the index once per query.
struct Analyzers<'s> {
    searcher: &'s Searcher,
    by_field: HashMap<Field, TextAnalyzer>,
}

impl<'s> Analyzers<'s> {
    fn new(searcher: &'s Searcher) -> Self {
        Self {
            searcher,
            by_field: HashMap::new(),
        }
    }

    /// Terms of `text` as `field`'s analyzer produces them.
    fn analyze(&mut self, field: Field, text: &str) -> Vec<String> {
        if !self.by_field.contains_key(&field) {
            match self.searcher.index().tokenizer_for_field(field) {
                Ok(analyzer) => self.by_field.insert(field, analyzer),
                Err(_) => return Vec::new(),
            };
        }
        let analyzer = self.by_field.get_mut(&field).expect("inserted above");
        schema::tokens(analyzer, text)
    }
}

fn filter(query: Box<dyn Query>) -> (Occur, Box<dyn Query>) {
    // Filters match or not; they add nothing to the score.
    (Occur::Must, Box::new(ConstScoreQuery::new(query, 0.0)))
}

fn term(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
}

/// The text part of the query: every word must match some field (stop words may),
/// exactly (BM25 with the field's boost) or within its fuzziness (a lower constant).
fn text_clauses(
    searcher: &Searcher,
    fields: &Fields,
    words: &[String],
    highlight_terms: &mut HashMap<Field, BTreeMap<String, Score>>,
    vocabulary: &Vocabulary,
) -> Vec<(Occur, Box<dyn Query>)> {
    let mut clauses = Vec::new();
    let mut analyzers = Analyzers::new(searcher);
    let highlighted: Vec<Field> = fields
        .title
        .iter()
        .chain(&fields.description)
        .copied()
        .collect();
    for word in words {
        let distance = fuzziness(word.chars().count());
        let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut stop_word = false;
        for text_field in fields.exact_fields() {
            let terms = analyzers.analyze(text_field.field, word);
            if terms.is_empty() {
                stop_word = true;
            }
            for analyzed in terms {
                let exact = Term::from_field_text(text_field.field, &analyzed);
                alternatives.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(TermQuery::new(exact, IndexRecordOption::WithFreqs)),
                        text_field.boost,
                    )),
                ));
                if highlighted.contains(&text_field.field) {
                    highlight_terms
                        .entry(text_field.field)
                        .or_default()
                        .insert(analyzed, 1.0);
                }
            }
        }
        if distance > 0 {
            for text_field in fields.fuzzy_fields() {
                let term = Term::from_field_text(text_field.field, word);
                alternatives.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(FuzzyTermQuery::new(term, distance, true)),
                        text_field.boost * FUZZY_SHARE,
                    )),
                ));
            }
        }
        if alternatives.is_empty() {
            continue;
        }
        // Typo matches are highlighted too: the known words near an unknown one (a
        // known word is highlighted as itself, and the lookup is spared).
        let near_words = if vocabulary.contains(word) {
            Vec::new()
        } else {
            neighbours(word, vocabulary, 8)
        };
        for near in near_words {
            for &field in &highlighted {
                for analyzed in analyzers.analyze(field, near) {
                    highlight_terms
                        .entry(field)
                        .or_default()
                        .insert(analyzed, 0.5);
                }
            }
        }
        let occur = if stop_word {
            Occur::Should
        } else {
            Occur::Must
        };
        clauses.push((
            occur,
            Box::new(BooleanQuery::new(alternatives)) as Box<dyn Query>,
        ));
    }
    clauses
}

/// Build the tantivy query for a request. `all_words` false relaxes the text to any
/// word (the fallback when requiring every word finds nothing).
pub fn build(view: &View, request: &SearchRequest, all_words: bool) -> Built {
    let searcher = &view.searcher;
    let fields = &view.fields;
    let words = schema::words(&request.q);
    let mut highlight_terms = HashMap::new();
    let signals = view.signals.read().expect("signals lock");
    let mut clauses = text_clauses(
        searcher,
        fields,
        &words,
        &mut highlight_terms,
        &signals.vocabulary,
    );
    if !all_words {
        for clause in &mut clauses {
            clause.0 = Occur::Should;
        }
        if !clauses.is_empty() {
            let any = BooleanQuery::new(std::mem::take(&mut clauses));
            clauses.push((Occur::Must, Box::new(any)));
        }
    }
    if clauses.iter().all(|(occur, _)| *occur != Occur::Must) {
        // Browsing: everything matches, equally.
        clauses.push((
            Occur::Must,
            Box::new(ConstScoreQuery::new(Box::new(AllQuery), 1.0)),
        ));
    }
    if let Some(category) = &request.category {
        clauses.push(filter(term(fields.category, category)));
    }
    if request.price_min.is_some() || request.price_max.is_some() {
        let bound = |value: Option<u64>| match value {
            Some(v) => Bound::Included(Term::from_field_u64(fields.price, v)),
            None => Bound::Unbounded,
        };
        clauses.push(filter(Box::new(RangeQuery::new(
            bound(request.price_min),
            bound(request.price_max),
        ))));
    }
    if !request.materials.is_empty() {
        let any = request
            .materials
            .iter()
            .map(|m| (Occur::Should, term(fields.material, &m.to_lowercase())))
            .collect();
        clauses.push(filter(Box::new(BooleanQuery::new(any))));
    }
    if let Some(shop_id) = &request.shop_id {
        clauses.push(filter(term(fields.shop_id, shop_id)));
    }
    if request.in_stock {
        clauses.push(filter(Box::new(TermQuery::new(
            Term::from_field_bool(fields.in_stock, true),
            IndexRecordOption::Basic,
        ))));
    }
    if let Some(Geo {
        lat,
        lon,
        radius_km: Some(radius),
    }) = request.geo
    {
        let ((lat_min, lat_max), lon_range) = bounding_box(lat, lon, radius);
        let range = |field: Field, min: f64, max: f64| -> Box<dyn Query> {
            Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_f64(field, min)),
                Bound::Included(Term::from_field_f64(field, max)),
            ))
        };
        clauses.push(filter(range(fields.lat, lat_min, lat_max)));
        if let Some((lon_min, lon_max)) = lon_range {
            clauses.push(filter(range(fields.lon, lon_min, lon_max)));
        }
        let within = FunctionPredicate::from(move |segment: &SegmentReader| {
            let lats = segment.fast_fields().f64(LAT)?;
            let lons = segment.fast_fields().f64(LON)?;
            Ok(move |doc: DocId| match (lats.first(doc), lons.first(doc)) {
                (Some(p_lat), Some(p_lon)) => haversine_km(lat, lon, p_lat, p_lon) <= radius,
                _ => false,
            })
        });
        clauses.push(filter(Box::new(DocPredicateQuery::from(within))));
    }
    if request.sort == Sort::Relevance {
        if let Some(profile) = request
            .user_id
            .as_ref()
            .and_then(|u| signals.profiles.get(u))
        {
            let (categories, shops) = profile.preferences(PERSONAL_TOP);
            // Optional clauses: they reorder what matches and never remove anything.
            for (category, share) in categories {
                clauses.push((
                    Occur::Should,
                    Box::new(ConstScoreQuery::new(
                        term(fields.category, &category),
                        PERSONAL_BOOST * share,
                    )),
                ));
            }
            for (shop, share) in shops {
                clauses.push((
                    Occur::Should,
                    Box::new(ConstScoreQuery::new(
                        term(fields.shop_id, &shop),
                        PERSONAL_BOOST * share,
                    )),
                ));
            }
        }
    }
    Built {
        query: Box::new(BooleanQuery::new(clauses)),
        highlight_terms,
        words,
    }
}

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

/// One pass over the matches: top hits, totals and price ranges, and facet counts.
fn collect(
    view: &View,
    request: &SearchRequest,
    query: &dyn Query,
) -> tantivy::Result<(Collected, tantivy::collector::FacetCounts)> {
    let mut facet_collector = FacetCollector::for_field("facets");
    facet_collector.add_facet(category_root(request));
    facet_collector.add_facet("/material");
    facet_collector.add_facet("/shop");
    let top = TopCollector {
        sort: request.sort,
        origin: request.geo.map(|g| (g.lat, g.lon)),
        keep: request.offset + request.limit,
    };
    view.searcher.search(query, &(top, facet_collector))
}

fn facets(
    request: &SearchRequest,
    top: &Collected,
    counts: &tantivy::collector::FacetCounts,
    signals: &Signals,
) -> Facets {
    let values = |root: tantivy::schema::Facet, label: &dyn Fn(&str) -> Option<String>| {
        let prefix_len = root.to_path().len();
        counts
            .top_k(root, FACET_VALUES)
            .into_iter()
            .map(|(facet, count)| {
                let value = facet.to_path()[prefix_len.min(facet.to_path().len())..].join("/");
                FacetValue {
                    label: label(&value),
                    value,
                    count,
                }
            })
            .collect::<Vec<_>>()
    };
    let parent = request.category.clone();
    let mut category = values(category_root(request), &|_| None);
    if let Some(parent) = parent {
        // Name sub-categories by their full path, as the filter takes them.
        for value in &mut category {
            value.value = format!("{}/{}", parent.trim_matches('/'), value.value);
        }
    }
    Facets {
        category,
        materials: values(tantivy::schema::Facet::from("/material"), &|_| None),
        shop: values(tantivy::schema::Facet::from("/shop"), &|id| {
            signals.shops.get(id).cloned()
        }),
        price: price_ranges(&top.price_counts),
    }
}

/// The facet whose children the category counts are: the filter's, or the top.
fn category_root(request: &SearchRequest) -> tantivy::schema::Facet {
    match &request.category {
        Some(category) => schema::category_facet(category),
        None => tantivy::schema::Facet::from("/category"),
    }
}

fn price_ranges(counts: &[u64]) -> Vec<PriceRange> {
    let mut ranges = Vec::with_capacity(counts.len());
    let mut min = 0;
    for (i, &count) in counts.iter().enumerate() {
        let max = PRICE_EDGES.get(i).copied();
        ranges.push(PriceRange { min, max, count });
        min = max.unwrap_or(min);
    }
    ranges
}

/// The page of hits: records, distances, highlights.
fn hits(
    view: &View,
    request: &SearchRequest,
    built: &Built,
    top: &[(SortKey, DocAddress)],
) -> tantivy::Result<Vec<Hit>> {
    let fields = &view.fields;
    let generators: HashMap<Field, SnippetGenerator> = built
        .highlight_terms
        .iter()
        .filter_map(|(field, terms)| {
            let analyzer = view.searcher.index().tokenizer_for_field(*field).ok()?;
            Some((
                *field,
                SnippetGenerator::new(terms.clone(), analyzer, *field, SNIPPET_CHARS),
            ))
        })
        .collect();
    let mut hits = Vec::new();
    for (key, address) in top.iter().skip(request.offset) {
        let doc: TantivyDocument = view.searcher.doc(*address)?;
        let Some(record) = doc
            .get_first(fields.record)
            .and_then(|v| v.as_str())
            .and_then(|json| serde_json::from_str::<ProductRecord>(json).ok())
        else {
            continue;
        };
        let slot = Fields::language_slot(&record.details.language);
        let snippet = |field: Field, text: &str| {
            generators
                .get(&field)
                .map(|g| g.snippet(text))
                .filter(|s| !s.highlighted().is_empty())
                .map(|s| s.to_html())
        };
        let highlight = Highlight {
            title: snippet(fields.title[slot], &record.details.title),
            description: snippet(fields.description[slot], &record.details.description),
        };
        let distance_km = request.geo.map(|g| {
            let at = record.details.shop.location;
            (haversine_km(g.lat, g.lon, at.lat, at.lon) * 1000.0).round() / 1000.0
        });
        hits.push(Hit {
            score: key.score,
            distance_km,
            highlight,
            product: record,
        });
    }
    Ok(hits)
}

/// What orders hits: the sort's value (larger first), then the SKU's hash.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SortKey {
    value: f64,
    tie: u64,
    score: f32,
}

impl SortKey {
    fn better_than(&self, other: &SortKey) -> bool {
        match self.value.total_cmp(&other.value) {
            std::cmp::Ordering::Equal => self.tie < other.tie,
            ordering => ordering.is_gt(),
        }
    }
}

/// A heap entry ordered worst-first, so the heap's top is the hit to drop.
#[derive(Debug, Clone, Copy)]
struct Ranked(SortKey, DocAddress);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if self.0.better_than(&other.0) {
            std::cmp::Ordering::Less
        } else if other.0.better_than(&self.0) {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    }
}

/// Keeps the best `keep` hits by the request's sort, counts every match and its price
/// range.
struct TopCollector {
    sort: Sort,
    origin: Option<(f64, f64)>,
    keep: usize,
}

pub struct Collected {
    pub total: u64,
    pub hits: Vec<(SortKey, DocAddress)>,
    price_counts: Vec<u64>,
}

struct TopSegment {
    segment: SegmentOrdinal,
    sort: Sort,
    origin: Option<(f64, f64)>,
    keep: usize,
    heap: std::collections::BinaryHeap<Ranked>,
    total: u64,
    price_counts: Vec<u64>,
    price: tantivy::columnar::Column<u64>,
    tie: tantivy::columnar::Column<u64>,
    listed: tantivy::columnar::Column<i64>,
    lat: tantivy::columnar::Column<f64>,
    lon: tantivy::columnar::Column<f64>,
}

impl Collector for TopCollector {
    type Fruit = Collected;
    type Child = TopSegment;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<TopSegment> {
        let fast = reader.fast_fields();
        Ok(TopSegment {
            segment,
            sort: self.sort,
            origin: self.origin,
            keep: self.keep,
            heap: std::collections::BinaryHeap::with_capacity(self.keep + 1),
            total: 0,
            price_counts: vec![0; PRICE_EDGES.len() + 1],
            price: fast.u64(PRICE)?,
            tie: fast.u64(TIE)?,
            listed: fast.i64(LISTED)?,
            lat: fast.f64(LAT)?,
            lon: fast.f64(LON)?,
        })
    }

    fn requires_scoring(&self) -> bool {
        self.sort == Sort::Relevance
    }

    fn merge_fruits(&self, fruits: Vec<Collected>) -> tantivy::Result<Collected> {
        let mut total = 0;
        let mut price_counts = vec![0; PRICE_EDGES.len() + 1];
        let mut all = Vec::new();
        for fruit in fruits {
            total += fruit.total;
            for (sum, count) in price_counts.iter_mut().zip(fruit.price_counts) {
                *sum += count;
            }
            all.extend(fruit.hits);
        }
        all.sort_by_key(|&(key, address)| Ranked(key, address));
        all.truncate(self.keep);
        Ok(Collected {
            total,
            hits: all,
            price_counts,
        })
    }
}

impl SegmentCollector for TopSegment {
    type Fruit = Collected;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.total += 1;
        let price = self.price.first(doc).unwrap_or(0);
        let bucket = PRICE_EDGES
            .iter()
            .position(|edge| price < *edge)
            .unwrap_or(PRICE_EDGES.len());
        self.price_counts[bucket] += 1;
        if self.keep == 0 {
            return;
        }
        let value = match self.sort {
            Sort::Relevance => score as f64,
            Sort::PriceAsc => -(price as f64),
            Sort::PriceDesc => price as f64,
            Sort::Newest => self.listed.first(doc).unwrap_or(0) as f64,
            Sort::Distance => match (self.origin, self.lat.first(doc), self.lon.first(doc)) {
                (Some((lat, lon)), Some(p_lat), Some(p_lon)) => {
                    -haversine_km(lat, lon, p_lat, p_lon)
                }
                _ => f64::NEG_INFINITY,
            },
        };
        let key = SortKey {
            value,
            tie: self.tie.first(doc).unwrap_or(0),
            score,
        };
        let ranked = Ranked(key, DocAddress::new(self.segment, doc));
        if self.heap.len() < self.keep {
            self.heap.push(ranked);
        } else if let Some(worst) = self.heap.peek() {
            if ranked < *worst {
                self.heap.pop();
                self.heap.push(ranked);
            }
        }
    }

    fn harvest(self) -> Collected {
        Collected {
            total: self.total,
            hits: self.heap.into_iter().map(|Ranked(k, a)| (k, a)).collect(),
            price_counts: self.price_counts,
        }
    }
}
