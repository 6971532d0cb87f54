//! Order: the rules that keep an order from shipping what was not paid for, one
//! given/when/then each through the cqrs-es test framework.

use chrono::{TimeZone, Utc};

use crate::support::{eur, line, placed};
use cqrs_es::test::TestFramework;
use domain::{Order, OrderCommand, Services};
use event_schemas::{Money, OrderEvent, PricedLine, ReservationLine};

fn orders() -> TestFramework<Order> {
    TestFramework::with(Services::fixed_at(chrono::DateTime::UNIX_EPOCH))
}

fn cancelled() -> OrderEvent {
    OrderEvent::OrderCancelled {
        order_id: "o-1".into(),
        reason: "changed my mind".into(),
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

/// Placing order o-1 with other lines than [`placed`]'s.
fn place_with(lines: Vec<PricedLine>) -> OrderCommand {
    let OrderCommand::Place {
        order_id,
        customer,
        ship_to,
        priority,
        ..
    } = place()
    else {
        unreachable!("place() is a Place")
    };
    OrderCommand::Place {
        order_id,
        customer,
        lines,
        ship_to,
        priority,
        delivery: None,
    }
}

fn place() -> OrderCommand {
    let OrderEvent::OrderPlaced {
        order_id,
        customer,
        lines,
        ship_to,
        priority,
        ..
    } = placed()
    else {
        unreachable!("placed() is an OrderPlaced")
    };
    OrderCommand::Place {
        order_id,
        customer,
        lines,
        ship_to,
        priority,
        delivery: None,
    }
}

fn reserved() -> OrderEvent {
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    OrderEvent::OrderStockReserved {
        order_id: "o-1".into(),
        lines: vec![line("MUG", "ams", 2)],
        expires_at: at,
        payment_due: at,
        explanation: String::new(),
    }
}

fn paid(payment_id: &str) -> OrderEvent {
    OrderEvent::OrderPaid {
        order_id: "o-1".into(),
        payment_id: payment_id.into(),
        amount: eur(1000),
    }
}

#[test]
fn an_order_is_placed_with_its_total_once_and_not_twice_with_other_lines() {
    orders()
        .given_no_previous_events()
        .when(place())
        .then_expect_events(vec![placed()]);
    orders()
        .given(vec![placed()])
        .when(place())
        .then_expect_events(vec![]);
    orders()
        .given(vec![placed()])
        .when(place_with(vec![PricedLine {
            sku: "TV".into(),
            quantity: 1,
            unit_price: eur(5),
        }]))
        .then_expect_error_message("order 'o-1' exists with other lines");
}

#[test]
fn an_order_mixing_currencies_is_refused() {
    let dollars = Money {
        amount: 5,
        currency: "USD".into(),
    };
    orders()
        .given_no_previous_events()
        .when(place_with(vec![
            PricedLine {
                sku: "MUG".into(),
                quantity: 1,
                unit_price: eur(5),
            },
            PricedLine {
                sku: "CUP".into(),
                quantity: 1,
                unit_price: dollars,
            },
        ]))
        .then_expect_error_message("the order mixes EUR and USD");
}

#[test]
fn a_placed_order_may_be_rejected_or_cancelled_but_a_paid_one_not_cancelled() {
    orders()
        .given(vec![placed()])
        .when(OrderCommand::Reject {
            reason: "insufficient_stock".into(),
            detail: "none left".into(),
        })
        .then_expect_events(vec![OrderEvent::OrderRejected {
            order_id: "o-1".into(),
            reason: "insufficient_stock".into(),
            detail: "none left".into(),
        }]);
    orders()
        .given(vec![placed(), reserved()])
        .when(OrderCommand::Cancel {
            reason: "changed my mind".into(),
        })
        .then_expect_events(vec![cancelled()]);
    orders()
        .given(vec![placed(), reserved(), paid("p-1")])
        .when(OrderCommand::Cancel {
            reason: "changed my mind".into(),
        })
        .then_expect_error_message("the order is paid");
}

#[test]
fn a_payment_before_the_stock_is_held_is_to_be_retried() {
    orders()
        .given(vec![placed()])
        .when(pay("p-1", 1000))
        .then_expect_error_message("the order's stock is not reserved yet; try again shortly");
}

#[test]
fn a_payment_of_the_total_pays_and_the_same_payment_again_changes_nothing() {
    orders()
        .given(vec![placed(), reserved()])
        .when(pay("p-1", 1000))
        .then_expect_events(vec![paid("p-1")]);
    orders()
        .given(vec![placed(), reserved(), paid("p-1")])
        .when(pay("p-1", 1000))
        .then_expect_events(vec![]);
}

#[test]
fn a_payment_of_another_amount_is_flagged_not_taken() {
    orders()
        .given(vec![placed(), reserved()])
        .when(pay("p-1", 999))
        .then_expect_events(vec![OrderEvent::PaymentAmountMismatch {
            order_id: "o-1".into(),
            payment_id: "p-1".into(),
            expected: eur(1000),
            received: eur(999),
        }]);
}

#[test]
fn a_second_payment_of_a_paid_order_goes_back() {
    orders()
        .given(vec![placed(), reserved(), paid("p-1")])
        .when(pay("p-2", 1000))
        .then_expect_events(vec![OrderEvent::DuplicatePaymentRefunded {
            order_id: "o-1".into(),
            payment_id: "p-2".into(),
            amount: eur(1000),
        }]);
}

#[test]
fn a_failed_payment_of_a_reserved_order_is_recorded() {
    orders()
        .given(vec![placed(), reserved()])
        .when(OrderCommand::RecordPayment {
            payment_id: "p-1".into(),
            succeeded: false,
            amount: eur(1000),
        })
        .then_expect_events(vec![OrderEvent::OrderPaymentFailed {
            order_id: "o-1".into(),
            payment_id: "p-1".into(),
        }]);
}

#[test]
fn only_a_paid_order_is_confirmed_with_a_shipment_per_warehouse() {
    let shipment = ("ams".to_string(), vec![line("MUG", "ams", 2)]);
    orders()
        .given(vec![placed(), reserved(), paid("p-1")])
        .when(OrderCommand::Confirm {
            shipments: vec![shipment.clone()],
        })
        .then_expect_events(vec![
            OrderEvent::OrderConfirmed {
                order_id: "o-1".into(),
            },
            OrderEvent::FulfillmentRequested {
                order_id: "o-1".into(),
                warehouse_id: "ams".into(),
                lines: shipment.1.clone(),
            },
        ]);
    orders()
        .given(vec![placed(), reserved()])
        .when(OrderCommand::Confirm {
            shipments: vec![shipment],
        })
        .then_expect_error_message("the order is reserved");
}

#[test]
fn only_a_reserved_order_times_out() {
    orders()
        .given(vec![placed(), reserved()])
        .when(OrderCommand::TimeOut)
        .then_expect_events(vec![OrderEvent::OrderPaymentTimedOut {
            order_id: "o-1".into(),
        }]);
    orders()
        .given(vec![placed(), reserved(), paid("p-1")])
        .when(OrderCommand::TimeOut)
        .then_expect_events(vec![]);
}

#[test]
fn a_refund_needs_a_payment() {
    orders()
        .given(vec![placed(), reserved(), paid("p-1")])
        .when(OrderCommand::RequestRefund {
            reason: "late".into(),
        })
        .then_expect_events(vec![OrderEvent::RefundRequested {
            order_id: "o-1".into(),
            payment_id: "p-1".into(),
            amount: eur(1000),
            reason: "late".into(),
        }]);
    orders()
        .given(vec![placed(), reserved()])
        .when(OrderCommand::RequestRefund {
            reason: "late".into(),
        })
        .then_expect_error_message("nothing was paid to refund");
}

/// A delivery quoted at 450 cents from warehouse ams.
fn quoted_delivery(currency: &str) -> event_schemas::QuotedDelivery {
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    event_schemas::QuotedDelivery {
        fee: Money {
            amount: 450,
            currency: currency.into(),
        },
        base: 400,
        multipliers: vec![event_schemas::order::ChargedMultiplier {
            kind: "weather".into(),
            value: 1.3,
        }],
        bindings: vec![],
        pickup_warehouse: "ams".into(),
        dropoff_cell: "881969524bfffff".into(),
        order_value: 1_000,
        quoted_at: at,
        expires_at: at + chrono::Duration::minutes(10),
        priced_at_position: 7,
    }
}

fn place_quoted(currency: &str) -> OrderCommand {
    place_delivering(quoted_delivery(currency))
}

/// [`place`] with a quoted delivery.
fn place_delivering(quoted: event_schemas::QuotedDelivery) -> OrderCommand {
    match place() {
        OrderCommand::Place {
            order_id,
            customer,
            lines,
            ship_to,
            priority,
            ..
        } => OrderCommand::Place {
            order_id,
            customer,
            lines,
            ship_to,
            priority,
            delivery: Some(quoted),
        },
        _ => unreachable!("place() is a Place"),
    }
}

#[test]
fn a_quoted_delivery_is_recorded_with_the_placing() {
    orders()
        .given_no_previous_events()
        .when(place_quoted("EUR"))
        .then_expect_events(vec![
            placed(),
            OrderEvent::DeliveryQuoted {
                order_id: "o-1".into(),
                delivery: quoted_delivery("EUR"),
            },
        ]);
}

#[test]
fn goods_worth_less_than_the_quote_was_priced_for_are_refused() {
    // Free delivery depends on the value quoted: a quote for 100,000 does not serve
    // goods worth 1,000.
    let command = place_delivering(event_schemas::QuotedDelivery {
        order_value: 100_000,
        ..quoted_delivery("EUR")
    });
    let error = crate::support::refusal(orders().given_no_previous_events().when(command));
    assert_eq!(error.code, domain::Refusal::QuoteOrderValue);
}

#[test]
fn a_quote_in_another_currency_than_the_goods_is_refused() {
    let error = crate::support::refusal(
        orders()
            .given_no_previous_events()
            .when(place_quoted("USD")),
    );
    assert_eq!(error.code, domain::Refusal::QuoteOtherCurrency);
}

#[test]
fn the_buyer_pays_the_goods_and_the_quoted_fee() {
    // Given a reserved order of 1000 with a delivery quoted at 450
    let quoted = OrderEvent::DeliveryQuoted {
        order_id: "o-1".into(),
        delivery: quoted_delivery("EUR"),
    };
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    let reserved = OrderEvent::OrderStockReserved {
        order_id: "o-1".into(),
        lines: vec![line("MUG", "ams", 2)],
        expires_at: at,
        payment_due: at,
        explanation: String::new(),
    };
    // When the goods alone are paid, then the amount does not match 1450
    orders()
        .given(vec![placed(), quoted.clone(), reserved.clone()])
        .when(pay("p-1", 1000))
        .then_expect_events(vec![OrderEvent::PaymentAmountMismatch {
            order_id: "o-1".into(),
            payment_id: "p-1".into(),
            expected: eur(1450),
            received: eur(1000),
        }]);
    // And 1450 pays the order
    orders()
        .given(vec![placed(), quoted, reserved])
        .when(pay("p-1", 1450))
        .then_expect_events(vec![OrderEvent::OrderPaid {
            order_id: "o-1".into(),
            payment_id: "p-1".into(),
            amount: eur(1450),
        }]);
}

/// Whether a long poll may stop waiting: a confirmed stay's order is still
/// refunded when the stay is cancelled; a confirmed order of goods is settled.
#[test]
fn a_confirmed_stay_s_order_is_not_settled_but_one_of_goods_is() {
    use cqrs_es::Aggregate;
    let mut stay = Order::default();
    for event in [
        OrderEvent::StayOrderPlaced {
            order_id: "stay:1.l.s".into(),
            customer: "guest".into(),
            listing_id: "l".into(),
            stay_id: "s".into(),
            total: eur(20_000),
            payment_due: chrono::DateTime::UNIX_EPOCH,
        },
        OrderEvent::OrderConfirmed {
            order_id: "stay:1.l.s".into(),
        },
    ] {
        stay.apply(event);
    }
    assert_eq!(stay.status, domain::OrderStatus::Confirmed);
    assert!(!stay.is_settled());

    let mut goods = Order::default();
    for event in [
        placed(),
        OrderEvent::OrderConfirmed {
            order_id: "o-1".into(),
        },
    ] {
        goods.apply(event);
    }
    assert_eq!(goods.status, domain::OrderStatus::Confirmed);
    assert!(goods.is_settled());
}

fn fulfilment_requested() -> Vec<OrderEvent> {
    vec![
        placed(),
        reserved(),
        paid("p-1"),
        OrderEvent::OrderConfirmed {
            order_id: "o-1".into(),
        },
        OrderEvent::FulfillmentRequested {
            order_id: "o-1".into(),
            warehouse_id: "ams".into(),
            lines: vec![line("MUG", "ams", 2)],
        },
    ]
}

fn dispatch(warehouse_id: &str, tracking_number: &str) -> OrderCommand {
    OrderCommand::DispatchShipment {
        warehouse_id: warehouse_id.into(),
        carrier: "PostNL".into(),
        tracking_number: tracking_number.into(),
    }
}

fn dispatched(tracking_number: &str) -> OrderEvent {
    OrderEvent::ShipmentDispatched {
        order_id: "o-1".into(),
        warehouse_id: "ams".into(),
        carrier: "PostNL".into(),
        tracking_number: tracking_number.into(),
    }
}

#[test]
fn a_requested_shipment_is_dispatched_once() {
    orders()
        .given(fulfilment_requested())
        .when(dispatch("ams", "T-1"))
        .then_expect_events(vec![dispatched("T-1")]);
    // The same report again (a redelivered event) changes nothing.
    let mut history = fulfilment_requested();
    history.push(dispatched("T-1"));
    orders()
        .given(history.clone())
        .when(dispatch("ams", "T-1"))
        .then_expect_events(vec![]);
    // Another tracking number for a shipment that left is a conflict.
    orders()
        .given(history)
        .when(dispatch("ams", "T-2"))
        .then_expect_error_message("the shipment from 'ams' already left with tracking number T-1");
}

#[test]
fn only_a_shipment_that_was_requested_can_leave() {
    orders()
        .given(fulfilment_requested())
        .when(dispatch("rtm", "T-1"))
        .then_expect_error_message("no shipment from warehouse 'rtm' was requested for this order");
    // An order not yet paid and confirmed has no shipments to send.
    orders()
        .given(vec![placed(), reserved()])
        .when(dispatch("ams", "T-1"))
        .then_expect_error_message("no shipment from warehouse 'ams' was requested for this order");
}

#[test]
fn a_dispatch_report_with_a_blank_tracking_number_is_refused() {
    let result = orders()
        .given(fulfilment_requested())
        .when(dispatch("ams", " "))
        .inspect_result();
    assert!(result.is_err());
}
