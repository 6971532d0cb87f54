//! A shopper's taste read from their history: the categories (and each of their
//! ancestors) and shops they engage with, each as a share of their engagement. The
//! shopper profile store of the whole product: personalised search boosts what it
//! names, so search and recommendations read one history, not two.

use std::collections::HashMap;

use crate::catalog::Catalog;
use crate::history::History;
use crate::Model;
use event_schemas::product::category_levels;

/// A dismissal lowers its category, in lists and in taste, by this factor.
pub(crate) const DISMISSED_CATEGORY: f64 = 0.5;

/// A category or a shop, and the share of the shopper's engagement it has (0–1).
pub type Preference = (String, f32);

/// The categories and shops a shopper engages with most, strongest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Taste {
    pub categories: Vec<Preference>,
    pub shops: Vec<Preference>,
}

/// How many times the shopper dismissed an item of each category.
pub(crate) fn dismissals_by_category<'a>(
    history: Option<&History>,
    catalog: &'a Catalog,
) -> HashMap<&'a str, i32> {
    let mut dismissed_in: HashMap<&str, i32> = HashMap::new();
    for &id in history.into_iter().flat_map(|h| &h.dismissed) {
        if let Some(item) = catalog.item(id) {
            *dismissed_in.entry(item.category.as_str()).or_default() += 1;
        }
    }
    dismissed_in
}

impl Model {
    /// `user_id`'s taste, at most `limit` categories and `limit` shops, or `None` for
    /// a shopper with no interaction with a known item. Recent interactions count
    /// most (the seeds' recency half-life), and each dismissal halves its category.
    pub fn taste(&self, user_id: &str, limit: usize) -> Option<Taste> {
        let history = self.histories.get(user_id)?;
        let dismissed_in = dismissals_by_category(Some(history), &self.catalog);
        let mut total = 0.0;
        let mut categories: HashMap<String, f64> = HashMap::new();
        let mut shops: HashMap<String, f64> = HashMap::new();
        for (id, weight) in history.seeds(self.config.recency_half_life) {
            let Some(item) = self.catalog.item(id) else {
                continue;
            };
            // The total counts the weight before the dismissals, so a dismissal lowers
            // its category's share even for a shopper of one category.
            total += weight;
            let dismissals = dismissed_in.get(item.category.as_str()).copied();
            let weight = weight * DISMISSED_CATEGORY.powi(dismissals.unwrap_or(0));
            for level in category_levels(&item.category) {
                *categories.entry(level).or_default() += weight;
            }
            *shops.entry(item.shop_id.clone()).or_default() += weight;
        }
        if total <= 0.0 {
            return None;
        }
        let strongest = |weights: HashMap<String, f64>| {
            let mut top: Vec<Preference> = weights
                .into_iter()
                .map(|(key, weight)| (key, (weight / total) as f32))
                .collect();
            top.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            top.truncate(limit);
            top
        };
        Some(Taste {
            categories: strongest(categories),
            shops: strongest(shops),
        })
    }
}
