//! Product search: a projection of catalog, stock and shopper-activity events into a
//! tantivy index in the data directory, and the queries over it.
//!
//! * [`schema`] — fields, per-language analyzers, a product as a document.
//! * [`catalog`] — what the projection keeps in memory: current product records,
//!   stock levels (in-stock flips), vocabulary, popular queries.
//! * [`projection`] — the runner: checkpoint in the commit payload, batched commits
//!   with bounded freshness, manual reloads, rebuild into a fresh generation.
//! * [`query`] — a search request into one pass over the index: boosted exact and
//!   fuzzy text, filters, sorts, facets, highlights, personalisation (by
//!   the shopper's taste, which the caller reads from the recommendations' profiles).
//! * [`suggest`] and [`spelling`] — autocomplete, and the vocabulary with its spelling
//!   index for did-you-mean and typo highlights.
//!
//! Each server process has its own index; it reads the shared log like any other
//! projection and never imports the write side.

pub mod catalog;
pub mod geo;
pub mod projection;
pub mod query;
pub mod schema;
pub mod spelling;
pub mod suggest;

pub use projection::{SearchError, SearchProjection, View};
pub use query::{search, Geo, Preference, SearchRequest, SearchResults, Sort, PERSONAL_TOP};
pub use schema::{too_many_words, MAX_QUERY_WORDS};
