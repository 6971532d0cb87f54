//! The latent-factor source: implicit-feedback ALS (Hu, Koren, Volinsky 2008). Every
//! shopper × item pair is a preference (1 where they interacted, else 0) with a
//! confidence of `1 + alpha · weight`; shopper and item factors are solved for in
//! turn, each row a small ridge regression made cheap by sharing `Yᵀ·Y`. Only the
//! item factors are kept: a shopper's vector is folded in at request time from their
//! recent interactions (the same regression), so what they just did counts at once,
//! and only the list's candidates are scored, never the whole catalogue. Seeded: the
//! same data and parameters give the same factors.

use std::collections::HashMap;
use std::hash::Hash;

use rustc_hash::FxHashMap;

use crate::catalog::ItemId;

/// How ALS is trained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlsParams {
    pub factors: usize,
    pub iterations: usize,
    pub regularization: f64,
    pub alpha: f64,
    pub seed: u64,
}

impl Default for AlsParams {
    fn default() -> Self {
        Self {
            factors: 32,
            iterations: 10,
            regularization: 0.1,
            alpha: 10.0,
            seed: 7,
        }
    }
}

/// What item factors are kept by: the product's item numbers, or the SKUs of an
/// offline file.
pub trait FactorKey: Hash + Eq {
    /// The key as a small number, when it is one: its row is then found by indexing
    /// a table (a list looks up a thousand) instead of hashing.
    fn number(&self) -> Option<usize> {
        None
    }
}

impl FactorKey for ItemId {
    fn number(&self) -> Option<usize> {
        Some(self.index())
    }
}

impl FactorKey for String {}

/// No row, in [`Latent`]'s table of rows by number.
const NO_ROW: u32 = u32::MAX;

/// Trained item factors and what folding a shopper in needs; items are known by
/// `K` (the product's item numbers, or the SKUs of an offline file).
#[derive(Debug, Clone)]
pub struct Latent<K = ItemId> {
    /// The log position the training data reflected (0 offline).
    pub trained_to: i64,
    params: AlsParams,
    index: FxHashMap<K, usize>,
    /// Per key number (for keys that are numbers): its row, or [`NO_ROW`].
    rows_by_number: Vec<u32>,
    /// Kept as f32 once trained: scoring a list's candidates reads a row per
    /// candidate from all over memory, and half the bytes is half the cache misses.
    item_factors: Vec<f32>,
    /// `Yᵀ·Y` of the item factors.
    gram: Vec<f64>,
}

/// One row's interactions: the other side's index and `alpha · weight`.
type Rows = Vec<Vec<(usize, f64)>>;

impl<K: FactorKey> Latent<K> {
    /// Train on (shopper, item, weight) triples (a pair's weights add up).
    pub fn train<U: Hash + Eq>(
        interactions: impl IntoIterator<Item = (U, K, f64)>,
        params: AlsParams,
    ) -> Self {
        let mut users: HashMap<U, usize> = HashMap::new();
        let mut index: FxHashMap<K, usize> = FxHashMap::default();
        let mut strength: HashMap<(usize, usize), f64> = HashMap::new();
        for (user, item, weight) in interactions {
            let next = users.len();
            let u = *users.entry(user).or_insert(next);
            let next = index.len();
            let v = *index.entry(item).or_insert(next);
            *strength.entry((u, v)).or_default() += weight.max(0.0);
        }
        let mut by_user: Rows = vec![Vec::new(); users.len()];
        let mut by_item: Rows = vec![Vec::new(); index.len()];
        let mut pairs: Vec<_> = strength.into_iter().collect();
        pairs.sort_by_key(|pair| pair.0);
        for ((u, v), weight) in pairs {
            let extra = params.alpha * weight;
            by_user[u].push((v, extra));
            by_item[v].push((u, extra));
        }
        let f = params.factors;
        let mut user_factors = seeded(users.len() * f, params.seed, f);
        let mut item_factors = seeded(index.len() * f, params.seed ^ 0x5eed, f);
        for _ in 0..params.iterations {
            solve_side(
                &mut user_factors,
                &item_factors,
                &by_user,
                f,
                params.regularization,
            );
            solve_side(
                &mut item_factors,
                &user_factors,
                &by_item,
                f,
                params.regularization,
            );
        }
        let gram = gram(&item_factors, f);
        let mut rows_by_number = Vec::new();
        for (key, &row) in &index {
            if let Some(number) = key.number() {
                if rows_by_number.len() <= number {
                    rows_by_number.resize(number + 1, NO_ROW);
                }
                rows_by_number[number] = u32::try_from(row).expect("fewer than 2^32 items");
            }
        }
        Self {
            trained_to: 0,
            params,
            index,
            rows_by_number,
            item_factors: item_factors.iter().map(|&x| x as f32).collect(),
            gram,
        }
    }

