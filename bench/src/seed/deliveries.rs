//! A synthetic city's delivery history, for `commerce seed --deliveries`, the
//! forecast's backtest (`commerce eval forecast`) and `commerce bench pricing`.
//!
//! The generator's parameters were fixed and written down here before the forecaster
//! was tuned on what it makes, so the comparison is not circular:
//!
//! * **City**: `synth`, centred on Berlin (52.52, 13.405), 12 km radius,
//!   Europe/Berlin time; zones are H3 cells of resolution 8 around random points
//!   within 8 km of the centre, and one warehouse at the centre.
//! * **Rhythm** (local time): a zone's rate (orders per 15 minutes) is its base
//!   (uniform 0.2–2.0) times the hour's factor: 0.1 from 0:00 to 7:00, 0.5 until
//!   11:00, 2.5 from 11:00 to 14:00, 1.0 until 17:00, 3.0 from 17:00 to 21:00, 1.2
//!   until 24:00; Friday and Saturday evenings (17:00–24:00) 1.3 times that, Sunday
//!   lunch 1.2 times.
//! * **Noise**: each step's count is Poisson with that rate.
//! * **Rain**: each day, with probability 0.25, a three-hour spell starting at a
//!   random hour from 8:00 to 20:00 UTC; orders during it are 1.4 times the rate, and the
//!   log carries the `WeatherObserved` report.
//! * **Stadium**: every Saturday 18:00–21:00 a match 3 km east of the centre
//!   (radius 1.5 km, 70,000 expected): zones within the radius get 3 times the rate,
//!   announced by `LocalEventScheduled` that morning.
//! * **Couriers**: one per zone online all day, so supply is counted.

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Europe::Berlin;
use event_schemas::delivery::{CITY_AGGREGATE, DELIVERY_FEED_AGGREGATE};
use event_schemas::order::ORDER_AGGREGATE;
use event_schemas::warehouse::WAREHOUSE_AGGREGATE;
use event_schemas::{
    CityEvent, DeliveryFeedEvent, DeliveryPolicy, Destination, GeoPoint, Money, OrderEvent,
    PricedLine, RushWindow, WarehouseEvent,
};
use h3o::{LatLng, Resolution};

use super::generator::Generator;

/// The synthetic city's id and centre.
pub const CITY: &str = "synth";
pub const CENTRE: GeoPoint = GeoPoint {
    lat: 52.52,
    lon: 13.405,
};
/// The warehouse at the centre every quote picks up from.
pub const WAREHOUSE: &str = "synth-hub";
const RADIUS_KM: f64 = 12.0;
const ZONE_SPREAD_KM: f64 = 8.0;
const RAIN_CHANCE: f64 = 0.25;
const RAIN_LIFT: f64 = 1.4;
const STADIUM_EAST_KM: f64 = 3.0;
const STADIUM_RADIUS_KM: f64 = 1.5;
const STADIUM_LIFT: f64 = 3.0;
const STEP_MINUTES: i64 = 15;

/// One event of the history, at the time it happened.
pub struct SeedEvent {
    pub aggregate_type: &'static str,
    pub aggregate_id: String,
    pub event_type: &'static str,
    pub payload: serde_json::Value,
    pub at: DateTime<Utc>,
}

/// What to make: `weeks` of history for `zones` zones, ending at `end`.
#[derive(Debug, Clone, Copy)]
pub struct CityPlan {
    pub weeks: i64,
    pub zones: usize,
    pub seed: u64,
    pub end: DateTime<Utc>,
}

/// A point `km_east`, `km_north` of the centre.
pub fn offset(km_east: f64, km_north: f64) -> GeoPoint {
    GeoPoint {
        lat: CENTRE.lat + km_north / 111.32,
        lon: CENTRE.lon + km_east / (111.32 * CENTRE.lat.to_radians().cos()),
    }
}

/// The hour's factor of the rhythm, in local time.
fn rhythm(local_hour: u32, weekday: Weekday) -> f64 {
    let base = match local_hour {
        0..=6 => 0.1,
        7..=10 => 0.5,
        11..=13 => 2.5,
        14..=16 => 1.0,
        17..=20 => 3.0,
        _ => 1.2,
    };
    let week = match (weekday, local_hour) {
        (Weekday::Fri | Weekday::Sat, 17..=23) => 1.3,
        (Weekday::Sun, 11..=13) => 1.2,
        _ => 1.0,
    };
    base * week
}

