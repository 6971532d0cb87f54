//! Delivery pricing's guard rails, as properties over random inputs: the fee never
//! falls as demand rises, no cap is ever exceeded, the emergency cap is exactly the
//! 4th-highest distinct-day maximum of the last 60 days, and a zone's multiplier
//! never moves faster than its step and dwell. Plus given/when/then for the sentence.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::delivery::{
    demand_multiplier, emergency_cap, price, Conditions, DailyMaxima, Hysteresis, Policy, Rule,
    Steady, Weather,
};
use proptest::prelude::*;

fn policy(cap: f64) -> Policy {
    Policy {
        currency: "EUR".into(),
        base_fee: 199,
        per_km: 50,
        floor: 149,
        ceiling: 1_999,
        multiplier_cap: cap,
        free_delivery_from: Some(10_000),
    }
}

fn conditions() -> impl Strategy<Value = Conditions> {
    (
        0.0..20.0f64,
        prop_oneof![
            Just(None),
            Just(Some(Weather::Rain)),
            Just(Some(Weather::Snow))
        ],
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(1.0..4.0f64),
    )
        .prop_map(
            |(demand_ratio, weather, rush_hour, local_event, emergency_cap)| Conditions {
                demand: demand_multiplier(demand_ratio),
                weather,
                rush_hour,
                local_event,
                emergency_cap,
            },
        )
}

fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2015, 1, 1).unwrap() + Duration::days(n)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_fee_never_falls_as_demand_rises(
        conditions in conditions(),
        more in 0.0..10.0f64,
        km in 0.0..30.0f64,
        cap in 1.0..4.0f64,
        value in 0u64..20_000,
    ) {
        let policy = policy(cap);
        let lower = price(&policy, &conditions, km, value);
        let busier = Conditions { demand: conditions.demand + more * 0.2, ..conditions.clone() };
        let higher = price(&policy, &busier, km, value);
        prop_assert!(higher.fee >= lower.fee, "{lower:?} then {higher:?}");
        prop_assert!(higher.applied >= lower.applied);
    }

    #[test]
    fn no_cap_is_ever_exceeded(
        conditions in conditions(),
        km in 0.0..60.0f64,
        cap in 1.0..4.0f64,
        value in 0u64..20_000,
    ) {
        let policy = policy(cap);
        let priced = price(&policy, &conditions, km, value);
        prop_assert!(priced.applied <= cap.max(1.0) + 1e-12);
        if let Some(emergency) = conditions.emergency_cap {
            prop_assert!(priced.applied <= emergency.max(1.0) + 1e-12);
        }
        if value >= 10_000 {
            prop_assert_eq!(priced.fee, 0);
        } else {
            prop_assert!(priced.fee >= policy.floor && priced.fee <= policy.ceiling);
        }
        // Every binding rule is recorded, in the documented order.
        let order = |rule: Rule| rule as usize;
        prop_assert!(priced.bindings.windows(2).all(|w| order(w[0].rule) < order(w[1].rule)));
    }

    #[test]
    fn the_emergency_cap_is_the_fourth_highest_day_of_the_last_sixty(
        charged in proptest::collection::vec((0i64..90, 1.0..3.5f64), 0..40),
        ordinary in 2.0..4.0f64,
    ) {
        let mut maxima = DailyMaxima::default();
        for &(n, multiplier) in &charged {
            maxima.record(day(n), multiplier);
        }
        let today = day(90);
        // The reference: each day's highest, within the 60 days before today.
        let mut by_day = std::collections::BTreeMap::new();
        for &(n, multiplier) in &charged {
            if n >= 30 {
                let highest: &mut f64 = by_day.entry(n).or_insert(multiplier);
                *highest = highest.max(multiplier);
            }
        }
        let mut days: Vec<f64> = by_day.into_values().collect();
        days.sort_by(|a, b| b.total_cmp(a));
        let expected = if days.len() < 4 { ordinary } else { days[3].min(ordinary) };
        prop_assert_eq!(emergency_cap(&maxima, today, ordinary), expected);
    }

    #[test]
    fn a_multiplier_never_moves_faster_than_its_step_and_dwell(
        ratios in proptest::collection::vec((0.0..12.0f64, 1i64..600), 1..80),
        step in 0.05..0.5f64,
        dwell_minutes in 1i64..15,
        smoothing in 0.05..1.0f64,
    ) {
        let rules = Hysteresis { smoothing, step, dwell: Duration::minutes(dwell_minutes) };
        let mut now: DateTime<Utc> = DateTime::UNIX_EPOCH;
        let mut zone = Steady::new(now);
        for (ratio, seconds) in ratios {
            now += Duration::seconds(seconds);
            let next = rules.observe(zone, ratio, now);
            if next.multiplier != zone.multiplier {
                prop_assert!((next.multiplier - zone.multiplier).abs() <= step + 1e-12);
                prop_assert!(now - zone.since >= rules.dwell);
                prop_assert_eq!(next.since, now);
            } else {
                prop_assert_eq!(next.since, zone.since);
            }
            prop_assert!((1.0..=2.0 + 1e-12).contains(&next.multiplier));
            zone = next;
        }
    }
}

