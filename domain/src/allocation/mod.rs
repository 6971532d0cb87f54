//! Multi-warehouse allocation: which warehouses ship which units of an order.
//!
//! A pure policy (no I/O, no clock). The caller gathers, for the destination region,
//! one [`WarehouseOffer`] per warehouse that ships there (its `ships_to` rate and what
//! it has available; [`offers_for_region`] builds them from the registered rates) and
//! asks [`allocate`] for a [`Plan`]. The rules:
//!
//! - The same SKU on several lines counts as the sum; a line may be split over
//!   several warehouses.
//! - A shipment costs `cost_per_shipment + cost_per_item × units` and takes the
//!   warehouse's `days`; only warehouses that ship at least one unit count. A plan
//!   costs the sum of its shipments and takes the longest of their days.
//! - One warehouse for the whole order is preferred: if any single warehouse can fill
//!   everything, the best such warehouse wins even when a split would be better.
//!   Otherwise the order is split over at most `max_shipments` warehouses (3 by
//!   default).
//! - "Best" is the lowest cost (then the fewest days) for normal orders, and the
//!   fewest days (then the lowest cost) for priority orders; then the fewest
//!   shipments; then the lexicographically smallest sorted list of warehouse ids.
//!   Within the chosen warehouses each SKU's units go to the lowest `cost_per_item`
//!   first (ties by warehouse id), so the plan is fully deterministic and does not
//!   depend on the order of the offers.
//!
//! The plan, and every refusal, comes with a one- or two-sentence explanation.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use event_schemas::ShippingRate;
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorKind, FieldError};
use crate::validate::Validator;

mod explain;
mod search;

use explain::*;
use search::*;

/// How many warehouses an order may be split over unless the request says otherwise.
pub const DEFAULT_MAX_SHIPMENTS: usize = 3;

/// The most warehouse subsets one split search evaluates (see [`allocate`] on the
/// combinatorics). With 3 shipments this admits 114 warehouses holding stock
/// of the order before the search is narrowed.
pub const MAX_SPLIT_SUBSETS: u128 = 250_000;

/// Some units of one SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub sku: String,
    pub quantity: u64,
}

impl OrderLine {
    pub fn new(sku: impl Into<String>, quantity: u64) -> Self {
        Self {
            sku: sku.into(),
            quantity,
        }
    }
}

/// What one warehouse offers for the destination region: its shipping rate there
/// (costs in integer minor units of the order's currency) and its available units
/// per SKU. SKUs the order does not ask for are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarehouseOffer {
    pub warehouse_id: String,
    pub cost_per_item: i64,
    pub cost_per_shipment: i64,
    pub days: u32,
    pub available: BTreeMap<String, u64>,
}

impl WarehouseOffer {
    /// The offer of a warehouse with these `ships_to` rates for `region`, or `None`
    /// when it does not ship there. A rate priced in another currency than the
    /// order's cannot be compared or added to the order, so it counts as not
    /// shipping there either.
    pub fn from_rates(
        warehouse_id: &str,
        ships_to: &[ShippingRate],
        region: &str,
        currency: &str,
        available: BTreeMap<String, u64>,
    ) -> Option<Self> {
        let rate = ships_to.iter().find(|rate| rate.region == region)?;
        if rate.cost_per_item.currency != currency || rate.cost_per_shipment.currency != currency {
            return None;
        }
        Some(Self {
            warehouse_id: warehouse_id.to_string(),
            cost_per_item: rate.cost_per_item.amount,
            cost_per_shipment: rate.cost_per_shipment.amount,
            days: rate.days,
            available,
        })
    }
}

