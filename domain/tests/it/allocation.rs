//! The multi-warehouse allocation policy: one given/when/then per rule, then random
//! small cases checked against a brute force over every assignment of units.

use std::collections::BTreeMap;

use domain::allocation::{allocate, offers_for_region, DEFAULT_MAX_SHIPMENTS};
use domain::{
    AllocationError, AllocationRequest, DomainError, ErrorKind, OrderLine, Plan, Shortfall,
    WarehouseOffer,
};
use event_schemas::{Money, ShippingRate};
use proptest::prelude::*;

// Fixtures.

/// A warehouse offer: `(cost per item, cost per shipment, days)` and stock.
fn offer(
    id: &str,
    (item, shipment, days): (i64, i64, u32),
    stock: &[(&str, u64)],
) -> WarehouseOffer {
    WarehouseOffer {
        warehouse_id: id.into(),
        cost_per_item: item,
        cost_per_shipment: shipment,
        days,
        available: stock.iter().map(|(sku, n)| (sku.to_string(), *n)).collect(),
    }
}

fn line(sku: &str, quantity: u64) -> OrderLine {
    OrderLine::new(sku, quantity)
}

fn order(lines: &[(&str, u64)]) -> AllocationRequest {
    AllocationRequest::new(
        "nl",
        "EUR",
        lines.iter().map(|(s, q)| line(s, *q)).collect(),
    )
}

fn priority(lines: &[(&str, u64)]) -> AllocationRequest {
    AllocationRequest {
        priority: true,
        ..order(lines)
    }
}

/// The plan as `(warehouse, [(sku, units)])`, for compact assertions.
fn shipped(plan: &Plan) -> Vec<(&str, Vec<(&str, u64)>)> {
    plan.shipments
        .iter()
        .map(|s| {
            (
                s.warehouse_id.as_str(),
                s.lines
                    .iter()
                    .map(|l| (l.sku.as_str(), l.quantity))
                    .collect(),
            )
        })
        .collect()
}

#[track_caller]
fn plan(request: &AllocationRequest, offers: &[WarehouseOffer]) -> Plan {
    match allocate(request, offers) {
        Ok(plan) => {
            check_plan(request, offers, &plan).unwrap();
            plan
        }
        Err(error) => panic!("expected a plan, got {error:?}"),
    }
}

#[track_caller]
fn refusal(request: &AllocationRequest, offers: &[WarehouseOffer]) -> AllocationError {
    match allocate(request, offers) {
        Ok(plan) => panic!("expected a refusal, got {plan:?}"),
        Err(error) => error,
    }
}

/// A plan is valid: each SKU shipped exactly as wanted, never more than a warehouse
/// has, at most `max_shipments` shipments of at least one unit each, sorted by
/// warehouse, and costs and days computed from the offers.
fn check_plan(
    request: &AllocationRequest,
    offers: &[WarehouseOffer],
    plan: &Plan,
) -> Result<(), String> {
    let mut wanted: BTreeMap<&str, u64> = BTreeMap::new();
    for l in &request.lines {
        *wanted.entry(&l.sku).or_default() += l.quantity;
    }
    let mut shipped: BTreeMap<&str, u64> = BTreeMap::new();
    let mut total = 0;
    let mut days = 0;
    if plan.shipments.is_empty() || plan.shipments.len() > request.max_shipments {
        return Err(format!("{} shipments", plan.shipments.len()));
    }
    if !plan
        .shipments
        .windows(2)
        .all(|w| w[0].warehouse_id < w[1].warehouse_id)
    {
        return Err("shipments not sorted by distinct warehouse".into());
    }
    for s in &plan.shipments {
        let o = offers
            .iter()
            .find(|o| o.warehouse_id == s.warehouse_id)
            .ok_or_else(|| format!("unknown warehouse {}", s.warehouse_id))?;
        let mut units = 0;
        for l in &s.lines {
            if l.quantity == 0 {
                return Err(format!("empty line in {}", s.warehouse_id));
            }
            if l.quantity > o.available.get(&l.sku).copied().unwrap_or(0) {
                return Err(format!(
                    "{} ships more {} than it has",
                    s.warehouse_id, l.sku
                ));
            }
            *shipped.entry(&l.sku).or_default() += l.quantity;
            units += l.quantity;
        }
        if units == 0 {
            return Err(format!("empty shipment from {}", s.warehouse_id));
        }
        let cost = o.cost_per_shipment + o.cost_per_item * units as i64;
        if s.cost != cost || s.days != o.days {
            return Err(format!("wrong cost or days for {}", s.warehouse_id));
        }
        total += cost;
        days = days.max(o.days);
    }
    if shipped != wanted {
        return Err(format!("shipped {shipped:?}, wanted {wanted:?}"));
    }
    if plan.total_cost != total || plan.days != days {
        return Err(format!(
            "plan says cost {} days {}, shipments say {total} and {days}",
            plan.total_cost, plan.days
        ));
    }
    Ok(())
}

