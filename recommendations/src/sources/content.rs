//! Content similarity: TF-IDF over each item's category path, tags, materials and
//! title words. A new item has neighbours as soon as it is listed.
//!
//! Terms are numbered as they are first seen and each item keeps its term numbers
//! sorted, so a similarity is a merge of two short integer lists (no string is
//! compared or hashed on the hot path).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

/// Most items one similarity query looks at (rare terms are looked at first, so
/// these are the items sharing the most telling terms).
const CANDIDATES: usize = 500;

/// Each item's terms and, per term, the items that have it.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct ContentIndex {
    /// A term's text to its number.
    term_ids: HashMap<String, u32>,
    /// Per term number: the items that have it.
    postings: Vec<HashSet<String>>,
    /// Per item: its term numbers, sorted.
    items: HashMap<String, Vec<u32>>,
}

impl ContentIndex {
    /// Index `sku` with `terms` (replacing what it had).
    pub fn set(&mut self, sku: &str, terms: Vec<String>) {
        self.remove(sku);
        let mut ids: Vec<u32> = terms
            .into_iter()
            .map(|term| {
                let next = self.term_ids.len() as u32;
                let id = *self.term_ids.entry(term).or_insert(next);
                if id as usize == self.postings.len() {
                    self.postings.push(HashSet::new());
                }
                id
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for &id in &ids {
            self.postings[id as usize].insert(sku.to_string());
        }
        self.items.insert(sku.to_string(), ids);
    }

    pub fn remove(&mut self, sku: &str) {
        for id in self.items.remove(sku).unwrap_or_default() {
            self.postings[id as usize].remove(sku);
        }
    }

    fn idf(&self, id: u32) -> f64 {
        let df = self.postings[id as usize].len().max(1) as f64;
        (1.0 + self.items.len() as f64 / df).ln()
    }

    /// Each term's weight (idf squared) and the norm, of one item's terms.
    fn weights(&self, ids: &[u32]) -> (Vec<f64>, f64) {
        let weights: Vec<f64> = ids.iter().map(|&id| self.idf(id).powi(2)).collect();
        let norm = weights.iter().sum::<f64>().sqrt();
        (weights, norm)
    }

    /// Cosine of two items' TF-IDF vectors.
    pub fn similarity(&self, a: &str, b: &str) -> f64 {
        let (Some(ta), Some(tb)) = (self.items.get(a), self.items.get(b)) else {
            return 0.0;
        };
        let (wa, na) = self.weights(ta);
        let (_, nb) = self.weights(tb);
        cosine(ta, &wa, na, tb, nb)
    }

    /// The `k` items most like `sku`, most alike first.
    pub fn neighbours(&self, sku: &str, k: usize) -> Vec<(String, f64)> {
        let Some(ids) = self.items.get(sku) else {
            return Vec::new();
        };
        // Rare terms first: they say most, and their posting lists are short.
        let mut by_rarity: Vec<u32> = ids.clone();
        by_rarity.sort_by_key(|&id| self.postings[id as usize].len());
        let mut candidates: HashSet<&String> = HashSet::new();
        'terms: for id in by_rarity {
            for other in &self.postings[id as usize] {
                if candidates.len() >= CANDIDATES {
                    break 'terms;
                }
                candidates.insert(other);
            }
        }
        let (weights, norm) = self.weights(ids);
        let mut near: Vec<(&String, f64)> = candidates
            .into_iter()
            .filter(|other| other.as_str() != sku)
            .filter_map(|other| {
                let theirs = self.items.get(other.as_str())?;
                let (_, their_norm) = self.weights(theirs);
                let similarity = cosine(ids, &weights, norm, theirs, their_norm);
                (similarity > 0.0).then_some((other, similarity))
            })
            .collect();
        near.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        near.truncate(k);
        near.into_iter().map(|(sku, s)| (sku.clone(), s)).collect()
    }
}

/// The cosine of `a` (its sorted term numbers, their weights, its norm) and `b`
/// (terms and norm): the weights of the shared terms over the norms.
fn cosine(a: &[u32], weights: &[f64], norm_a: f64, b: &[u32], norm_b: f64) -> f64 {
    let norms = norm_a * norm_b;
    if norms <= 0.0 {
        return 0.0;
    }
    let (mut i, mut j, mut shared) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += weights[i];
                i += 1;
                j += 1;
            }
        }
    }
    shared / norms
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
