//! Each shopper's recent interactions (weighted by kind), what they bought and what
//! they dismissed.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::{IdSet, ItemId};

/// A kind of feedback that says a shopper is interested in an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feedback {
    Viewed,
    Carted,
    Purchased,
    /// Clicked in a recommended list.
    Clicked,
}

/// One interaction kept in a shopper's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    pub item: ItemId,
    pub weight: f64,
    pub at: DateTime<Utc>,
}

/// What one shopper did lately.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct History {
    /// Newest last, at most the configured number.
    pub recent: VecDeque<Interaction>,
    pub bought: IdSet,
    pub dismissed: IdSet,
}

impl History {
    /// Record an interaction, letting the oldest fall out beyond `keep`.
    pub fn record(&mut self, interaction: Interaction, keep: usize) {
        self.recent.push_back(interaction);
        while self.recent.len() > keep {
            self.recent.pop_front();
        }
    }

    /// The distinct items of the history, oldest first.
    pub fn items(&self) -> Vec<ItemId> {
        let mut items: Vec<ItemId> = Vec::with_capacity(self.recent.len());
        for interaction in &self.recent {
            if !items.contains(&interaction.item) {
                items.push(interaction.item);
            }
        }
        items
    }

    /// The items of the history with their summed weights, each interaction's
    /// weight halved for every `half_life` interactions after it; heaviest first
    /// (ties: the earlier numbered).
    pub fn seeds(&self, half_life: usize) -> Vec<(ItemId, f64)> {
        let fade = 0.5f64.powf(1.0 / half_life.max(1) as f64);
        let mut by_item: Vec<(ItemId, f64)> = Vec::new();
        let mut recency = 1.0;
        for interaction in self.recent.iter().rev() {
            let weight = interaction.weight * recency;
            recency *= fade;
            match by_item
                .iter_mut()
                .find(|(item, _)| *item == interaction.item)
            {
                Some((_, sum)) => *sum += weight,
                None => by_item.push((interaction.item, weight)),
            }
        }
        by_item.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        by_item
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn recent_interest_outweighs_the_same_interest_long_ago() {
        // Given a shopper who bought a lamp, then viewed thirty mugs, then a vase
        let mut skus = Catalog::default();
        let mut history = History::default();
        let mut record = |sku: &str, weight: f64| {
            let item = skus.intern(sku);
            let at = DateTime::UNIX_EPOCH;
            history.record(Interaction { item, weight, at }, 50);
            item
        };
        let lamp = record("lamp", 5.0);
        let mugs: Vec<ItemId> = (0..30).map(|n| record(&format!("mug-{n}"), 1.0)).collect();
        let vase = record("vase", 1.0);
        // When its seeds are taken with a half-life of ten interactions
        let seeds = history.seeds(10);
        // Then the vase, viewed last, leads; the lamp, five times as heavy but
        // thirty-one interactions ago, counts for less than the last mug
        assert_eq!(seeds[0], (vase, 1.0));
        let weight_of = |item| seeds.iter().find(|s| s.0 == item).unwrap().1;
        assert!(weight_of(lamp) < weight_of(mugs[29]));
        assert!((weight_of(lamp) - 5.0 * 0.5f64.powf(3.1)).abs() < 1e-9);
    }
}
