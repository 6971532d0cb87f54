//! What the forecasts are used for: courier moves between zones and reorder points
//! for stock, given/when/then and as properties.

use domain::delivery::{
    advise, crossed, rebalance, z_score, RebalancingRules, ReorderRules, ZoneOutlook,
};
use proptest::prelude::*;

fn zone(name: &str, city: &str, lat: f64, lon: f64, forecast: f64, couriers: u32) -> ZoneOutlook {
    ZoneOutlook {
        zone: name.into(),
        city: city.into(),
        lat,
        lon,
        forecast,
        couriers,
    }
}

fn shortfall(zones: &[ZoneOutlook], rules: &RebalancingRules) -> f64 {
    zones
        .iter()
        .map(|z| (z.forecast - f64::from(z.couriers) * rules.deliveries_per_courier).max(0.0))
        .sum()
}

#[test]
fn idle_couriers_move_to_the_busy_zone_next_door() {
    // Given a stadium zone expecting 30 deliveries with 2 couriers, and a quiet
    // zone 2 km away with 8 couriers and 6 deliveries
    let zones = [
        zone("stadium", "berlin", 52.5146, 13.2395, 30.0, 2),
        zone("quiet", "berlin", 52.5200, 13.2690, 6.0, 8),
    ];
    // When the rebalancer is asked
    let moves = rebalance(&zones, &RebalancingRules::default());
    // Then six couriers go from the quiet zone to the stadium, leaving two to
    // cover its six deliveries, and the stadium's ratio falls to 30 / 8
    assert_eq!(moves.len(), 1);
    assert_eq!(
        (moves[0].from.as_str(), moves[0].to.as_str()),
        ("quiet", "stadium")
    );
    assert_eq!(moves[0].couriers, 6);
    assert!((moves[0].ratio_after - 30.0 / 8.0).abs() < 1e-9);
    assert!(moves[0].km > 1.5 && moves[0].km < 2.5);
}

#[test]
fn couriers_are_not_sent_between_cities_too_far_apart() {
    // Given Berlin short of couriers and Potsdam (about 27 km away) with many idle
    let zones = [
        zone("mitte", "berlin", 52.5200, 13.4050, 30.0, 1),
        zone("potsdam-centre", "potsdam", 52.3906, 13.0645, 0.0, 10),
    ];
    // When moves are limited to 15 km
    let moves = rebalance(&zones, &RebalancingRules::default());
    // Then none is suggested
    assert!(moves.is_empty(), "{moves:?}");
    // And with a 40 km limit (a region that allows it), they are
    let wide = RebalancingRules {
        max_km: 40.0,
        ..RebalancingRules::default()
    };
    assert!(!rebalance(&zones, &wide).is_empty());
}

fn zones() -> impl Strategy<Value = Vec<ZoneOutlook>> {
    proptest::collection::vec((0.0..0.2f64, 0.0..0.2f64, 0.0..40.0f64, 0u32..12), 1..8).prop_map(
        |raw| {
            raw.into_iter()
                .enumerate()
                .map(|(n, (dlat, dlon, forecast, couriers))| {
                    zone(
                        &format!("z{n}"),
                        "c",
                        52.0 + dlat,
                        13.0 + dlon,
                        forecast,
                        couriers,
                    )
                })
                .collect()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn moves_never_raise_the_shortfall_nor_go_too_far(zones in zones(), max_km in 1.0..30.0f64) {
        let rules = RebalancingRules { max_km, ..RebalancingRules::default() };
        let moves = rebalance(&zones, &rules);
        let mut after = zones.clone();
        for m in &moves {
            prop_assert!(m.km <= max_km);
            prop_assert!(m.couriers > 0);
            let from = after.iter().position(|z| z.zone == m.from).unwrap();
            let to = after.iter().position(|z| z.zone == m.to).unwrap();
            after[from].couriers -= m.couriers;
            after[to].couriers += m.couriers;
        }
        let total: u32 = zones.iter().map(|z| z.couriers).sum();
        prop_assert_eq!(after.iter().map(|z| z.couriers).sum::<u32>(), total);
        prop_assert!(shortfall(&after, &rules) <= shortfall(&zones, &rules) + 1e-9);
    }

    #[test]
    fn a_higher_service_level_never_lowers_the_reorder_point(
        sales in proptest::collection::vec(0.0..50.0f64, 1..60),
        low in 0.5..0.99f64,
        more in 0.0..0.0099f64,
        available in -10i64..500,
    ) {
        let rules = |service_level| ReorderRules { service_level, ..ReorderRules::default() };
        let lower = advise(&sales, available, &rules(low));
        let higher = advise(&sales, available, &rules(low + more));
        prop_assert!(higher.reorder_point >= lower.reorder_point - 1e-9);
        prop_assert!(higher.suggested_quantity >= lower.suggested_quantity);
        prop_assert!(lower.safety_stock >= 0.0);
    }
}

#[test]
fn the_z_score_is_the_normal_quantile() {
    for (p, z) in [
        (0.5, 0.0),
        (0.95, 1.644_853_627),
        (0.99, 2.326_347_874),
        (0.01, -2.326_347_874),
    ] {
        assert!((z_score(p) - z).abs() < 1e-6, "z({p}) = {}", z_score(p));
    }
}

#[test]
fn stock_below_its_reorder_point_is_reordered_to_cover_lead_time_and_review() {
    // Given a SKU that sold 8, 12, 10, 10 a day, a week's lead time and a 95% level
    let sales = [8.0, 12.0, 10.0, 10.0];
    // When 60 are left
    let advice = advise(&sales, 60, &ReorderRules::default());
    // Then the safety stock is z × σ × √7, the reorder point 70 plus it, and the
    // suggestion brings the stock to that plus two weeks of sales
    let sigma = (8.0f64 / 3.0).sqrt();
    let safety = 1.644_853_627 * sigma * 7f64.sqrt();
    assert!((advice.velocity - 10.0).abs() < 1e-12);
    assert!((advice.safety_stock - safety).abs() < 1e-6);
    assert!((advice.reorder_point - (70.0 + safety)).abs() < 1e-6);
    assert_eq!(
        advice.suggested_quantity,
        (70.0 + safety + 140.0 - 60.0f64).ceil() as u64
    );
    assert_eq!(advice.days_of_cover, Some(6.0));
    // And well above it nothing is suggested
    assert_eq!(
        advise(&sales, 500, &ReorderRules::default()).suggested_quantity,
        0
    );
}

#[test]
fn a_suggestion_is_made_once_per_crossing() {
    let point = 70.5;
    assert!(crossed(72, 70, point));
    assert!(
        !crossed(70, 65, point),
        "already below: no second suggestion"
    );
    assert!(!crossed(80, 75, point));
    assert!(crossed(71, 0, point));
}