// Rules.

#[test]
fn one_warehouse_with_everything_ships_it_all() {
    // Given one warehouse with both SKUs and another with only one
    let offers = [
        offer("ams-1", (100, 500, 1), &[("MUG-1", 5), ("CUP-1", 5)]),
        offer("ber-2", (50, 100, 2), &[("MUG-1", 5)]),
    ];
    // When an order for both is allocated
    let plan = plan(&order(&[("MUG-1", 2), ("CUP-1", 1)]), &offers);
    // Then it all ships from the one with everything
    assert_eq!(
        shipped(&plan),
        [("ams-1", vec![("CUP-1", 1), ("MUG-1", 2)])]
    );
    assert_eq!(plan.total_cost, 500 + 3 * 100);
    assert_eq!(plan.days, 1);
    assert_eq!(
        plan.explanation,
        "Single shipment from ams-1 (shipping EUR 8.00, 1 day); it is the only warehouse shipping to nl \
         that has the whole order."
    );
}

#[test]
fn a_single_warehouse_is_preferred_even_when_a_split_would_be_cheaper() {
    // Given an expensive warehouse with everything, and two cheap ones that together do
    let offers = [
        offer("all", (1_000, 1_000, 3), &[("A", 2), ("B", 2)]),
        offer("cheap-a", (1, 1, 1), &[("A", 2)]),
        offer("cheap-b", (1, 1, 1), &[("B", 2)]),
    ];
    // When the order is allocated, normal or priority
    for request in [
        order(&[("A", 2), ("B", 2)]),
        priority(&[("A", 2), ("B", 2)]),
    ] {
        let plan = plan(&request, &offers);
        // Then the single warehouse wins though the split costs 6 and takes 1 day
        assert_eq!(shipped(&plan), [("all", vec![("A", 2), ("B", 2)])]);
        assert_eq!((plan.total_cost, plan.days), (5_000, 3));
    }
}

#[test]
fn the_cheapest_single_warehouse_wins_for_a_normal_order() {
    // Given three warehouses with everything, the cheapest the slowest
    let offers = [
        offer("fast", (100, 500, 1), &[("A", 9)]),
        offer("slow", (10, 100, 5), &[("A", 9)]),
        offer("mid", (50, 100, 2), &[("A", 9)]),
    ];
    // When a normal order is allocated
    let plan = plan(&order(&[("A", 3)]), &offers);
    // Then the cheapest ships it
    assert_eq!(shipped(&plan), [("slow", vec![("A", 3)])]);
    assert_eq!((plan.total_cost, plan.days), (130, 5));
    assert_eq!(
        plan.explanation,
        "Single shipment from slow (shipping EUR 1.30, 5 days), the cheapest of 3 warehouses shipping to \
         nl that have the whole order; one shipment is preferred to splitting."
    );
}

#[test]
fn a_priority_order_takes_the_fastest_then_the_cheapest() {
    // Given two equally fast warehouses at different costs and a slower cheaper one
    let offers = [
        offer("fast-dear", (100, 500, 1), &[("A", 9)]),
        offer("fast-cheap", (90, 500, 1), &[("A", 9)]),
        offer("slow", (10, 100, 5), &[("A", 9)]),
    ];
    // When a priority order is allocated
    let plan = plan(&priority(&[("A", 3)]), &offers);
    // Then the cheaper of the fastest ships it
    assert_eq!(shipped(&plan), [("fast-cheap", vec![("A", 3)])]);
    assert_eq!((plan.total_cost, plan.days), (770, 1));
    assert!(plan.explanation.starts_with(
        "Single shipment from fast-cheap (1 day, shipping EUR 7.70), the fastest of 3"
    ));
}

