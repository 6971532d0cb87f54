//! Trending: exponentially decayed interaction counts per item and per category.
//!
//! Counts are kept as logarithms scaled to a fixed origin, `ln(w) + t·ln2/half_life`,
//! so decay never has to be applied to stored values: every item decays at the same
//! rate, the ranking does not change with time, and the value at `now` is one
//! subtraction away.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use event_schemas::product::category_levels;
use serde::{Deserialize, Serialize};

use crate::catalog::ItemId;

/// Decayed counts of items and categories, and the items ranked by theirs, over
/// the whole catalogue and within each category.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trending {
    origin: DateTime<Utc>,
    rate: f64,
    /// Per item number: its log-count, once counted.
    items: Vec<Option<f64>>,
    ranking: BTreeSet<(Score, ItemId)>,
    /// Per category path (every level): its log-count.
    categories: HashMap<String, f64>,
    /// Per category (as the item names it): its items ranked.
    rankings_in: HashMap<String, BTreeSet<(Score, ItemId)>>,
    /// Per item number: the category it is ranked in.
    ranked_in: Vec<Option<String>>,
    /// Every count together (log), once anything is counted.
    total: Option<f64>,
}

/// A log-count in the ranking (totally ordered).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Score(f64);

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl Trending {
    pub fn new(half_life: Duration, origin: DateTime<Utc>) -> Self {
        let seconds = half_life.num_milliseconds().max(1) as f64 / 1000.0;
        Self {
            origin,
            rate: std::f64::consts::LN_2 / seconds,
            items: Vec::new(),
            ranking: BTreeSet::new(),
            categories: HashMap::new(),
            rankings_in: HashMap::new(),
            ranked_in: Vec::new(),
            total: None,
        }
    }

    fn scaled(&self, weight: f64, at: DateTime<Utc>) -> f64 {
        weight.ln() + self.elapsed(at) * self.rate
    }

    fn elapsed(&self, at: DateTime<Utc>) -> f64 {
        (at - self.origin).num_milliseconds() as f64 / 1000.0
    }

    /// Count `weight` for `item` (and every level of its `category`) at `at`.
    pub fn add(&mut self, item: ItemId, category: &str, weight: f64, at: DateTime<Utc>) {
        if weight <= 0.0 {
            return;
        }
        let added = self.scaled(weight, at);
        if self.items.len() <= item.index() {
            self.items.resize(item.index() + 1, None);
            self.ranked_in.resize(item.index() + 1, None);
        }
        let old = self.items[item.index()];
        let new = old.map_or(added, |old| log_add(old, added));
        self.items[item.index()] = Some(new);
        if let Some(old) = old {
            self.ranking.remove(&(Score(old), item));
        }
        self.ranking.insert((Score(new), item));
        // Ranked in the category the item has now (a relisting may have moved it).
        if let Some((old, was_in)) = old.zip(self.ranked_in[item.index()].take()) {
            if let Some(ranking) = self.rankings_in.get_mut(&was_in) {
                ranking.remove(&(Score(old), item));
            }
        }
        self.rankings_in
            .entry(category.to_string())
            .or_default()
            .insert((Score(new), item));
        self.ranked_in[item.index()] = Some(category.to_string());
        self.total = Some(self.total.map_or(added, |total| log_add(total, added)));
        for level in category_levels(category) {
            let entry = self.categories.entry(level).or_insert(f64::NEG_INFINITY);
            *entry = log_add(*entry, added);
        }
    }

    /// The decayed count of `item` at `now`.
    pub fn item(&self, item: ItemId, now: DateTime<Utc>) -> f64 {
        self.items
            .get(item.index())
            .copied()
            .flatten()
            .map_or(0.0, |log| (log - self.elapsed(now) * self.rate).exp())
    }

    /// The decayed count of a category (every item under it) at `now`.
    pub fn category(&self, category: &str, now: DateTime<Utc>) -> f64 {
        self.categories
            .get(category)
            .map_or(0.0, |log| (log - self.elapsed(now) * self.rate).exp())
    }

    /// Every count together at `now`.
    pub fn total(&self, now: DateTime<Utc>) -> f64 {
        self.total
            .map_or(0.0, |total| (total - self.elapsed(now) * self.rate).exp())
    }

    /// The `k` most trending items that `keep` accepts, with their counts at `now`,
    /// looking at no more than `scan` items.
    pub fn top(
        &self,
        k: usize,
        scan: usize,
        now: DateTime<Utc>,
        keep: impl Fn(ItemId) -> bool,
    ) -> Vec<(ItemId, f64)> {
        self.top_of(&self.ranking, k, scan, now, keep)
    }

    /// As [`Trending::top`], among the items of `category` (as items name it, not
    /// a level above).
    pub fn top_in(
        &self,
        category: &str,
        k: usize,
        scan: usize,
        now: DateTime<Utc>,
        keep: impl Fn(ItemId) -> bool,
    ) -> Vec<(ItemId, f64)> {
        match self.rankings_in.get(category) {
            Some(ranking) => self.top_of(ranking, k, scan, now, keep),
            None => Vec::new(),
        }
    }

    fn top_of(
        &self,
        ranking: &BTreeSet<(Score, ItemId)>,
        k: usize,
        scan: usize,
        now: DateTime<Utc>,
        keep: impl Fn(ItemId) -> bool,
    ) -> Vec<(ItemId, f64)> {
        let decay = self.elapsed(now) * self.rate;
        ranking
            .iter()
            .rev()
            .take(scan)
            .filter(|(_, item)| keep(*item))
            .take(k)
            .map(|(score, item)| (*item, (score.0 - decay).exp()))
            .collect()
    }
}

