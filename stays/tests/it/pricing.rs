//! Given bookings, local events and searches around a listing, then its nightly
//! price suggestions: each factor, and the price within its bounds.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use event_schemas::stays::ListingEvent;
use stays::pricing::Suggestion;

use crate::support::{apartment, date, east, World, BERLIN};

fn factor(suggestion: &Suggestion, name: &str) -> f64 {
    suggestion
        .factors
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no factor {name}"))
        .multiplier
}

fn night(suggestions: &[Suggestion], night: NaiveDate) -> &Suggestion {
    suggestions.iter().find(|s| s.night == night).unwrap()
}

#[test]
fn prices_rise_on_a_local_event_night_and_stay_within_bounds() {
    // Given a flat at 100 and a concert 2 km away on the evening of 15 May
    // (21:00–23:30 in Berlin), 30,000 expected
    let mut world = World::new();
    world.listing("a", apartment("Flat"));
    let starts = Utc.with_ymd_and_hms(2026, 5, 15, 19, 0, 0).unwrap();
    world.model.apply_local_event(
        "concert",
        east(2.0),
        5.0,
        starts,
        starts + Duration::minutes(150),
        30_000,
    );
    // And a festival 50 km away (its radius 10 km does not reach the flat)
    world.model.apply_local_event(
        "festival",
        east(50.0),
        10.0,
        starts,
        starts + Duration::days(1),
        100_000,
    );
    let suggestions = world
        .model
        .suggest_prices("a", date(2026, 5, 14), date(2026, 5, 17))
        .unwrap();
    // Then the night of the 15th (local) is 1.5 times the price (the most an
    // event adds), the nights around it unchanged
    let prices: Vec<u64> = suggestions.iter().map(|s| s.price).collect();
    assert_eq!(prices, vec![10_000, 15_000, 10_000]);
    let evening = night(&suggestions, date(2026, 5, 15));
    assert_eq!(factor(evening, "local_event"), 1.5);
    assert!(evening.factors.iter().any(|f| f.detail.contains("concert")));
    assert_eq!(evening.base, 10_000);
    let names: Vec<&str> = evening.factors.iter().map(|f| f.name).collect();
    assert_eq!(
        names,
        vec!["weekday", "season", "lead_time", "local_event", "demand"]
    );

    // When a second concert the same night adds to the crowd, one event's most
    // still holds
    world.model.apply_local_event(
        "second",
        BERLIN,
        5.0,
        starts,
        starts + Duration::hours(2),
        30_000,
    );
    let ask = |world: &World, day: u32| {
        world
            .model
            .suggest_prices("a", date(2026, 5, day), date(2026, 5, day + 1))
            .unwrap()[0]
            .clone()
    };
    assert_eq!(ask(&world, 15).price, 15_000);
    // And when Fridays are also in demand (the 15th is one) and searches crowd the
    // night, the price stops at twice the nightly price
    world.listing("b", apartment("Flat"));
    for week in 0..20 {
        let friday = date(2026, 3, 6) + Duration::weeks(week);
        world.book("b", "guest", friday, friday + Duration::days(1));
    }
    for _ in 0..200 {
        world.searched(BERLIN, date(2026, 5, 15), date(2026, 5, 16));
    }
    let crowded = ask(&world, 15);
    let product: f64 = crowded.factors.iter().map(|f| f.multiplier).product();
    assert!(product > 2.0, "{product}");
    assert_eq!(crowded.price, 20_000);
    // And within the host's own range once they set one, both ways
    world.apply(ListingEvent::AutoPricingSet {
        listing_id: "a".into(),
        enabled: true,
        min_price: 9_900,
        max_price: 12_000,
    });
    assert_eq!(ask(&world, 15).price, 12_000);
    let quiet = ask(&world, 12);
    assert!(quiet.factors.iter().map(|f| f.multiplier).product::<f64>() < 0.99);
    assert_eq!(quiet.price, 9_900);
}

#[test]
fn free_nights_soon_are_discounted() {
    // Given a flat booked on 5 March (it is 2 March)
    let mut world = World::new();
    world.listing("a", apartment("Flat"));
    world.book("a", "guest", date(2026, 3, 5), date(2026, 3, 6));
    let suggestions = world
        .model
        .suggest_prices("a", date(2026, 3, 3), date(2026, 4, 3))
        .unwrap();
    assert_eq!(suggestions.len(), 31);
    let lead = |d: NaiveDate| factor(night(&suggestions, d), "lead_time");
    assert_eq!(lead(date(2026, 3, 4)), 0.9);
    assert_eq!(lead(date(2026, 3, 5)), 1.0, "taken: nothing to discount");
    assert_eq!(lead(date(2026, 3, 9)), 0.9);
    assert_eq!(lead(date(2026, 3, 12)), 0.95);
    assert_eq!(lead(date(2026, 3, 20)), 1.0);
}

