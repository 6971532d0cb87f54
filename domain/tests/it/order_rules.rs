//! Order: the rules that keep an order from shipping what was not paid for, one
//! given/when/then each through the cqrs-es test framework.

use chrono::{TimeZone, Utc};
use cqrs_es::test::TestFramework;
use domain::{Order, OrderCommand};
use event_schemas::{Destination, Money, OrderEvent, PricedLine, ReservationLine};

fn orders() -> TestFramework<Order> {
    TestFramework::with(())
}

fn eur(amount: i64) -> Money {
    Money {
        amount,
        currency: "EUR".into(),
    }
}

fn placed() -> OrderEvent {
    OrderEvent::OrderPlaced {
        order_id: "o-1".into(),
        customer: Some("ada".into()),
        lines: vec![PricedLine {
            sku: "MUG".into(),
            quantity: 2,
            unit_price: eur(500),
        }],
        total: eur(1000),
        ship_to: Destination {
            region: "nl".into(),
            lat: None,
            lon: None,
        },
        priority: false,
    }
}

fn cancelled() -> OrderEvent {
    OrderEvent::OrderCancelled {
        order_id: "o-1".into(),
        reason: "changed my mind".into(),
    }
}

fn line(sku: &str, warehouse: &str, quantity: u64) -> ReservationLine {
    ReservationLine {
        sku: sku.into(),
        warehouse_id: warehouse.into(),
        quantity,
    }
}

fn record_reserved(lines: Vec<ReservationLine>) -> OrderCommand {
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    OrderCommand::RecordReserved {
        lines,
        expires_at: at,
        payment_due: at,
        explanation: String::new(),
    }
}

fn pay(payment_id: &str, amount: i64) -> OrderCommand {
    OrderCommand::RecordPayment {
        payment_id: payment_id.into(),
        succeeded: true,
        amount: eur(amount),
    }
}

#[test]
fn reserved_lines_may_come_from_several_warehouses() {
    let lines = vec![line("MUG", "ams", 1), line("MUG", "rtm", 1)];
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    orders()
        .given(vec![placed()])
        .when(record_reserved(lines.clone()))
        .then_expect_events(vec![OrderEvent::OrderStockReserved {
            order_id: "o-1".into(),
            lines,
            expires_at: at,
            payment_due: at,
            explanation: String::new(),
        }]);
}

#[test]
fn reserved_lines_other_than_the_ordered_ones_are_refused() {
    for lines in [
        vec![line("MUG", "ams", 2), line("TV", "ams", 20)],
        vec![line("MUG", "ams", 3)],
        vec![line("MUG", "ams", 1)],
        vec![line("TV", "ams", 2)],
    ] {
        orders()
            .given(vec![placed()])
            .when(record_reserved(lines))
            .then_expect_error_message(
                "the reserved lines are not the lines the order was placed with",
            );
    }
}

#[test]
fn a_payment_for_a_rejected_order_is_refunded() {
    orders()
        .given(vec![
            placed(),
            OrderEvent::OrderRejected {
                order_id: "o-1".into(),
                reason: "insufficient_stock".into(),
                detail: String::new(),
            },
        ])
        .when(pay("p-1", 1000))
        .then_expect_events(vec![OrderEvent::RefundRequested {
            order_id: "o-1".into(),
            payment_id: "p-1".into(),
            amount: eur(1000),
            reason: "the payment came for an order that was rejected".into(),
        }]);
}

#[test]
fn a_payment_for_a_cancelled_order_is_refunded_whatever_its_amount() {
    orders()
        .given(vec![placed(), cancelled()])
        .when(pay("p-1", 7))
        .then_expect_events(vec![OrderEvent::RefundRequested {
            order_id: "o-1".into(),
            payment_id: "p-1".into(),
            amount: eur(7),
            reason: "the payment came for an order that was cancelled".into(),
        }]);
}

#[test]
fn the_same_payment_again_after_its_refund_changes_nothing() {
    orders()
        .given(vec![
            placed(),
            cancelled(),
            OrderEvent::RefundRequested {
                order_id: "o-1".into(),
                payment_id: "p-1".into(),
                amount: eur(1000),
                reason: "the payment came for an order that was cancelled".into(),
            },
        ])
        .when(pay("p-1", 1000))
        .then_expect_events(vec![]);
}

#[test]
fn a_cancelled_order_is_never_paid_so_never_confirmed() {
    orders()
        .given(vec![placed(), cancelled()])
        .when(OrderCommand::Confirm { shipments: vec![] })
        .then_expect_error_message("the order is cancelled");
}
