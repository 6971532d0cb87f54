//! Given other listings in the model, when a listing is screened, then each fraud
//! signal fires on its positive case and stays quiet on a clean one.

use chrono::{DateTime, Duration, Utc};
use event_schemas::stays::{FraudSignal, ListingDetails};
use stays::{StaysConfig, StaysModel};

use crate::support::{apartment, east, photo, World};

const DESCRIPTION: &str = "Sunny two room apartment on the fourth floor of a restored \
    building, with a balcony facing the quiet courtyard, a kitchen with a dishwasher, \
    fast wifi and a tram stop two minutes away. The old town and the river are a short \
    walk; bakeries and a market are around the corner.";

fn kinds(signals: &[FraudSignal]) -> Vec<&str> {
    signals.iter().map(|s| s.kind.as_str()).collect()
}

fn screen(
    model: &StaysModel,
    id: &str,
    host: &str,
    details: &ListingDetails,
    now: DateTime<Utc>,
) -> Vec<String> {
    kinds(&model.screen(id, host, details, now))
        .into_iter()
        .map(String::from)
        .collect()
}

fn described(text: &str) -> ListingDetails {
    let mut details = apartment("Flat");
    details.description = text.into();
    details
}

#[test]
fn a_description_nearly_another_host_s_is_a_near_duplicate() {
    // Given a listing of host x
    let mut world = World::new();
    world.create("x1", "x", described(DESCRIPTION));
    // When host y screens the same text, recased and repunctuated
    let copy = DESCRIPTION.to_uppercase().replace(',', ";");
    let signals = world.model.screen("y1", "y", &described(&copy), world.now);
    // Then it is a near duplicate of x1
    assert_eq!(kinds(&signals), vec!["near_duplicate_text"]);
    assert!(signals[0].detail.contains("x1"), "{}", signals[0].detail);
    assert_eq!(signals[0].weight, 0.5);
    // But not for host x's own second listing, nor for another text
    assert!(screen(&world.model, "x2", "x", &described(DESCRIPTION), world.now).is_empty());
    let other = "Rustic cabin at the edge of the forest with a wood stove, a sauna by \
        the lake, two canoes and hiking trails that start at the door; the village shop \
        is three kilometres away and the nearest neighbour further still.";
    assert!(screen(&world.model, "y1", "y", &described(other), world.now).is_empty());
}

#[test]
fn a_photo_another_host_uses_is_reused() {
    let mut world = World::new();
    let mut first = apartment("Flat");
    first.photos = vec![photo("aaa1"), photo("bbb2")];
    world.create("x1", "x", first);
    let mut copy = apartment("Other flat");
    copy.photos = vec![photo("AAA1"), photo("ccc3")];
    let signals = world.model.screen("y1", "y", &copy, world.now);
    assert_eq!(kinds(&signals), vec!["photo_reused"]);
    assert!(
        signals[0].detail.starts_with("1 photo(s)"),
        "{}",
        signals[0].detail
    );
    assert!(signals[0].detail.contains("x1"));
    // The same host may show a photo on two of its listings; new photos are clean
    assert!(screen(&world.model, "x2", "x", &copy, world.now).is_empty());
    let mut fresh = apartment("Other flat");
    fresh.photos = vec![photo("ddd4")];
    assert!(screen(&world.model, "y1", "y", &fresh, world.now).is_empty());
}

#[test]
fn a_price_far_below_comparable_listings_is_suspect() {
    // Given five apartments nearby at 100 a night, and a house at 20 (not
    // comparable)
    let mut world = World::new();
    for i in 0..5 {
        let mut d = apartment("Flat");
        d.location = east(f64::from(i) * 3.0);
        d.nightly_price = 9_000 + 500 * i as u64;
        world.listing(&format!("f{i}"), d);
    }
    let mut house = apartment("House");
    house.property_type = "house".into();
    house.nightly_price = 2_000;
    world.listing("h", house);
    let priced = |price: u64, currency: &str| {
        let mut d = apartment("Cheap flat");
        d.nightly_price = price;
        d.currency = currency.into();
        d
    };
    // Then 39.99 is below 40% of the median 100, and flagged
    let signals = world
        .model
        .screen("new", "z", &priced(3_999, "EUR"), world.now);
    assert_eq!(kinds(&signals), vec!["price_far_below"]);
    assert!(
        signals[0].detail.contains("median 10000 of 5"),
        "{}",
        signals[0].detail
    );
    // 40.00 is not; nor is a price in another currency (nothing to compare with)
    assert!(screen(&world.model, "new", "z", &priced(4_000, "EUR"), world.now).is_empty());
    assert!(screen(&world.model, "new", "z", &priced(1_000, "PLN"), world.now).is_empty());
    // Nor is it with only four comparable listings (the fifth is too far away)
    world.apply(event_schemas::stays::ListingEvent::ListingUpdated {
        listing_id: "f4".into(),
        details: {
            let mut far = apartment("Flat");
            far.location = east(40.0);
            far
        },
    });
    assert!(screen(&world.model, "new", "z", &priced(1_000, "EUR"), world.now).is_empty());
}

