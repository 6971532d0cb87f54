//! The stays generator on its own output (no database): the same seed makes the same
//! history, no listing ever has two stays on a night, streams are numbered right,
//! and the guests' hidden utility is not the ranking's score.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use event_schemas::stays::{
    ListingDetails, ListingEvent, StayQuery, StaySearchEvent, LISTING_AGGREGATE,
};
use event_schemas::GeoPoint;
use stays::search::SearchRequest;
use stays::{StaysConfig, StaysModel};

use super::{
    draft_listing, generate, offset, usual_price, utility, Offer, StaySeedEvent, StaysPlan, Taste,
    CITIES,
};
use crate::seed::generator::Generator;

fn end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 14, 9, 30, 0).unwrap()
}

/// A small market: 60 listings, 45 days, 1,500 searches.
pub(crate) fn small_plan(seed: u64) -> StaysPlan {
    StaysPlan {
        listings: 60,
        days: 45,
        searches: 1_500,
        calendar_stays: 1,
        late_share: 0.3,
        max_lead_days: 120,
        seed,
        end: end(),
        prefix: "t".into(),
    }
}

#[test]
fn the_same_seed_makes_the_same_history_and_another_seed_another() {
    // Given a plan, when it is generated twice, then every event is the same;
    // with another seed, the history differs.
    let (first, world) = generate(small_plan(7)).unwrap();
    let (again, _) = generate(small_plan(7)).unwrap();
    assert_eq!(first.len(), again.len());
    assert!(first == again, "the same seed must make the same events");
    let (other, _) = generate(small_plan(8)).unwrap();
    assert!(first != other);
    // And the history has what it promises.
    let s = &world.summary;
    assert_eq!(s.listings, 60);
    assert_eq!(s.searches, 1_500);
    assert_eq!(s.events, first.len() as u64);
    assert!(s.holds > 300, "{s}");
    assert!(s.confirmed > 300 && s.reviews > 50 && s.views > 500, "{s}");
    assert!(
        s.chosen_at[1] + s.chosen_at[2] + s.chosen_at[3] > 0,
        "guests choose below the top too: {s}"
    );
}

/// The nights `[check_in, check_out)`.
fn nights(check_in: NaiveDate, check_out: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    (0..(check_out - check_in).num_days()).map(move |d| check_in + Duration::days(d))
}

#[test]
fn no_listing_ever_has_two_stays_on_a_night_and_streams_are_numbered_right() {
    // Given a history, when each listing's stream is read on its own, then its
    // sequence numbers run 1, 2, 3, ... in time order; and at no moment do two stays
    // that keep their nights (held and not yet expired, requested and not yet
    // lapsed, or confirmed) share a night.
    let (events, _) = generate(small_plan(11)).unwrap();
    assert!(events.windows(2).all(|w| w[0].at <= w[1].at));
    let mut sequences: HashMap<(&str, &str), i64> = HashMap::new();
    for e in &events {
        let last = sequences
            .entry((e.aggregate_type, &e.aggregate_id))
            .or_default();
        assert_eq!(
            e.sequence,
            *last + 1,
            "{} {}",
            e.aggregate_type,
            e.aggregate_id
        );
        *last = e.sequence;
    }
    // Per listing: stay → (nights, keeps them until, confirmed, ended).
    type Kept = (BTreeSet<NaiveDate>, Option<DateTime<Utc>>, bool);
    let mut stays: HashMap<String, BTreeMap<String, Kept>> = HashMap::new();
    let mut checked = 0;
    for e in events
        .iter()
        .filter(|e| e.aggregate_type == LISTING_AGGREGATE)
    {
        let event: ListingEvent = serde_json::from_value(e.payload.clone()).unwrap();
        let listing = stays.entry(event.listing_id().to_string()).or_default();
        match &event {
            ListingEvent::StayHeld {
                stay, expires_at, ..
            }
            | ListingEvent::StayRequested {
                stay,
                respond_by: expires_at,
                ..
            } => {
                let wanted: BTreeSet<NaiveDate> = nights(stay.check_in, stay.check_out).collect();
                for (other, (taken, until, confirmed)) in listing.iter() {
                    let keeps = *confirmed || until.is_some_and(|until| e.at < until);
                    if other != &stay.stay_id && keeps {
                        assert!(
                            taken.is_disjoint(&wanted),
                            "{} and {other} share a night of {}",
                            stay.stay_id,
                            event.listing_id()
                        );
                    }
                }
                checked += 1;
                listing.insert(stay.stay_id.clone(), (wanted, Some(*expires_at), false));
            }
            ListingEvent::StayConfirmed { stay_id, .. } => {
                let kept = listing.get_mut(stay_id).expect("a confirmed stay was held");
                assert!(kept.1.is_some_and(|until| e.at < until), "paid in time");
                kept.2 = true;
            }
            ListingEvent::HoldLapsed { stay_id, .. }
            | ListingEvent::StayCancelled { stay_id, .. } => {
                listing.remove(stay_id);
            }
            _ => {}
        }
    }
    assert!(checked > 300);
}

