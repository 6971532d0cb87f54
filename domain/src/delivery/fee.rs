//! A delivery fee: the base fee from distance, times the multipliers of the moment,
//! then the business rules in a fixed order. Every multiplier and every rule that
//! bound the result is kept, so a fee can be explained to the customer now and from
//! the log later.

use serde::{Deserialize, Serialize};

/// What a city's operator sets (amounts in the currency's minor units).
pub use event_schemas::delivery::DeliveryPolicy as Policy;

/// Rain or snow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weather {
    Rain,
    Snow,
}

/// The moment a fee is priced in, as the caller found it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conditions {
    /// The dropoff zone's demand multiplier: [`demand_multiplier`] of its demand
    /// over supply, as hysteresis holds it steady ([`super::hysteresis`]); 1 or
    /// less adds nothing.
    pub demand: f64,
    pub weather: Option<Weather>,
    /// Within one of the city's rush-hour windows, in its local time.
    pub rush_hour: bool,
    /// Within the radius and time of a local event.
    pub local_event: bool,
    /// The emergency cap, while an emergency is declared (see [`super::emergency`]).
    pub emergency_cap: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiplierKind {
    Demand,
    Weather,
    RushHour,
    LocalEvent,
}

/// One reason the fee is higher than its base.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Multiplier {
    pub kind: MultiplierKind,
    pub value: f64,
}

/// The business rules, in the order they apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    GlobalCap,
    EmergencyCap,
    Floor,
    Ceiling,
    FreeDelivery,
}

/// A rule that changed the result: what it was before and after (a multiplier for
/// the caps, an amount for the others).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Binding {
    pub rule: Rule,
    pub before: f64,
    pub after: f64,
}

/// A priced delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Priced {
    /// Base fee plus distance, before any multiplier.
    pub base: u64,
    /// Every multiplier above 1, in a fixed order.
    pub multipliers: Vec<Multiplier>,
    /// Their product, before the caps.
    pub combined: f64,
    /// What was charged after the caps.
    pub applied: f64,
    pub bindings: Vec<Binding>,
    pub fee: u64,
    /// What the customer reads.
    pub explanation: String,
}

/// Weather's multiplier (rain or snow alike).
const WEATHER: f64 = 1.3;
const RUSH_HOUR: f64 = 1.2;
const LOCAL_EVENT: f64 = 1.15;
/// Demand counts above this ratio, rising by `DEMAND_SLOPE` per unit, up to
/// `DEMAND_MOST`.
const DEMAND_FROM: f64 = 2.0;
const DEMAND_SLOPE: f64 = 0.2;
const DEMAND_MOST: f64 = 2.0;

/// Demand's multiplier: 1 up to a ratio of 2, then 1 + (ratio − 2) × 0.2, at most 2.
pub fn demand_multiplier(ratio: f64) -> f64 {
    // A ratio that is not a number (no supply measured) adds nothing.
    if ratio.is_nan() || ratio <= DEMAND_FROM {
        return 1.0;
    }
    (1.0 + (ratio - DEMAND_FROM) * DEMAND_SLOPE).min(DEMAND_MOST)
}

/// The fee for `distance_km` under `policy` in `conditions`, for an order worth
/// `order_value`.
pub fn price(
    policy: &Policy,
    conditions: &Conditions,
    distance_km: f64,
    order_value: u64,
) -> Priced {
    let base = policy
        .base_fee
        .saturating_add((policy.per_km as f64 * distance_km.max(0.0)).round() as u64);
    // Not a number (nothing measured) adds nothing; the rule's own ceiling holds.
    let demand = if conditions.demand.is_nan() {
        1.0
    } else {
        conditions.demand.min(DEMAND_MOST)
    };
    let candidates = [
        (
            MultiplierKind::Weather,
            if conditions.weather.is_some() {
                WEATHER
            } else {
                1.0
            },
        ),
        (MultiplierKind::Demand, demand),
        (
            MultiplierKind::RushHour,
            if conditions.rush_hour { RUSH_HOUR } else { 1.0 },
        ),
        (
            MultiplierKind::LocalEvent,
            if conditions.local_event {
                LOCAL_EVENT
            } else {
                1.0
            },
        ),
    ];
    let multipliers: Vec<Multiplier> = candidates
        .into_iter()
        .filter(|(_, value)| *value > 1.0)
        .map(|(kind, value)| Multiplier { kind, value })
        .collect();
    let combined: f64 = multipliers.iter().map(|m| m.value).product();

    let mut bindings = Vec::new();
    let mut applied = combined;
    let mut cap = |rule: Rule, limit: f64, applied: &mut f64| {
        let limit = limit.max(1.0);
        if *applied > limit {
            bindings.push(Binding {
                rule,
                before: *applied,
                after: limit,
            });
            *applied = limit;
        }
    };
    cap(Rule::GlobalCap, policy.multiplier_cap, &mut applied);
    if let Some(emergency) = conditions.emergency_cap {
        cap(Rule::EmergencyCap, emergency, &mut applied);
    }
    let mut fee = (base as f64 * applied).round() as u64;
    let mut bound = |rule: Rule, after: u64, fee: &mut u64| {
        if after != *fee {
            bindings.push(Binding {
                rule,
                before: *fee as f64,
                after: after as f64,
            });
            *fee = after;
        }
    };
    bound(Rule::Floor, fee.max(policy.floor), &mut fee);
    bound(
        Rule::Ceiling,
        fee.min(policy.ceiling.max(policy.floor)),
        &mut fee,
    );
    if policy
        .free_delivery_from
        .is_some_and(|from| order_value >= from)
    {
        // Recorded even when the fee was already 0: the customer is told why.
        bindings.push(Binding {
            rule: Rule::FreeDelivery,
            before: fee as f64,
            after: 0.0,
        });
        fee = 0;
    }
    let explanation = explain(&multipliers, conditions.weather, applied, &bindings);
    Priced {
        base,
        multipliers,
        combined,
        applied,
        bindings,
        fee,
        explanation,
    }
}

/// "Rain and high demand near you: 1.3 × 1.4, capped at 1.5".
fn explain(
    multipliers: &[Multiplier],
    weather: Option<Weather>,
    applied: f64,
    bindings: &[Binding],
) -> String {
    if bindings.iter().any(|b| b.rule == Rule::FreeDelivery) {
        return "Free delivery on this order".into();
    }
    if multipliers.is_empty() {
        return "Standard delivery fee".into();
    }
    let names: Vec<&str> = multipliers
        .iter()
        .map(|m| match m.kind {
            MultiplierKind::Demand => "high demand",
            MultiplierKind::Weather => match weather {
                Some(Weather::Snow) => "snow",
                _ => "rain",
            },
            MultiplierKind::RushHour => "rush hour",
            MultiplierKind::LocalEvent => "a local event",
        })
        .collect();
    let mut reasons = match names.as_slice() {
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
        [] => unreachable!("not empty"),
    };
    if let Some(first) = reasons.get(..1) {
        reasons = first.to_uppercase() + &reasons[1..];
    }
    let factors: Vec<String> = multipliers.iter().map(|m| short(m.value)).collect();
    let mut sentence = format!("{reasons} near you: {}", factors.join(" × "));
    if bindings
        .iter()
        .any(|b| matches!(b.rule, Rule::GlobalCap | Rule::EmergencyCap))
    {
        sentence.push_str(&format!(", capped at {}", short(applied)));
    }
    sentence
}

/// A multiplier as people write it: 1.3, 1.15, 2.
fn short(value: f64) -> String {
    let fixed = format!("{value:.2}");
    fixed
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string()
}