#[test]
fn rain_and_high_demand_are_named_and_the_cap_said() {
    // Given rain, demand at four times supply and a cap of 1.5
    let conditions = Conditions {
        demand: demand_multiplier(4.0),
        weather: Some(Weather::Rain),
        ..Conditions::default()
    };
    // When a 2 km delivery is priced
    let priced = price(&policy(1.5), &conditions, 2.0, 2_500);
    // Then the customer reads both reasons, their factors and the cap
    assert_eq!(
        priced.explanation,
        "Rain and high demand near you: 1.3 × 1.4, capped at 1.5"
    );
    assert_eq!(priced.base, 299);
    assert_eq!(priced.fee, 449, "299 × 1.5, rounded");
    assert_eq!(priced.bindings[0].rule, Rule::GlobalCap);
    assert!((priced.bindings[0].before - 1.82).abs() < 1e-9);
}

#[test]
fn the_uncapped_stack_reaches_3_59_and_the_cap_stops_it() {
    // Given every multiplier at its highest
    let conditions = Conditions {
        demand: demand_multiplier(50.0),
        weather: Some(Weather::Snow),
        rush_hour: true,
        local_event: true,
        emergency_cap: Some(2.8),
    };
    // When priced under a cap of 3.0 during an emergency capped at 2.8
    let priced = price(&policy(3.0), &conditions, 1.0, 0);
    // Then the stack is 2.0 × 1.3 × 1.2 × 1.15, the global cap takes it to 3 and the
    // emergency cap to 2.8
    assert!((priced.combined - 3.588).abs() < 1e-9);
    let rules: Vec<Rule> = priced.bindings.iter().map(|b| b.rule).collect();
    assert_eq!(rules, [Rule::GlobalCap, Rule::EmergencyCap]);
    assert_eq!(priced.applied, 2.8);
    assert_eq!(
        priced.explanation,
        "Snow, high demand, rush hour and a local event near you: 1.3 × 2 × 1.2 × 1.15, capped at 2.8"
    );
}

#[test]
fn an_order_above_the_threshold_is_delivered_free() {
    let priced = price(&policy(2.0), &Conditions::default(), 3.0, 10_000);
    assert_eq!(priced.fee, 0);
    assert_eq!(priced.explanation, "Free delivery on this order");
}

mod rush_hour {
    use chrono::{DateTime, NaiveDate, NaiveTime, Utc, Weekday};
    use chrono_tz::Tz;
    use domain::delivery::{in_rush_hour, RushWindow};

    fn utc(date: (i32, u32, u32), hour: u32, minute: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(date.0, date.1, date.2)
            .unwrap()
            .and_hms_opt(hour, minute, 0)
            .unwrap()
            .and_utc()
    }

    fn evening() -> Vec<RushWindow> {
        vec![RushWindow {
            days: vec![],
            from: NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
            until: NaiveTime::from_hms_opt(19, 0, 0).unwrap(),
        }]
    }

