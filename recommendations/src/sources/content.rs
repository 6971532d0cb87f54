//! Content similarity: TF-IDF over each item's category path, tags, materials and
//! title words. A new item has neighbours as soon as it is listed.
//!
//! Terms are numbered as they are first seen and each item keeps its term numbers
//! sorted, so a similarity is a merge of two short integer lists (no string is
//! compared or hashed on the hot path).
//!
//! Each item's nearest items are worked out when it is listed, and it takes its
//! place in their lists, so a list reads neighbours instead of scoring hundreds of
//! items per seed (reading their terms is what a lookup spends its time on). The
//! similarities are those of the catalogue when they were worked out; an item moved
//! by a relisting keeps its old place in others' lists until they are next worked out.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{IdMap, IdSet, ItemId};

/// Most items one similarity query looks at (rare terms are looked at first, so
/// these are the items sharing the most telling terms).
const CANDIDATES: usize = 300;
/// Nearest items kept per item.
pub const NEAREST: usize = 50;

/// Each item's terms and, per term, the items that have it.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct ContentIndex {
    /// A term's text to its number.
    term_ids: HashMap<String, u32>,
    /// Per term number: the items that have it.
    postings: Vec<IdSet>,
    /// Per item number: its term numbers, sorted (None: not indexed).
    items: Vec<Option<Vec<u32>>>,
    /// How many items are indexed.
    indexed: usize,
    /// Per item number: its nearest items, most alike first.
    nearest: Vec<Vec<(ItemId, f32)>>,
}

impl ContentIndex {
    /// Index `item` with `terms` (replacing what it had).
    pub fn set(&mut self, item: ItemId, terms: Vec<String>) {
        self.remove(item);
        let mut ids: Vec<u32> = terms
            .into_iter()
            .map(|term| {
                let next = self.term_ids.len() as u32;
                let id = *self.term_ids.entry(term).or_insert(next);
                if id as usize == self.postings.len() {
                    self.postings.push(IdSet::default());
                }
                id
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for &id in &ids {
            self.postings[id as usize].insert(item);
        }
        if self.items.len() <= item.index() {
            self.items.resize(item.index() + 1, None);
            self.nearest.resize(item.index() + 1, Vec::new());
        }
        self.items[item.index()] = Some(ids);
        self.indexed += 1;
        let nearest: Vec<(ItemId, f32)> = self
            .scorer()
            .neighbours(item, NEAREST)
            .into_iter()
            .map(|(other, similarity)| (other, similarity as f32))
            .collect();
        for &(other, similarity) in &nearest {
            take_place(&mut self.nearest[other.index()], item, similarity);
        }
        self.nearest[item.index()] = nearest;
    }

    /// The items nearest `item` when it was listed, or that were listed near it
    /// since; most alike first.
    pub fn nearest(&self, item: ItemId) -> &[(ItemId, f32)] {
        self.nearest.get(item.index()).map_or(&[], Vec::as_slice)
    }

    pub fn remove(&mut self, item: ItemId) {
        let Some(ids) = self.items.get_mut(item.index()).and_then(Option::take) else {
            return;
        };
        for id in ids {
            self.postings[id as usize].remove(&item);
        }
        self.indexed -= 1;
        self.nearest[item.index()].clear();
    }

    fn terms(&self, item: ItemId) -> Option<&[u32]> {
        self.items.get(item.index())?.as_deref()
    }

    /// A scorer for one list: each term's and item's weight is worked out once.
    pub fn scorer(&self) -> ContentScorer<'_> {
        ContentScorer {
            index: self,
            term_weights: vec![0.0; self.postings.len()],
            norms: IdMap::default(),
            picked_weights: Vec::new(),
        }
    }
}

/// Content similarities for one list. A term's weight (its IDF squared) depends on
/// the whole catalogue, so it is computed when first needed and kept for the list
/// (by term number: a list looks up tens of thousands).
pub struct ContentScorer<'a> {
    index: &'a ContentIndex,
    /// Per term number: its weight, 0 until computed (a weight is never 0).
    term_weights: Vec<f64>,
    norms: IdMap<f64>,
    /// Per term number: its weight when the item [`ContentScorer::raise_likeness`]
    /// compares with has it, else 0 (allocated at its first use).
    picked_weights: Vec<f64>,
}

/// An item's sorted term numbers and the norm of its TF-IDF vector.
pub struct Prepared<'a> {
    terms: &'a [u32],
    norm: f64,
}