/// The offers of the warehouses that ship to `region`, from `(warehouse_id, ships_to,
/// available per SKU)`; the others are left out. Costs of different currencies cannot
/// be added, so the plan is made in the currency of the first warehouse shipping
/// there (answered with the offers), and warehouses quoting another are left out too.
pub fn offers_for_region<'a, I>(region: &str, warehouses: I) -> (String, Vec<WarehouseOffer>)
where
    I: IntoIterator<Item = (&'a str, &'a [ShippingRate], BTreeMap<String, u64>)>,
{
    let warehouses: Vec<_> = warehouses.into_iter().collect();
    let currency = warehouses
        .iter()
        .flat_map(|(_, ships_to, _)| ships_to.iter())
        .find(|rate| rate.region == region)
        .map(|rate| rate.cost_per_item.currency.clone())
        .unwrap_or_default();
    let offers = warehouses
        .into_iter()
        .filter_map(|(warehouse_id, ships_to, available)| {
            WarehouseOffer::from_rates(warehouse_id, ships_to, region, &currency, available)
        })
        .collect();
    (currency, offers)
}

/// An order to allocate: its lines (none naming a warehouse), the destination region
/// (for the explanation; the offers are already for it), whether it is a priority
/// order and over how many warehouses it may be split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationRequest {
    pub region: String,
    /// The currency the offers' costs are in (for the explanation).
    pub currency: String,
    pub lines: Vec<OrderLine>,
    pub priority: bool,
    pub max_shipments: usize,
}

impl AllocationRequest {
    /// A normal (not priority) order that may be split over
    /// [`DEFAULT_MAX_SHIPMENTS`] warehouses.
    pub fn new(
        region: impl Into<String>,
        currency: impl Into<String>,
        lines: Vec<OrderLine>,
    ) -> Self {
        Self {
            region: region.into(),
            currency: currency.into(),
            lines,
            priority: false,
            max_shipments: DEFAULT_MAX_SHIPMENTS,
        }
    }
}

/// What one warehouse ships: one line per SKU (sorted by SKU), what the shipment
/// costs and how many days it takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    pub warehouse_id: String,
    pub lines: Vec<OrderLine>,
    pub cost: i64,
    pub days: u32,
}

/// The chosen allocation: shipments sorted by warehouse id, their summed cost, the
/// longest of their days, and why this plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub shipments: Vec<Shipment>,
    pub total_cost: i64,
    pub days: u32,
    pub explanation: String,
}

/// One SKU the eligible warehouses together do not have enough of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shortfall {
    pub sku: String,
    pub wanted: u64,
    /// Available over all the offered warehouses (those shipping to the region).
    pub available: u64,
}

/// Why no plan was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    /// The warehouses shipping to the region do not have enough of these SKUs, even
    /// all together.
    #[error("{explanation}")]
    Shortage {
        short: Vec<Shortfall>,
        explanation: String,
    },
    /// There is enough stock in all, but no `max_shipments` warehouses hold it.
    #[error("{explanation}")]
    TooManyShipments {
        max_shipments: usize,
        explanation: String,
    },
    /// The request or an offer is malformed.
    #[error("{explanation}")]
    Invalid {
        errors: Vec<FieldError>,
        explanation: String,
    },
}

impl AllocationError {
    /// The sentence for a human.
    pub fn explanation(&self) -> &str {
        match self {
            Self::Shortage { explanation, .. }
            | Self::TooManyShipments { explanation, .. }
            | Self::Invalid { explanation, .. } => explanation,
        }
    }
}

impl From<AllocationError> for DomainError {
    fn from(error: AllocationError) -> Self {
        match error {
            AllocationError::Shortage { short, explanation } => {
                let short = serde_json::to_value(short).unwrap_or_default();
                DomainError::new(
                    ErrorKind::Conflict,
                    crate::Refusal::InsufficientStock,
                    explanation,
                )
                .with_fact("short", short)
            }
            AllocationError::TooManyShipments {
                max_shipments,
                explanation,
            } => DomainError::new(
                ErrorKind::Conflict,
                crate::Refusal::TooManyShipments,
                explanation,
            )
            .with_fact("max_shipments", max_shipments),
            AllocationError::Invalid { errors, .. } => DomainError::invalid(errors),
        }
    }
}

