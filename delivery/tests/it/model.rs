//! Given events at chosen times, when folded, then the model prices and reports them.

use chrono::Duration;
use delivery::outlook::{city_forecast, rebalancing, zone_report};
use delivery::{quote, Pickup, PricingConfig, QuoteRefusal, QuoteRequest, Zones};
use domain::delivery::{MultiplierKind, RebalancingRules, Rule};
use event_schemas::delivery::WeatherCondition;
use event_schemas::{CityEvent, DeliveryFeedEvent, GeoPoint};

use crate::support::{east, noon, Log, BERLIN};

fn ask(
    zones: &Zones,
    to: GeoPoint,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<delivery::Quote, QuoteRefusal> {
    let request = QuoteRequest {
        pickup: Pickup::Point(BERLIN),
        dropoff: to,
        order_value: 2_500,
        at,
        buyer: Some("buyer-1".into()),
        asked_by: "buyer:buyer-1".into(),
    };
    quote(zones, &request, 0)
}

#[test]
fn a_quiet_zone_pays_the_base_fee_by_distance() {
    // Given Berlin's policy and a warehouse at its centre
    let mut log = Log::new();
    log.berlin(2.0, noon());
    let zones = log.fold(PricingConfig::default());
    // When a delivery 4 km east is quoted at a quiet noon
    let quote = ask(&zones, east(4.0), noon()).unwrap();
    // Then it costs the base fee plus 50 a km, nothing more, and names the zone
    assert!(
        (quote.distance_km - 4.0).abs() < 0.05,
        "{}",
        quote.distance_km
    );
    assert_eq!(quote.priced.fee, 199 + 200);
    assert!(quote.priced.multipliers.is_empty());
    assert_eq!(quote.terms.pickup_warehouse, "ber-1");
    assert_eq!(
        quote.terms.dropoff_cell,
        zones.cell_of(east(4.0)).unwrap().to_string()
    );
    assert_eq!(
        quote.terms.expires_at - quote.terms.issued_at,
        Duration::minutes(10)
    );
}

#[test]
fn demand_above_twice_supply_raises_the_multiplier_a_step_at_a_time() {
    // Given one courier in a zone and a dwell of five minutes
    let mut log = Log::new();
    log.berlin(2.0, noon());
    let zones = log.fold(PricingConfig::default());
    let to = east(3.0);
    log.courier("c1", to, &zones, noon());
    // When forty orders arrive there within a minute
    log.orders(40, to, noon() + Duration::seconds(10));
    let at = noon() + Duration::seconds(60);
    let zones = log.fold(PricingConfig::default());
    // Then the ratio is high but the multiplier moved one step only
    let report = zone_report(&zones, zones.cell_of(to).unwrap(), at);
    assert_eq!(report.supply, 1);
    assert_eq!(report.demand, 40.0);
    assert!(report.ratio > 30.0, "{report:?}");
    assert!((report.demand_multiplier - 1.1).abs() < 1e-9, "{report:?}");
    // And five minutes later (orders still in the window) it moves one more step
    let later = noon() + Duration::seconds(10 + 6 * 60);
    let report = zone_report(&zones, zones.cell_of(to).unwrap(), later);
    assert!((report.demand_multiplier - 1.2).abs() < 1e-9, "{report:?}");
    // And the quote there says why it costs more
    let quote = ask(&zones, to, at).unwrap();
    assert_eq!(quote.priced.multipliers[0].kind, MultiplierKind::Demand);
    assert_eq!(quote.priced.explanation, "High demand near you: 1.1");
}

#[test]
fn couriers_in_the_ring_around_a_zone_count_as_its_supply() {
    // Given a courier in the next zone over and one far away
    let mut log = Log::new();
    log.berlin(2.0, noon());
    let zones = log.fold(PricingConfig::default());
    let to = east(3.0);
    let cell = zones.cell_of(to).unwrap();
    let neighbour = cell
        .grid_disk::<Vec<_>>(1)
        .into_iter()
        .find(|c| *c != cell)
        .unwrap();
    log.courier("near", Zones::centre(neighbour), &zones, noon());
    log.courier("far", east(10.0), &zones, noon());
    let zones = log.fold(PricingConfig::default());
    // Then the zone counts the near one only, and the far one counts in its own zone
    assert_eq!(zones.supply(cell), 1);
    assert_eq!(zones.supply(zones.cell_of(east(10.0)).unwrap()), 1);
    // And a courier going offline takes its supply with it
    log.feed(
        DeliveryFeedEvent::CourierWentOffline {
            courier_id: "near".into(),
        },
        noon() + Duration::seconds(1),
    );
    assert_eq!(log.fold(PricingConfig::default()).supply(cell), 0);
}

#[test]
fn rain_and_rush_hour_stack_and_the_cap_binds() {
    // Given rain over Berlin at 18:00 local time (rush hour) and a cap of 1.5
    let mut log = Log::new();
    log.berlin(1.5, noon());
    let evening = noon() + Duration::hours(6);
    log.feed(
        DeliveryFeedEvent::WeatherObserved {
            city_id: "berlin".into(),
            cells: vec![],
            condition: WeatherCondition::Rain,
            from: evening - Duration::hours(1),
            until: evening + Duration::minutes(30),
        },
        noon(),
    );
    let zones = log.fold(PricingConfig::default());
    // When a delivery is quoted in the rain at rush hour
    let quote = ask(&zones, east(2.0), evening).unwrap();
    // Then both multipliers show, the global cap binds, and the customer reads why
    let kinds: Vec<_> = quote.priced.multipliers.iter().map(|m| m.kind).collect();
    assert_eq!(
        kinds,
        vec![MultiplierKind::Weather, MultiplierKind::RushHour]
    );
    assert_eq!(quote.priced.applied, 1.5);
    assert_eq!(quote.priced.bindings[0].rule, Rule::GlobalCap);
    assert!(
        quote.priced.explanation.contains("capped at 1.5"),
        "{}",
        quote.priced.explanation
    );
    // And after the rain stops, only rush hour is left
    let later = evening + Duration::minutes(31);
    let quote = ask(&zones, east(2.0), later).unwrap();
    let kinds: Vec<_> = quote.priced.multipliers.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, vec![MultiplierKind::RushHour]);
}

