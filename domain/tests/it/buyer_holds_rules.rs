//! BuyerHolds: a buyer's own reservations stay within its limits, counted where the
//! limit is decided; ParkedEvents: what a process sets aside until it is resolved.

use chrono::{DateTime, Duration, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use domain::{
    BuyerHolds, BuyerHoldsCommand, BuyerLimits, ParkedEvents, ParkedEventsCommand, Services,
};
use event_schemas::{BuyerHoldsEvent, ParkedEvent};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

fn minutes(n: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(n)
}

fn take(id: &str, units: u64, until: DateTime<Utc>) -> BuyerHoldsCommand {
    BuyerHoldsCommand::Take {
        buyer: "ada".into(),
        reservation_id: id.into(),
        units,
        expires_at: until,
        limits: BuyerLimits::default(),
    }
}

fn taken(id: &str, units: u64, at: DateTime<Utc>, until: DateTime<Utc>) -> BuyerHoldsEvent {
    BuyerHoldsEvent::BuyerUnitsTaken {
        buyer: "ada".into(),
        reservation_id: id.into(),
        units,
        expires_at: until,
        at,
    }
}

fn extend(id: &str, until: DateTime<Utc>) -> BuyerHoldsCommand {
    BuyerHoldsCommand::Extend {
        reservation_id: id.into(),
        expires_at: until,
        limits: BuyerLimits::default(),
    }
}

/// The framework with the clock at `now`.
fn holds_at(now: DateTime<Utc>) -> TestFramework<BuyerHolds> {
    TestFramework::with(Services::fixed_at(now))
}

#[test]
fn units_within_the_limit_are_counted() {
    holds_at(t0())
        .given(vec![taken("r-1", 15, t0(), minutes(15))])
        .when(take("r-2", 5, minutes(15)))
        .then_expect_events(vec![taken("r-2", 5, t0(), minutes(15))]);
}

#[test]
fn units_past_the_limit_are_refused() {
    holds_at(t0())
        .given(vec![taken("r-1", 15, t0(), minutes(15))])
        .when(take("r-2", 6, minutes(15)))
        .then_expect_error_message("a buyer may hold at most 20 units at once; 15 are held now");
}

#[test]
fn units_of_reservations_that_ran_out_or_ended_no_longer_count() {
    holds_at(minutes(6))
        .given(vec![
            taken("r-1", 15, t0(), minutes(5)),
            taken("r-2", 5, t0(), minutes(15)),
            BuyerHoldsEvent::BuyerUnitsReturned {
                buyer: "ada".into(),
                reservation_id: "r-2".into(),
            },
        ])
        .when(take("r-3", 20, minutes(20)))
        .then_expect_events(vec![taken("r-3", 20, minutes(6), minutes(20))]);
}

#[test]
fn a_hold_longer_than_a_buyer_may_ask_is_refused() {
    holds_at(t0())
        .given(vec![])
        .when(take("r-1", 1, minutes(16)))
        .then_expect_error_message("ttl_seconds: a buyer may hold for at most 900 seconds");
}

#[test]
fn an_extension_within_the_longest_life_is_counted() {
    holds_at(minutes(40))
        .given(vec![taken("r-1", 1, t0(), minutes(15))])
        .when(extend("r-1", minutes(55)))
        .then_expect_events(vec![BuyerHoldsEvent::BuyerUnitsExtended {
            buyer: "ada".into(),
            reservation_id: "r-1".into(),
            expires_at: minutes(55),
        }]);
}

#[test]
fn an_extension_past_the_longest_life_is_refused() {
    holds_at(minutes(50))
        .given(vec![taken("r-1", 1, t0(), minutes(15))])
        .when(extend("r-1", minutes(61)))
        .then_expect_error_message("a buyer's reservation may hold for at most 60 minutes in all");
}

#[test]
fn a_parked_event_stays_listed_until_resolved() {
    let parked = ParkedEvent::ProcessEventParked {
        process: "order_process".into(),
        position: 42,
        event_type: "OrderPaid".into(),
        aggregate_id: "ghost".into(),
        reason: "there is no such order".into(),
    };
    TestFramework::<ParkedEvents>::with(Services::fixed_at(chrono::DateTime::UNIX_EPOCH))
        .given(vec![parked.clone()])
        .when(ParkedEventsCommand::Resolve { position: 42 })
        .then_expect_events(vec![ParkedEvent::ParkedEventResolved {
            process: "order_process".into(),
            position: 42,
        }]);
    TestFramework::<ParkedEvents>::with(Services::fixed_at(chrono::DateTime::UNIX_EPOCH))
        .given(vec![parked])
        .when(ParkedEventsCommand::Resolve { position: 41 })
        .then_expect_error_message("no event at position 41 is parked");
}
