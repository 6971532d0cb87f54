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

    /// The items of the history with their summed weights, heaviest first (ties:
    /// the earlier numbered).
    pub fn seeds(&self) -> Vec<(ItemId, f64)> {
        let mut by_item: Vec<(ItemId, f64)> = Vec::new();
        for interaction in &self.recent {
            match by_item.iter_mut().find(|(item, _)| *item == interaction.item) {
                Some((_, weight)) => *weight += interaction.weight,
                None => by_item.push((interaction.item, interaction.weight)),
            }
        }
        by_item.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        by_item
    }
}