#[test]
fn a_local_event_lifts_fees_within_its_radius_while_it_runs() {
    let mut log = Log::new();
    log.berlin(2.0, noon());
    log.feed(
        DeliveryFeedEvent::LocalEventScheduled {
            event_id: "match".into(),
            name: "Cup final".into(),
            location: east(5.0),
            radius_km: 1.0,
            starts_at: noon() + Duration::hours(1),
            ends_at: noon() + Duration::hours(3),
            expected_attendance: 70_000,
        },
        noon(),
    );
    let zones = log.fold(PricingConfig::default());
    let during = noon() + Duration::hours(2);
    let kinds = |to, at| -> Vec<MultiplierKind> {
        ask(&zones, to, at)
            .unwrap()
            .priced
            .multipliers
            .iter()
            .map(|m| m.kind)
            .collect()
    };
    assert_eq!(kinds(east(5.2), during), vec![MultiplierKind::LocalEvent]);
    assert!(kinds(east(8.0), during).is_empty(), "outside its radius");
    assert!(kinds(east(5.2), noon()).is_empty(), "before it starts");
}

#[test]
fn what_cannot_be_priced_says_why() {
    let mut log = Log::new();
    log.berlin(2.0, noon());
    let zones = log.fold(PricingConfig::default());
    let paris = GeoPoint {
        lat: 48.85,
        lon: 2.35,
    };
    assert_eq!(
        ask(&zones, paris, noon()).unwrap_err(),
        QuoteRefusal::OutsideCities
    );
    let request = QuoteRequest {
        pickup: Pickup::Point(east(10.0)),
        dropoff: east(2.0),
        order_value: 0,
        at: noon(),
        buyer: None,
        asked_by: "key:shop".into(),
    };
    assert_eq!(
        quote(&zones, &request, 0).unwrap_err().code(),
        "no_pickup_warehouse"
    );
    let request = QuoteRequest {
        pickup: Pickup::Warehouse("nowhere".into()),
        ..request
    };
    assert_eq!(
        quote(&zones, &request, 0).unwrap_err().code(),
        "unknown_warehouse"
    );
}