impl<'a> ContentScorer<'a> {
    fn weight(&mut self, term: u32) -> f64 {
        let known = &mut self.term_weights[term as usize];
        if *known == 0.0 {
            let df = self.index.postings[term as usize].len().max(1) as f64;
            *known = (1.0 + self.index.indexed as f64 / df).ln().powi(2);
        }
        *known
    }

    fn norm(&mut self, item: ItemId, terms: &[u32]) -> f64 {
        if let Some(&norm) = self.norms.get(&item) {
            return norm;
        }
        let norm = terms.iter().map(|&t| self.weight(t)).sum::<f64>().sqrt();
        self.norms.insert(item, norm);
        norm
    }

    /// Cosine of two items' TF-IDF vectors.
    pub fn similarity(&mut self, a: ItemId, b: ItemId) -> f64 {
        let (Some(a), Some(b)) = (self.prepare(a), self.prepare(b)) else {
            return 0.0;
        };
        shared_terms(a.terms, b.terms)
            .map(|term| self.weight(term))
            .sum::<f64>()
            / (a.norm * b.norm)
    }

    /// An item's terms and norm, looked up once for the many similarities a list's
    /// re-ranking takes of the same few items (None: not indexed, or no terms).
    pub fn prepare(&mut self, item: ItemId) -> Option<Prepared<'a>> {
        let index: &'a ContentIndex = self.index;
        let terms = index.terms(item)?;
        let norm = self.norm(item, terms);
        (norm > 0.0).then_some(Prepared { terms, norm })
    }

    /// Raise each of `others`' likeness to its cosine with `picked` where that is
    /// higher (a re-ranking compares every pick with the whole pool).
    ///
    /// The picked item's term weights are laid out by term number first, so each
    /// cosine reads a few table entries instead of merging two lists, whose
    /// comparisons the processor cannot predict. The shared terms are added in the
    /// same order as a merge adds them, so the cosine is the same to the bit.
    pub fn raise_likeness<'p, 'x: 'p>(
        &mut self,
        picked: &Prepared,
        others: impl Iterator<Item = (&'p Prepared<'x>, &'p mut f64)>,
    ) {
        if self.picked_weights.is_empty() {
            self.picked_weights = vec![0.0; self.index.postings.len()];
        }
        for &term in picked.terms {
            self.picked_weights[term as usize] = self.weight(term);
        }
        for (other, likeness) in others {
            let shared: f64 = other
                .terms
                .iter()
                .map(|&term| self.picked_weights[term as usize])
                .sum();
            *likeness = likeness.max(shared / (other.norm * picked.norm));
        }
        for &term in picked.terms {
            self.picked_weights[term as usize] = 0.0;
        }
    }

    /// The `k` items most like `item`, most alike first.
    pub fn neighbours(&mut self, item: ItemId, k: usize) -> Vec<(ItemId, f64)> {
        let index = self.index;
        let Some(terms) = index.terms(item) else {
            return Vec::new();
        };
        // Rare terms first: they say most, and their posting lists are short.
        let mut by_rarity: Vec<u32> = terms.to_vec();
        by_rarity.sort_by_key(|&term| index.postings[term as usize].len());
        let mut candidates: IdSet = IdSet::default();
        'terms: for term in by_rarity {
            for &other in &index.postings[term as usize] {
                if candidates.len() >= CANDIDATES {
                    break 'terms;
                }
                candidates.insert(other);
            }
        }
        candidates.remove(&item);
        let near: Vec<(ItemId, f64)> = candidates
            .into_iter()
            .map(|other| (other, self.similarity(item, other)))
            .filter(|(_, similarity)| *similarity > 0.0)
            .collect();
        super::most_alike(near, k)
    }
}

/// Put `item` in a list of nearest items (sorted, most alike first, at most
/// [`NEAREST`]) if it is among them.
fn take_place(list: &mut Vec<(ItemId, f32)>, item: ItemId, similarity: f32) {
    list.retain(|(other, _)| *other != item);
    let place =
        list.partition_point(|(other, s)| *s > similarity || (*s == similarity && *other < item));
    if place < NEAREST {
        list.insert(place, (item, similarity));
        list.truncate(NEAREST);
    }
}

