//! The figures of one model's top-k lists against the held-out items.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

/// One model's figures (each a mean over the test shoppers, but coverage).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Share of shoppers whose held-out item is in their list.
    pub hr_at_10: f64,
    /// Discounted by the rank it is found at (1 at the top).
    pub ndcg_at_10: f64,
    /// Share of each shopper's held-out items found (one per shopper here).
    pub recall_at_10: f64,
    /// Share of the catalogue that is in anyone's list.
    pub coverage_at_10: f64,
    /// Mean dissimilarity (1 − content cosine) of the pairs in a list.
    pub intra_list_diversity: f64,
    /// Mean −log2 of the share of shoppers who touched a listed item.
    pub novelty: f64,
    /// Mean list length (a model may have fewer than k to offer).
    pub list_length: f64,
}

/// What the figures are computed against.
pub struct Truth<'a> {
    pub catalogue: usize,
    /// Share of training shoppers who touched each item.
    pub popularity: &'a HashMap<String, f64>,
    /// Content similarity of two items.
    pub similarity: &'a dyn Fn(&str, &str) -> f64,
}

/// Figures of `lists` (one per test shopper, with the held-out item).
pub fn figures(lists: &[(Vec<String>, &str)], truth: &Truth) -> Figures {
    let n = lists.len().max(1) as f64;
    let mut figures = Figures::default();
    let mut shown: HashSet<&str> = HashSet::new();
    let mut diversity_lists = 0.0f64;
    let mut novelty_items = 0.0f64;
    for (list, held_out) in lists {
        if let Some(rank) = list.iter().position(|item| item == held_out) {
            figures.hr_at_10 += 1.0;
            figures.recall_at_10 += 1.0;
            figures.ndcg_at_10 += 1.0 / ((rank + 2) as f64).log2();
        }
        shown.extend(list.iter().map(String::as_str));
        figures.list_length += list.len() as f64;
        if list.len() >= 2 {
            let mut sum = 0.0;
            let mut pairs = 0.0;
            for (i, a) in list.iter().enumerate() {
                for b in &list[i + 1..] {
                    sum += 1.0 - (truth.similarity)(a, b);
                    pairs += 1.0;
                }
            }
            figures.intra_list_diversity += sum / pairs;
            diversity_lists += 1.0;
        }
        for item in list {
            let share = truth.popularity.get(item).copied().unwrap_or(0.0);
            figures.novelty += -(share.max(1e-9)).log2();
            novelty_items += 1.0;
        }
    }
    figures.hr_at_10 /= n;
    figures.recall_at_10 /= n;
    figures.ndcg_at_10 /= n;
    figures.list_length /= n;
    figures.coverage_at_10 = shown.len() as f64 / truth.catalogue.max(1) as f64;
    figures.intra_list_diversity /= diversity_lists.max(1.0);
    figures.novelty /= novelty_items.max(1.0);
    figures
}