/// A Poisson count with mean `rate` (Knuth's method; rates here stay small).
fn poisson(g: &mut Generator, rate: f64) -> u64 {
    let limit = (-rate).exp();
    let (mut count, mut product) = (0, g.unit());
    while product > limit {
        count += 1;
        product *= g.unit();
    }
    count
}

fn event<E: serde::Serialize>(
    aggregate_type: &'static str,
    aggregate_id: String,
    event_type: &'static str,
    event: &E,
    at: DateTime<Utc>,
) -> SeedEvent {
    SeedEvent {
        aggregate_type,
        aggregate_id,
        event_type,
        payload: serde_json::to_value(event).expect("events serialise"),
        at,
    }
}

/// The city's policy (`radius_km` around the centre), warehouse and a courier in
/// each of `zones`: what comes before its history.
pub fn setup(zones: &[GeoPoint], radius_km: f64, at: DateTime<Utc>) -> Vec<SeedEvent> {
    let policy = CityEvent::PricingPolicySet {
        city_id: CITY.into(),
        time_zone: "Europe/Berlin".into(),
        center: CENTRE,
        radius_km,
        policy: DeliveryPolicy {
            currency: "EUR".into(),
            base_fee: 199,
            per_km: 50,
            floor: 199,
            ceiling: 2_000,
            multiplier_cap: 2.5,
            free_delivery_from: Some(10_000),
        },
        rush_hours: vec![RushWindow {
            days: vec![],
            from: NaiveTime::from_hms_opt(17, 0, 0).expect("a time"),
            until: NaiveTime::from_hms_opt(19, 0, 0).expect("a time"),
        }],
    };
    let warehouse = WarehouseEvent::WarehouseRegistered {
        warehouse_id: WAREHOUSE.into(),
        name: "Synthetic hub".into(),
        region: "synth".into(),
        location: CENTRE,
        ships_to: vec![],
    };
    let mut events = vec![
        event(CITY_AGGREGATE, CITY.into(), "PricingPolicySet", &policy, at),
        event(
            WAREHOUSE_AGGREGATE,
            WAREHOUSE.into(),
            "WarehouseRegistered",
            &warehouse,
            at,
        ),
    ];
    for (i, zone) in zones.iter().enumerate() {
        let cell = cell(*zone);
        let online = DeliveryFeedEvent::CourierWentOnline {
            courier_id: format!("courier-{i}"),
            cell,
        };
        events.push(event(
            DELIVERY_FEED_AGGREGATE,
            uuid::Uuid::now_v7().to_string(),
            "CourierWentOnline",
            &online,
            at,
        ));
    }
    events
}

/// An order of one meal delivered to `point`, placed at `at`.
pub fn order_to(order_id: String, point: GeoPoint, at: DateTime<Utc>) -> SeedEvent {
    let meal = Money {
        amount: 1500,
        currency: "EUR".into(),
    };
    let placed = OrderEvent::OrderPlaced {
        order_id: order_id.clone(),
        customer: None,
        lines: vec![PricedLine {
            sku: "SYNTH-MEAL".into(),
            quantity: 1,
            unit_price: meal.clone(),
        }],
        total: meal,
        ship_to: Destination {
            region: "synth".into(),
            lat: Some(point.lat),
            lon: Some(point.lon),
        },
        priority: false,
    };
    event(ORDER_AGGREGATE, order_id, "OrderPlaced", &placed, at)
}

/// The zone (resolution 8) of a point, as events name it.
pub fn cell(point: GeoPoint) -> String {
    LatLng::new(point.lat, point.lon)
        .expect("the synthetic city is on earth")
        .to_cell(Resolution::Eight)
        .to_string()
}

/// Points for `count` zones, spread around the centre.
pub fn zones(count: usize, seed: u64) -> Vec<GeoPoint> {
    let mut g = Generator::new(seed ^ 0x5eed_c17e);
    (0..count)
        .map(|_| {
            let (east, north) = (g.unit() * 2.0 - 1.0, g.unit() * 2.0 - 1.0);
            offset(east * ZONE_SPREAD_KM, north * ZONE_SPREAD_KM)
        })
        .collect()
}