#[test]
fn a_new_host_creating_many_listings_at_once_is_a_burst() {
    // Given a host who started an hour ago and created five listings since
    let mut world = World::with(StaysConfig::default());
    for i in 0..5 {
        world.create(
            &format!("n{i}"),
            "new-host",
            apartment(&format!("Flat {i}")),
        );
        world.pass(Duration::minutes(10));
    }
    // When they create a sixth, it is a burst (more than 5 within 24 hours)
    let signals = world
        .model
        .screen("n5", "new-host", &apartment("Flat 5"), world.now);
    assert_eq!(kinds(&signals), vec!["host_burst"]);
    assert!(signals[0].detail.contains("6th"), "{}", signals[0].detail);
    // But changing one of their five is not a creation
    assert!(screen(
        &world.model,
        "n2",
        "new-host",
        &apartment("Flat 2b"),
        world.now
    )
    .is_empty());
    // And a host whose first listing is older than a week may create many
    let mut world = World::new();
    world.create("o0", "old-host", apartment("Flat"));
    world.pass(Duration::days(8));
    for i in 1..6 {
        world.create(&format!("o{i}"), "old-host", apartment("Flat"));
    }
    assert!(screen(
        &world.model,
        "o6",
        "old-host",
        &apartment("Flat"),
        world.now
    )
    .is_empty());
    // And a new host's sixth listing two days after the first five is no burst
    let mut world = World::new();
    for i in 0..5 {
        world.create(&format!("n{i}"), "new-host", apartment("Flat"));
    }
    world.pass(Duration::days(2));
    assert!(screen(
        &world.model,
        "n5",
        "new-host",
        &apartment("Flat"),
        world.now
    )
    .is_empty());
}

#[test]
fn contact_details_in_the_text_are_flagged() {
    let world = World::new();
    for text in [
        "Lovely flat. Call me on +49 (30) 1234-5678 before booking.",
        "Lovely flat, write to anna.k@example.org for a discount.",
        "Lovely flat - WhatsApp me for a better price.",
        "Lovely flat, see t.me/lovelyflat or ask @lovely_flat.",
    ] {
        let signals = world.model.screen("a", "h", &described(text), world.now);
        assert_eq!(kinds(&signals), vec!["contact_details"], "{text}");
        assert_eq!(signals[0].weight, 0.5);
    }
    let mut titled = apartment("Flat, call 0170 1234567");
    titled.description = "Quiet.".into();
    assert_eq!(
        screen(&world.model, "a", "h", &titled, world.now),
        vec!["contact_details"]
    );
    // A clean text with numbers, dates and the word signal is not
    let clean = "Sleeps 4 - 6 in 85 m2, renovated 2019-2023, free from 2026-05-01. \
        Weak phone signal in the cellar; check-in 15:00, check-out 11:00.";
    assert!(screen(&world.model, "a", "h", &described(clean), world.now).is_empty());
}

#[test]
fn an_update_of_one_s_own_listing_does_not_flag_itself() {
    // Given a listing with photos and a long description, the sixth its new host
    // created today
    let mut world = World::new();
    let mut own = described(DESCRIPTION);
    own.photos = vec![photo("p1"), photo("p2")];
    own.nightly_price = 10_000;
    for i in 0..4 {
        world.listing(&format!("other{i}"), apartment("Flat"));
    }
    for i in 0..5 {
        world.create(&format!("mine{i}"), "me", apartment("Flat"));
    }
    world.create("a", "me", own.clone());
    // When its host changes only the title, nothing fires: its own text, photos and
    // price are not another listing's, and an update is no new listing
    own.title = "Sunny flat, updated".into();
    let now = world.now;
    assert!(world.model.screen("a", "me", &own, now).is_empty());
    // But the same details as a new listing of another host fire both signals
    let signals = screen(&world.model, "b", "thief", &own, now);
    assert_eq!(signals, vec!["near_duplicate_text", "photo_reused"]);
}
