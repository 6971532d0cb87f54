//! The order process's policy: given the order (its events) and the time, when an
//! order event or an outcome arrives, then these steps and order commands.

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::order_process::{self as policy, OrderStep};
use domain::{DomainError, ErrorKind, Order, OrderCommand, Refusal, Reservation};
use event_schemas::{LineShortage, OrderEvent, ReservationEvent, ReservationLine};

use crate::support::{eur, line, placed};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

fn minutes(n: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(n)
}

fn reserved(lines: Vec<ReservationLine>) -> OrderEvent {
    OrderEvent::OrderStockReserved {
        order_id: "o-1".into(),
        lines,
        expires_at: minutes(15),
        explanation: String::new(),
        payment_due: minutes(10),
    }
}

fn paid() -> OrderEvent {
    OrderEvent::OrderPaid {
        order_id: "o-1".into(),
        payment_id: "p-1".into(),
        amount: eur(1000),
    }
}

/// The order after `events`.
fn order_after(events: &[OrderEvent]) -> Order {
    let mut order = Order::default();
    for event in events {
        order.apply_event(event);
    }
    order
}

/// The reservation after `events`.
fn reservation_after(events: &[ReservationEvent]) -> Reservation {
    let mut reservation = Reservation::default();
    for event in events {
        reservation.apply_event(event);
    }
    reservation
}

fn requested(lines: Vec<ReservationLine>) -> ReservationEvent {
    ReservationEvent::ReservationRequested {
        reservation_id: "order:o-1".into(),
        buyer: Some("ada".into()),
        lines,
        expires_at: minutes(15),
        created_by: None,
    }
}

#[test]
fn each_order_event_maps_to_its_step() {
    assert_eq!(policy::step_for(&placed()), OrderStep::Reserve);
    assert_eq!(policy::step_for(&paid()), OrderStep::Settle);
    let failed = OrderEvent::OrderPaymentFailed {
        order_id: "o-1".into(),
        payment_id: "p-1".into(),
    };
    assert_eq!(policy::step_for(&failed), OrderStep::ReleaseUnpaid);
    assert_eq!(
        policy::step_for(&reserved(vec![line("MUG", "ams", 2)])),
        OrderStep::Nothing
    );
}

#[test]
fn an_order_cancelled_before_the_process_got_to_it_holds_nothing() {
    let cancelled = order_after(&[
        placed(),
        OrderEvent::OrderCancelled {
            order_id: "o-1".into(),
            reason: "changed my mind".into(),
        },
    ]);
    assert!(!policy::still_wanted(OrderStep::Reserve, &cancelled));
    assert!(policy::still_wanted(
        OrderStep::Reserve,
        &order_after(&[placed()])
    ));
}

#[test]
fn only_a_paid_order_is_settled() {
    let lines = vec![line("MUG", "ams", 2)];
    assert!(!policy::still_wanted(
        OrderStep::Settle,
        &order_after(&[placed(), reserved(lines.clone())])
    ));
    assert!(policy::still_wanted(
        OrderStep::Settle,
        &order_after(&[placed(), reserved(lines), paid()])
    ));
}

#[test]
fn held_stock_is_recorded_with_the_payment_due_in_ten_minutes() {
    let lines = vec![line("MUG", "ams", 2)];
    let held = reservation_after(&[
        requested(lines.clone()),
        ReservationEvent::ReservationHeld {
            reservation_id: "order:o-1".into(),
            expires_at: minutes(15),
        },
    ]);
    assert_eq!(
        policy::record_reservation(&held, "cheapest".into(), t0()),
        OrderCommand::RecordReserved {
            lines,
            expires_at: minutes(15),
            payment_due: minutes(10),
            explanation: "cheapest".into(),
        }
    );
}

