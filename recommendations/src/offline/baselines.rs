//! The yardsticks: most popular first, and classic ItemKNN (cosine over who touched
//! what, top neighbours per item, a shopper's items voting for their neighbours).

use std::collections::{HashMap, HashSet};

use super::{Interaction, Ranker};

/// Items by how much they were interacted with (ratings summed).
pub struct Popularity {
    ranked: Vec<String>,
}

impl Popularity {
    pub fn train(train: &[Interaction]) -> Self {
        let mut counts: HashMap<&str, f64> = HashMap::new();
        for i in train {
            *counts.entry(&i.item).or_default() += i.rating;
        }
        let mut ranked: Vec<(&str, f64)> = counts.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        Self {
            ranked: ranked
                .into_iter()
                .map(|(item, _)| item.to_string())
                .collect(),
        }
    }
}

impl Ranker for Popularity {
    fn name(&self) -> &str {
        "popularity"
    }
    fn top(&self, _user: &str, seen: &HashSet<&str>, k: usize) -> Vec<String> {
        self.ranked
            .iter()
            .filter(|item| !seen.contains(item.as_str()))
            .take(k)
            .cloned()
            .collect()
    }
}

/// Neighbours kept per item.
const NEIGHBOURS: usize = 50;

/// Cosine between items over the binary shopper × item matrix; a shopper's score for
/// an item is the sum of its similarity to each of their items (among their top
/// neighbours).
pub struct ItemKnn {
    neighbours: HashMap<String, Vec<(String, f64)>>,
    histories: HashMap<String, Vec<String>>,
}

impl ItemKnn {
    pub fn train(train: &[Interaction]) -> Self {
        let mut histories: HashMap<String, Vec<String>> = HashMap::new();
        for i in train {
            let items = histories.entry(i.user.clone()).or_default();
            if !items.contains(&i.item) {
                items.push(i.item.clone());
            }
        }
        let mut counts: HashMap<&str, f64> = HashMap::new();
        let mut pairs: HashMap<(&str, &str), f64> = HashMap::new();
        for items in histories.values() {
            for (n, a) in items.iter().enumerate() {
                *counts.entry(a).or_default() += 1.0;
                for b in &items[..n] {
                    *pairs.entry((a, b)).or_default() += 1.0;
                    *pairs.entry((b, a)).or_default() += 1.0;
                }
            }
        }
        let mut all: HashMap<String, Vec<(String, f64)>> = HashMap::new();
        for ((a, b), together) in pairs {
            let cosine = together / (counts[a] * counts[b]).sqrt();
            all.entry(a.to_string())
                .or_default()
                .push((b.to_string(), cosine));
        }
        for list in all.values_mut() {
            list.sort_by(|x, y| y.1.total_cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
            list.truncate(NEIGHBOURS);
        }
        Self {
            neighbours: all,
            histories,
        }
    }
}

impl Ranker for ItemKnn {
    fn name(&self) -> &str {
        "item_knn"
    }
    fn top(&self, user: &str, seen: &HashSet<&str>, k: usize) -> Vec<String> {
        let mut scores: HashMap<&str, f64> = HashMap::new();
        for item in self.histories.get(user).into_iter().flatten() {
            for (other, similarity) in self.neighbours.get(item).into_iter().flatten() {
                if !seen.contains(other.as_str()) {
                    *scores.entry(other).or_default() += similarity;
                }
            }
        }
        top_of(scores, k)
    }
}

/// The `k` best-scored, ties by id.
pub fn top_of(scores: HashMap<&str, f64>, k: usize) -> Vec<String> {
    let mut ranked: Vec<(&str, f64)> = scores.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    ranked
        .into_iter()
        .take(k)
        .map(|(item, _)| item.to_string())
        .collect()
}