#[test]
fn without_a_single_warehouse_the_order_is_split_at_the_lowest_cost() {
    // Given no warehouse with both SKUs
    let offers = [
        offer("ams-1", (100, 500, 1), &[("A", 5)]),
        offer("ber-2", (100, 1_000, 3), &[("B", 5)]),
        offer("cph-3", (100, 400, 4), &[("B", 5)]),
    ];
    // When a normal order for both is allocated
    let plan = plan(&order(&[("A", 2), ("B", 3)]), &offers);
    // Then it is split over the cheapest pair
    assert_eq!(
        shipped(&plan),
        [("ams-1", vec![("A", 2)]), ("cph-3", vec![("B", 3)])]
    );
    assert_eq!((plan.total_cost, plan.days), (700 + 700, 4));
    assert_eq!(
        plan.explanation,
        "No warehouse shipping to nl has the whole order; split over ams-1 and cph-3 \
         (shipping EUR 14.00, 4 days), the cheapest plan with at most 3 shipments."
    );

    // And a priority order takes the faster pair at a higher cost
    let plan = plan_of(priority(&[("A", 2), ("B", 3)]), &offers);
    assert_eq!(
        shipped(&plan),
        [("ams-1", vec![("A", 2)]), ("ber-2", vec![("B", 3)])]
    );
    assert_eq!((plan.total_cost, plan.days), (700 + 1_300, 3));
    assert!(plan
        .explanation
        .contains("(3 days, shipping EUR 20.00), the fastest plan"));
}

fn plan_of(request: AllocationRequest, offers: &[WarehouseOffer]) -> Plan {
    plan(&request, offers)
}

#[test]
fn a_line_may_be_split_over_warehouses_cheapest_per_item_first() {
    // Given the SKU spread over two warehouses, neither with enough
    let offers = [
        offer("b-cheap", (10, 100, 2), &[("A", 3)]),
        offer("a-dear", (20, 100, 2), &[("A", 3)]),
    ];
    // When 5 are ordered
    let plan = plan(&order(&[("A", 5)]), &offers);
    // Then the cheaper per item ships all it has and the other the rest
    assert_eq!(
        shipped(&plan),
        [("a-dear", vec![("A", 2)]), ("b-cheap", vec![("A", 3)])]
    );
    assert_eq!(plan.total_cost, (100 + 40) + (100 + 30));
}

#[test]
fn a_split_pays_shipment_costs_only_for_warehouses_that_ship() {
    // Given a warehouse cheap per item but dear per shipment, and two others
    let offers = [
        offer("x", (1, 10_000, 1), &[("A", 1)]),
        offer("y", (5, 10, 1), &[("A", 2), ("B", 1)]),
        offer("z", (5, 10, 1), &[("A", 2), ("B", 1)]),
    ];
    // When the order needs more than any single one has
    let plan = plan(&order(&[("A", 4), ("B", 1)]), &offers);
    // Then the dear shipment is avoided
    assert_eq!(
        shipped(&plan),
        [("y", vec![("A", 2), ("B", 1)]), ("z", vec![("A", 2)])]
    );
    assert_eq!(plan.total_cost, (10 + 15) + (10 + 10));
}