    /// Its name in a list's `model_version`: seeded training to one position gives
    /// the same factors on every node.
    pub fn version(&self) -> String {
        format!("als{}", self.trained_to)
    }

    fn factors_of(&self, item: &K) -> Option<&[f32]> {
        let f = self.params.factors;
        self.row(item)
            .map(|v| &self.item_factors[v * f..(v + 1) * f])
    }

    fn row(&self, item: &K) -> Option<usize> {
        match item.number() {
            Some(number) => self
                .rows_by_number
                .get(number)
                .filter(|&&row| row != NO_ROW)
                .map(|&row| row as usize),
            None => self.index.get(item).copied(),
        }
    }

    /// A shopper's vector from their items and weights (None when none is known).
    pub fn fold_in(&self, items: &[(K, f64)]) -> Option<Vec<f32>> {
        let f = self.params.factors;
        let mut a = self.gram.clone();
        for d in 0..f {
            a[d * f + d] += self.params.regularization;
        }
        let mut b = vec![0.0; f];
        let mut any = false;
        for (item, weight) in items {
            let Some(y) = self.factors_of(item) else {
                continue;
            };
            any = true;
            let extra = self.params.alpha * weight.max(0.0);
            for i in 0..f {
                let yi = f64::from(y[i]);
                for j in 0..f {
                    a[i * f + j] += extra * yi * f64::from(y[j]);
                }
                b[i] += (1.0 + extra) * yi;
            }
        }
        any.then(|| {
            cholesky_solve(&mut a, &mut b, f);
            // Scored against f32 item factors: the vector is kept alike.
            b.into_iter().map(|v| v as f32).collect()
        })
    }

    /// The predicted preference of a shopper (folded in) for `item`.
    pub fn score(&self, user: &[f32], item: &K) -> Option<f64> {
        self.factors_of(item).map(|y| f64::from(dot(user, y)))
    }

    /// The predicted preference of a shopper for each of `items`, in order (None
    /// for an item without factors).
    ///
    /// In two passes, every row looked up before any is read: each lookup and each
    /// row is a cache miss somewhere in a large table, and with no dependence
    /// between one item's and the next the processor has many of them in flight.
    pub fn scores<'k>(&self, user: &[f32], items: impl Iterator<Item = &'k K>) -> Vec<Option<f64>>
    where
        K: 'k,
    {
        let rows: Vec<Option<usize>> = items.map(|item| self.row(item)).collect();
        let f = self.params.factors;
        rows.into_iter()
            .map(|row| row.map(|v| f64::from(dot(user, &self.item_factors[v * f..(v + 1) * f]))))
            .collect()
    }

    /// How alike two items are in factor space (their factors' dot product).
    pub fn likeness(&self, a: &K, b: &K) -> f64 {
        match (self.factors_of(a), self.factors_of(b)) {
            (Some(x), Some(y)) => f64::from(dot(x, y)),
            _ => 0.0,
        }
    }

    /// Every item with factors.
    pub fn items(&self) -> impl Iterator<Item = &K> {
        self.index.keys()
    }
}