    #[test]
    fn berlin_keeps_its_evening_rush_across_both_clock_changes() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // Spring (29 March 2026): 17:30 local is 16:30 UTC before, 15:30 UTC after
        assert!(in_rush_hour(&evening(), berlin, utc((2026, 3, 28), 16, 30)));
        assert!(!in_rush_hour(
            &evening(),
            berlin,
            utc((2026, 3, 28), 15, 30)
        ));
        assert!(in_rush_hour(&evening(), berlin, utc((2026, 3, 30), 15, 30)));
        assert!(!in_rush_hour(
            &evening(),
            berlin,
            utc((2026, 3, 30), 17, 30)
        ));
        // Autumn (25 October 2026): back to UTC+1
        assert!(in_rush_hour(
            &evening(),
            berlin,
            utc((2026, 10, 24), 15, 30)
        ));
        assert!(!in_rush_hour(
            &evening(),
            berlin,
            utc((2026, 10, 26), 15, 30)
        ));
        assert!(in_rush_hour(
            &evening(),
            berlin,
            utc((2026, 10, 26), 16, 30)
        ));
    }

    #[test]
    fn new_york_keeps_its_evening_rush_across_both_clock_changes() {
        let new_york: Tz = "America/New_York".parse().unwrap();
        // 8 March 2026: UTC−5 → UTC−4; 1 November 2026: back to UTC−5
        // 18:30 local at 23:30 UTC before the change; 19:30 after it
        assert!(in_rush_hour(
            &evening(),
            new_york,
            utc((2026, 3, 7), 23, 30)
        ));
        assert!(!in_rush_hour(
            &evening(),
            new_york,
            utc((2026, 3, 9), 23, 30)
        ));
        assert!(in_rush_hour(
            &evening(),
            new_york,
            utc((2026, 3, 9), 21, 30)
        ));
        assert!(in_rush_hour(
            &evening(),
            new_york,
            utc((2026, 10, 31), 21, 30)
        ));
        assert!(!in_rush_hour(
            &evening(),
            new_york,
            utc((2026, 11, 2), 21, 30)
        ));
        assert!(in_rush_hour(
            &evening(),
            new_york,
            utc((2026, 11, 2), 22, 30)
        ));
    }

    #[test]
    fn a_city_east_of_utc_plus_12_has_its_monday_on_a_utc_sunday() {
        // Kiritimati is UTC+14: Monday 08:30 there is Sunday 18:30 in UTC
        let kiritimati: Tz = "Pacific/Kiritimati".parse().unwrap();
        let monday_morning = vec![RushWindow {
            days: vec![Weekday::Mon],
            from: NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
            until: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        }];
        let sunday_utc = utc((2026, 12, 6), 18, 30);
        assert!(in_rush_hour(&monday_morning, kiritimati, sunday_utc));
        assert!(!in_rush_hour(
            &monday_morning,
            kiritimati,
            utc((2026, 12, 7), 18, 30)
        ));
    }

    #[test]
    fn a_window_past_midnight_covers_both_sides() {
        let late = vec![RushWindow {
            days: vec![],
            from: NaiveTime::from_hms_opt(23, 0, 0).unwrap(),
            until: NaiveTime::from_hms_opt(1, 0, 0).unwrap(),
        }];
        assert!(in_rush_hour(&late, Tz::UTC, utc((2026, 1, 1), 23, 30)));
        assert!(in_rush_hour(&late, Tz::UTC, utc((2026, 1, 2), 0, 30)));
        assert!(!in_rush_hour(&late, Tz::UTC, utc((2026, 1, 2), 1, 0)));
    }

    #[test]
    fn a_friday_night_window_runs_into_saturday_and_not_into_friday_morning() {
        // 2 January 2026 is a Friday
        let friday_night = vec![RushWindow {
            days: vec![Weekday::Fri],
            from: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            until: NaiveTime::from_hms_opt(2, 0, 0).unwrap(),
        }];
        assert!(in_rush_hour(
            &friday_night,
            Tz::UTC,
            utc((2026, 1, 2), 23, 0)
        ));
        assert!(in_rush_hour(
            &friday_night,
            Tz::UTC,
            utc((2026, 1, 3), 1, 0)
        ));
        assert!(!in_rush_hour(
            &friday_night,
            Tz::UTC,
            utc((2026, 1, 2), 0, 30)
        ));
    }
}