#[test]
fn the_number_of_shipments_is_capped() {
    // Given three SKUs each in its own warehouse
    let offers = [
        offer("w1", (1, 1, 1), &[("A", 1)]),
        offer("w2", (1, 1, 1), &[("B", 1)]),
        offer("w3", (1, 1, 1), &[("C", 1)]),
        offer("w4", (1, 1, 1), &[("D", 1)]),
    ];
    let lines = [("A", 1), ("B", 1), ("C", 1)];
    // When the order may use three shipments (the default), it is split over three
    assert_eq!(DEFAULT_MAX_SHIPMENTS, 3);
    assert_eq!(plan(&order(&lines), &offers).shipments.len(), 3);
    // When it may use only two, it is refused as needing too many
    let two = AllocationRequest {
        max_shipments: 2,
        ..order(&lines)
    };
    let error = refusal(&two, &offers);
    assert_eq!(
        error,
        AllocationError::TooManyShipments {
            max_shipments: 2,
            explanation: "No warehouse shipping to nl has the whole order, and no 2 of them \
                          together hold it: the stock is spread over more warehouses."
                .into()
        }
    );
    // And when four SKUs need four warehouses, the default refuses too
    let four = order(&[("A", 1), ("B", 1), ("C", 1), ("D", 1)]);
    assert!(matches!(
        refusal(&four, &offers),
        AllocationError::TooManyShipments {
            max_shipments: 3,
            ..
        }
    ));
    // But a configured cap of four admits it
    let four = AllocationRequest {
        max_shipments: 4,
        ..four
    };
    assert_eq!(plan(&four, &offers).shipments.len(), 4);
    // And a cap of one allows only a single warehouse
    let one = AllocationRequest {
        max_shipments: 1,
        ..order(&[("A", 1), ("B", 1)])
    };
    assert_eq!(
        refusal(&one, &offers).explanation(),
        "No warehouse shipping to nl has the whole order, and it may not be split."
    );
}

#[test]
fn a_shortage_is_reported_per_sku() {
    // Given too little of two SKUs across the warehouses shipping to the region
    let offers = [
        offer("ams-1", (1, 1, 1), &[("MUG-1", 2), ("CUP-1", 9)]),
        offer("ber-2", (1, 1, 1), &[("MUG-1", 1)]),
    ];
    // When an order wants more
    let error = refusal(&order(&[("MUG-1", 5), ("CUP-1", 3)]), &offers);
    // Then only MUG-1 is short, with what is wanted and available
    assert_eq!(
        error,
        AllocationError::Shortage {
            short: vec![Shortfall {
                sku: "MUG-1".into(),
                wanted: 5,
                available: 3
            }],
            explanation: "Short of MUG-1: 5 wanted, 3 available across warehouses shipping to nl."
                .into(),
        }
    );
    // And with several SKUs short, each is named, including one nobody stocks
    let error = refusal(
        &order(&[("MUG-1", 5), ("CUP-1", 10), ("TEA-9", 1)]),
        &offers,
    );
    let AllocationError::Shortage { short, explanation } = error else {
        panic!("expected a shortage");
    };
    let short: Vec<(&str, u64, u64)> = short
        .iter()
        .map(|s| (s.sku.as_str(), s.wanted, s.available))
        .collect();
    assert_eq!(short, [("CUP-1", 10, 9), ("MUG-1", 5, 3), ("TEA-9", 1, 0)]);
    assert_eq!(
        explanation,
        "Short of CUP-1 (10 wanted, 9 available), MUG-1 (5 wanted, 3 available) and TEA-9 (1 \
         wanted, 0 available) across warehouses shipping to nl."
    );
    // And with no warehouse shipping there at all, everything is short
    assert!(matches!(
        refusal(&order(&[("MUG-1", 1)]), &[]),
        AllocationError::Shortage { short, .. } if short[0].available == 0
    ));
}

#[test]
fn the_same_sku_on_two_lines_counts_as_the_sum() {
    // Given one warehouse with 3 and one with 5
    let offers = [
        offer("has-3", (1, 1, 1), &[("A", 3)]),
        offer("has-5", (9, 9, 9), &[("A", 5)]),
    ];
    // When two lines ask for 2 and 3
    let plan = plan(&order(&[("A", 2), ("A", 3)]), &offers);
    // Then 5 are allocated as one line, from the only single warehouse with 5
    assert_eq!(shipped(&plan), [("has-5", vec![("A", 5)])]);
    // And when the sum exceeds what there is, the shortage names the sum
    let error = refusal(&order(&[("A", 5), ("A", 4)]), &offers);
    assert!(matches!(
        error,
        AllocationError::Shortage { short, .. } if short == [Shortfall { sku: "A".into(), wanted: 9, available: 8 }]
    ));
}

