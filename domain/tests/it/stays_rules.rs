//! Listing (stays: short-term rentals): one given/when/then per rule of the
//! aggregate — listings and their moderation, who may change them, booking,
//! overlaps, confirmation, cancellation and refunds, reviews, automatic pricing —
//! through the cqrs-es test framework with the clock standing where each rule
//! needs it. The listing is in Europe/Berlin unless a rule says otherwise.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use cqrs_es::test::TestFramework;
use domain::stays::{BookStay, Canceller};
use domain::{ErrorKind, Listing, ListingCommand, Services};
use event_schemas::stays::{
    CalendarChange, CancellationPolicy, CancelledBy, FraudSignal, ListingDetails, ListingEvent,
    ModerationDecision, NightPrice, Photo, StayPrice, StayRequest, SubRatings,
};
use event_schemas::GeoPoint;
use serde_json::json;

use crate::support::{assert_refusal, invalid, refusal, TEXT};

pub const LISTING: &str = "loft-1";
pub const HOST: &str = "host-1";
pub const GUEST: &str = "guest-1";
/// The nightly price and cleaning fee of [`details`].
pub const NIGHTLY: u64 = 10_000;
pub const CLEANING: u64 = 3_000;

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

pub fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

/// A night (or check-in/out day) in June 2027.
pub fn june(day: u32) -> NaiveDate {
    date(2027, 6, day)
}

/// Tuesday 1 June 2027, 10:00 UTC: noon in Berlin.
pub fn now() -> DateTime<Utc> {
    utc(2027, 6, 1, 10, 0, 0)
}

pub fn listings_at(now: DateTime<Utc>) -> TestFramework<Listing> {
    TestFramework::with(Services::fixed_at(now))
}

pub fn listings() -> TestFramework<Listing> {
    listings_at(now())
}

/// A loft in Berlin for up to four, booked at once, open every night.
pub fn details() -> ListingDetails {
    ListingDetails {
        title: "Loft by the canal".into(),
        description: "Two rooms, a balcony and a view of the water.".into(),
        photos: vec![Photo {
            url: "https://img.example.com/loft-1/1.jpg".into(),
            content_hash: "a".repeat(64),
        }],
        location: GeoPoint {
            lat: 52.4934,
            lon: 13.4234,
        },
        time_zone: "Europe/Berlin".into(),
        property_type: "apartment".into(),
        capacity: 4,
        amenities: vec!["wifi".into(), "kitchen".into()],
        currency: "EUR".into(),
        nightly_price: NIGHTLY,
        cleaning_fee: CLEANING,
        cancellation_policy: CancellationPolicy::Flexible,
        min_nights: 1,
        max_nights: 14,
        check_in_time: hm(15, 0),
        check_out_time: hm(11, 0),
        open_weekdays: vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ],
        instant_book: true,
    }
}

pub fn created_with(details: ListingDetails) -> ListingEvent {
    ListingEvent::ListingCreated {
        listing_id: LISTING.into(),
        host_id: HOST.into(),
        details,
    }
}

pub fn created() -> ListingEvent {
    created_with(details())
}

fn on_request() -> ListingDetails {
    ListingDetails {
        instant_book: false,
        ..details()
    }
}

fn create(host_id: &str, details: ListingDetails, screening: Vec<FraudSignal>) -> ListingCommand {
    ListingCommand::Create {
        listing_id: LISTING.into(),
        host_id: host_id.into(),
        details,
        screening,
    }
}

fn signal(kind: &str, weight: f64) -> FraudSignal {
    FraudSignal {
        kind: kind.into(),
        detail: format!("{kind} found"),
        weight,
    }
}

/// `guest`'s stay `[check_in, check_out)` for two, paid through `order-<stay_id>`.
pub fn stay_of(guest: &str, stay_id: &str, check_in: NaiveDate, check_out: NaiveDate) -> BookStay {
    BookStay {
        stay_id: stay_id.into(),
        guest: guest.into(),
        check_in,
        check_out,
        guests: 2,
        order_id: format!("order-{stay_id}"),
        search_id: None,
        hold_minutes: 15,
    }
}

pub fn stay(stay_id: &str, check_in: NaiveDate, check_out: NaiveDate) -> BookStay {
    stay_of(GUEST, stay_id, check_in, check_out)
}

pub fn book(stay: BookStay) -> ListingCommand {
    ListingCommand::Book {
        listing_id: LISTING.into(),
        stay,
    }
}

pub fn book_nights(stay_id: &str, check_in: NaiveDate, check_out: NaiveDate) -> ListingCommand {
    book(stay(stay_id, check_in, check_out))
}

/// These nights at these prices, and the cleaning fee.
pub fn price(nights: &[(NaiveDate, u64)], cleaning_fee: u64) -> StayPrice {
    StayPrice {
        currency: "EUR".into(),
        nights: nights
            .iter()
            .map(|&(night, price)| NightPrice { night, price })
            .collect(),
        cleaning_fee,
        total: nights.iter().map(|(_, p)| p).sum::<u64>() + cleaning_fee,
    }
}

/// Every night of `[check_in, check_out)` at [`NIGHTLY`], and [`CLEANING`].
pub fn flat_price(check_in: NaiveDate, check_out: NaiveDate) -> StayPrice {
    let nights: Vec<(NaiveDate, u64)> = domain::stays::nights(check_in, check_out)
        .map(|n| (n, NIGHTLY))
        .collect();
    price(&nights, CLEANING)
}

pub fn request_of(stay: &BookStay, price: StayPrice) -> StayRequest {
    StayRequest {
        stay_id: stay.stay_id.clone(),
        guest: stay.guest.clone(),
        check_in: stay.check_in,
        check_out: stay.check_out,
        guests: stay.guests,
        price,
        order_id: stay.order_id.clone(),
        search_id: stay.search_id.clone(),
    }
}

pub fn held_as(stay: &BookStay, price: StayPrice, expires_at: DateTime<Utc>) -> ListingEvent {
    ListingEvent::StayHeld {
        listing_id: LISTING.into(),
        stay: request_of(stay, price),
        expires_at,
    }
}

/// [`GUEST`]'s stay held at the flat price until `expires_at`.
pub fn held(
    stay_id: &str,
    check_in: NaiveDate,
    check_out: NaiveDate,
    expires_at: DateTime<Utc>,
) -> ListingEvent {
    held_as(
        &stay(stay_id, check_in, check_out),
        flat_price(check_in, check_out),
        expires_at,
    )
}

