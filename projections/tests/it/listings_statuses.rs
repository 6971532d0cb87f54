//! The order list names statuses as the order itself does: for every order event,
//! the listing's status after it equals the domain order's.

use chrono::Utc;
use domain::Order;
use event_schemas::{Destination, Money, OrderEvent, PricedLine, ReservationLine};
use projections::listings::orders::status_after;

fn every_order_event() -> Vec<OrderEvent> {
    let id = || "o-1".to_string();
    let eur = |amount| Money {
        amount,
        currency: "EUR".into(),
    };
    let line = PricedLine {
        sku: "MUG-1".into(),
        quantity: 1,
        unit_price: eur(500),
    };
    let held = vec![ReservationLine {
        sku: "MUG-1".into(),
        warehouse_id: "ams".into(),
        quantity: 1,
    }];
    vec![
        OrderEvent::OrderPlaced {
            order_id: id(),
            customer: Some("ada".into()),
            lines: vec![line.clone()],
            total: eur(500),
            ship_to: Destination {
                region: "nl".into(),
                lat: None,
                lon: None,
            },
            priority: false,
        },
        OrderEvent::FlashSaleOrderPlaced {
            order_id: id(),
            customer: "ada".into(),
            sale_id: "drop".into(),
            line,
            warehouse_id: "ams".into(),
            total: eur(500),
            payment_due: Utc::now(),
        },
        OrderEvent::OrderStockReserved {
            order_id: id(),
            lines: held.clone(),
            expires_at: Utc::now(),
            explanation: "held".into(),
            payment_due: Utc::now(),
        },
        OrderEvent::OrderRejected {
            order_id: id(),
            reason: "short".into(),
            detail: "short".into(),
        },
        OrderEvent::OrderCancelled {
            order_id: id(),
            reason: "asked".into(),
        },
        OrderEvent::OrderPaid {
            order_id: id(),
            payment_id: "p-1".into(),
            amount: eur(500),
        },
        OrderEvent::OrderConfirmed { order_id: id() },
        OrderEvent::FulfillmentRequested {
            order_id: id(),
            warehouse_id: "ams".into(),
            lines: held,
        },
        OrderEvent::OrderPaymentFailed {
            order_id: id(),
            payment_id: "p-2".into(),
        },
        OrderEvent::OrderPaymentTimedOut { order_id: id() },
        OrderEvent::CustomerNotified {
            order_id: id(),
            message: "hello".into(),
        },
        OrderEvent::PaymentAmountMismatch {
            order_id: id(),
            payment_id: "p-3".into(),
            expected: eur(500),
            received: eur(1),
        },
        OrderEvent::DuplicatePaymentRefunded {
            order_id: id(),
            payment_id: "p-4".into(),
            amount: eur(500),
        },
        OrderEvent::RefundRequested {
            order_id: id(),
            payment_id: "p-5".into(),
            amount: eur(500),
            reason: "late".into(),
        },
    ]
}

#[test]
fn the_listed_status_after_each_event_is_the_order_s_own() {
    for event in every_order_event() {
        // Given an order in some status other than the one the event leads to
        let mut order = Order::default();
        order.apply_event(&every_order_event()[0]);
        let before = order.status.name();
        // When the event is applied
        order.apply_event(&event);
        // Then the listing names the status the order has now (or keeps its own when
        // the event changes none)
        let listed = status_after(&event).unwrap_or(before);
        assert_eq!(listed, order.status.name(), "{event:?}");
    }
}