#[test]
fn ties_are_broken_by_fewer_shipments_then_warehouse_ids() {
    // Given identical warehouses
    let offers = [
        offer("c", (1, 0, 1), &[("A", 2), ("B", 1)]),
        offer("a", (1, 0, 1), &[("A", 1)]),
        offer("b", (1, 0, 1), &[("B", 1)]),
        offer("d", (1, 0, 1), &[("A", 2), ("B", 1)]),
    ];
    // When two identical single warehouses could ship it, the smaller id does
    let plan1 = plan(&order(&[("A", 2), ("B", 1)]), &offers);
    assert_eq!(shipped(&plan1), [("c", vec![("A", 2), ("B", 1)])]);
    // When splits tie on cost (shipments are free), the fewest warehouses, then the
    // smallest ids win: {a, c} over {a, b, c}, {a, d}, {c, d}...
    let plan2 = plan(&order(&[("A", 3), ("B", 1)]), &offers);
    assert_eq!(
        shipped(&plan2),
        [("a", vec![("A", 1)]), ("c", vec![("A", 2), ("B", 1)])]
    );
    // And the offers' order does not matter
    let mut reversed = offers.to_vec();
    reversed.reverse();
    assert_eq!(plan(&order(&[("A", 2), ("B", 1)]), &reversed), plan1);
    assert_eq!(plan(&order(&[("A", 3), ("B", 1)]), &reversed), plan2);
}

#[test]
fn equal_costs_prefer_the_faster_plan() {
    let offers = [
        offer("a-slow", (1, 1, 5), &[("A", 1)]),
        offer("b-fast", (1, 1, 2), &[("A", 1)]),
    ];
    let plan = plan(&order(&[("A", 1)]), &offers);
    assert_eq!(shipped(&plan), [("b-fast", vec![("A", 1)])]);
}

#[test]
fn warehouses_without_the_skus_are_ignored() {
    let offers = [
        offer("empty", (0, 0, 0), &[("A", 0)]),
        offer("other", (0, 0, 0), &[("Z", 100)]),
        offer("has", (5, 5, 5), &[("A", 1), ("Z", 1)]),
    ];
    let plan = plan(&order(&[("A", 1)]), &offers);
    assert_eq!(shipped(&plan), [("has", vec![("A", 1)])]);
}

#[test]
fn malformed_requests_and_offers_are_refused() {
    let good = [offer("w", (1, 1, 1), &[("A", 1)])];
    let fields = |error: AllocationError| match error {
        AllocationError::Invalid { errors, .. } => {
            errors.into_iter().map(|e| e.field).collect::<Vec<_>>()
        }
        other => panic!("expected invalid, got {other:?}"),
    };
    assert_eq!(fields(refusal(&order(&[]), &good)), ["lines"]);
    assert_eq!(
        fields(refusal(&order(&[("A", 0), ("", 1)]), &good)),
        ["lines[0].quantity", "lines[1].sku"]
    );
    let none = AllocationRequest {
        max_shipments: 0,
        region: String::new(),
        ..order(&[("A", 1)])
    };
    assert_eq!(fields(refusal(&none, &good)), ["region", "max_shipments"]);
    let bad = [
        offer("w", (-1, 1, 1), &[("A", 1)]),
        offer("w", (1, -1, 1), &[("A", 1)]),
    ];
    assert_eq!(
        fields(refusal(&order(&[("A", 1)]), &bad)),
        [
            "offers[0].cost_per_item",
            "offers[1].warehouse_id",
            "offers[1].cost_per_shipment"
        ]
    );
}

#[test]
fn refusals_become_domain_errors() {
    let offers = [offer("w", (1, 1, 1), &[("A", 1)])];
    let shortage: DomainError = refusal(&order(&[("A", 2)]), &offers).into();
    assert_eq!(shortage.kind, ErrorKind::Conflict);
    assert_eq!(shortage.code, "insufficient_stock");
    assert_eq!(
        shortage.facts["short"],
        serde_json::json!([{"sku": "A", "wanted": 2, "available": 1}])
    );
    let invalid: DomainError = refusal(&order(&[]), &offers).into();
    assert_eq!(invalid.kind, ErrorKind::Invalid);
    assert_eq!(invalid.errors[0].field, "lines");
}