#[test]
fn an_emergency_caps_at_the_fourth_highest_charged_on_the_days_before() {
    // Given five earlier days on which orders paid delivery at 1.5, 2.0, 1.3, 1.8
    // and 1.6 (and a quote shown at 2.5 that no order used: not charged)
    let config = PricingConfig::parse("dwell_minutes=0,smoothing=1").unwrap();
    let mut log = Log::new();
    let start = noon() - Duration::days(10);
    log.berlin(3.0, start);
    let to = east(3.0);
    let zones = log.fold(config);
    let cell = zones.cell_of(to).unwrap().to_string();
    log.courier("c1", to, &zones, start);
    for (day, charged) in [(1, 1.5), (2, 2.0), (3, 1.3), (4, 1.8), (5, 1.6)] {
        log.charged(&cell, charged, start + Duration::days(day));
    }
    // When an emergency is declared today
    let declared_at = noon();
    let position = log.city(
        CityEvent::EmergencyDeclared {
            city_id: "berlin".into(),
            reason: "blizzard".into(),
        },
        declared_at,
    );
    let zones = log.fold(config);
    let emergency = zones.cities["berlin"].emergency.clone().unwrap();
    // Then its cap is the 4th-highest of those days' charges
    assert_eq!(emergency.cap, 1.5, "{emergency:?}");
    assert_eq!(emergency.position, position);
    // And a quote in a zone far busier than ever obeys it, saying so
    log.orders(60, to, declared_at + Duration::seconds(1));
    let zones = log.fold(config);
    let quote = ask(&zones, to, declared_at + Duration::minutes(2)).unwrap();
    assert_eq!(quote.priced.applied, 1.5, "{quote:?}");
    assert!(
        quote
            .priced
            .bindings
            .iter()
            .any(|b| b.rule == Rule::EmergencyCap),
        "{quote:?} {emergency:?}"
    );
    // And once it ends, the zone is charged its demand again
    log.city(
        CityEvent::EmergencyEnded {
            city_id: "berlin".into(),
        },
        declared_at + Duration::minutes(3),
    );
    let quote = ask(&log.fold(config), to, declared_at + Duration::minutes(4)).unwrap();
    assert_eq!(quote.priced.applied, 2.0);
}

#[test]
fn a_quiet_zone_comes_down_a_step_per_dwell_time() {
    // Given a zone pushed to 1.5 by a burst, then nothing for an hour
    let config = PricingConfig::parse("smoothing=1").unwrap();
    let mut log = Log::new();
    log.berlin(3.0, noon());
    let to = east(3.0);
    let zones = log.fold(config);
    log.courier("c1", to, &zones, noon());
    let mut at = noon();
    for _ in 0..5 {
        log.orders(20, to, at);
        at += Duration::minutes(5);
    }
    let zones = log.fold(config);
    let cell = zones.cell_of(to).unwrap();
    let busiest = zone_report(&zones, cell, at).demand_multiplier;
    assert!(busiest >= 1.5, "{busiest}");
    // When it is read every five minutes for the next hour (the orders leave the
    // window ten minutes in)
    let reads: Vec<f64> = (0..=12)
        .map(|k| zone_report(&zones, cell, at + Duration::minutes(5 * k)).demand_multiplier)
        .collect();
    // Then it never moves more than a step between two reads, and comes back to 1
    assert!(
        reads.windows(2).all(|w| (w[1] - w[0]).abs() <= 0.1 + 1e-9),
        "{reads:?}"
    );
    assert_eq!(*reads.last().unwrap(), 1.0, "{reads:?}");
}

#[test]
fn a_week_of_history_gives_a_two_hour_forecast_with_a_range() {
    // Given five weeks of orders in one zone, more at lunch than at night
    let mut log = Log::new();
    let start = noon() - Duration::weeks(5);
    log.berlin(2.0, start);
    let to = east(2.0);
    let mut at = start;
    while at < noon() {
        let hour = (at.timestamp() / 3600) % 24;
        if (10..14).contains(&hour) {
            log.order(to, at);
        }
        at += Duration::minutes(5);
    }
    let zones = log.fold(PricingConfig::default());
    let cell = zones.cell_of(to).unwrap();
    // When the zone is read just before lunch
    let report = zone_report(&zones, cell, noon() - Duration::hours(2));
    // Then the forecast holds eight steps: nothing for an hour, then lunch's three
    // orders a step
    let forecast = report.forecast.expect("five weeks of history");
    assert_eq!(forecast.len(), 8);
    assert!(forecast
        .iter()
        .all(|s| s.low <= s.demand && s.demand <= s.high));
    assert!(
        forecast[..4].iter().all(|s| s.demand.abs() < 1e-9),
        "{forecast:?}"
    );
    assert!(
        forecast[4..].iter().all(|s| (s.demand - 3.0).abs() < 1e-9),
        "{forecast:?}"
    );
    // And the city's forecast is its zones' together
    let city = city_forecast(&zones, "berlin", noon() - Duration::hours(2)).unwrap();
    assert!((city[0].demand - forecast[0].demand).abs() < 1e-9);
    // And a zone seen for a day has no forecast yet
    let mut young = Log::new();
    young.berlin(2.0, noon());
    young.orders(3, to, noon());
    let zones = young.fold(PricingConfig::default());
    assert!(zone_report(&zones, cell, noon()).forecast.is_none());
}