fn requested(stay_id: &str, check_in: NaiveDate, check_out: NaiveDate) -> ListingEvent {
    ListingEvent::StayRequested {
        listing_id: LISTING.into(),
        stay: request_of(
            &stay(stay_id, check_in, check_out),
            flat_price(check_in, check_out),
        ),
        respond_by: now() + Duration::hours(24),
    }
}

pub fn confirmed(stay_id: &str) -> ListingEvent {
    ListingEvent::StayConfirmed {
        listing_id: LISTING.into(),
        stay_id: stay_id.into(),
        order_id: format!("order-{stay_id}"),
    }
}

pub fn lapsed(stay_id: &str, reason: &str) -> ListingEvent {
    ListingEvent::HoldLapsed {
        listing_id: LISTING.into(),
        stay_id: stay_id.into(),
        reason: reason.into(),
    }
}

pub fn cancelled(stay_id: &str, by: CancelledBy, refund: u64, refund_share: f64) -> ListingEvent {
    ListingEvent::StayCancelled {
        listing_id: LISTING.into(),
        stay_id: stay_id.into(),
        by,
        refund,
        refund_share,
    }
}

pub fn confirm(stay_id: &str, order_id: &str) -> ListingCommand {
    ListingCommand::Confirm {
        listing_id: LISTING.into(),
        stay_id: stay_id.into(),
        order_id: order_id.into(),
    }
}

pub fn cancel(stay_id: &str, by: Canceller) -> ListingCommand {
    ListingCommand::Cancel {
        listing_id: LISTING.into(),
        stay_id: stay_id.into(),
        by,
    }
}

fn respond(stay_id: &str, host_id: &str, accept: bool, hold_minutes: u32) -> ListingCommand {
    ListingCommand::Respond {
        listing_id: LISTING.into(),
        host_id: host_id.into(),
        stay_id: stay_id.into(),
        accept,
        hold_minutes,
    }
}

fn review(stay_id: &str, guest: &str, rating: u8) -> ListingCommand {
    ListingCommand::Review {
        listing_id: LISTING.into(),
        stay_id: stay_id.into(),
        guest: guest.into(),
        rating,
        sub_ratings: None,
    }
}

fn moderate(decision: ModerationDecision) -> ListingCommand {
    ListingCommand::Moderate {
        listing_id: LISTING.into(),
        decision,
    }
}

fn moderated(decision: ModerationDecision) -> ListingEvent {
    ListingEvent::ListingModerated {
        listing_id: LISTING.into(),
        decision,
    }
}

fn calendar(from: NaiveDate, until: NaiveDate, change: CalendarChange) -> ListingEvent {
    ListingEvent::CalendarChanged {
        listing_id: LISTING.into(),
        from,
        until,
        change,
    }
}

fn change_calendar(
    host_id: &str,
    from: NaiveDate,
    until: NaiveDate,
    change: CalendarChange,
) -> ListingCommand {
    ListingCommand::ChangeCalendar {
        listing_id: LISTING.into(),
        host_id: host_id.into(),
        from,
        until,
        change,
    }
}

fn set_auto_pricing(enabled: bool, min: Option<u64>, max: Option<u64>) -> ListingCommand {
    ListingCommand::SetAutoPricing {
        listing_id: LISTING.into(),
        host_id: HOST.into(),
        enabled,
        min_price: min,
        max_price: max,
    }
}

fn auto_pricing_set(enabled: bool, min_price: u64, max_price: u64) -> ListingEvent {
    ListingEvent::AutoPricingSet {
        listing_id: LISTING.into(),
        enabled,
        min_price,
        max_price,
    }
}

fn suggest(prices: &[(NaiveDate, u64)]) -> ListingCommand {
    ListingCommand::ApplySuggestedPrices {
        listing_id: LISTING.into(),
        prices: prices
            .iter()
            .map(|&(night, price)| NightPrice { night, price })
            .collect(),
    }
}

fn suggested_price(night: NaiveDate, nightly_price: u64) -> ListingEvent {
    calendar(
        night,
        night + Duration::days(1),
        CalendarChange::PriceSet {
            nightly_price,
            suggested: true,
        },
    )
}

/// The taken nights a `stay_nights_taken` refusal names.
fn taken(nights: &[&str]) -> serde_json::Value {
    json!(nights)
}

// 1. Creating a listing.

#[test]
fn a_listing_is_created_and_creating_it_again_changes_nothing() {
    listings()
        .given_no_previous_events()
        .when(create(HOST, details(), vec![]))
        .then_expect_events(vec![created()]);
    listings()
        .given(vec![created()])
        .when(create(HOST, details(), vec![]))
        .then_expect_events(vec![]);
}

#[test]
fn another_host_or_other_details_under_an_existing_listing_id_are_refused() {
    let other_details = ListingDetails {
        title: "Someone else's loft".into(),
        ..details()
    };
    for command in [
        create("host-2", details(), vec![]),
        create(HOST, other_details.clone(), vec![]),
        create("host-2", other_details, vec![]),
    ] {
        let err = refusal(listings().given(vec![created()]).when(command));
        assert_refusal(&err, ErrorKind::Conflict, "listing_exists", &[]);
    }
}

const HASH: &str = "must be the SHA-256 of the photo, as 64 lower-case hex digits";
const ZONE: &str = "must be an IANA time zone, e.g. Europe/Berlin";
const CAPACITY: &str = "must be from 1 to 50 guests";
const CURRENCY: &str = "must be three capital letters (ISO 4217)";
const MIN_NIGHTS: &str = "must be at least 1 and at most max_nights";

#[test]
fn invalid_details_are_refused_naming_every_bad_field_and_nothing_is_written() {
    let mut bad = details();
    bad.title = "   ".into();
    bad.photos[0].content_hash = "A".repeat(64);
    bad.time_zone = "Europe/Atlantis".into();
    bad.capacity = 0;
    bad.currency = "eur".into();
    bad.min_nights = 5;
    bad.max_nights = 3;
    listings()
        .given_no_previous_events()
        .when(create(HOST, bad, vec![]))
        .then_expect_error(invalid(&[
            ("title", TEXT),
            ("photos[0].content_hash", HASH),
            ("time_zone", ZONE),
            ("capacity", CAPACITY),
            ("currency", CURRENCY),
            ("min_nights", MIN_NIGHTS),
        ]));
}

