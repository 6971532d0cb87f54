//! Content similarity: TF-IDF over each item's category path, tags, materials and
//! title words. A new item has neighbours as soon as it is listed.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::collaborative::top;

/// Most items one similarity query looks at (rare terms are looked at first).
const CANDIDATES: usize = 2_000;

/// Each item's terms and, per term, the items that have it.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct ContentIndex {
    terms: HashMap<String, Vec<String>>,
    postings: HashMap<String, HashSet<String>>,
}

impl ContentIndex {
    /// Index `sku` with `terms` (replacing what it had).
    pub fn set(&mut self, sku: &str, terms: Vec<String>) {
        self.remove(sku);
        for term in &terms {
            self.postings
                .entry(term.clone())
                .or_default()
                .insert(sku.to_string());
        }
        self.terms.insert(sku.to_string(), terms);
    }

    pub fn remove(&mut self, sku: &str) {
        for term in self.terms.remove(sku).unwrap_or_default() {
            if let Some(items) = self.postings.get_mut(&term) {
                items.remove(sku);
                if items.is_empty() {
                    self.postings.remove(&term);
                }
            }
        }
    }

    fn idf(&self, term: &str) -> f64 {
        let df = self.postings.get(term).map_or(0, HashSet::len).max(1) as f64;
        (1.0 + self.terms.len() as f64 / df).ln()
    }

    fn norm(&self, sku: &str) -> f64 {
        self.terms
            .get(sku)
            .map(|terms| {
                terms
                    .iter()
                    .map(|t| self.idf(t).powi(2))
                    .sum::<f64>()
                    .sqrt()
            })
            .unwrap_or(0.0)
    }

    /// Cosine of two items' TF-IDF vectors.
    pub fn similarity(&self, a: &str, b: &str) -> f64 {
        let (Some(ta), Some(tb)) = (self.terms.get(a), self.terms.get(b)) else {
            return 0.0;
        };
        let shared: f64 = ta
            .iter()
            .filter(|t| tb.binary_search(t).is_ok())
            .map(|t| self.idf(t).powi(2))
            .sum();
        let norms = self.norm(a) * self.norm(b);
        if norms > 0.0 {
            shared / norms
        } else {
            0.0
        }
    }

    /// The `k` items most like `sku`, most alike first.
    pub fn neighbours(&self, sku: &str, k: usize) -> Vec<(String, f64)> {
        let Some(terms) = self.terms.get(sku) else {
            return Vec::new();
        };
        // Rare terms first: they say most, and their posting lists are short.
        let mut by_rarity: Vec<&String> = terms.iter().collect();
        by_rarity.sort_by_key(|t| self.postings.get(*t).map_or(0, HashSet::len));
        let mut candidates: HashSet<&String> = HashSet::new();
        for term in by_rarity {
            if candidates.len() >= CANDIDATES {
                break;
            }
            candidates.extend(self.postings.get(term).into_iter().flatten());
        }
        let mut near: Vec<(String, f64)> = candidates
            .into_iter()
            .filter(|other| other.as_str() != sku)
            .map(|other| (other.clone(), self.similarity(sku, other)))
            .filter(|(_, s)| *s > 0.0)
            .collect();
        top(&mut near, k);
        near
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(list: &[&str]) -> Vec<String> {
        let mut terms: Vec<String> = list.iter().map(|t| t.to_string()).collect();
        terms.sort();
        terms
    }

    #[test]
    fn a_new_item_has_neighbours_at_once_and_rare_shared_terms_count_most() {
        // Given a catalog of kitchen things
        let mut index = ContentIndex::default();
        index.set(
            "mug",
            terms(&["c:home", "c:home/kitchen", "m:stoneware", "w:mug"]),
        );
        index.set(
            "pan",
            terms(&["c:home", "c:home/kitchen", "m:steel", "w:pan"]),
        );
        index.set(
            "lamp",
            terms(&["c:home", "c:home/light", "m:brass", "w:lamp"]),
        );
        // When a stoneware bowl is listed
        index.set(
            "bowl",
            terms(&["c:home", "c:home/kitchen", "m:stoneware", "w:bowl"]),
        );
        // Then the mug (same category and material) is nearest, the pan next, the lamp last
        let near = index.neighbours("bowl", 5);
        let order: Vec<&str> = near.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(order, ["mug", "pan", "lamp"]);
        assert!((index.similarity("bowl", "mug") - near[0].1).abs() < 1e-12);
    }

    #[test]
    fn a_removed_item_is_nobody_s_neighbour() {
        let mut index = ContentIndex::default();
        index.set("a", terms(&["c:x", "w:one"]));
        index.set("b", terms(&["c:x", "w:two"]));
        index.remove("b");
        assert!(index.neighbours("a", 5).is_empty());
        assert_eq!(index.similarity("a", "b"), 0.0);
    }
}
