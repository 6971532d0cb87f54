//! Offline evaluation: interactions and items as the common atomic files give them,
//! split leave-last-out by time, every model asked for each held-out shopper's top
//! ten over the whole catalogue, and the usual figures (HR, NDCG, recall, coverage,
//! intra-list diversity, novelty) for all of them from one split.
//!
//! * [`atomic`] — read and write the tab-separated `.inter` and `.item` files.
//! * [`split`] — leave-last-out by time.
//! * [`baselines`] — popularity and ItemKNN, the yardsticks.
//! * [`als`] — implicit-feedback ALS (latent factors).
//! * [`metrics`] — the figures of one model's lists.
//! * [`evaluate`] — every model on one split.

pub mod als;
pub mod atomic;
pub mod baselines;
pub mod evaluate;
pub mod metrics;
pub mod split;

#[cfg(test)]
mod tests;

/// One interaction: a shopper, an item, how strong (1 view, 3 cart, 5 purchase) and
/// when (seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    pub user: String,
    pub item: String,
    pub rating: f64,
    pub timestamp: f64,
}

/// What is known of an item beside its id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemInfo {
    pub item: String,
    pub title: String,
    pub category: String,
    pub shop: String,
    pub tags: Vec<String>,
    pub materials: Vec<String>,
}

/// A model under evaluation: the top `k` items for a shopper, never one of `seen`.
pub trait Ranker {
    fn name(&self) -> &str;
    fn top(&self, user: &str, seen: &std::collections::HashSet<&str>, k: usize) -> Vec<String>;
}