#[test]
fn each_invalid_detail_alone_is_refused_by_its_own_field() {
    type Spoil = fn(&mut ListingDetails);
    let cases: [(Spoil, &str, &str); 8] = [
        (|d| d.title = String::new(), "title", TEXT),
        (|d| d.time_zone = "UTC+2".into(), "time_zone", ZONE),
        (|d| d.capacity = 0, "capacity", CAPACITY),
        (|d| d.capacity = 51, "capacity", CAPACITY),
        (|d| d.min_nights = 15, "min_nights", MIN_NIGHTS),
        (
            |d| d.photos[0].content_hash = "abc".into(),
            "photos[0].content_hash",
            HASH,
        ),
        (|d| d.currency = "EURO".into(), "currency", CURRENCY),
        (|d| d.currency = "E1R".into(), "currency", CURRENCY),
    ];
    for (spoil, field, message) in cases {
        let mut bad = details();
        spoil(&mut bad);
        listings()
            .given_no_previous_events()
            .when(create(HOST, bad, vec![]))
            .then_expect_error(invalid(&[(field, message)]));
    }
}

// 2. Screening and moderation.

#[test]
fn a_listing_screening_finds_suspect_is_created_flagged_with_its_signals_weights_summed() {
    let signals = vec![signal("photo_reused", 0.25), signal("host_burst", 0.5)];
    listings()
        .given_no_previous_events()
        .when(create(HOST, details(), signals.clone()))
        .then_expect_events(vec![
            created(),
            ListingEvent::ListingFlagged {
                listing_id: LISTING.into(),
                signals,
                score: 0.75,
            },
        ]);
}

#[test]
fn a_flag_s_score_is_capped_at_one() {
    let signals = vec![
        signal("photo_reused", 0.5),
        signal("contact_details", 0.75),
        signal("price_far_below", 0.25),
    ];
    listings()
        .given_no_previous_events()
        .when(create(HOST, details(), signals.clone()))
        .then_expect_events(vec![
            created(),
            ListingEvent::ListingFlagged {
                listing_id: LISTING.into(),
                signals,
                score: 1.0,
            },
        ]);
}

fn flagged() -> ListingEvent {
    ListingEvent::ListingFlagged {
        listing_id: LISTING.into(),
        signals: vec![signal("photo_reused", 0.5)],
        score: 0.5,
    }
}

#[test]
fn a_flagged_listing_is_not_bookable() {
    let err = refusal(
        listings()
            .given(vec![created(), flagged()])
            .when(book_nights("s-1", june(10), june(12))),
    );
    assert_refusal(&err, ErrorKind::Conflict, "listing_not_bookable", &[]);
}

#[test]
fn an_approved_listing_is_bookable_again() {
    listings()
        .given(vec![created(), flagged()])
        .when(moderate(ModerationDecision::Approved))
        .then_expect_events(vec![moderated(ModerationDecision::Approved)]);
    listings()
        .given(vec![
            created(),
            flagged(),
            moderated(ModerationDecision::Approved),
        ])
        .when(book_nights("s-1", june(10), june(12)))
        .then_expect_events(vec![held(
            "s-1",
            june(10),
            june(12),
            now() + Duration::minutes(15),
        )]);
}

#[test]
fn a_removed_listing_is_never_bookable_nor_changed_again() {
    listings()
        .given(vec![created(), flagged()])
        .when(moderate(ModerationDecision::Removed))
        .then_expect_events(vec![moderated(ModerationDecision::Removed)]);
    let removed = vec![created(), flagged(), moderated(ModerationDecision::Removed)];
    let err = refusal(listings().given(removed.clone()).when(book_nights(
        "s-1",
        june(10),
        june(12),
    )));
    assert_refusal(&err, ErrorKind::Conflict, "listing_not_bookable", &[]);
    let err = refusal(
        listings()
            .given(removed.clone())
            .when(ListingCommand::Update {
                listing_id: LISTING.into(),
                host_id: HOST.into(),
                details: ListingDetails {
                    title: "A brand new loft".into(),
                    ..details()
                },
                screening: vec![],
            }),
    );
    assert_refusal(&err, ErrorKind::Conflict, "listing_not_bookable", &[]);
    // An approval after the removal changes nothing: still not bookable.
    listings()
        .given(removed.clone())
        .when(moderate(ModerationDecision::Approved))
        .then_expect_events(vec![]);
    // Nor is a new screening hit able to make it anything but removed.
    let mut later = removed;
    later.push(flagged());
    let err = refusal(
        listings()
            .given(later)
            .when(book_nights("s-1", june(10), june(12))),
    );
    assert_refusal(&err, ErrorKind::Conflict, "listing_not_bookable", &[]);
}

#[test]
fn a_flagged_listing_stays_unbookable_after_its_host_unlists_and_updates_it() {
    // The host unlists the flagged listing, then changes its title (screening finds
    // nothing in the new title): no admin decided, so it must stay unbookable.
    listings()
        .given(vec![created(), flagged()])
        .when(ListingCommand::Unlist {
            listing_id: LISTING.into(),
            host_id: HOST.into(),
        })
        .then_expect_events(vec![ListingEvent::ListingUnlisted {
            listing_id: LISTING.into(),
        }]);
    let new_details = ListingDetails {
        title: "Loft by the canal, renovated".into(),
        ..details()
    };
    let err = refusal(
        listings()
            .given(vec![
                created(),
                flagged(),
                ListingEvent::ListingUnlisted {
                    listing_id: LISTING.into(),
                },
                ListingEvent::ListingUpdated {
                    listing_id: LISTING.into(),
                    details: new_details,
                },
            ])
            .when(book_nights("s-1", june(10), june(12))),
    );
    assert_refusal(&err, ErrorKind::Conflict, "listing_not_bookable", &[]);
}

// 3. Only the host changes its listing.