#[test]
fn lunch_stays_at_noon_local_time_across_the_spring_clock_change() {
    // Given five weeks of lunches at 12:00–13:00 in Berlin, the last ten days after
    // the clocks went forward (29 March 2026): 11:00 UTC before, 10:00 UTC after
    let berlin = chrono_tz::Europe::Berlin;
    let local = |y, m, d, h, min| {
        use chrono::TimeZone;
        berlin
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let end = local(2026, 4, 8, 10, 0);
    let mut log = Log::new();
    log.berlin(2.0, end - Duration::weeks(5));
    let to = east(2.0);
    let mut day = local(2026, 3, 4, 12, 0);
    while day < end {
        for minute in (0..60).step_by(5) {
            log.order(to, day + Duration::minutes(minute));
        }
        day = {
            use chrono::{Datelike, TimeZone};
            let next = day.with_timezone(&berlin).date_naive() + Duration::days(1);
            berlin
                .with_ymd_and_hms(next.year(), next.month(), next.day(), 12, 0, 0)
                .single()
                .unwrap()
                .with_timezone(&chrono::Utc)
        };
    }
    let zones = log.fold(PricingConfig::default());
    // When the zone is read at 11:00 local time
    let report = zone_report(&zones, zones.cell_of(to).unwrap(), local(2026, 4, 8, 11, 0));
    let forecast = report.forecast.expect("five weeks of history");
    // Then lunch comes at noon local time (10:00 UTC), not at 11:00 UTC as in winter
    assert!(forecast[..4].iter().all(|s| s.demand < 0.5), "{forecast:?}");
    assert!(
        forecast[4..].iter().all(|s| (s.demand - 3.0).abs() < 0.5),
        "{forecast:?}"
    );
    assert_eq!(forecast[4].from, local(2026, 4, 8, 12, 0));
}

#[test]
fn couriers_idle_in_one_zone_are_sent_to_a_busy_one_nearby() {
    // Given four idle couriers 3 km away from a zone with twenty orders and none
    let mut log = Log::new();
    log.berlin(2.0, noon());
    let zones = log.fold(PricingConfig::default());
    for i in 0..4 {
        log.courier(&format!("c{i}"), east(-3.0), &zones, noon());
    }
    log.orders(20, east(3.0), noon());
    let zones = log.fold(PricingConfig::default());
    // When moves are suggested for the next hour
    let moves = rebalancing(
        &zones,
        "berlin",
        noon() + Duration::minutes(1),
        &RebalancingRules::default(),
    );
    // Then couriers go from the idle zone to the busy one
    let busy = zones.cell_of(east(3.0)).unwrap().to_string();
    let idle = zones.cell_of(east(-3.0)).unwrap().to_string();
    assert!(!moves.is_empty());
    assert!(
        moves.iter().all(|m| m.from == idle && m.to == busy),
        "{moves:?}"
    );
}

#[test]
fn a_replay_builds_the_same_model() {
    let mut log = Log::new();
    log.berlin(2.0, noon());
    let zones = log.fold(PricingConfig::default());
    log.courier("c1", east(1.0), &zones, noon());
    log.orders(12, east(1.0), noon());
    let at = noon() + Duration::minutes(1);
    let once = log.fold(PricingConfig::default());
    let twice = log.fold(PricingConfig::default());
    let cell = once.cell_of(east(1.0)).unwrap();
    assert_eq!(zone_report(&once, cell, at), zone_report(&twice, cell, at));
    assert_eq!(ask(&once, east(1.0), at), ask(&twice, east(1.0), at));
}