#[test]
fn bookings_name_the_search_they_came_from_which_showed_the_listing() {
    // Given a history, then every booking with a search id names a search recorded
    // before it that showed that listing, on dates it asked for.
    let (events, _) = generate(small_plan(3)).unwrap();
    let mut searches: HashMap<String, (StayQuery, Vec<String>)> = HashMap::new();
    let mut from_search = 0;
    for e in &events {
        if e.aggregate_type == LISTING_AGGREGATE {
            let event: ListingEvent = serde_json::from_value(e.payload.clone()).unwrap();
            if let ListingEvent::StayHeld {
                stay, listing_id, ..
            }
            | ListingEvent::StayRequested {
                stay, listing_id, ..
            } = &event
            {
                if let Some(search_id) = &stay.search_id {
                    let (query, shown) = &searches[search_id];
                    assert!(shown.contains(listing_id));
                    assert_eq!(
                        (query.check_in, query.check_out),
                        (stay.check_in, stay.check_out)
                    );
                    from_search += 1;
                }
            }
        } else if let Ok(StaySearchEvent::StaySearchPerformed {
            search_id,
            query,
            shown,
            ..
        }) = serde_json::from_value::<StaySearchEvent>(e.payload.clone())
        {
            searches.insert(search_id, (query, shown));
        }
    }
    assert!(from_search > 200, "{from_search}");
}

fn details(location: GeoPoint, price: u64, amenities: &[&str]) -> ListingDetails {
    let mut g = Generator::new(1);
    let (mut details, _) = draft_listing(&mut g, "x", &CITIES[0]);
    details.location = location;
    details.nightly_price = price;
    details.cleaning_fee = 0;
    details.property_type = "apartment".into();
    details.capacity = 2;
    details.min_nights = 1;
    details.max_nights = 30;
    details.amenities = amenities.iter().map(|a| a.to_string()).collect();
    details.open_weekdays = vec![
        chrono::Weekday::Mon,
        chrono::Weekday::Tue,
        chrono::Weekday::Wed,
        chrono::Weekday::Thu,
        chrono::Weekday::Fri,
        chrono::Weekday::Sat,
        chrono::Weekday::Sun,
    ];
    details
}

#[test]
fn the_hidden_utility_can_disagree_with_the_rankings_score() {
    // Given two new listings in Berlin (no reviews: the ranking's quality is the
    // same) — a cheap one with many amenities 20 km out, and a dearer one of high
    // hidden quality where the guest wants to be — when the read model ranks them
    // for a party of two, then it puts the cheap one first (price and relevance),
    // while the guest's utility prefers the other.
    let berlin = &CITIES[0];
    let target = berlin.centre;
    let cheap = details(
        offset(target, 20.0, 0.0),
        7_000,
        &[
            "wifi",
            "kitchen",
            "tv",
            "washer",
            "balcony",
            "elevator",
            "workspace",
            "parking",
        ],
    );
    let near = details(offset(target, 0.3, 0.0), 11_000, &["wifi"]);
    let at = end();
    let mut model = StaysModel::new(StaysConfig::default());
    for (n, (id, d)) in [("cheap", &cheap), ("near", &near)].into_iter().enumerate() {
        let created = ListingEvent::ListingCreated {
            listing_id: id.into(),
            host_id: format!("host-{id}"),
            details: d.clone(),
        };
        model.apply_listing(&created, n as i64 + 1, at);
        model.advance(at);
    }
    let check_in = at.date_naive() + Duration::days(20);
    let found = model.search(&SearchRequest {
        query: StayQuery {
            lat: target.lat,
            lon: target.lon,
            radius_km: 25.0,
            check_in,
            check_out: check_in + Duration::days(2),
            guests: 2,
            price_max: None,
            amenities: vec![],
            property_type: None,
            text: None,
        },
        user_id: None,
        limit: 20,
        offset: 0,
        weights: None,
    });
    let order: Vec<&str> = found.hits.iter().map(|h| h.listing_id.as_str()).collect();
    assert_eq!(order, ["cheap", "near"], "{found:?}");

    let taste = Taste {
        price_sensitivity: 1.0,
        distance_per_km: 0.1,
        wants: vec!["kitchen"],
        likes_kind: None,
    };
    let usual = usual_price(berlin, 2);
    let weigh = |d: &ListingDetails, quality: f64| {
        utility(
            &taste,
            &Offer {
                quality,
                nightly: d.nightly_price as f64,
                usual,
                distance_km: d.location.distance_km(&target),
                amenities: &d.amenities,
                kind: "apartment",
                capacity: 2,
                party: 2,
            },
        )
    };
    let (u_cheap, u_near) = (weigh(&cheap, 0.0), weigh(&near, 1.5));
    assert!(u_near > u_cheap, "{u_near} vs {u_cheap}");
}

#[test]
fn guests_in_the_history_often_book_below_the_rankings_top() {
    // Given a history, when guests choose, then a good share of them book a listing
    // the ranking did not put first: their utility is their own.
    let (_, world) = generate(small_plan(5)).unwrap();
    let s = &world.summary;
    let below = s.chosen_at[1] + s.chosen_at[2] + s.chosen_at[3];
    assert!(s.chosen > 200, "{s}");
    assert!(below as f64 > 0.3 * s.chosen as f64, "{s}");
}

/// The events as the log would hand them back (positions from 1).
pub(crate) fn as_records(events: &[StaySeedEvent]) -> Vec<event_log::LogRecord> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| event_log::LogRecord {
            position: i as i64 + 1,
            aggregate_type: e.aggregate_type.to_string(),
            event_version: event_schemas::CURRENT_EVENT_VERSION.to_string(),
            payload: e.payload.to_string(),
            occurred_at: e.at,
        })
        .collect()
}