#[test]
fn another_host_may_not_change_the_listing_nor_answer_for_it() {
    let other = "host-2";
    let commands = [
        ListingCommand::Update {
            listing_id: LISTING.into(),
            host_id: other.into(),
            details: ListingDetails {
                title: "Mine now".into(),
                ..details()
            },
            screening: vec![],
        },
        ListingCommand::Unlist {
            listing_id: LISTING.into(),
            host_id: other.into(),
        },
        change_calendar(other, june(10), june(12), CalendarChange::Blocked),
        ListingCommand::SetAutoPricing {
            listing_id: LISTING.into(),
            host_id: other.into(),
            enabled: true,
            min_price: None,
            max_price: None,
        },
        respond("s-1", other, true, 15),
        respond("s-1", other, false, 15),
        cancel("s-1", Canceller::Host(other.into())),
    ];
    for command in commands {
        let err = refusal(
            listings_at(now() + Duration::hours(1))
                .given(vec![
                    created_with(on_request()),
                    requested("s-1", june(10), june(12)),
                ])
                .when(command.clone()),
        );
        assert_refusal(&err, ErrorKind::Forbidden, "not_your_listing", &[]);
    }
}

#[test]
fn the_host_changes_its_calendar() {
    listings()
        .given(vec![created()])
        .when(change_calendar(
            HOST,
            june(10),
            june(12),
            CalendarChange::Blocked,
        ))
        .then_expect_events(vec![calendar(june(10), june(12), CalendarChange::Blocked)]);
}

// 4. Booking: instant book and request to book.

#[test]
fn an_instant_booking_is_held_at_each_night_s_price_with_the_cleaning_fee() {
    let override_ = calendar(
        june(11),
        june(12),
        CalendarChange::PriceSet {
            nightly_price: 12_500,
            suggested: false,
        },
    );
    let mut asked = stay("s-1", june(10), june(13));
    asked.hold_minutes = 90;
    asked.search_id = Some("search-7".into());
    let expected = StayPrice {
        currency: "EUR".into(),
        nights: vec![
            NightPrice {
                night: june(10),
                price: 10_000,
            },
            NightPrice {
                night: june(11),
                price: 12_500,
            },
            NightPrice {
                night: june(12),
                price: 10_000,
            },
        ],
        cleaning_fee: 3_000,
        total: 35_500,
    };
    listings()
        .given(vec![created(), override_])
        .when(book(asked.clone()))
        .then_expect_events(vec![ListingEvent::StayHeld {
            listing_id: LISTING.into(),
            stay: request_of(&asked, expected),
            expires_at: now() + Duration::minutes(90),
        }]);
}

#[test]
fn a_hold_must_last_one_minute_to_a_day() {
    for minutes in [0, 1_441] {
        let mut asked = stay("s-1", june(10), june(12));
        asked.hold_minutes = minutes;
        listings()
            .given(vec![created()])
            .when(book(asked))
            .then_expect_error(invalid(&[("hold_minutes", "must be from 1 to 1440")]));
    }
}

#[test]
fn a_request_to_book_waits_a_day_for_the_host() {
    listings()
        .given(vec![created_with(on_request())])
        .when(book_nights("s-1", june(10), june(12)))
        .then_expect_events(vec![requested("s-1", june(10), june(12))]);
}

#[test]
fn a_host_who_accepts_in_time_holds_the_stay_for_payment() {
    let at = now() + Duration::hours(23);
    listings_at(at)
        .given(vec![
            created_with(on_request()),
            requested("s-1", june(10), june(12)),
        ])
        .when(respond("s-1", HOST, true, 30))
        .then_expect_events(vec![
            ListingEvent::HostResponded {
                listing_id: LISTING.into(),
                stay_id: "s-1".into(),
                accepted: true,
                within_deadline: true,
            },
            held("s-1", june(10), june(12), at + Duration::minutes(30)),
        ]);
}

#[test]
fn a_host_who_declines_lets_the_nights_go() {
    listings_at(now() + Duration::hours(2))
        .given(vec![
            created_with(on_request()),
            requested("s-1", june(10), june(12)),
        ])
        .when(respond("s-1", HOST, false, 15))
        .then_expect_events(vec![
            ListingEvent::HostResponded {
                listing_id: LISTING.into(),
                stay_id: "s-1".into(),
                accepted: false,
                within_deadline: true,
            },
            lapsed("s-1", "declined"),
        ]);
}

#[test]
fn an_answer_after_the_deadline_is_refused() {
    for accept in [true, false] {
        let err = refusal(
            listings_at(now() + Duration::hours(24))
                .given(vec![
                    created_with(on_request()),
                    requested("s-1", june(10), june(12)),
                ])
                .when(respond("s-1", HOST, accept, 15)),
        );
        assert_refusal(&err, ErrorKind::Conflict, "stay_state", &[]);
    }
}

// 5. Overlaps.

#[test]
fn a_second_booking_of_overlapping_nights_is_refused_naming_them() {
    let err = refusal(
        listings()
            .given(vec![
                created(),
                held("s-1", june(10), june(13), now() + Duration::minutes(15)),
            ])
            .when(book(stay_of("guest-2", "s-2", june(11), june(15)))),
    );
    assert_refusal(
        &err,
        ErrorKind::Conflict,
        "stay_nights_taken",
        &[("taken_nights", taken(&["2027-06-11", "2027-06-12"]))],
    );
}

#[test]
fn a_pending_request_and_a_confirmed_stay_keep_their_nights_too() {
    for given in [
        vec![created(), requested("s-1", june(10), june(13))],
        vec![
            created(),
            held("s-1", june(10), june(13), now() - Duration::minutes(5)),
            confirmed("s-1"),
        ],
    ] {
        let err = refusal(listings().given(given).when(book(stay_of(
            "guest-2",
            "s-2",
            june(8),
            june(11),
        ))));
        assert_refusal(
            &err,
            ErrorKind::Conflict,
            "stay_nights_taken",
            &[("taken_nights", taken(&["2027-06-10"]))],
        );
    }
}

#[test]
fn adjacent_stays_share_only_a_check_out_day() {
    listings()
        .given(vec![created()])
        .when(book_nights("s-1", june(1), june(3)))
        .then_expect_events(vec![held(
            "s-1",
            june(1),
            june(3),
            now() + Duration::minutes(15),
        )]);
    listings()
        .given(vec![
            created(),
            held("s-1", june(1), june(3), now() + Duration::minutes(15)),
        ])
        .when(book_nights("s-2", june(3), june(5)))
        .then_expect_events(vec![held(
            "s-2",
            june(3),
            june(5),
            now() + Duration::minutes(15),
        )]);
}

#[test]
fn a_hold_past_its_expiry_no_longer_keeps_its_nights() {
    for expired_at in [now() - Duration::seconds(1), now()] {
        listings()
            .given(vec![created(), held("s-1", june(10), june(13), expired_at)])
            .when(book_nights("s-2", june(10), june(13)))
            .then_expect_events(vec![held(
                "s-2",
                june(10),
                june(13),
                now() + Duration::minutes(15),
            )]);
    }
}