/// The term numbers two sorted lists share (a merge: no hashing).
fn shared_terms<'a>(a: &'a [u32], b: &'a [u32]) -> impl Iterator<Item = u32> + 'a {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    i += 1;
                    j += 1;
                    return Some(a[i - 1]);
                }
            }
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn terms(list: &[&str]) -> Vec<String> {
        let mut terms: Vec<String> = list.iter().map(|t| t.to_string()).collect();
        terms.sort();
        terms
    }

    #[test]
    fn a_new_item_has_neighbours_at_once_and_rare_shared_terms_count_most() {
        // Given a catalog of kitchen things
        let mut skus = Catalog::default();
        let [mug, pan, lamp, bowl] = ["mug", "pan", "lamp", "bowl"].map(|sku| skus.intern(sku));
        let mut index = ContentIndex::default();
        index.set(
            mug,
            terms(&["c:home", "c:home/kitchen", "m:stoneware", "w:mug"]),
        );
        index.set(
            pan,
            terms(&["c:home", "c:home/kitchen", "m:steel", "w:pan"]),
        );
        index.set(
            lamp,
            terms(&["c:home", "c:home/light", "m:brass", "w:lamp"]),
        );
        // When a stoneware bowl is listed
        index.set(
            bowl,
            terms(&["c:home", "c:home/kitchen", "m:stoneware", "w:bowl"]),
        );
        // Then the mug (same category and material) is nearest, the pan next, the lamp last
        let near = index.scorer().neighbours(bowl, 5);
        let order: Vec<ItemId> = near.iter().map(|(id, _)| *id).collect();
        assert_eq!(order, [mug, pan, lamp]);
        assert!((index.scorer().similarity(bowl, mug) - near[0].1).abs() < 1e-12);
        // And the bowl's nearest are kept, and it has taken its place in the mug's
        let kept: Vec<ItemId> = index.nearest(bowl).iter().map(|(id, _)| *id).collect();
        assert_eq!(kept, [mug, pan, lamp]);
        assert_eq!(index.nearest(mug)[0].0, bowl);
    }

    #[test]
    fn a_removed_item_is_nobody_s_neighbour() {
        let mut skus = Catalog::default();
        let [a, b] = ["a", "b"].map(|sku| skus.intern(sku));
        let mut index = ContentIndex::default();
        index.set(a, terms(&["c:x", "w:one"]));
        index.set(b, terms(&["c:x", "w:two"]));
        index.remove(b);
        assert!(index.scorer().neighbours(a, 5).is_empty());
        assert_eq!(index.scorer().similarity(a, b), 0.0);
        assert!(index.nearest(b).is_empty());
    }

    #[test]
    fn raising_likeness_to_a_pick_gives_each_item_its_cosine_with_it() {
        // Given a mug, a pan sharing its category, a lamp sharing only the top
        // level, and a rug sharing nothing
        let mut skus = Catalog::default();
        let [mug, pan, lamp, rug] = ["mug", "pan", "lamp", "rug"].map(|sku| skus.intern(sku));
        let mut index = ContentIndex::default();
        index.set(mug, terms(&["c:home", "c:home/kitchen", "w:mug"]));
        index.set(pan, terms(&["c:home", "c:home/kitchen", "w:pan"]));
        index.set(lamp, terms(&["c:home", "c:home/light", "w:lamp"]));
        index.set(rug, terms(&["c:floor", "w:rug"]));
        let mut scorer = index.scorer();
        let picked = scorer.prepare(mug).unwrap();
        let others: Vec<Prepared> = [pan, lamp, rug]
            .map(|item| scorer.prepare(item).unwrap())
            .into();
        // When the pan's likeness is already higher than its cosine, and the others
        // start from nothing
        let mut likeness = [2.0, 0.0, 0.0];
        scorer.raise_likeness(&picked, others.iter().zip(likeness.iter_mut()));
        // Then the pan keeps its own, and the lamp and rug get exactly their cosine
        // with the mug (the rug's is 0)
        assert_eq!(likeness[0], 2.0);
        assert_eq!(likeness[1], scorer.similarity(mug, lamp));
        assert!(likeness[1] > 0.0);
        assert_eq!(likeness[2], 0.0);
        // And a second pick starts from a clean table
        let rug_terms = scorer.prepare(rug).unwrap();
        let mut pan_likeness = [0.0];
        scorer.raise_likeness(&rug_terms, others[..1].iter().zip(pan_likeness.iter_mut()));
        assert_eq!(pan_likeness[0], 0.0);
    }
}