/// Choose the warehouses and units for `request` among `offers` (the warehouses
/// shipping to its region), by the rules in the module documentation.
///
/// How: the warehouses holding none of the order are dropped. If single warehouses
/// can fill the order, the best of them is the plan. Otherwise every subset of 2 to
/// `max_shipments` warehouses is tried, filling each SKU greedily from the subset's
/// lowest `cost_per_item` (ties by id); the best resulting plan wins.
///
/// Why greedy per subset finds the optimum: fix a subset S. Filling each SKU from the
/// cheapest per-item warehouse first minimises the per-item cost over S (per SKU it
/// is a fractional-knapsack-like transport with one price per source, where cheapest
/// first is optimal, and SKUs do not interact), and the greedy plan uses a subset U
/// of S, so it pays at most S's shipment costs (costs are non-negative) and takes at
/// most S's days. Now take an optimal plan P and its used set T. T is enumerated;
/// greedy on T costs no more, takes no longer and uses no more warehouses (U ⊆ T),
/// so it ties with P on every criterion; and if it used fewer warehouses or a
/// smaller id list it would beat P. So greedy on T is as good as P, and the best
/// over all subsets is optimal. The brute-force property test checks exactly this.
///
/// Combinatorics: with n warehouses holding stock of the order and at most m
/// shipments, the split search evaluates Σ_{k=2..m} C(n, k) subsets, each in
/// O(k log k + k × SKUs): C(20, 3) + C(20, 2) = 1,330 and C(100, 3) + C(100, 2) =
/// 166,650 for the default m = 3. The search is bounded by [`MAX_SPLIT_SUBSETS`]:
/// beyond it only the warehouses holding the most of the order are searched (then
/// the plan is the best among them, not necessarily the best overall, and the
/// explanation says so). The single-warehouse check always sees every warehouse.
pub fn allocate(
    request: &AllocationRequest,
    offers: &[WarehouseOffer],
) -> Result<Plan, AllocationError> {
    validate(request, offers)?;
    let wanted = wanted(&request.lines)?;
    let region = &request.region;

    // Only warehouses holding some of the order can take part; sorted by id, so
    // candidate indices order like ids.
    let mut candidates: Vec<Candidate> = offers
        .iter()
        .filter_map(|offer| Candidate::new(offer, &wanted))
        .collect();
    candidates.sort_by(|a, b| a.offer.warehouse_id.cmp(&b.offer.warehouse_id));

    let short: Vec<Shortfall> = wanted
        .iter()
        .enumerate()
        .filter_map(|(j, (sku, quantity))| {
            let available = candidates
                .iter()
                .map(|c| c.stock[j])
                .fold(0u64, u64::saturating_add);
            (available < *quantity).then(|| Shortfall {
                sku: sku.clone(),
                wanted: *quantity,
                available,
            })
        })
        .collect();
    if !short.is_empty() {
        let explanation = shortage_explanation(&short, region);
        return Err(AllocationError::Shortage { short, explanation });
    }

    let search = Search {
        candidates: &candidates,
        wanted: &wanted,
        priority: request.priority,
    };

    // One warehouse for the whole order, if any can.
    let singles: Vec<Evaluated> = (0..candidates.len())
        .filter_map(|i| search.evaluate(&[i]))
        .collect();
    let single_count = singles.len();
    if let Some(best) = singles.into_iter().min_by(|a, b| search.compare(a, b)) {
        let explanation = single_explanation(
            &search,
            &best,
            single_count,
            region,
            &request.currency,
            request.priority,
        );
        return search.plan(best, explanation);
    }

    // Otherwise split over 2..=max_shipments warehouses.
    let pool = search.pool(request.max_shipments);
    let largest = request.max_shipments.min(pool.len());
    let mut best: Option<Evaluated> = None;
    let mut subset = Vec::with_capacity(largest);
    for size in 2..=largest {
        for_each_combination(&pool, size, &mut subset, &mut |subset| {
            if let Some(found) = search.evaluate(subset) {
                let better = match &best {
                    None => true,
                    Some(current) => search.compare(&found, current) == Ordering::Less,
                };
                if better {
                    best = Some(found);
                }
            }
        });
    }
    let narrowed = (pool.len() < candidates.len()).then_some((pool.len(), candidates.len()));
    match best {
        Some(best) => {
            let explanation = split_explanation(
                &search,
                &best,
                region,
                &request.currency,
                request.priority,
                request.max_shipments,
                narrowed,
            );
            search.plan(best, explanation)
        }
        None => {
            let mut explanation = if request.max_shipments == 1 {
                format!(
                    "No warehouse shipping to {region} has the whole order, and it may not \
                     be split."
                )
            } else {
                format!(
                    "No warehouse shipping to {region} has the whole order, and no {} of \
                     them together hold it: the stock is spread over more warehouses.",
                    request.max_shipments
                )
            };
            if let Some((searched, of)) = narrowed {
                explanation.push_str(&narrowed_note(searched, of));
            }
            Err(AllocationError::TooManyShipments {
                max_shipments: request.max_shipments,
                explanation,
            })
        }
    }
}