#[test]
fn offers_come_from_the_rates_for_the_destination_region() {
    let rate = |region: &str, currency: &str, item, shipment, days| ShippingRate {
        region: region.into(),
        cost_per_item: Money {
            amount: item,
            currency: currency.into(),
        },
        cost_per_shipment: Money {
            amount: shipment,
            currency: currency.into(),
        },
        days,
    };
    let ams = vec![rate("de", "EUR", 1, 2, 3), rate("nl", "EUR", 150, 499, 1)];
    let ber = vec![rate("de", "EUR", 1, 2, 3)];
    let usd = vec![rate("nl", "USD", 1, 1, 1)];
    let stock = || BTreeMap::from([("A".to_string(), 4)]);
    let (currency, offers) = offers_for_region(
        "nl",
        [
            ("ams-1", ams.as_slice(), stock()),
            ("ber-2", ber.as_slice(), stock()),
            ("nyc-3", usd.as_slice(), stock()),
        ],
    );
    // Only Amsterdam ships to nl in euros (the first warehouse's currency there), at
    // its nl rate
    assert_eq!(offers, [offer("ams-1", (150, 499, 1), &[("A", 4)])]);
    assert_eq!(currency, "EUR");
}

#[test]
fn many_warehouses_are_searched_within_bounds() {
    // Given 300 warehouses with one unit each of one of three SKUs, and a few with more
    let mut offers: Vec<WarehouseOffer> = (0..300)
        .map(|i| {
            let sku = ["A", "B", "C"][i % 3];
            offer(&format!("w{i:03}"), (10, 100 + i as i64, 2), &[(sku, 1)])
        })
        .collect();
    offers.push(offer("big-a", (10, 1_000, 2), &[("A", 5)]));
    offers.push(offer("big-bc", (10, 1_000, 2), &[("B", 5), ("C", 5)]));
    // When an order needs more than any single one has
    let plan = plan(&order(&[("A", 3), ("B", 3), ("C", 1)]), &offers);
    // Then the search stays within its bound, finds the plan, and says it was narrowed
    assert_eq!(
        shipped(&plan),
        [
            ("big-a", vec![("A", 3)]),
            ("big-bc", vec![("B", 3), ("C", 1)])
        ]
    );
    assert!(
        plan.explanation.ends_with("Only the 114 of 302 warehouses holding the most of the order were searched for a split."),
        "{}",
        plan.explanation
    );
}

// Brute force.

/// What the brute force finds: `None` with a shortage, `Some(None)` when no plan fits
/// in `max_shipments`, else the best plan's (objective, shipments, warehouse ids).
type Best = Option<Option<((i64, i64), usize, Vec<String>)>>;

/// Every assignment of units to warehouses (each SKU's units split in every way the
/// stock allows), judged by the rules: single-warehouse plans first if any exist,
/// else plans of at most `max_shipments` warehouses; objective cost then days, or
/// days then cost for priority; then fewer shipments; then smaller sorted ids.
fn brute_force(request: &AllocationRequest, offers: &[WarehouseOffer]) -> Best {
    let mut wanted: BTreeMap<&str, u64> = BTreeMap::new();
    for l in &request.lines {
        *wanted.entry(&l.sku).or_default() += l.quantity;
    }
    let wanted: Vec<(&str, u64)> = wanted.into_iter().collect();
    let stock = |w: usize, sku: &str| offers[w].available.get(sku).copied().unwrap_or(0);
    for (sku, q) in &wanted {
        if (0..offers.len()).map(|w| stock(w, sku)).sum::<u64>() < *q {
            return None;
        }
    }
    // units[w] = units shipped from warehouse w, over all SKUs.
    let mut keys = Vec::new();
    let mut units = vec![0u64; offers.len()];
    fn go(
        wanted: &[(&str, u64)],
        j: usize,
        w: usize,
        rest: u64,
        units: &mut [u64],
        stock: &dyn Fn(usize, &str) -> u64,
        leaf: &mut dyn FnMut(&[u64]),
    ) {
        if j == wanted.len() {
            leaf(units);
            return;
        }
        let n = units.len();
        if w == n {
            if rest == 0 {
                let next = wanted.get(j + 1).map_or(0, |(_, q)| *q);
                go(wanted, j + 1, 0, next, units, stock, leaf);
            }
            return;
        }
        for take in 0..=rest.min(stock(w, wanted[j].0)) {
            units[w] += take;
            go(wanted, j, w + 1, rest - take, units, stock, leaf);
            units[w] -= take;
        }
    }
    let first = wanted[0].1;
    go(&wanted, 0, 0, first, &mut units, &stock, &mut |units| {
        let used: Vec<usize> = (0..units.len()).filter(|&w| units[w] > 0).collect();
        let cost: i64 = used
            .iter()
            .map(|&w| offers[w].cost_per_shipment + offers[w].cost_per_item * units[w] as i64)
            .sum();
        let days = used.iter().map(|&w| offers[w].days).max().unwrap_or(0) as i64;
        let objective = if request.priority {
            (days, cost)
        } else {
            (cost, days)
        };
        let mut ids: Vec<String> = used
            .iter()
            .map(|&w| offers[w].warehouse_id.clone())
            .collect();
        ids.sort();
        keys.push((objective, used.len(), ids));
    });
    let singles = keys.iter().filter(|k| k.1 == 1).min().cloned();
    Some(singles.or_else(|| {
        keys.iter()
            .filter(|k| k.1 <= request.max_shipments)
            .min()
            .cloned()
    }))
}