#[test]
fn a_lapsed_hold_or_a_cancelled_stay_frees_its_nights() {
    let hold = held("s-1", june(10), june(13), now() + Duration::minutes(15));
    for ending in [
        vec![lapsed("s-1", "payment_failed")],
        vec![
            confirmed("s-1"),
            cancelled("s-1", CancelledBy::Guest, 33_000, 1.0),
        ],
    ] {
        let mut given = vec![created(), hold.clone()];
        given.extend(ending);
        listings()
            .given(given)
            .when(book_nights("s-2", june(11), june(12)))
            .then_expect_events(vec![held(
                "s-2",
                june(11),
                june(12),
                now() + Duration::minutes(15),
            )]);
    }
}

#[test]
fn the_same_booking_again_changes_nothing() {
    listings()
        .given(vec![
            created(),
            held("s-1", june(10), june(13), now() + Duration::minutes(15)),
        ])
        .when(book_nights("s-1", june(10), june(13)))
        .then_expect_events(vec![]);
}

#[test]
fn another_booking_under_a_used_stay_id_is_refused() {
    let others = [
        stay("s-1", june(10), june(14)),
        stay_of("guest-2", "s-1", june(10), june(13)),
        BookStay {
            guests: 3,
            ..stay("s-1", june(10), june(13))
        },
        BookStay {
            order_id: "order-other".into(),
            ..stay("s-1", june(10), june(13))
        },
    ];
    for other in others {
        let err = refusal(
            listings()
                .given(vec![
                    created(),
                    held("s-1", june(10), june(13), now() + Duration::minutes(15)),
                ])
                .when(book(other)),
        );
        assert_refusal(&err, ErrorKind::Conflict, "stay_exists", &[]);
    }
}

// 6. Bad bookings.

#[test]
fn a_check_out_not_after_the_check_in_is_refused() {
    for (check_in, check_out) in [(june(10), june(10)), (june(12), june(10))] {
        listings()
            .given(vec![created()])
            .when(book_nights("s-1", check_in, check_out))
            .then_expect_error(invalid(&[
                ("check_out", "must be after check_in"),
                ("check_out", "the stay must be 1 to 14 nights"),
            ]));
    }
}

#[test]
fn a_check_in_in_the_past_of_the_listing_is_refused() {
    listings()
        .given(vec![created()])
        .when(book_nights("s-1", date(2027, 5, 31), june(2)))
        .then_expect_error(invalid(&[(
            "check_in",
            "must not lie in the past (it is 2027-06-01 at the listing)",
        )]));
    // 22:30 UTC on 31 May is already 1 June in Berlin.
    listings_at(utc(2027, 5, 31, 22, 30, 0))
        .given(vec![created()])
        .when(book_nights("s-1", date(2027, 5, 31), june(2)))
        .then_expect_error(invalid(&[(
            "check_in",
            "must not lie in the past (it is 2027-06-01 at the listing)",
        )]));
}

#[test]
fn a_check_out_beyond_the_two_year_horizon_is_refused() {
    // 730 days after 2027-06-01 is 2029-05-31 (2028 is a leap year).
    let last = date(2029, 5, 31);
    listings()
        .given(vec![created()])
        .when(book_nights(
            "s-1",
            date(2029, 5, 30),
            last + Duration::days(1),
        ))
        .then_expect_error(invalid(&[(
            "check_out",
            "must lie within the two-year calendar horizon",
        )]));
    listings()
        .given(vec![created()])
        .when(book_nights("s-1", date(2029, 5, 30), last))
        .then_expect_events(vec![held(
            "s-1",
            date(2029, 5, 30),
            last,
            now() + Duration::minutes(15),
        )]);
}

#[test]
fn no_guests_or_more_than_the_capacity_are_refused() {
    for guests in [0, 5] {
        listings()
            .given(vec![created()])
            .when(book(BookStay {
                guests,
                ..stay("s-1", june(10), june(12))
            }))
            .then_expect_error(invalid(&[(
                "guests",
                "must be from 1 to the listing's capacity, 4",
            )]));
    }
    listings()
        .given(vec![created()])
        .when(book(BookStay {
            guests: 4,
            ..stay("s-1", june(10), june(12))
        }))
        .then_expect_events(vec![held_as(
            &BookStay {
                guests: 4,
                ..stay("s-1", june(10), june(12))
            },
            flat_price(june(10), june(12)),
            now() + Duration::minutes(15),
        )]);
}

#[test]
fn fewer_nights_than_the_minimum_or_more_than_the_maximum_are_refused() {
    let bounded = ListingDetails {
        min_nights: 2,
        max_nights: 5,
        ..details()
    };
    for (check_in, check_out) in [(june(10), june(11)), (june(10), june(16))] {
        listings()
            .given(vec![created_with(bounded.clone())])
            .when(book_nights("s-1", check_in, check_out))
            .then_expect_error(invalid(&[("check_out", "the stay must be 2 to 5 nights")]));
    }
    for (check_in, check_out) in [(june(10), june(12)), (june(10), june(15))] {
        listings()
            .given(vec![created_with(bounded.clone())])
            .when(book_nights("s-1", check_in, check_out))
            .then_expect_events(vec![held(
                "s-1",
                check_in,
                check_out,
                now() + Duration::minutes(15),
            )]);
    }
}

fn no_saturdays() -> ListingDetails {
    ListingDetails {
        open_weekdays: vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sun,
        ],
        ..details()
    }
}

#[test]
fn a_night_the_weekly_plan_leaves_out_is_closed() {
    // 5 June 2027 is a Saturday.
    let err = refusal(
        listings()
            .given(vec![created_with(no_saturdays())])
            .when(book_nights("s-1", june(4), june(7))),
    );
    assert_refusal(&err, ErrorKind::Conflict, "nights_closed", &[]);
    // Friday to Saturday has no Saturday night.
    listings()
        .given(vec![created_with(no_saturdays())])
        .when(book_nights("s-1", june(4), june(5)))
        .then_expect_events(vec![held(
            "s-1",
            june(4),
            june(5),
            now() + Duration::minutes(15),
        )]);
}

