//! Given a listing's events, then what the model reports of it: status, rating,
//! and its host's response and cancellation rates.

use chrono::Duration;
use event_schemas::stays::{CancelledBy, ListingEvent};

use crate::support::{apartment, date, World};

#[test]
fn a_listing_reports_its_details_and_a_rating_shrunk_toward_the_mean() {
    let mut world = World::new();
    world.listing("a", apartment("Altbau"));
    world.listing("b", apartment("Bright loft"));
    assert_eq!(world.model.len(), 2);
    assert!(world.model.listing("nope").is_none());
    // No review anywhere yet: the prior is 3
    assert_eq!(world.model.listing("a").unwrap().rating, 3.0);
    for (id, rating) in [("a", 5), ("a", 5), ("b", 2)] {
        let stay = world.book(id, "guest", date(2026, 3, 5), date(2026, 3, 6));
        world.apply(ListingEvent::StayReviewed {
            listing_id: id.into(),
            stay_id: stay,
            guest: "guest".into(),
            rating,
            sub_ratings: None,
        });
    }
    let a = world.model.listing("a").unwrap();
    // The mean of all reviews is 4; five of those and a's two fives make 30/7
    assert!((a.rating - 30.0 / 7.0).abs() < 1e-12, "{}", a.rating);
    assert_eq!(a.review_count, 2);
    assert_eq!(
        (
            a.status,
            a.host_id.as_str(),
            a.nightly_price,
            a.currency.as_str()
        ),
        ("active", "host-a", 10_000, "EUR")
    );
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["status"], "active");
    assert!(json.get("signals").is_none());
}

#[test]
fn the_host_s_response_rate_counts_answers_in_time_over_requests_decided() {
    let mut world = World::new();
    world.listing("a", apartment("Altbau"));
    // Answered in time, answered late, left unanswered past its deadline, withdrawn
    // by the guest before it, and one still open
    for within_deadline in [true, false] {
        let stay = world.ask("a", "guest", date(2026, 4, 1), date(2026, 4, 2));
        world.apply(ListingEvent::HostResponded {
            listing_id: "a".into(),
            stay_id: stay.clone(),
            accepted: false,
            within_deadline,
        });
        world.apply(ListingEvent::HoldLapsed {
            listing_id: "a".into(),
            stay_id: stay,
            reason: "declined".into(),
        });
    }
    world.ask("a", "guest", date(2026, 4, 3), date(2026, 4, 4));
    world.pass(Duration::hours(25));
    let withdrawn = world.ask("a", "guest", date(2026, 4, 5), date(2026, 4, 6));
    world.apply(ListingEvent::HoldLapsed {
        listing_id: "a".into(),
        stay_id: withdrawn,
        reason: "guest_cancelled".into(),
    });
    world.ask("a", "guest", date(2026, 4, 7), date(2026, 4, 8));
    // Then one of three decided requests was answered in time
    let a = world.model.listing("a").unwrap();
    assert!(
        (a.response_rate - 1.0 / 3.0).abs() < 1e-12,
        "{}",
        a.response_rate
    );
    // And the unanswered request no longer keeps its night
    assert_eq!(world.found(date(2026, 4, 3), date(2026, 4, 4)), vec!["a"]);
    assert!(world.found(date(2026, 4, 7), date(2026, 4, 8)).is_empty());
}

#[test]
fn the_host_s_cancellation_rate_counts_their_cancellations_over_confirmed_stays() {
    let mut world = World::new();
    world.create("a", "host", apartment("Altbau"));
    world.create("b", "host", apartment("Bright loft"));
    let mut stays = vec![];
    for day in 1..=4 {
        stays.push(world.book("a", "guest", date(2026, 4, day), date(2026, 4, day + 1)));
    }
    world.book("b", "guest", date(2026, 4, 1), date(2026, 4, 2));
    for (stay, by) in [
        (&stays[0], CancelledBy::Host),
        (&stays[1], CancelledBy::Guest),
    ] {
        world.apply(ListingEvent::StayCancelled {
            listing_id: "a".into(),
            stay_id: stay.clone(),
            by,
            refund: 0,
            refund_share: 0.0,
        });
    }
    // One of the host's five confirmed stays was cancelled by them
    let b = world.model.listing("b").unwrap();
    assert!((b.cancellation_rate - 0.2).abs() < 1e-12);
    assert_eq!(b.response_rate, 1.0);
}

#[test]
fn past_stays_are_forgotten_but_their_bookings_still_count() {
    // Given a weekend booked in March and one in July
    let mut world = World::new();
    world.listing("a", apartment("Flat"));
    world.listing("b", apartment("Flat"));
    world.book("a", "guest", date(2026, 3, 6), date(2026, 3, 8));
    world.book("a", "guest", date(2026, 7, 3), date(2026, 7, 5));
    let before = world
        .model
        .suggest_prices("b", date(2026, 8, 7), date(2026, 8, 8))
        .unwrap();
    // When the log's clock moves on to May, day by day
    for _ in 0..60 {
        world.pass(Duration::days(1));
    }
    // Then July is still taken, and the four booked nights still tell Fridays and
    // Saturdays are in demand
    assert_eq!(world.found(date(2026, 7, 4), date(2026, 7, 5)), vec!["b"]);
    assert_eq!(world.found(date(2026, 7, 5), date(2026, 7, 6)).len(), 2);
    let after = world
        .model
        .suggest_prices("b", date(2026, 8, 7), date(2026, 8, 8))
        .unwrap();
    assert_eq!(before[0].factors[0], after[0].factors[0]);
    assert!(after[0].factors[0].multiplier > 1.0);
}
