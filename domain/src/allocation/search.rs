//! The search for the best plan: candidate warehouse sets, each evaluated, within
//! the bound on how many split subsets are tried.

use super::*;

pub(super) struct Candidate<'a> {
    pub(super) offer: &'a WarehouseOffer,
    pub(super) stock: Vec<u64>,
}

impl<'a> Candidate<'a> {
    pub(super) fn new(offer: &'a WarehouseOffer, wanted: &[(String, u64)]) -> Option<Self> {
        let stock: Vec<u64> = wanted
            .iter()
            .map(|(sku, _)| offer.available.get(sku).copied().unwrap_or(0))
            .collect();
        stock
            .iter()
            .any(|&units| units > 0)
            .then_some(Self { offer, stock })
    }

    /// How many of the order's units this warehouse could ship on its own.
    pub(super) fn coverage(&self, wanted: &[(String, u64)]) -> u64 {
        self.stock
            .iter()
            .zip(wanted)
            .map(|(&stock, (_, quantity))| stock.min(*quantity))
            .fold(0u64, u64::saturating_add)
    }
}

/// A feasible plan found for one subset: the used candidates (ascending, so also by
/// id), their units per wanted SKU, the total cost and the longest days.
pub(super) struct Evaluated {
    pub(super) used: Vec<usize>,
    pub(super) units: Vec<Vec<u64>>,
    pub(super) cost: i128,
    pub(super) days: u32,
}

pub(super) struct Search<'a> {
    pub(super) candidates: &'a [Candidate<'a>],
    pub(super) wanted: &'a [(String, u64)],
    pub(super) priority: bool,
}

impl Search<'_> {
    /// Fill every SKU from `subset`, cheapest per item first (ties by id); `None`
    /// when the subset does not hold the whole order.
    pub(super) fn evaluate(&self, subset: &[usize]) -> Option<Evaluated> {
        let mut order = subset.to_vec();
        // Candidates are sorted by id, so the index breaks ties by id.
        order.sort_by_key(|&i| (self.candidates[i].offer.cost_per_item, i));
        let mut units = vec![vec![0u64; self.wanted.len()]; order.len()];
        for (j, (_, quantity)) in self.wanted.iter().enumerate() {
            let mut rest = *quantity;
            for (slot, &i) in order.iter().enumerate() {
                if rest == 0 {
                    break;
                }
                let take = rest.min(self.candidates[i].stock[j]);
                units[slot][j] = take;
                rest -= take;
            }
            if rest > 0 {
                return None;
            }
        }
        let mut used: Vec<(usize, Vec<u64>)> = order
            .into_iter()
            .zip(units)
            .filter(|(_, units)| units.iter().any(|&u| u > 0))
            .collect();
        used.sort_by_key(|(i, _)| *i);
        let mut cost: i128 = 0;
        let mut days = 0;
        for (i, units) in &used {
            cost += self.shipment_cost(*i, units);
            days = days.max(self.candidates[*i].offer.days);
        }
        let (used, units) = used.into_iter().unzip();
        Some(Evaluated {
            used,
            units,
            cost,
            days,
        })
    }

    pub(super) fn shipment_cost(&self, candidate: usize, units: &[u64]) -> i128 {
        let offer = self.candidates[candidate].offer;
        let count: i128 = units.iter().map(|&u| u as i128).sum();
        offer.cost_per_shipment as i128 + offer.cost_per_item as i128 * count
    }

    /// `Less` when `a` is the better plan.
    pub(super) fn compare(&self, a: &Evaluated, b: &Evaluated) -> Ordering {
        let objective = if self.priority {
            (a.days, a.cost).cmp(&(b.days, b.cost))
        } else {
            (a.cost, a.days).cmp(&(b.cost, b.days))
        };
        objective
            .then(a.used.len().cmp(&b.used.len()))
            // Indices order like ids, so this is the id lists' lexicographic order.
            .then_with(|| a.used.cmp(&b.used))
    }

    /// The candidates the split search tries: all of them, unless that is more
    /// subsets than [`MAX_SPLIT_SUBSETS`]; then those holding the most of the order
    /// (then the faster for priority orders, else the cheaper per item; then by id).
    pub(super) fn pool(&self, max_shipments: usize) -> Vec<usize> {
        let all = self.candidates.len();
        let mut size = all;
        while size > 2 && split_subsets(size, max_shipments) > MAX_SPLIT_SUBSETS {
            size -= 1;
        }
        let mut pool: Vec<usize> = (0..all).collect();
        if size < all {
            let rank = |&i: &usize| {
                let c = &self.candidates[i];
                let speed_or_price = if self.priority {
                    c.offer.days as i64
                } else {
                    c.offer.cost_per_item
                };
                (
                    std::cmp::Reverse(c.coverage(self.wanted)),
                    speed_or_price,
                    i,
                )
            };
            pool.sort_by_key(rank);
            pool.truncate(size);
            pool.sort_unstable();
        }
        pool
    }

    pub(super) fn plan(
        &self,
        best: Evaluated,
        explanation: String,
    ) -> Result<Plan, AllocationError> {
        let mut shipments = Vec::with_capacity(best.used.len());
        for (&i, units) in best.used.iter().zip(&best.units) {
            let offer = self.candidates[i].offer;
            let lines = self
                .wanted
                .iter()
                .zip(units)
                .filter(|(_, &u)| u > 0)
                .map(|((sku, _), &u)| OrderLine::new(sku.clone(), u))
                .collect();
            shipments.push(Shipment {
                warehouse_id: offer.warehouse_id.clone(),
                lines,
                cost: money(self.shipment_cost(i, units))?,
                days: offer.days,
            });
        }
        Ok(Plan {
            shipments,
            total_cost: money(best.cost)?,
            days: best.days,
            explanation,
        })
    }

    pub(super) fn ids(&self, evaluated: &Evaluated) -> Vec<&str> {
        evaluated
            .used
            .iter()
            .map(|&i| self.candidates[i].offer.warehouse_id.as_str())
            .collect()
    }
}

/// Σ_{k=2..=m} C(n, k), saturating.
pub(super) fn split_subsets(n: usize, max_shipments: usize) -> u128 {
    let mut total: u128 = 0;
    let mut choose: u128 = 1; // C(n, 0)
    for k in 1..=max_shipments.min(n) {
        choose = choose.saturating_mul((n - k + 1) as u128) / k as u128;
        if k >= 2 {
            total = total.saturating_add(choose);
        }
    }
    total
}

/// Call `f` with every `size`-element combination of `pool`, in lexicographic order.
pub(super) fn for_each_combination(
    pool: &[usize],
    size: usize,
    subset: &mut Vec<usize>,
    f: &mut dyn FnMut(&[usize]),
) {
    pub(super) fn go(
        pool: &[usize],
        start: usize,
        size: usize,
        subset: &mut Vec<usize>,
        f: &mut dyn FnMut(&[usize]),
    ) {
        if subset.len() == size {
            f(subset);
            return;
        }
        let needed = size - subset.len();
        for next in start..=pool.len() - needed {
            subset.push(pool[next]);
            go(pool, next + 1, size, subset, f);
            subset.pop();
        }
    }
    subset.clear();
    if size <= pool.len() {
        go(pool, 0, size, subset, f);
    }
}