#[test]
fn a_blocked_night_is_closed() {
    let err = refusal(
        listings()
            .given(vec![
                created(),
                calendar(june(12), june(13), CalendarChange::Blocked),
            ])
            .when(book_nights("s-1", june(10), june(14))),
    );
    assert_refusal(&err, ErrorKind::Conflict, "nights_closed", &[]);
}

#[test]
fn an_opened_night_is_bookable_whatever_the_weekly_plan_says() {
    listings()
        .given(vec![
            created_with(no_saturdays()),
            calendar(june(5), june(6), CalendarChange::Opened),
        ])
        .when(book_nights("s-1", june(4), june(7)))
        .then_expect_events(vec![held(
            "s-1",
            june(4),
            june(7),
            now() + Duration::minutes(15),
        )]);
}

// 7. Confirmation.

fn held_s1() -> ListingEvent {
    held("s-1", june(10), june(13), now() + Duration::minutes(15))
}

#[test]
fn a_paid_hold_is_confirmed_once() {
    listings()
        .given(vec![created(), held_s1()])
        .when(confirm("s-1", "order-s-1"))
        .then_expect_events(vec![confirmed("s-1")]);
    listings()
        .given(vec![created(), held_s1(), confirmed("s-1")])
        .when(confirm("s-1", "order-s-1"))
        .then_expect_events(vec![]);
}

#[test]
fn a_payment_through_another_order_is_refused() {
    for given in [
        vec![created(), held_s1()],
        vec![created(), held_s1(), confirmed("s-1")],
    ] {
        let err = refusal(listings().given(given).when(confirm("s-1", "order-9")));
        assert_refusal(&err, ErrorKind::Conflict, "stay_state", &[]);
    }
}

#[test]
fn a_late_payment_still_gets_the_stay_while_its_nights_are_free() {
    // Lapsed unpaid, and a hold that simply ran out.
    for given in [
        vec![created(), held_s1(), lapsed("s-1", "payment_timed_out")],
        vec![
            created(),
            held("s-1", june(10), june(13), now() - Duration::minutes(1)),
        ],
    ] {
        listings()
            .given(given)
            .when(confirm("s-1", "order-s-1"))
            .then_expect_events(vec![confirmed("s-1")]);
    }
}

#[test]
fn a_late_payment_is_refused_when_another_stay_took_its_nights() {
    let err = refusal(
        listings()
            .given(vec![
                created(),
                held_s1(),
                lapsed("s-1", "payment_timed_out"),
                held("s-2", june(12), june(15), now() + Duration::minutes(15)),
            ])
            .when(confirm("s-1", "order-s-1")),
    );
    assert_refusal(
        &err,
        ErrorKind::Conflict,
        "stay_nights_taken",
        &[("taken_nights", taken(&["2027-06-12"]))],
    );
}

#[test]
fn a_payment_does_not_revive_a_hold_its_host_cancelled() {
    // The host cancels the guest's hold (HoldLapsed "host_cancelled"); the order is
    // still open, the guest pays: the stay must not become the guest's.
    listings()
        .given(vec![created(), held_s1()])
        .when(cancel("s-1", Canceller::Host(HOST.into())))
        .then_expect_events(vec![lapsed("s-1", "host_cancelled")]);
    let err = refusal(
        listings()
            .given(vec![created(), held_s1(), lapsed("s-1", "host_cancelled")])
            .when(confirm("s-1", "order-s-1")),
    );
    assert_refusal(&err, ErrorKind::Conflict, "stay_state", &[]);
}

// 8. Cancellation and refunds.

#[test]
fn a_guest_who_gives_up_a_hold_lets_it_lapse() {
    listings()
        .given(vec![created(), held_s1()])
        .when(cancel("s-1", Canceller::Guest(GUEST.into())))
        .then_expect_events(vec![lapsed("s-1", "guest_cancelled")]);
    // A pending request likewise.
    listings()
        .given(vec![
            created_with(on_request()),
            requested("s-1", june(10), june(13)),
        ])
        .when(cancel("s-1", Canceller::Guest(GUEST.into())))
        .then_expect_events(vec![lapsed("s-1", "guest_cancelled")]);
    // Cancelling it again changes nothing.
    listings()
        .given(vec![created(), held_s1(), lapsed("s-1", "guest_cancelled")])
        .when(cancel("s-1", Canceller::Guest(GUEST.into())))
        .then_expect_events(vec![]);
}

/// A confirmed stay of three nights at 10,001 (30,003 for the nights, odd so that
/// halving rounds) and a cleaning fee of 3,000, checking in on 10 June at 15:00
/// Berlin time (13:00 UTC), on a listing with `policy`.
fn confirmed_stay(policy: CancellationPolicy) -> Vec<ListingEvent> {
    let nights = [(june(10), 10_001), (june(11), 10_001), (june(12), 10_001)];
    vec![
        created_with(ListingDetails {
            cancellation_policy: policy,
            ..details()
        }),
        held_as(
            &stay("s-1", june(10), june(13)),
            price(&nights, CLEANING),
            now() + Duration::minutes(15),
        ),
        confirmed("s-1"),
    ]
}

/// The local check-in of [`confirmed_stay`].
fn check_in_at() -> DateTime<Utc> {
    utc(2027, 6, 10, 13, 0, 0)
}

const TOTAL: u64 = 33_003;
const HALF: u64 = 15_001 + CLEANING;

#[test]
fn a_guest_s_refund_follows_the_policy_and_the_time_left_before_the_local_check_in() {
    use CancellationPolicy::*;
    let before = |hours: i64, minutes: i64| {
        check_in_at() - Duration::hours(hours) - Duration::minutes(minutes)
    };
    let cases = [
        (Flexible, before(48, 0), TOTAL, 1.0),
        (Flexible, before(24, 0), TOTAL, 1.0),
        // 22:30 before 15:00 local, though 24:30 before 15:00 UTC.
        (Flexible, before(22, 30), HALF, 0.5),
        (Flexible, before(23, 59), HALF, 0.5),
        (Flexible, before(0, 1), HALF, 0.5),
        (Flexible, check_in_at(), 0, 0.0),
        (Flexible, before(-1, 0), 0, 0.0),
        (Moderate, before(5 * 24, 0), TOTAL, 1.0),
        (Moderate, before(5 * 24 - 1, 0), HALF, 0.5),
        (Moderate, before(24, 0), HALF, 0.5),
        (Moderate, before(23, 0), CLEANING, 0.0),
        (Strict, before(14 * 24, 0), TOTAL, 1.0),
        (Strict, before(14 * 24 - 1, 0), HALF, 0.5),
        (Strict, before(7 * 24, 0), HALF, 0.5),
        (Strict, before(7 * 24 - 1, 0), CLEANING, 0.0),
        (Strict, before(1, 0), CLEANING, 0.0),
    ];
    for (policy, at, refund, share) in cases {
        let events = listings_at(at)
            .given(confirmed_stay(policy))
            .when(cancel("s-1", Canceller::Guest(GUEST.into())))
            .inspect_result()
            .unwrap_or_else(|e| panic!("{policy:?} at {at}: refused {e:?}"));
        assert_eq!(
            events,
            vec![cancelled("s-1", CancelledBy::Guest, refund, share)],
            "{policy:?} at {at}"
        );
    }
}

