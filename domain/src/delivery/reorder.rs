//! Reorder points for stock, from the same kind of demand history as delivery: each
//! SKU × warehouse's daily sales give a velocity and its spread; safety stock is
//! z × σ × √(lead time), the reorder point is the lead time's expected sales plus
//! that, and the suggested order brings the stock up to cover the lead time and a
//! review period. A suggestion is made once per crossing of the reorder point.

use serde::{Deserialize, Serialize};

/// What a warehouse's replenishment is tuned by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReorderRules {
    /// Chance of not running out during a lead time (0.5–0.9999; 0.95 by default).
    pub service_level: f64,
    /// Days from ordering to the goods on hand.
    pub lead_time_days: f64,
    /// Days of sales an order covers beyond the lead time.
    pub review_days: f64,
}

impl Default for ReorderRules {
    fn default() -> Self {
        Self {
            service_level: 0.95,
            lead_time_days: 7.0,
            review_days: 14.0,
        }
    }
}

/// What to do about one SKU in one warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReorderAdvice {
    /// Mean units sold a day.
    pub velocity: f64,
    /// Standard deviation of a day's sales.
    pub daily_spread: f64,
    pub safety_stock: f64,
    pub reorder_point: f64,
    /// Days the available stock lasts at the velocity (`None` when nothing sells).
    pub days_of_cover: Option<f64>,
    /// Units to order now (0 above the reorder point).
    pub suggested_quantity: u64,
}

/// The advice for stock `available` after `daily_sales` (one figure per day, oldest
/// first, days without a sale as 0).
pub fn advise(daily_sales: &[f64], available: i64, rules: &ReorderRules) -> ReorderAdvice {
    let days = daily_sales.len().max(1) as f64;
    let velocity = daily_sales.iter().sum::<f64>() / days;
    let variance = if daily_sales.len() > 1 {
        daily_sales
            .iter()
            .map(|d| (d - velocity).powi(2))
            .sum::<f64>()
            / (days - 1.0)
    } else {
        0.0
    };
    let daily_spread = variance.sqrt();
    let lead = rules.lead_time_days.max(0.0);
    // Outside 0.5–0.9999 a level means nothing here (below 0.5 the "safety" stock
    // would be negative); one that is not a number counts as the default 95%.
    let level = if rules.service_level.is_nan() {
        0.95
    } else {
        rules.service_level.clamp(0.5, 0.9999)
    };
    let safety_stock = z_score(level) * daily_spread * lead.sqrt();
    let reorder_point = velocity * lead + safety_stock;
    let available_units = available as f64;
    let suggested_quantity = if available_units <= reorder_point && velocity > 0.0 {
        let target = reorder_point + velocity * rules.review_days.max(0.0);
        (target - available_units).ceil().max(0.0) as u64
    } else {
        0
    };
    ReorderAdvice {
        velocity,
        daily_spread,
        safety_stock,
        reorder_point,
        days_of_cover: (velocity > 0.0).then(|| available_units.max(0.0) / velocity),
        suggested_quantity,
    }
}

/// Whether stock going from `before` to `after` crosses the reorder point downwards:
/// the one moment a suggestion is recorded (not again while it stays below).
pub fn crossed(before: i64, after: i64, reorder_point: f64) -> bool {
    before as f64 > reorder_point && after as f64 <= reorder_point
}

/// The standard normal quantile for `p` (z for a service level): Acklam's rational
/// approximation, relative error under 1.2e-9, which is all a safety stock needs
/// (written here rather than pulling a statistics crate in for one function).
pub fn z_score(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.02425;
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}