/// `ln(e^a + e^b)` without overflow.
fn log_add(a: f64, b: f64) -> f64 {
    let (high, low) = if a > b { (a, b) } else { (b, a) };
    if low == f64::NEG_INFINITY {
        return high;
    }
    high + (low - high).exp().ln_1p()
}

/// Whether `category` is `asked` or under it (`asked` one of its [`category_levels`]),
/// without building the levels: this runs once per candidate.
pub(crate) fn is_under(category: &str, asked: &str) -> bool {
    let mut parts = category.split('/').filter(|p| !p.is_empty());
    asked
        .split('/')
        .all(|want| !want.is_empty() && parts.next() == Some(want))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::hours(hours)
    }

    #[test]
    fn counts_halve_every_half_life_and_recent_interest_outranks_old() {
        // Given a half-life of a day, four purchases of a mug at hour 0 and two of a
        // lamp at hour 48
        let mut skus = Catalog::default();
        let [mug, lamp] = ["mug", "lamp"].map(|sku| skus.intern(sku));
        let mut trending = Trending::new(Duration::hours(24), at(0));
        for _ in 0..4 {
            trending.add(mug, "home/kitchen", 5.0, at(0));
        }
        trending.add(lamp, "home/light", 5.0, at(48));
        trending.add(lamp, "home/light", 5.0, at(48));
        // Then at hour 48 the mug counts a quarter of its 20, the lamp all of its 10
        assert!((trending.item(mug, at(48)) - 5.0).abs() < 1e-9);
        assert!((trending.item(lamp, at(48)) - 10.0).abs() < 1e-9);
        let top = trending.top(5, 100, at(48), |_| true);
        assert_eq!(top[0].0, lamp);
        assert_eq!(top[1].0, mug);
        // And the category counts every item under it, and ranks its own
        assert!((trending.category("home", at(48)) - 15.0).abs() < 1e-9);
        assert!((trending.total(at(48)) - 15.0).abs() < 1e-9);
        let in_light = trending.top_in("home/light", 5, 100, at(48), |_| true);
        assert_eq!(in_light.len(), 1);
        assert_eq!(in_light[0].0, lamp);
        assert!((trending.category("home/kitchen", at(72)) - 2.5).abs() < 1e-9);
    }

    #[test]
    fn top_keeps_only_what_the_filter_accepts() {
        let mut skus = Catalog::default();
        let [a, b, c] = ["a", "b", "c"].map(|sku| skus.intern(sku));
        let mut trending = Trending::new(Duration::hours(1), at(0));
        trending.add(a, "x", 3.0, at(0));
        trending.add(b, "y", 2.0, at(0));
        trending.add(c, "x", 1.0, at(0));
        let kept: Vec<ItemId> = trending
            .top(5, 100, at(0), |item| item != b)
            .into_iter()
            .map(|(item, _)| item)
            .collect();
        assert_eq!(kept, [a, c]);
    }

    #[test]
    fn an_item_moved_to_another_category_is_ranked_in_that_one_only() {
        let mut skus = Catalog::default();
        let vase = skus.intern("vase");
        let mut trending = Trending::new(Duration::hours(1), at(0));
        trending.add(vase, "home/kitchen", 1.0, at(0));
        trending.add(vase, "home/decor", 1.0, at(0));
        let in_kitchen = trending.top_in("home/kitchen", 5, 100, at(0), |_| true);
        let in_decor = trending.top_in("home/decor", 5, 100, at(0), |_| true);
        assert!(in_kitchen.is_empty());
        assert_eq!(in_decor.len(), 1);
        assert!((in_decor[0].1 - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_category_is_under_itself_and_its_parents_only() {
        assert!(is_under("home/kitchen/mugs", "home"));
        assert!(is_under("home/kitchen/mugs", "home/kitchen"));
        assert!(is_under("home/kitchen/mugs", "home/kitchen/mugs"));
        assert!(!is_under("home/kitchen/mugs", "home/kit"));
        assert!(!is_under("home/kitchen", "home/kitchen/mugs"));
        assert!(!is_under("home/kitchen", ""));
        assert!(!is_under("home/kitchen", "home/"));
        for category in ["home/kitchen/mugs", "garden", "a//b"] {
            for level in category_levels(category) {
                assert!(is_under(category, &level));
            }
        }
    }
}
