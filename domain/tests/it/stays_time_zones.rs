//! Listing (stays) across time zones and calendar edges: nights are local dates of
//! the listing's zone, deadlines local wall-clock times — across the date line,
//! daylight-saving changes, New Year and a hold ending at local midnight.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::stays::local_time::local_midnight;
use domain::stays::Canceller;
use domain::ErrorKind;
use event_schemas::stays::{
    CalendarChange, CancellationPolicy, CancelledBy, ListingDetails, ListingEvent,
};
use serde_json::json;

use crate::stays_rules::{
    book, book_nights, cancel, cancelled, confirmed, created_with, date, details, flat_price, held,
    held_as, hm, listings_at, price, stay, stay_of, utc, CLEANING, GUEST, LISTING, NIGHTLY,
};
use crate::support::{assert_refusal, invalid, refusal};

fn in_zone(time_zone: &str) -> ListingDetails {
    ListingDetails {
        time_zone: time_zone.into(),
        ..details()
    }
}

fn berlin() -> ListingDetails {
    in_zone("Europe/Berlin")
}

// Across the date line.

/// 20:00 UTC on 14 January 2027: already 09:00 on 15 January in Auckland (UTC+13).
fn auckland_morning() -> DateTime<Utc> {
    utc(2027, 1, 14, 20, 0, 0)
}

#[test]
fn auckland_s_today_is_bookable_while_utc_is_still_on_the_day_before() {
    let now = auckland_morning();
    listings_at(now)
        .given(vec![created_with(in_zone("Pacific/Auckland"))])
        .when(book_nights("s-1", date(2027, 1, 15), date(2027, 1, 17)))
        .then_expect_events(vec![held(
            "s-1",
            date(2027, 1, 15),
            date(2027, 1, 17),
            now + Duration::minutes(15),
        )]);
}

#[test]
fn auckland_s_yesterday_is_past_though_it_is_still_today_in_utc() {
    listings_at(auckland_morning())
        .given(vec![created_with(in_zone("Pacific/Auckland"))])
        .when(book_nights("s-1", date(2027, 1, 14), date(2027, 1, 16)))
        .then_expect_error(invalid(&[(
            "check_in",
            "must not lie in the past (it is 2027-01-15 at the listing)",
        )]));
}

// Daylight saving in Berlin: 28 March 2027 (02:00 → 03:00) and 31 October 2027
// (03:00 → 02:00), both Sundays.

#[test]
fn a_stay_across_the_spring_change_has_one_price_per_night() {
    let now = utc(2027, 3, 1, 10, 0, 0);
    listings_at(now)
        .given(vec![created_with(berlin())])
        .when(book_nights("s-1", date(2027, 3, 27), date(2027, 3, 29)))
        .then_expect_events(vec![held_as(
            &stay("s-1", date(2027, 3, 27), date(2027, 3, 29)),
            price(
                &[(date(2027, 3, 27), NIGHTLY), (date(2027, 3, 28), NIGHTLY)],
                CLEANING,
            ),
            now + Duration::minutes(15),
        )]);
}

#[test]
fn a_stay_across_the_autumn_change_has_one_price_per_night() {
    let now = utc(2027, 10, 1, 10, 0, 0);
    listings_at(now)
        .given(vec![created_with(berlin())])
        .when(book_nights("s-1", date(2027, 10, 30), date(2027, 11, 1)))
        .then_expect_events(vec![held_as(
            &stay("s-1", date(2027, 10, 30), date(2027, 11, 1)),
            price(
                &[(date(2027, 10, 30), NIGHTLY), (date(2027, 10, 31), NIGHTLY)],
                CLEANING,
            ),
            now + Duration::minutes(15),
        )]);
}

/// A confirmed two-night flexible stay from `check_in` (20,000 for the nights and
/// 3,000 cleaning), with the listing's details as given.
fn confirmed_from(listing: ListingDetails, check_in: NaiveDate) -> Vec<ListingEvent> {
    let check_out = check_in + Duration::days(2);
    vec![
        created_with(ListingDetails {
            cancellation_policy: CancellationPolicy::Flexible,
            ..listing
        }),
        held(
            "s-1",
            check_in,
            check_out,
            utc(2027, 1, 1, 0, 0, 0) + Duration::minutes(15),
        ),
        confirmed("s-1"),
    ]
}

