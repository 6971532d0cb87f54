//! Item-to-item neighbours from co-interaction, kept up to date as events arrive.
//!
//! Two items are near when the same shoppers interact with both. Each shopper's
//! contribution is divided by the log of how many items they touched (a heavy user
//! says less about any one pair: IDF of users), the cosine is taken over those
//! weights, and it is shrunk toward zero for pairs few shoppers share.
//!
//! Each item keeps its strongest partners only: when it has twice
//! [`MOST_PARTNERS`], the weakest half is dropped (amortised, a few comparisons per
//! pair added), so memory grows with the catalogue, not with shoppers × items.

use serde::{Deserialize, Serialize};

use crate::catalog::{IdMap, ItemId};

/// Partners an item keeps after pruning (it may hold up to twice as many between
/// prunings).
pub const MOST_PARTNERS: usize = 200;

/// Co-interaction counts of the pairs of items seen together (the strongest per item).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct CoInteractions {
    /// Per item number: the weighted count of shoppers who touched it.
    occurrences: Vec<f64>,
    /// Per item number, per other item: the weighted and the plain count of shoppers
    /// who touched both.
    pairs: Vec<IdMap<Pair>>,
}

#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
struct Pair {
    weighted: f64,
    shoppers: u32,
}

impl CoInteractions {
    /// A shopper who had already touched `before` touched `item` for the first time.
    pub fn add(&mut self, item: ItemId, before: &[ItemId]) {
        let idf = 1.0 / (std::f64::consts::E + before.len() as f64).ln();
        let highest = before.iter().copied().chain([item]).max().unwrap_or(item);
        if self.pairs.len() <= highest.index() {
            self.pairs.resize_with(highest.index() + 1, IdMap::default);
            self.occurrences.resize(highest.index() + 1, 0.0);
        }
        self.occurrences[item.index()] += idf;
        for &other in before.iter().filter(|other| **other != item) {
            for (a, b) in [(item, other), (other, item)] {
                let partners = &mut self.pairs[a.index()];
                let pair = partners.entry(b).or_default();
                pair.weighted += idf;
                pair.shoppers += 1;
                if partners.len() > 2 * MOST_PARTNERS {
                    prune(partners);
                }
            }
        }
    }

    /// How many shoppers touched `item` (each weighted as in the cosine).
    pub fn occurrences(&self, item: ItemId) -> f64 {
        self.occurrences.get(item.index()).copied().unwrap_or(0.0)
    }

    /// Shrunk cosine of two items (0 when never seen together).
    pub fn similarity(&self, a: ItemId, b: ItemId, shrinkage: f64) -> f64 {
        let Some(pair) = self.pairs.get(a.index()).and_then(|p| p.get(&b)) else {
            return 0.0;
        };
        self.shrunk_cosine(self.occurrences(a), b, *pair, shrinkage)
    }

    /// The shrunk cosine of a pair, given the first item's weighted count.
    fn shrunk_cosine(&self, na: f64, b: ItemId, pair: Pair, shrinkage: f64) -> f64 {
        let nb = self.occurrences(b);
        if na <= 0.0 || nb <= 0.0 {
            return 0.0;
        }
        let cosine = pair.weighted / (na * nb).sqrt();
        let shared = f64::from(pair.shoppers);
        cosine * shared / (shared + shrinkage)
    }

    /// The `k` nearest items to `item`, nearest first.
    pub fn neighbours(&self, item: ItemId, k: usize, shrinkage: f64) -> Vec<(ItemId, f64)> {
        let Some(pairs) = self.pairs.get(item.index()) else {
            return Vec::new();
        };
        let own = self.occurrences(item);
        let near: Vec<(ItemId, f64)> = pairs
            .iter()
            .map(|(&other, pair)| (other, self.shrunk_cosine(own, other, *pair, shrinkage)))
            .filter(|(_, s)| *s > 0.0)
            .collect();
        super::most_alike(near, k)
    }
}

/// Keep an item's [`MOST_PARTNERS`] strongest partners (most shoppers, then most
/// weight, then by number, so every copy prunes alike).
fn prune(partners: &mut IdMap<Pair>) {
    let mut ranked: Vec<(ItemId, Pair)> = partners.drain().collect();
    let order = |a: &(ItemId, Pair), b: &(ItemId, Pair)| {
        b.1.shoppers
            .cmp(&a.1.shoppers)
            .then_with(|| b.1.weighted.total_cmp(&a.1.weighted))
            .then_with(|| a.0.cmp(&b.0))
    };
    ranked.select_nth_unstable_by(MOST_PARTNERS, order);
    ranked.truncate(MOST_PARTNERS);
    partners.extend(ranked);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn items_shared_by_many_shoppers_are_nearer_than_a_pair_seen_once() {
        // Given three shoppers who each took a mug and a saucer, and one who took a
        // mug and a lamp
        let mut skus = Catalog::default();
        let [mug, saucer, lamp] = ["mug", "saucer", "lamp"].map(|sku| skus.intern(sku));
        let mut co = CoInteractions::default();
        for _ in 0..3 {
            co.add(mug, &[]);
            co.add(saucer, &[mug]);
        }
        co.add(mug, &[]);
        co.add(lamp, &[mug]);
        // When the mug's neighbours are asked for
        let near = co.neighbours(mug, 10, 5.0);
        // Then the saucer comes first and the lamp after it
        assert_eq!(
            near.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            [saucer, lamp]
        );
        assert!(near[0].1 > 2.0 * near[1].1);
        assert_eq!(co.similarity(saucer, mug, 5.0), near[0].1);
    }

    #[test]
    fn a_heavy_shopper_counts_less_than_a_focused_one() {
        // Given one shopper who touched two items and one who touched fifty
        let mut skus = Catalog::default();
        let [a, b] = ["a", "b"].map(|sku| skus.intern(sku));
        let mut focused = CoInteractions::default();
        focused.add(a, &[]);
        focused.add(b, &[a]);
        let mut heavy = CoInteractions::default();
        let mut before: Vec<ItemId> = (0..48).map(|i| skus.intern(&format!("x{i}"))).collect();
        heavy.add(a, &before);
        before.push(a);
        heavy.add(b, &before);
        // Then the pair weighs less when the heavy shopper made it
        let pair_weight = |co: &CoInteractions| co.pairs[a.index()][&b].weighted;
        assert!(pair_weight(&heavy) < pair_weight(&focused) / 3.0);
    }

    #[test]
    fn an_item_keeps_its_strongest_partners_only() {
        // Given a hub seen once with many items, and three times with a saucer
        let mut skus = Catalog::default();
        let [saucer, hub] = ["saucer", "hub"].map(|sku| skus.intern(sku));
        let others: Vec<ItemId> = (0..2 * MOST_PARTNERS)
            .map(|i| skus.intern(&format!("o{i}")))
            .collect();
        let mut co = CoInteractions::default();
        for _ in 0..3 {
            co.add(saucer, &[]);
            co.add(hub, &[saucer]);
        }
        for &other in &others {
            co.add(other, &[hub]);
        }
        // Then it holds no more than twice the bound, and the saucer is still there
        assert!(co.pairs[hub.index()].len() <= 2 * MOST_PARTNERS);
        assert!(co.pairs[hub.index()].len() >= MOST_PARTNERS);
        assert_eq!(co.neighbours(hub, 1, 5.0)[0].0, saucer);
    }
}
