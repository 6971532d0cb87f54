//! Fixtures shared by the tests: a fixed time, services, commands and events of one
//! stock (SKU `SKU` in warehouse `WH`).

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use cqrs_es::test::{AggregateResultValidator, TestFramework};
use domain::{DomainError, ErrorKind, FieldError, Services, Stock, StockAction, StockCommand};
use event_schemas::{Destination, Money, OrderEvent, PricedLine, ReservationLine, StockEvent};

pub const SKU: &str = "sku-1";
pub const WH: &str = "wh-1";

/// The instant every rule test happens at, unless it says otherwise.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
}

/// `minutes` after (or before, when negative) [`t0`].
pub fn at(minutes: i64) -> DateTime<Utc> {
    t0() + TimeDelta::minutes(minutes)
}

/// The warehouses known to the registry: only [`WH`].
pub fn registry() -> HashSet<String> {
    HashSet::from([WH.to_string()])
}

pub fn services_at(now: DateTime<Utc>) -> Services {
    Services::at(now, Arc::new(registry()))
}

/// The cqrs-es test framework for a stock, with the clock standing at `now`.
pub fn stock_at(now: DateTime<Utc>) -> TestFramework<Stock> {
    TestFramework::with(services_at(now))
}

/// The cqrs-es test framework for a stock, with the clock standing at [`t0`].
pub fn stock() -> TestFramework<Stock> {
    stock_at(t0())
}

/// A command on the stock of [`SKU`] in [`WH`].
pub fn cmd(action: StockAction) -> StockCommand {
    StockCommand {
        sku: SKU.into(),
        warehouse_id: WH.into(),
        action,
    }
}

// Commands.

pub fn receive(quantity: u64) -> StockCommand {
    cmd(StockAction::Receive { quantity })
}

pub fn sell(quantity: u64) -> StockCommand {
    cmd(StockAction::Sell {
        quantity,
        hold_id: None,
        order_id: None,
    })
}

pub fn sell_for_order(quantity: u64, order_id: &str) -> StockCommand {
    cmd(StockAction::Sell {
        quantity,
        hold_id: None,
        order_id: Some(order_id.into()),
    })
}

pub fn sell_from_hold(quantity: u64, hold_id: &str) -> StockCommand {
    cmd(StockAction::Sell {
        quantity,
        hold_id: Some(hold_id.into()),
        order_id: None,
    })
}

pub fn adjust(new_quantity: u64, reason: &str) -> StockCommand {
    cmd(StockAction::Adjust {
        new_quantity,
        reason: reason.into(),
    })
}

pub fn hold(hold_id: &str, quantity: u64, expires_at: Option<DateTime<Utc>>) -> StockCommand {
    cmd(StockAction::Hold {
        hold_id: hold_id.into(),
        quantity,
        expires_at,
    })
}

pub fn release(hold_id: &str, reason: &str) -> StockCommand {
    cmd(StockAction::ReleaseHold {
        hold_id: hold_id.into(),
        reason: reason.into(),
    })
}

pub fn expire_holds() -> StockCommand {
    cmd(StockAction::ExpireHolds)
}

// Events.

pub fn received(quantity: u64) -> StockEvent {
    StockEvent::StockReceived {
        sku: SKU.into(),
        warehouse_id: WH.into(),
        quantity,
    }
}

pub fn sold(quantity: u64, hold_id: Option<&str>, order_id: Option<&str>) -> StockEvent {
    StockEvent::StockSold {
        sku: SKU.into(),
        warehouse_id: WH.into(),
        quantity,
        hold_id: hold_id.map(Into::into),
        order_id: order_id.map(Into::into),
    }
}

pub fn adjusted(previous_quantity: u64, new_quantity: u64, reason: &str) -> StockEvent {
    StockEvent::StockAdjusted {
        sku: SKU.into(),
        warehouse_id: WH.into(),
        previous_quantity,
        new_quantity,
        reason: reason.into(),
    }
}

pub fn shortfall(on_hand: u64, held: u64) -> StockEvent {
    StockEvent::StockShortfallDetected {
        sku: SKU.into(),
        warehouse_id: WH.into(),
        on_hand,
        held,
        shortfall: held - on_hand,
    }
}

pub fn held(hold_id: &str, quantity: u64, expires_at: Option<DateTime<Utc>>) -> StockEvent {
    StockEvent::StockHeld {
        sku: SKU.into(),
        warehouse_id: WH.into(),
        hold_id: hold_id.into(),
        quantity,
        expires_at,
    }
}

pub fn released(hold_id: &str, quantity: u64, reason: &str) -> StockEvent {
    StockEvent::StockHoldReleased {
        sku: SKU.into(),
        warehouse_id: WH.into(),
        hold_id: hold_id.into(),
        quantity,
        reason: reason.into(),
    }
}

/// The state the given events fold to.
pub fn fold(events: &[StockEvent]) -> Stock {
    let mut stock = Stock::default();
    for event in events {
        stock.apply_event(event);
    }
    stock
}

// Refusals.

pub fn field(field: &str, message: &str) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

pub const ID_LENGTH: &str = "must be 1 to 64 characters";
pub const ID_CHARS: &str = "may hold only letters, digits, '-', '_' and '.'";
pub const QUANTITY: &str = "must be a whole number from 1 to 1000000";
pub const TEXT: &str = "must be 1 to 200 characters";

/// An invalid command with exactly these field errors.
pub fn invalid(errors: &[(&str, &str)]) -> DomainError {
    DomainError::invalid(errors.iter().map(|(f, m)| field(f, m)).collect())
}

/// Unwrap a refusal, failing the test if the command was accepted.
pub fn refusal<A>(validator: AggregateResultValidator<A>) -> DomainError
where
    A: cqrs_es::Aggregate<Error = DomainError>,
{
    match validator.inspect_result() {
        Ok(events) => panic!("expected a refusal, got events {events:?}"),
        Err(err) => err,
    }
}

/// Assert a refusal's kind, code and facts (the human sentence is left free).
#[track_caller]
pub fn assert_refusal(
    err: &DomainError,
    kind: ErrorKind,
    code: &str,
    facts: &[(&str, serde_json::Value)],
) {
    assert_eq!(err.kind, kind, "kind of {err:?}");
    assert_eq!(err.code, code, "code of {err:?}");
    for (name, value) in facts {
        assert_eq!(
            err.facts.get(*name),
            Some(value),
            "fact '{name}' of {err:?}"
        );
    }
}

// Orders: one of two mugs to the Netherlands, and its lines.

pub fn eur(amount: i64) -> Money {
    Money {
        amount,
        currency: "EUR".into(),
    }
}

pub fn placed() -> OrderEvent {
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

pub fn line(sku: &str, warehouse: &str, quantity: u64) -> ReservationLine {
    ReservationLine {
        sku: sku.into(),
        warehouse_id: warehouse.into(),
        quantity,
    }
}