/// A warehouse holding some of the order, with its stock per wanted SKU (indexed
/// like the wanted list).
fn money(amount: i128) -> Result<i64, AllocationError> {
    i64::try_from(amount).map_err(|_| {
        invalid(vec![FieldError {
            field: "lines".into(),
            message: "the order's shipping cost is too large to represent".into(),
        }])
    })
}

fn invalid(errors: Vec<FieldError>) -> AllocationError {
    let explanation = DomainError::invalid(errors.clone()).detail;
    AllocationError::Invalid {
        errors,
        explanation,
    }
}

fn validate(request: &AllocationRequest, offers: &[WarehouseOffer]) -> Result<(), AllocationError> {
    let mut v = Validator::new();
    v.id("region", &request.region);
    v.check(
        !request.lines.is_empty(),
        "lines",
        "must list at least one line",
    );
    for (i, line) in request.lines.iter().enumerate() {
        v.id(&format!("lines[{i}].sku"), &line.sku);
        v.quantity(&format!("lines[{i}].quantity"), line.quantity);
    }
    v.check(
        request.max_shipments >= 1,
        "max_shipments",
        "must be at least 1",
    );
    let mut seen = BTreeSet::new();
    for (i, offer) in offers.iter().enumerate() {
        v.id(&format!("offers[{i}].warehouse_id"), &offer.warehouse_id);
        v.check(
            seen.insert(offer.warehouse_id.as_str()),
            &format!("offers[{i}].warehouse_id"),
            "names a warehouse offered before",
        );
        v.check(
            offer.cost_per_item >= 0,
            &format!("offers[{i}].cost_per_item"),
            "must not be negative",
        );
        v.check(
            offer.cost_per_shipment >= 0,
            &format!("offers[{i}].cost_per_shipment"),
            "must not be negative",
        );
    }
    v.finish().map_err(|error| AllocationError::Invalid {
        errors: error.errors,
        explanation: error.detail,
    })
}

/// The order's units per SKU, lines of the same SKU summed, sorted by SKU.
fn wanted(lines: &[OrderLine]) -> Result<Vec<(String, u64)>, AllocationError> {
    let mut wanted: BTreeMap<&str, u64> = BTreeMap::new();
    for line in lines {
        let sum = wanted.entry(&line.sku).or_default();
        *sum = sum.checked_add(line.quantity).ok_or_else(|| {
            invalid(vec![FieldError {
                field: "lines".into(),
                message: format!("asks for too many units of {}", line.sku),
            }])
        })?;
    }
    Ok(wanted
        .into_iter()
        .map(|(sku, quantity)| (sku.to_string(), quantity))
        .collect())
}