/// The history, day by day (each day's events in time order), handed to `sink`.
pub fn history(
    plan: CityPlan,
    mut sink: impl FnMut(Vec<SeedEvent>) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let mut g = Generator::new(plan.seed);
    let points = zones(plan.zones, plan.seed);
    let bases: Vec<f64> = points.iter().map(|_| 0.2 + 1.8 * g.unit()).collect();
    let stadium = offset(STADIUM_EAST_KM, 0.0);
    let near_stadium: Vec<bool> = points
        .iter()
        .map(|p| p.distance_km(&stadium) <= STADIUM_RADIUS_KM)
        .collect();
    // Whole days from midnight UTC, so the rain's hours mean what they say.
    let start = (plan.end - Duration::weeks(plan.weeks))
        .date_naive()
        .and_time(NaiveTime::MIN)
        .and_utc();
    sink(setup(&points, RADIUS_KM, start))?;
    let mut orders = 0u64;
    let mut day = start;
    while day < plan.end {
        let mut events = Vec::new();
        let local = day.with_timezone(&Berlin);
        // A rain spell today?
        let rain = (g.unit() < RAIN_CHANCE).then(|| {
            let from = day + Duration::hours(8 + g.below(13) as i64);
            (from, from + Duration::hours(3))
        });
        if let Some((from, until)) = rain {
            let report = DeliveryFeedEvent::WeatherObserved {
                city_id: CITY.into(),
                cells: vec![],
                condition: event_schemas::WeatherCondition::Rain,
                from,
                until,
            };
            events.push(event(
                DELIVERY_FEED_AGGREGATE,
                uuid::Uuid::now_v7().to_string(),
                "WeatherObserved",
                &report,
                from,
            ));
        }
        // Saturday's match, announced a week before (if the history reaches back).
        let is_saturday = local.weekday() == Weekday::Sat;
        let match_window = is_saturday.then(|| {
            let kickoff = Berlin
                .with_ymd_and_hms(local.year(), local.month(), local.day(), 18, 0, 0)
                .single()
                .map_or(day, |t| t.with_timezone(&Utc));
            (kickoff, kickoff + Duration::hours(3))
        });
        if let Some((starts_at, ends_at)) = match_window {
            let scheduled = DeliveryFeedEvent::LocalEventScheduled {
                event_id: format!("match-{}", local.date_naive()),
                name: "Saturday match".into(),
                location: stadium,
                radius_km: STADIUM_RADIUS_KM,
                starts_at,
                ends_at,
                expected_attendance: 70_000,
            };
            let announced = day;
            events.push(event(
                DELIVERY_FEED_AGGREGATE,
                uuid::Uuid::now_v7().to_string(),
                "LocalEventScheduled",
                &scheduled,
                announced,
            ));
        }
        for step in 0..(24 * 60 / STEP_MINUTES) {
            let at = day + Duration::minutes(step * STEP_MINUTES);
            if at >= plan.end {
                break;
            }
            let local = at.with_timezone(&Berlin);
            let factor = rhythm(local.hour(), local.weekday())
                * if rain.is_some_and(|(from, until)| from <= at && at < until) {
                    RAIN_LIFT
                } else {
                    1.0
                };
            let during_match = match_window.is_some_and(|(from, until)| from <= at && at < until);
            for (zone, point) in points.iter().enumerate() {
                let lift = if during_match && near_stadium[zone] {
                    STADIUM_LIFT
                } else {
                    1.0
                };
                for n in 0..poisson(&mut g, bases[zone] * factor * lift) {
                    orders += 1;
                    let id = format!("synth-{}-{zone}-{step}-{n}", day.date_naive());
                    // Spread over the step, so the window sees a flow, not a burst.
                    let within = Duration::seconds(g.below(STEP_MINUTES as u64 * 60) as i64);
                    events.push(order_to(id, *point, at + within));
                }
            }
        }
        events.sort_by_key(|e| e.at);
        sink(events)?;
        day += Duration::days(1);
    }
    Ok(orders)
}