#[test]
fn a_host_who_cancels_gives_everything_back() {
    for at in [
        check_in_at() - Duration::days(30),
        check_in_at() - Duration::hours(1),
        check_in_at() + Duration::days(1),
    ] {
        listings_at(at)
            .given(confirmed_stay(CancellationPolicy::Strict))
            .when(cancel("s-1", Canceller::Host(HOST.into())))
            .then_expect_events(vec![cancelled("s-1", CancelledBy::Host, TOTAL, 1.0)]);
    }
}

#[test]
fn another_guest_cannot_see_nor_cancel_the_stay() {
    let err = refusal(
        listings()
            .given(confirmed_stay(CancellationPolicy::Flexible))
            .when(cancel("s-1", Canceller::Guest("guest-2".into()))),
    );
    assert_refusal(&err, ErrorKind::NotFound, "unknown_stay", &[]);
}

#[test]
fn a_stay_that_is_over_cannot_be_cancelled() {
    // Check-out: 13 June 11:00 Berlin, 09:00 UTC.
    let check_out_at = utc(2027, 6, 13, 9, 0, 0);
    for (by, at) in [
        (Canceller::Guest(GUEST.into()), check_out_at),
        (
            Canceller::Host(HOST.into()),
            check_out_at + Duration::days(1),
        ),
    ] {
        let err = refusal(
            listings_at(at)
                .given(confirmed_stay(CancellationPolicy::Flexible))
                .when(cancel("s-1", by)),
        );
        assert_refusal(&err, ErrorKind::Conflict, "stay_state", &[]);
    }
    // A minute before the check-out it is still a (refundless) cancellation.
    listings_at(check_out_at - Duration::minutes(1))
        .given(confirmed_stay(CancellationPolicy::Flexible))
        .when(cancel("s-1", Canceller::Guest(GUEST.into())))
        .then_expect_events(vec![cancelled("s-1", CancelledBy::Guest, 0, 0.0)]);
}

#[test]
fn a_stricter_policy_set_after_the_booking_does_not_cut_the_refund() {
    // Booked under a flexible policy; the host switches to strict; the guest
    // cancels three days ahead: flexible gives everything back.
    let mut given = confirmed_stay(CancellationPolicy::Flexible);
    given.push(ListingEvent::ListingUpdated {
        listing_id: LISTING.into(),
        details: ListingDetails {
            cancellation_policy: CancellationPolicy::Strict,
            ..details()
        },
    });
    listings_at(check_in_at() - Duration::days(3))
        .given(given)
        .when(cancel("s-1", Canceller::Guest(GUEST.into())))
        .then_expect_events(vec![cancelled("s-1", CancelledBy::Guest, TOTAL, 1.0)]);
}

// 9. Reviews.

/// The morning of the check-out day in Berlin (08:00 local).
fn check_out_day() -> DateTime<Utc> {
    utc(2027, 6, 13, 6, 0, 0)
}

#[test]
fn the_guest_reviews_a_stay_that_took_place_once_it_is_over() {
    // Just after local midnight of the check-out day (22:00:00 UTC on 12 June).
    for at in [utc(2027, 6, 12, 22, 0, 0), check_out_day()] {
        listings_at(at)
            .given(confirmed_stay(CancellationPolicy::Flexible))
            .when(ListingCommand::Review {
                listing_id: LISTING.into(),
                stay_id: "s-1".into(),
                guest: GUEST.into(),
                rating: 5,
                sub_ratings: Some(SubRatings {
                    cleanliness: 5,
                    accuracy: 4,
                    communication: 5,
                    location: 3,
                    value: 4,
                }),
            })
            .then_expect_events(vec![ListingEvent::StayReviewed {
                listing_id: LISTING.into(),
                stay_id: "s-1".into(),
                guest: GUEST.into(),
                rating: 5,
                sub_ratings: Some(SubRatings {
                    cleanliness: 5,
                    accuracy: 4,
                    communication: 5,
                    location: 3,
                    value: 4,
                }),
            }]);
    }
}

#[test]
fn a_stay_is_reviewed_once() {
    let mut given = confirmed_stay(CancellationPolicy::Flexible);
    given.push(ListingEvent::StayReviewed {
        listing_id: LISTING.into(),
        stay_id: "s-1".into(),
        guest: GUEST.into(),
        rating: 4,
        sub_ratings: None,
    });
    listings_at(check_out_day())
        .given(given)
        .when(review("s-1", GUEST, 2))
        .then_expect_events(vec![]);
}

#[test]
fn only_the_stay_s_guest_reviews_it() {
    let err = refusal(
        listings_at(check_out_day())
            .given(confirmed_stay(CancellationPolicy::Flexible))
            .when(review("s-1", "guest-2", 5)),
    );
    assert_refusal(&err, ErrorKind::NotFound, "unknown_stay", &[]);
}

#[test]
fn a_stay_not_over_yet_is_not_reviewed() {
    // 23:59 on 12 June in Berlin (21:59 UTC): the last night is not over.
    let err = refusal(
        listings_at(utc(2027, 6, 12, 21, 59, 0))
            .given(confirmed_stay(CancellationPolicy::Flexible))
            .when(review("s-1", GUEST, 5)),
    );
    assert_refusal(&err, ErrorKind::Conflict, "stay_state", &[]);
}

#[test]
fn only_a_confirmed_stay_is_reviewed() {
    let unconfirmed = [
        vec![created(), held_s1()],
        vec![created(), held_s1(), lapsed("s-1", "payment_timed_out")],
        {
            let mut cancelled_stay = confirmed_stay(CancellationPolicy::Flexible);
            cancelled_stay.push(cancelled("s-1", CancelledBy::Host, TOTAL, 1.0));
            cancelled_stay
        },
    ];
    for given in unconfirmed {
        let err = refusal(
            listings_at(check_out_day())
                .given(given)
                .when(review("s-1", GUEST, 5)),
        );
        assert_refusal(&err, ErrorKind::Conflict, "stay_state", &[]);
    }
}