fn small_case() -> impl Strategy<Value = (AllocationRequest, Vec<WarehouseOffer>)> {
    let skus = ["A", "B", "C"];
    let line = (0usize..3, 1u64..=4).prop_map(move |(s, q)| OrderLine::new(skus[s], q));
    let request = (
        proptest::collection::vec(line, 1..=3),
        any::<bool>(),
        1usize..=4,
    )
        .prop_map(|(lines, priority, max_shipments)| AllocationRequest {
            region: "nl".into(),
            currency: "EUR".into(),
            lines,
            priority,
            max_shipments,
        });
    let warehouse = (
        0i64..=3,
        0i64..=5,
        0u32..=3,
        proptest::collection::vec(0u64..=4, 3),
    );
    let offers = proptest::collection::vec(warehouse, 0..=4).prop_map(move |ws| {
        ws.into_iter()
            .enumerate()
            .map(|(i, (item, shipment, days, stock))| WarehouseOffer {
                // Ids out of insertion order, so the result cannot lean on it.
                warehouse_id: format!("w{}", (i * 3 + 1) % 4),
                cost_per_item: item,
                cost_per_shipment: shipment,
                days,
                available: skus
                    .iter()
                    .zip(stock)
                    .map(|(sku, n)| (sku.to_string(), n))
                    .collect(),
            })
            .collect::<Vec<_>>()
    });
    (request, offers)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn allocate_agrees_with_brute_force((request, offers) in small_case()) {
        let expected = brute_force(&request, &offers);
        let result = allocate(&request, &offers);
        match (&expected, &result) {
            (None, Err(AllocationError::Shortage { .. })) => {}
            (Some(None), Err(AllocationError::TooManyShipments { .. })) => {}
            (Some(Some((objective, shipments, ids))), Ok(plan)) => {
                if let Err(problem) = check_plan(&request, &offers, plan) {
                    return Err(TestCaseError::fail(format!("invalid plan: {problem}\n{plan:?}")));
                }
                let got = if request.priority {
                    (plan.days as i64, plan.total_cost)
                } else {
                    (plan.total_cost, plan.days as i64)
                };
                prop_assert_eq!(&got, objective, "objective");
                prop_assert_eq!(plan.shipments.len(), *shipments, "shipments");
                let got_ids: Vec<String> =
                    plan.shipments.iter().map(|s| s.warehouse_id.clone()).collect();
                prop_assert_eq!(&got_ids, ids, "warehouses");
                prop_assert!(!plan.explanation.is_empty());
            }
            _ => prop_assert!(false, "brute force {:?}, allocate {:?}", expected, result),
        }
        // The offers' order does not matter.
        let mut reversed = offers.clone();
        reversed.reverse();
        prop_assert_eq!(allocate(&request, &reversed), result);
    }
}