#[test]
fn weekdays_booked_more_nearby_cost_more_and_few_bookings_move_little() {
    // Given three flats nearby (and a house) booked for Friday and Saturday nights
    let mut world = World::new();
    for i in 0..3 {
        world.listing(&format!("f{i}"), apartment("Flat"));
    }
    let mut house = apartment("House");
    house.property_type = "house".into();
    world.listing("house", house);
    let few = world
        .model
        .suggest_prices("f0", date(2026, 6, 1), date(2026, 6, 8))
        .unwrap();
    assert!(few
        .iter()
        .all(|s| factor(s, "weekday") == 1.0 && factor(s, "season") == 1.0));
    // One weekend first: two nights barely move the factors
    world.book("f0", "guest", date(2026, 4, 10), date(2026, 4, 12));
    let friday = date(2026, 6, 5);
    let one = world
        .model
        .suggest_prices("f1", date(2026, 6, 1), date(2026, 6, 8))
        .unwrap();
    let shrunk = factor(night(&one, friday), "weekday");
    assert!((shrunk - (1.0 + 2.5 * 2.0 / 72.0)).abs() < 1e-9, "{shrunk}");
    // Then twenty more weekends across the flats
    for week in 1..21 {
        let friday = date(2026, 4, 10) + Duration::weeks(week);
        world.book(
            &format!("f{}", week % 3),
            "guest",
            friday,
            friday + Duration::days(2),
        );
    }
    // The house's bookings are not the flats' business
    world.book("house", "guest", date(2026, 4, 14), date(2026, 4, 16));
    let many = world
        .model
        .suggest_prices("f1", date(2026, 6, 1), date(2026, 6, 8))
        .unwrap();
    assert_eq!(factor(night(&many, friday), "weekday"), 1.4, "at the cap");
    assert_eq!(
        factor(night(&many, date(2026, 6, 2)), "weekday"),
        0.7,
        "a Tuesday, at the floor"
    );
    assert!(night(&many, friday).price > night(&many, date(2026, 6, 2)).price);
    // And the months those weekends fell in count more than others
    let may = factor(night(&many, friday), "season");
    let december = world
        .model
        .suggest_prices("f1", date(2026, 12, 4), date(2026, 12, 5))
        .unwrap();
    assert!(may > 1.0 && factor(&december[0], "season") < 1.0);
}

#[test]
fn searches_against_free_supply_move_prices_in_the_area() {
    // Given two flats, one taken on 10 May, and searches for 9 and 10 May nearby
    let mut world = World::new();
    world.listing("a", apartment("Flat"));
    world.listing("b", apartment("Flat"));
    let none = world
        .model
        .suggest_prices("a", date(2026, 5, 8), date(2026, 5, 12))
        .unwrap();
    assert!(
        none.iter().all(|s| factor(s, "demand") == 1.0),
        "no searches: no data"
    );
    world.book("b", "guest", date(2026, 5, 10), date(2026, 5, 11));
    for _ in 0..5 {
        world.searched(east(3.0), date(2026, 5, 9), date(2026, 5, 11));
    }
    // And one far away, which does not count here
    world.searched(east(80.0), date(2026, 5, 8), date(2026, 5, 9));
    let suggestions = world
        .model
        .suggest_prices("a", date(2026, 5, 8), date(2026, 5, 12))
        .unwrap();
    let demand = |d| factor(night(&suggestions, d), "demand");
    // Then on the 10th 5 searches meet 1 free flat: ratio (5+1)/(1+1) = 3
    assert!((demand(date(2026, 5, 10)) - (1.0 + 0.25 * 3f64.ln().tanh())).abs() < 1e-12);
    // On the 9th 5 meet 2: ratio 2; on the 8th none meet 2: ratio 1/3, cheaper
    assert!(demand(date(2026, 5, 10)) > demand(date(2026, 5, 9)));
    assert!(demand(date(2026, 5, 9)) > 1.0);
    assert!(demand(date(2026, 5, 8)) < 1.0);
    assert!(
        night(&suggestions, date(2026, 5, 10)).price > night(&suggestions, date(2026, 5, 8)).price
    );
}

#[test]
fn unknown_listings_have_no_suggestions_and_a_year_is_the_most() {
    let mut world = World::new();
    world.listing("a", apartment("Flat"));
    assert!(world
        .model
        .suggest_prices("nope", date(2026, 5, 1), date(2026, 5, 2))
        .is_none());
    let year = world
        .model
        .suggest_prices("a", date(2026, 5, 1), date(2028, 5, 1))
        .unwrap();
    assert_eq!(year.len(), 366);
    assert_eq!(year.last().unwrap().night, date(2027, 5, 1));
    let again = world
        .model
        .suggest_prices("a", date(2026, 5, 1), date(2028, 5, 1))
        .unwrap();
    assert_eq!(year, again);
    assert!(world
        .model
        .suggest_prices("a", date(2026, 5, 2), date(2026, 5, 1))
        .unwrap()
        .is_empty());
}