const TOTAL: u64 = 2 * NIGHTLY + CLEANING;
const HALF: u64 = NIGHTLY + CLEANING;

#[track_caller]
fn assert_guest_refund(given: Vec<ListingEvent>, at: DateTime<Utc>, refund: u64, share: f64) {
    listings_at(at)
        .given(given)
        .when(cancel("s-1", Canceller::Guest(GUEST.into())))
        .then_expect_events(vec![cancelled("s-1", CancelledBy::Guest, refund, share)]);
}

#[test]
fn the_refund_deadline_before_a_check_in_the_day_clocks_go_forward_counts_real_hours() {
    // Check-in on Sunday 28 March at 15:00 CEST = 13:00 UTC. The day before at
    // 15:00 CET (14:00 UTC) is only 23 hours before it: half the nights back.
    let given = || confirmed_from(berlin(), date(2027, 3, 28));
    assert_guest_refund(given(), utc(2027, 3, 27, 12, 0, 0), TOTAL, 1.0); // 25 h
    assert_guest_refund(given(), utc(2027, 3, 27, 13, 0, 0), TOTAL, 1.0); // 24 h
    assert_guest_refund(given(), utc(2027, 3, 27, 14, 0, 0), HALF, 0.5); // 23 h
}

#[test]
fn the_refund_deadline_before_a_check_in_the_day_clocks_go_back_counts_real_hours() {
    // Check-in on Sunday 31 October at 15:00 CET = 14:00 UTC. The day before at
    // 15:00 CEST (13:00 UTC) is 25 hours before it: everything back.
    let given = || confirmed_from(berlin(), date(2027, 10, 31));
    assert_guest_refund(given(), utc(2027, 10, 30, 13, 0, 0), TOTAL, 1.0); // 25 h
    assert_guest_refund(given(), utc(2027, 10, 30, 14, 0, 0), TOTAL, 1.0); // 24 h
    assert_guest_refund(given(), utc(2027, 10, 30, 15, 0, 0), HALF, 0.5); // 23 h
}

#[test]
fn a_check_in_time_the_autumn_change_repeats_is_its_first_occurrence() {
    // 02:30 on 31 October happens twice in Berlin: first at 00:30 UTC (CEST).
    let early = ListingDetails {
        check_in_time: hm(2, 30),
        ..berlin()
    };
    let given = || confirmed_from(early.clone(), date(2027, 10, 31));
    assert_guest_refund(given(), utc(2027, 10, 30, 0, 30, 0), TOTAL, 1.0);
    assert_guest_refund(given(), utc(2027, 10, 30, 0, 45, 0), HALF, 0.5);
    // At the first 02:30 the stay has begun: neither nights nor cleaning back.
    assert_guest_refund(given(), utc(2027, 10, 31, 0, 30, 0), 0, 0.0);
}

// New Year.

#[test]
fn a_stay_across_new_year_has_its_three_nights_each_at_its_price() {
    let now = utc(2027, 12, 1, 10, 0, 0);
    let eve = ListingEvent::CalendarChanged {
        listing_id: LISTING.into(),
        from: date(2027, 12, 31),
        until: date(2028, 1, 1),
        change: CalendarChange::PriceSet {
            nightly_price: 25_000,
            suggested: false,
        },
    };
    let asked = stay("s-1", date(2027, 12, 30), date(2028, 1, 2));
    let expected = price(
        &[
            (date(2027, 12, 30), 10_000),
            (date(2027, 12, 31), 25_000),
            (date(2028, 1, 1), 10_000),
        ],
        3_000,
    );
    assert_eq!(expected.total, 48_000);
    listings_at(now)
        .given(vec![created_with(berlin()), eve.clone()])
        .when(book(asked.clone()))
        .then_expect_events(vec![held_as(
            &asked,
            expected.clone(),
            now + Duration::minutes(15),
        )]);
    // New Year's night is the stay's; 2 January is free for the next guest.
    let booked = vec![
        created_with(berlin()),
        eve,
        held_as(&asked, expected, now + Duration::minutes(15)),
    ];
    let err = refusal(listings_at(now).given(booked.clone()).when(book(stay_of(
        "guest-2",
        "s-2",
        date(2028, 1, 1),
        date(2028, 1, 3),
    ))));
    assert_refusal(
        &err,
        ErrorKind::Conflict,
        "stay_nights_taken",
        &[("taken_nights", json!(["2028-01-01"]))],
    );
    listings_at(now)
        .given(booked)
        .when(book(stay_of(
            "guest-2",
            "s-2",
            date(2028, 1, 2),
            date(2028, 1, 4),
        )))
        .then_expect_events(vec![held_as(
            &stay_of("guest-2", "s-2", date(2028, 1, 2), date(2028, 1, 4)),
            flat_price(date(2028, 1, 2), date(2028, 1, 4)),
            now + Duration::minutes(15),
        )]);
}