/// The dot product of two factor vectors, summed in eight independent lanes so it
/// runs in vector registers (a list scores up to 1,000 candidates this way). The order
/// of the additions is fixed, so every node computes the same score.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 8;
    let mut lanes = [0f32; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = (a_chunks.remainder().iter())
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..LANES {
            lanes[lane] += x[lane] * y[lane];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Small deterministic starting values (SplitMix64), scaled by 1/√factors.
fn seeded(len: usize, seed: u64, factors: usize) -> Vec<f64> {
    let scale = 0.1 / (factors as f64).sqrt();
    (0..len as u64)
        .map(|n| {
            let mut z = seed.wrapping_add((n + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            ((z >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * scale
        })
        .collect()
}

/// Solve every row of `solved` given the fixed `other` side:
/// `(OᵀO + Σ (c−1)·o·oᵀ + λI) x = Σ c·o`.
fn solve_side(solved: &mut [f64], other: &[f64], rows: &Rows, f: usize, lambda: f64) {
    let gram = gram(other, f);
    let mut a = vec![0.0; f * f];
    let mut b = vec![0.0; f];
    for (row, interactions) in rows.iter().enumerate() {
        a.copy_from_slice(&gram);
        for d in 0..f {
            a[d * f + d] += lambda;
        }
        b.iter_mut().for_each(|x| *x = 0.0);
        for &(index, extra) in interactions {
            let o = &other[index * f..(index + 1) * f];
            for i in 0..f {
                let oi = o[i] * extra;
                for j in 0..f {
                    a[i * f + j] += oi * o[j];
                }
                b[i] += (1.0 + extra) * o[i];
            }
        }
        cholesky_solve(&mut a, &mut b, f);
        solved[row * f..(row + 1) * f].copy_from_slice(&b);
    }
}

/// `OᵀO` of the rows of `m` (each `f` wide).
fn gram(m: &[f64], f: usize) -> Vec<f64> {
    let mut g = vec![0.0; f * f];
    for row in m.chunks_exact(f) {
        for i in 0..f {
            for j in 0..f {
                g[i * f + j] += row[i] * row[j];
            }
        }
    }
    g
}

/// Solve `a x = b` in place (`a` symmetric positive definite, overwritten by its
/// Cholesky factor; `b` becomes `x`).
fn cholesky_solve(a: &mut [f64], b: &mut [f64], f: usize) {
    for j in 0..f {
        let mut d = a[j * f + j];
        for k in 0..j {
            d -= a[j * f + k] * a[j * f + k];
        }
        let d = d.max(1e-12).sqrt();
        a[j * f + j] = d;
        for i in j + 1..f {
            let mut s = a[i * f + j];
            for k in 0..j {
                s -= a[i * f + k] * a[j * f + k];
            }
            a[i * f + j] = s / d;
        }
    }
    for i in 0..f {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * f + k] * b[k];
        }
        b[i] = s / a[i * f + i];
    }
    for i in (0..f).rev() {
        let mut s = b[i];
        for k in i + 1..f {
            s -= a[k * f + i] * b[k];
        }
        b[i] = s / a[i * f + i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoring_many_items_at_once_answers_what_scoring_each_answers() {
        // Given factors trained on two groups of shoppers with distinct tastes
        let mut interactions = Vec::new();
        for shopper in 0..20 {
            let items: &[&str] = if shopper % 2 == 0 {
                &["mug", "saucer", "teapot"]
            } else {
                &["lamp", "shade"]
            };
            for item in items {
                interactions.push((shopper, item.to_string(), 1.0));
            }
        }
        let latent = Latent::train(interactions, AlsParams::default());
        let shopper = latent.fold_in(&[("mug".to_string(), 1.0)]).unwrap();
        // When a list's candidates, one of them unknown, are scored together
        let candidates = ["teapot", "unknown", "lamp", "saucer"].map(String::from);
        let together = latent.scores(&shopper, candidates.iter());
        // Then each score is the one scored alone, the unknown item has none, and the
        // mug's group outranks the lamp's
        let alone: Vec<Option<f64>> = candidates
            .iter()
            .map(|item| latent.score(&shopper, item))
            .collect();
        assert_eq!(together, alone);
        assert_eq!(together[1], None);
        assert!(together[0].unwrap() > together[2].unwrap());
        assert!(together[3].unwrap() > together[2].unwrap());
    }

    #[test]
    fn items_known_by_number_score_as_the_same_items_known_by_sku() {
        // Given the same interactions keyed once by SKU and once by item number
        let mut catalog = crate::catalog::Catalog::default();
        let skus = ["mug", "saucer", "teapot", "lamp", "shade"];
        let ids = skus.map(|sku| catalog.intern(sku));
        let picks = |shopper: usize| [shopper % 5, (shopper * 3 + 1) % 5];
        let by_sku = Latent::train(
            (0..30).flat_map(|shopper| picks(shopper).map(|i| (shopper, skus[i].to_string(), 1.0))),
            AlsParams::default(),
        );
        let by_number = Latent::train(
            (0..30).flat_map(|shopper| picks(shopper).map(|i| (shopper, ids[i], 1.0))),
            AlsParams::default(),
        );
        // When one shopper is folded in and every item scored by both
        let shopper_by_sku = by_sku.fold_in(&[("mug".to_string(), 1.0)]).unwrap();
        let shopper_by_number = by_number.fold_in(&[(ids[0], 1.0)]).unwrap();
        let unknown = catalog.intern("unknown");
        let numbers: Vec<ItemId> = ids.iter().copied().chain([unknown]).collect();
        let names: Vec<String> = skus
            .iter()
            .map(|s| s.to_string())
            .chain(["unknown".into()])
            .collect();
        // Then both answer the same scores, and none for the unknown item
        let scores = by_number.scores(&shopper_by_number, numbers.iter());
        assert_eq!(scores, by_sku.scores(&shopper_by_sku, names.iter()));
        assert_eq!(scores[5], None);
        assert!(scores[..5].iter().all(Option::is_some));
    }
}