#[test]
fn a_rating_is_one_to_five() {
    for rating in [0, 6] {
        listings_at(check_out_day())
            .given(confirmed_stay(CancellationPolicy::Flexible))
            .when(review("s-1", GUEST, rating))
            .then_expect_error(invalid(&[("rating", "must be from 1 to 5")]));
    }
}

// 10. Automatic pricing.

#[test]
fn suggested_prices_change_nothing_while_automatic_pricing_is_off() {
    listings()
        .given(vec![created()])
        .when(suggest(&[(june(10), 12_000), (june(11), 8_000)]))
        .then_expect_events(vec![]);
    listings()
        .given(vec![
            created(),
            auto_pricing_set(true, 8_000, 12_000),
            auto_pricing_set(false, 8_000, 12_000),
        ])
        .when(suggest(&[(june(10), 12_000)]))
        .then_expect_events(vec![]);
}

#[test]
fn the_host_turns_automatic_pricing_on_within_a_range_or_by_default_half_to_twice_the_price() {
    listings()
        .given(vec![created()])
        .when(set_auto_pricing(true, Some(8_000), Some(12_000)))
        .then_expect_events(vec![auto_pricing_set(true, 8_000, 12_000)]);
    listings()
        .given(vec![created()])
        .when(set_auto_pricing(true, None, None))
        .then_expect_events(vec![auto_pricing_set(true, 5_000, 20_000)]);
    listings()
        .given(vec![created(), auto_pricing_set(true, 8_000, 12_000)])
        .when(set_auto_pricing(true, Some(8_000), Some(12_000)))
        .then_expect_events(vec![]);
    listings()
        .given(vec![created()])
        .when(set_auto_pricing(true, Some(12_000), Some(8_000)))
        .then_expect_error(invalid(&[(
            "max_price",
            "must be from min_price to 100000000 minor units",
        )]));
}

#[test]
fn suggested_prices_become_the_nights_prices_within_the_range_skipping_nights_already_there() {
    listings()
        .given(vec![
            created(),
            auto_pricing_set(true, 8_000, 12_000),
            calendar(
                june(13),
                june(14),
                CalendarChange::PriceSet {
                    nightly_price: 9_000,
                    suggested: false,
                },
            ),
        ])
        .when(suggest(&[
            (june(10), 5_000),
            (june(11), 15_000),
            (june(12), 10_000),
            (june(13), 9_000),
            (june(14), 11_000),
            (june(15), 12_000),
        ]))
        .then_expect_events(vec![
            suggested_price(june(10), 8_000),
            suggested_price(june(11), 12_000),
            suggested_price(june(14), 11_000),
            suggested_price(june(15), 12_000),
        ]);
    // A night whose suggestion clamps to the price it already has is skipped.
    listings()
        .given(vec![
            created(),
            auto_pricing_set(true, 8_000, 12_000),
            suggested_price(june(10), 12_000),
        ])
        .when(suggest(&[(june(10), 30_000), (june(11), 1)]))
        .then_expect_events(vec![suggested_price(june(11), 8_000)]);
}

#[test]
fn a_booking_after_automatic_pricing_pays_the_suggested_prices() {
    listings()
        .given(vec![
            created(),
            auto_pricing_set(true, 8_000, 12_000),
            suggested_price(june(10), 8_000),
            suggested_price(june(11), 12_000),
        ])
        .when(book_nights("s-1", june(10), june(12)))
        .then_expect_events(vec![held_as(
            &stay("s-1", june(10), june(12)),
            price(&[(june(10), 8_000), (june(11), 12_000)], CLEANING),
            now() + Duration::minutes(15),
        )]);
}

// Found in review.

#[test]
fn a_late_payment_after_a_failed_one_still_gets_the_free_nights() {
    listings()
        .given(vec![created(), held_s1(), lapsed("s-1", "payment_failed")])
        .when(confirm("s-1", "order-s-1"))
        .then_expect_events(vec![confirmed("s-1")]);
}

#[test]
fn a_payment_never_gets_a_stay_on_a_removed_listing_nor_one_whose_check_in_passed() {
    let removed = refusal(
        listings()
            .given(vec![
                created(),
                held_s1(),
                moderated(ModerationDecision::Removed),
            ])
            .when(confirm("s-1", "order-s-1")),
    );
    assert_refusal(&removed, ErrorKind::Conflict, "listing_not_bookable", &[]);
    // A webhook days late: the stay's first night has passed.
    let late = refusal(
        listings_at(utc(2027, 6, 12, 10, 0, 0))
            .given(vec![created(), held_s1()])
            .when(confirm("s-1", "order-s-1")),
    );
    assert_refusal(&late, ErrorKind::Conflict, "listing_not_bookable", &[]);
}

#[test]
fn a_revived_hold_needs_nights_the_host_still_offers() {
    let blocked = refusal(
        listings()
            .given(vec![
                created(),
                held_s1(),
                lapsed("s-1", "payment_timed_out"),
                calendar(june(11), june(12), CalendarChange::Blocked),
            ])
            .when(confirm("s-1", "order-s-1")),
    );
    assert_refusal(&blocked, ErrorKind::Conflict, "listing_not_bookable", &[]);
}

#[test]
fn a_calendar_change_may_not_reach_back_before_yesterday() {
    let err = refusal(listings().given(vec![created()]).when(change_calendar(
        HOST,
        date(1900, 1, 1),
        june(10),
        CalendarChange::Blocked,
    )));
    assert_eq!(err.errors[0].field, "from", "{err:?}");
}

#[test]
fn automatic_pricing_leaves_hand_set_prices_and_small_moves_alone() {
    listings()
        .given(vec![
            created(),
            auto_pricing_set(true, 5_000, 20_000),
            calendar(
                june(20),
                june(21),
                CalendarChange::PriceSet {
                    nightly_price: 15_000,
                    suggested: false,
                },
            ),
        ])
        .when(suggest(&[
            (june(20), 9_000),
            (june(21), 10_100),
            (june(22), 12_000),
        ]))
        .then_expect_events(vec![suggested_price(june(22), 12_000)]);
}