// A hold that ends at the listing's local midnight.

/// 23:40 CEST on Monday 14 June 2027.
fn twenty_to_midnight() -> DateTime<Utc> {
    utc(2027, 6, 14, 21, 40, 0)
}

/// Midnight in Berlin between 14 and 15 June 2027: 22:00 UTC.
fn midnight() -> DateTime<Utc> {
    local_midnight(chrono_tz::Europe::Berlin, date(2027, 6, 15))
}

fn held_until_midnight() -> ListingEvent {
    held("s-1", date(2027, 6, 15), date(2027, 6, 17), midnight())
}

#[test]
fn a_twenty_minute_hold_from_twenty_to_midnight_ends_at_local_midnight() {
    assert_eq!(midnight(), utc(2027, 6, 14, 22, 0, 0));
    let mut asked = stay("s-1", date(2027, 6, 15), date(2027, 6, 17));
    asked.hold_minutes = 20;
    listings_at(twenty_to_midnight())
        .given(vec![created_with(berlin())])
        .when(book(asked))
        .then_expect_events(vec![held_until_midnight()]);
}

#[test]
fn a_second_before_midnight_the_held_nights_are_still_taken() {
    let at = midnight() - Duration::seconds(1);
    let err = refusal(
        listings_at(at)
            .given(vec![created_with(berlin()), held_until_midnight()])
            .when(book(stay_of(
                "guest-2",
                "s-2",
                date(2027, 6, 15),
                date(2027, 6, 17),
            ))),
    );
    assert_refusal(
        &err,
        ErrorKind::Conflict,
        "stay_nights_taken",
        &[("taken_nights", json!(["2027-06-15", "2027-06-16"]))],
    );
    // It is still 14 June at the listing: tonight can be booked.
    listings_at(at)
        .given(vec![created_with(berlin()), held_until_midnight()])
        .when(book(stay_of(
            "guest-2",
            "s-2",
            date(2027, 6, 14),
            date(2027, 6, 15),
        )))
        .then_expect_events(vec![held_as(
            &stay_of("guest-2", "s-2", date(2027, 6, 14), date(2027, 6, 15)),
            flat_price(date(2027, 6, 14), date(2027, 6, 15)),
            at + Duration::minutes(15),
        )]);
}

#[test]
fn at_midnight_the_held_nights_are_free_and_the_day_before_is_past() {
    listings_at(midnight())
        .given(vec![created_with(berlin()), held_until_midnight()])
        .when(book(stay_of(
            "guest-2",
            "s-2",
            date(2027, 6, 15),
            date(2027, 6, 17),
        )))
        .then_expect_events(vec![held_as(
            &stay_of("guest-2", "s-2", date(2027, 6, 15), date(2027, 6, 17)),
            flat_price(date(2027, 6, 15), date(2027, 6, 17)),
            midnight() + Duration::minutes(15),
        )]);
    listings_at(midnight())
        .given(vec![created_with(berlin()), held_until_midnight()])
        .when(book(stay_of(
            "guest-2",
            "s-2",
            date(2027, 6, 14),
            date(2027, 6, 15),
        )))
        .then_expect_error(invalid(&[(
            "check_in",
            "must not lie in the past (it is 2027-06-15 at the listing)",
        )]));
}
