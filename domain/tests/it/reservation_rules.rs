//! Reservation: one given/when/then per rule, through the cqrs-es test framework with
//! the clock standing where each rule needs it.

use chrono::{DateTime, Duration, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use domain::{Reservation, ReservationCommand, Services};
use event_schemas::{LineShortage, ReservationEvent, ReservationLine};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

fn minutes(n: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(n)
}

/// The framework with the clock at `now`.
fn at(now: DateTime<Utc>) -> TestFramework<Reservation> {
    TestFramework::with(Services::fixed_at(now))
}

fn line(sku: &str, quantity: u64) -> ReservationLine {
    ReservationLine {
        sku: sku.into(),
        warehouse_id: "ams".into(),
        quantity,
    }
}

fn request(lines: Vec<ReservationLine>) -> ReservationCommand {
    ReservationCommand::Request {
        reservation_id: "r-1".into(),
        buyer: Some("ada".into()),
        created_by: Some("buyer:ada".into()),
        lines,
        expires_at: minutes(15),
    }
}

fn requested() -> ReservationEvent {
    ReservationEvent::ReservationRequested {
        reservation_id: "r-1".into(),
        buyer: Some("ada".into()),
        created_by: Some("buyer:ada".into()),
        lines: vec![line("MUG", 2)],
        expires_at: minutes(15),
    }
}

fn held() -> ReservationEvent {
    ReservationEvent::ReservationHeld {
        reservation_id: "r-1".into(),
        expires_at: minutes(15),
    }
}

fn released() -> ReservationEvent {
    ReservationEvent::ReservationReleased {
        reservation_id: "r-1".into(),
        reason: "released".into(),
    }
}

fn confirmed() -> ReservationEvent {
    ReservationEvent::ReservationConfirmed {
        reservation_id: "r-1".into(),
    }
}

#[test]
fn a_request_is_recorded_with_its_lines_merged() {
    at(t0())
        .given_no_previous_events()
        .when(request(vec![line("MUG", 1), line("MUG", 1)]))
        .then_expect_events(vec![requested()]);
}

#[test]
fn the_same_request_again_changes_nothing_and_another_under_its_id_is_refused() {
    at(t0())
        .given(vec![requested()])
        .when(request(vec![line("MUG", 2)]))
        .then_expect_events(vec![]);
    at(t0())
        .given(vec![requested()])
        .when(request(vec![line("MUG", 3)]))
        .then_expect_error_message("reservation 'r-1' exists with other lines");
}

#[test]
fn a_request_without_lines_or_ending_in_the_past_is_invalid() {
    at(t0())
        .given_no_previous_events()
        .when(request(vec![]))
        .then_expect_error_message("lines: must hold 1 to 100 lines");
    at(minutes(20))
        .given_no_previous_events()
        .when(request(vec![line("MUG", 1)]))
        .then_expect_error_message("expires_at: must lie in the future");
}

#[test]
fn held_lines_are_recorded_once() {
    at(t0())
        .given(vec![requested()])
        .when(ReservationCommand::RecordHeld)
        .then_expect_events(vec![held()]);
    at(t0())
        .given(vec![requested(), held()])
        .when(ReservationCommand::RecordHeld)
        .then_expect_events(vec![]);
}

#[test]
fn a_failure_records_what_each_line_lacked() {
    let shortages = vec![LineShortage {
        sku: "MUG".into(),
        warehouse_id: "ams".into(),
        wanted: 2,
        available: 1,
        reason: "insufficient_stock".into(),
    }];
    at(t0())
        .given(vec![requested()])
        .when(ReservationCommand::RecordFailed {
            shortages: shortages.clone(),
        })
        .then_expect_events(vec![ReservationEvent::ReservationFailed {
            reservation_id: "r-1".into(),
            shortages,
        }]);
}

#[test]
fn only_a_held_reservation_within_its_time_may_be_sold() {
    at(minutes(5))
        .given(vec![requested(), held()])
        .when(ReservationCommand::CheckConfirmable)
        .then_expect_events(vec![]);
    at(minutes(15))
        .given(vec![requested(), held()])
        .when(ReservationCommand::CheckConfirmable)
        .then_expect_error_message("the reservation's holds ran out");
    at(minutes(5))
        .given(vec![requested(), held(), released()])
        .when(ReservationCommand::CheckConfirmable)
        .then_expect_error_message("the reservation is released");
    at(minutes(5))
        .given_no_previous_events()
        .when(ReservationCommand::CheckConfirmable)
        .then_expect_error_message("there is no such reservation");
}

#[test]
fn a_sale_is_recorded_once_and_never_after_a_release() {
    at(minutes(5))
        .given(vec![requested(), held()])
        .when(ReservationCommand::RecordConfirmed)
        .then_expect_events(vec![confirmed()]);
    at(minutes(5))
        .given(vec![requested(), held(), confirmed()])
        .when(ReservationCommand::RecordConfirmed)
        .then_expect_events(vec![]);
    at(minutes(5))
        .given(vec![requested(), held(), released()])
        .when(ReservationCommand::RecordConfirmed)
        .then_expect_error_message("the reservation is released");
}

#[test]
fn an_extension_moves_the_end_later_only() {
    at(minutes(5))
        .given(vec![requested(), held()])
        .when(ReservationCommand::Extend {
            expires_at: minutes(25),
        })
        .then_expect_events(vec![ReservationEvent::ReservationExtended {
            reservation_id: "r-1".into(),
            expires_at: minutes(25),
        }]);
    at(minutes(5))
        .given(vec![requested(), held()])
        .when(ReservationCommand::Extend {
            expires_at: minutes(15),
        })
        .then_expect_events(vec![]);
    at(minutes(5))
        .given(vec![requested(), held()])
        .when(ReservationCommand::Extend {
            expires_at: minutes(10),
        })
        .then_expect_error_message("ttl_seconds: must end later than the reservation does now");
    at(minutes(16))
        .given(vec![requested(), held()])
        .when(ReservationCommand::Extend {
            expires_at: minutes(30),
        })
        .then_expect_error_message("the reservation's holds ran out");
}

#[test]
fn a_release_lets_a_held_or_requested_reservation_go_once_but_not_a_sold_one() {
    let release = || ReservationCommand::Release {
        reason: "released".into(),
    };
    at(t0())
        .given(vec![requested()])
        .when(release())
        .then_expect_events(vec![released()]);
    at(t0())
        .given(vec![requested(), held(), released()])
        .when(release())
        .then_expect_events(vec![]);
    at(t0())
        .given(vec![requested(), held(), confirmed()])
        .when(release())
        .then_expect_error_message("the reservation is confirmed");
}
