//! 100,000 listings with stays, 20,000 of them in one city: a search over 25 km
//! with dates must take well under 5 ms in a release build. Ignored by default:
//! `cargo test --release -p stays --test it scale -- --ignored --nocapture`.

use std::time::Instant;

use chrono::Duration;
use event_schemas::stays::{ListingEvent, NightPrice, StayPrice, StayRequest};
use event_schemas::values::GeoPoint;
use stays::search::SearchRequest;
use stays::{StaysConfig, StaysModel};

use crate::support::{apartment, date, query, start, BERLIN};

/// A fixed pseudo-random sequence (the same every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
#[ignore]
fn a_hundred_thousand_listings_are_searched_in_milliseconds() {
    let resident_before = resident_mb();
    let mut model = StaysModel::new(StaysConfig::default());
    let mut random = Lcg(7);
    let at = start();
    model.advance(at);
    let types = ["apartment", "house", "room", "cabin"];
    let built = Instant::now();
    for i in 0..100_000u32 {
        let location = if i < 20_000 {
            GeoPoint {
                lat: BERLIN.lat + (random.next() - 0.5) * 0.5,
                lon: BERLIN.lon + (random.next() - 0.5) * 0.8,
            }
        } else {
            GeoPoint {
                lat: 40.0 + random.next() * 15.0,
                lon: -5.0 + random.next() * 25.0,
            }
        };
        let mut details = apartment(&format!("Listing {i}"));
        details.location = location;
        details.property_type = types[i as usize % 4].into();
        details.nightly_price = 5_000 + (random.next() * 20_000.0) as u64;
        details.capacity = 1 + (random.next() * 6.0) as u32;
        let id = format!("l{i}");
        model.apply_listing(
            &ListingEvent::ListingCreated {
                listing_id: id.clone(),
                host_id: format!("h{}", i / 3),
                details,
            },
            i64::from(i),
            at,
        );
        for s in 0..4 {
            let check_in = date(2026, 4, 1) + Duration::days((random.next() * 60.0) as i64);
            let check_out = check_in + Duration::days(1 + s);
            let stay_id = format!("s{i}-{s}");
            let stay = StayRequest {
                stay_id: stay_id.clone(),
                guest: format!("g{}", i % 5000),
                check_in,
                check_out,
                guests: 1,
                price: StayPrice {
                    currency: "EUR".into(),
                    nights: vec![NightPrice {
                        night: check_in,
                        price: 10_000,
                    }],
                    cleaning_fee: 0,
                    total: 10_000,
                },
                order_id: stay_id.clone(),
                search_id: None,
            };
            model.apply_listing(
                &ListingEvent::StayHeld {
                    listing_id: id.clone(),
                    stay,
                    expires_at: at + Duration::minutes(15),
                },
                0,
                at,
            );
            model.apply_listing(
                &ListingEvent::StayConfirmed {
                    listing_id: id.clone(),
                    stay_id,
                    order_id: String::new(),
                },
                0,
                at,
            );
        }
    }
    println!(
        "built 100,000 listings with 400,000 stays in {:?}, {:.0} MB resident more",
        built.elapsed(),
        resident_mb() - resident_before
    );

    let mut q = query(date(2026, 4, 20), date(2026, 4, 23));
    q.radius_km = 25.0;
    let request = SearchRequest {
        query: q,
        user_id: Some("g42".into()),
        limit: 20,
        offset: 0,
        weights: None,
    };
    let first = model.search(&request);
    let each = timed(|| assert_eq!(model.search(&request).total, first.total));
    println!(
        "{} of the city's listings found, {each:?} a search",
        first.total
    );
    assert!(first.total > 5_000, "{}", first.total);

    // Elsewhere listings are spread thinner: a few hundred within 25 km
    let mut elsewhere = request.clone();
    elsewhere.query.lat = 47.5;
    elsewhere.query.lon = 7.5;
    elsewhere.query.text = Some("listing calm".into());
    let found = model.search(&elsewhere).total;
    let each_elsewhere = timed(|| assert_eq!(model.search(&elsewhere).total, found));
    println!("{found} found elsewhere (with text), {each_elsewhere:?} a search");
    assert!(found > 20, "{found}");
    let suggested = Instant::now();
    model
        .suggest_prices("l1", date(2026, 4, 1), date(2027, 4, 1))
        .unwrap();
    println!("a year of suggestions in {:?}", suggested.elapsed());
    if !cfg!(debug_assertions) {
        assert!(each.as_micros() < 5_000, "{each:?}");
        assert!(each_elsewhere.as_micros() < 1_000, "{each_elsewhere:?}");
    }
}

/// How long `run` takes on average over 50 runs.
fn timed(mut run: impl FnMut()) -> std::time::Duration {
    let runs = 50;
    let started = Instant::now();
    for _ in 0..runs {
        run();
    }
    started.elapsed() / runs
}

/// The process's resident memory in MB (0 where /proc is not there to ask).
fn resident_mb() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |pages| pages * 4096.0 / 1e6)
}