#[test]
fn stock_that_could_not_be_held_rejects_the_order_saying_what_was_short() {
    let failed = reservation_after(&[
        requested(vec![line("MUG", "ams", 2)]),
        ReservationEvent::ReservationFailed {
            reservation_id: "order:o-1".into(),
            shortages: vec![LineShortage {
                sku: "MUG".into(),
                warehouse_id: "ams".into(),
                wanted: 2,
                available: 1,
                reason: "insufficient_stock".into(),
            }],
        },
    ]);
    assert_eq!(
        policy::record_reservation(&failed, String::new(), t0()),
        OrderCommand::Reject {
            reason: "insufficient_stock".into(),
            detail: "MUG in ams: 2 wanted, 1 available".into(),
        }
    );
}

#[test]
fn an_order_that_cannot_be_planned_is_rejected_with_the_refusal() {
    let refusal = DomainError::new(
        ErrorKind::Conflict,
        Refusal::AllocationUnavailable,
        "no warehouse ships to nl",
    );
    assert_eq!(
        policy::reject(&refusal),
        OrderCommand::Reject {
            reason: "allocation_unavailable".into(),
            detail: "no warehouse ships to nl".into(),
        }
    );
}

#[test]
fn sold_units_confirm_the_order_with_one_shipment_per_warehouse() {
    let commands = policy::settlement(Some(vec![
        line("MUG", "rtm", 1),
        line("MUG", "ams", 1),
        line("CUP", "rtm", 3),
    ]));
    assert_eq!(
        commands,
        vec![OrderCommand::Confirm {
            shipments: vec![
                ("ams".into(), vec![line("MUG", "ams", 1)]),
                (
                    "rtm".into(),
                    vec![line("MUG", "rtm", 1), line("CUP", "rtm", 3)]
                ),
            ],
        }]
    );
}

#[test]
fn a_payment_whose_stock_is_gone_is_refunded_and_the_customer_told() {
    assert_eq!(
        policy::settlement(None),
        vec![
            OrderCommand::RequestRefund {
                reason: policy::REFUND_REASON.into(),
            },
            OrderCommand::Notify {
                message: policy::REFUND_NOTICE.into(),
            },
        ]
    );
}

#[test]
fn a_late_payment_holds_again_only_the_lines_not_sold_yet() {
    let order = order_after(&[
        placed(),
        reserved(vec![line("MUG", "ams", 1), line("MUG", "rtm", 1)]),
        paid(),
    ]);
    assert_eq!(
        policy::lines_to_hold_again(&order, &[line("MUG", "ams", 1)]).unwrap(),
        vec![line("MUG", "rtm", 1)]
    );
}

#[test]
fn a_paid_order_never_reserved_is_not_sold_on_a_guess() {
    let order = order_after(&[placed(), paid()]);
    let refusal = policy::lines_to_hold_again(&order, &[]).unwrap_err();
    assert_eq!(refusal.code, Refusal::NothingReserved);
}

#[test]
fn a_late_payment_partly_sold_and_partly_gone_goes_to_a_person() {
    assert!(policy::hold_again_failed(&[]).is_ok());
    let refusal = policy::hold_again_failed(&[line("MUG", "ams", 1)]).unwrap_err();
    assert_eq!(refusal.code, Refusal::PartlySold);
}

#[test]
fn a_failed_payment_tells_the_customer() {
    assert_eq!(
        policy::payment_failed(),
        vec![OrderCommand::Notify {
            message: policy::PAYMENT_FAILED_NOTICE.into(),
        }]
    );
}

#[test]
fn a_reserved_order_times_out_once_its_payment_is_due() {
    let order = order_after(&[placed(), reserved(vec![line("MUG", "ams", 2)])]);
    assert!(!policy::payment_overdue(&order, minutes(9)));
    assert!(policy::payment_overdue(&order, minutes(10)));
    assert_eq!(
        policy::time_out(),
        vec![
            OrderCommand::TimeOut,
            OrderCommand::Notify {
                message: policy::TIMED_OUT_NOTICE.into(),
            },
        ]
    );
    let paid = order_after(&[placed(), reserved(vec![line("MUG", "ams", 2)]), paid()]);
    assert!(!policy::payment_overdue(&paid, minutes(60)));
}
