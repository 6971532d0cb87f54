//! Recommendations: the read model that turns the log's catalog, stock, activity and
//! order events into personalised lists of products, and the scoring behind them.
//!
//! This crate owns the in-memory [`Model`] (what the sources need, kept up to date
//! one [`Input`] at a time), the candidate sources (item-to-item collaborative
//! neighbours, TF-IDF content similarity, decayed trending), and the ensemble that
//! blends them, diversifies the list, filters what must not be shown and says why
//! each item is there. The model does no I/O; [`follower`] keeps one in memory per
//! process from the log.
//!
//! * [`config`] — feedback weights, source weights, half-life, list shape.
//! * [`catalog`] — every SKU's number ([`catalog::ItemId`], what the sources key
//!   by) and what is known of each item (listed, in stock, its words).
//! * [`history`] — each shopper's recent interactions, purchases, dismissals.
//! * [`sources`] — collaborative, content and trending scores.
//! * [`taste`] — a shopper's categories and shops, for personalised search (the
//!   one profile store).
//! * [`ensemble`] — normalise, blend, diversify, filter, explain.
//! * [`follower`] — the model following the log (products, stock, activity, paid
//!   orders), with `min_position`.
//! * [`offline`] — evaluation on interaction files: leave-last-out, the
//!   yardsticks (popularity, ItemKNN, ALS), HR/NDCG/coverage/diversity/novelty.
//! * [`training`] — the latent model trained in the background and swapped in
//!   whole; what a process serves lists from.
//! * [`snapshot`] — the model saved with its position in the data directory, and
//!   rebuilt from the log beside the live one.

pub mod catalog;
pub mod config;
pub mod ensemble;
pub mod follower;
pub mod history;
mod model;
pub mod offline;
pub mod snapshot;
pub mod sources;
pub mod taste;
#[cfg(test)]
mod tests;
pub mod training;

pub use config::{Config, MAX_LIMIT};
pub use ensemble::{Recommendation, Request, Source};
pub use follower::{live, model_version, LiveRecommendations};
pub use model::{Input, Model};
pub use taste::{Preference, Taste};
pub use training::{List, Recommender, TrainingStatus};
