//! Courier rebalancing: where couriers should move so that the next hour's forecast
//! demand is covered best, each move weighed by how far it goes. A pure function of
//! the zones' forecast and supply; the route and the projection feed it.
//!
//! Greedy, one courier at a time: each step takes the move that cuts the total
//! shortfall most, less `km_cost` for every km it travels, from a zone with couriers
//! to spare to
//! a zone short of them, never farther than the longest move allowed (couriers are
//! not sent between cities too far apart). A zone either gives or receives in one
//! suggestion, so no courier is routed on through a second zone. It stops when no
//! move helps.

use event_schemas::values::haversine_km;
use serde::{Deserialize, Serialize};

/// One zone as the rebalancer sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneOutlook {
    pub zone: String,
    pub city: String,
    pub lat: f64,
    pub lon: f64,
    /// Deliveries expected in the next hour.
    pub forecast: f64,
    /// Couriers online there now.
    pub couriers: u32,
}

/// How far couriers may be sent and what a kilometre costs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RebalancingRules {
    /// Deliveries one courier covers in an hour.
    pub deliveries_per_courier: f64,
    /// Longest move, in km.
    pub max_km: f64,
    /// Shortfall (in deliveries) one km of travel is worth: a move must cut more
    /// shortfall than its distance costs.
    pub km_cost: f64,
    /// Most couriers moved in one suggestion.
    pub max_moves: u32,
}

impl Default for RebalancingRules {
    fn default() -> Self {
        Self {
            deliveries_per_courier: 3.0,
            max_km: 15.0,
            km_cost: 0.1,
            max_moves: 500,
        }
    }
}

/// Couriers to move from one zone to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Move {
    pub from: String,
    pub to: String,
    pub couriers: u32,
    pub km: f64,
    /// The destination's demand over supply once the moves are made.
    pub ratio_after: f64,
}

/// Deliveries a zone cannot cover with `couriers`.
fn shortfall(forecast: f64, couriers: u32, rules: &RebalancingRules) -> f64 {
    (forecast - f64::from(couriers) * rules.deliveries_per_courier).max(0.0)
}

/// The moves that cover the forecast best, largest first.
pub fn rebalance(zones: &[ZoneOutlook], rules: &RebalancingRules) -> Vec<Move> {
    // Distances within reach, worked out once (a limit that is not a number reaches
    // nowhere).
    let km: Vec<Vec<Option<f64>>> = zones
        .iter()
        .map(|a| {
            zones
                .iter()
                .map(|b| {
                    let km = haversine_km(a.lat, a.lon, b.lat, b.lon);
                    (km <= rules.max_km).then_some(km)
                })
                .collect()
        })
        .collect();
    let mut couriers: Vec<u32> = zones.iter().map(|z| z.couriers).collect();
    let mut moved: Vec<((usize, usize), u32)> = Vec::new();
    // Per zone: Some(true) once it gave a courier, Some(false) once it received one.
    let mut gives: Vec<Option<bool>> = vec![None; zones.len()];
    for _ in 0..rules.max_moves {
        let mut best: Option<(f64, usize, usize)> = None;
        for (from, source) in zones.iter().enumerate() {
            if couriers[from] == 0 || gives[from] == Some(false) {
                continue;
            }
            // What the source loses by giving one courier up.
            let loss = shortfall(source.forecast, couriers[from] - 1, rules)
                - shortfall(source.forecast, couriers[from], rules);
            for (to, destination) in zones.iter().enumerate() {
                if to == from || gives[to] == Some(true) {
                    continue;
                }
                let Some(km) = km[from][to] else {
                    continue;
                };
                let gain = shortfall(destination.forecast, couriers[to], rules)
                    - shortfall(destination.forecast, couriers[to] + 1, rules);
                let value = gain - loss - km * rules.km_cost;
                let better = best
                    .is_none_or(|(top, f, t)| value > top || (value == top && (from, to) < (f, t)));
                if value > 1e-9 && better {
                    best = Some((value, from, to));
                }
            }
        }
        let Some((_, from, to)) = best else { break };
        couriers[from] -= 1;
        couriers[to] += 1;
        (gives[from], gives[to]) = (Some(true), Some(false));
        match moved.iter_mut().find(|(pair, _)| *pair == (from, to)) {
            Some((_, n)) => *n += 1,
            None => moved.push(((from, to), 1)),
        }
    }
    let mut moves: Vec<Move> = moved
        .into_iter()
        .map(|((from, to), n)| {
            let (source, destination) = (&zones[from], &zones[to]);
            Move {
                from: source.zone.clone(),
                to: destination.zone.clone(),
                couriers: n,
                km: km[from][to].unwrap_or(0.0),
                ratio_after: destination.forecast / f64::from(couriers[to].max(1)),
            }
        })
        .collect();
    moves.sort_by(|a, b| {
        b.couriers
            .cmp(&a.couriers)
            .then_with(|| a.from.cmp(&b.from))
            .then_with(|| a.to.cmp(&b.to))
    });
    moves
}
