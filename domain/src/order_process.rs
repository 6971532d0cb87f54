//! The order process's decisions, pure: given an order event, the order as it stands
//! and the time, which step to take and which order commands to send. `commands`
//! runs these steps (reading the order, holding and selling stock, writing the
//! commands); nothing here does I/O.
//!
//! The process, per order event:
//! * `OrderPlaced` → hold the lines for [`ORDER_HOLD`] and record what was held
//!   ([`record_reservation`]), or reject the order ([`reject`]).
//! * `OrderPaid` → sell the held units and ask for shipments, hold again a late
//!   payment's lines ([`lines_to_hold_again`]), or refund ([`settlement`]).
//! * `OrderPaymentFailed` → let the stock go and tell the customer
//!   ([`PAYMENT_FAILED_NOTICE`]).
//! * payment due and not paid → let the stock go, time the order out and tell the
//!   customer ([`time_out`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use event_schemas::{OrderEvent, ReservationLine};

use crate::error::{DomainError, ErrorKind};
use crate::order::{Order, OrderCommand, OrderStatus};
use crate::reservation::{Reservation, ReservationStatus};
use crate::Refusal;

/// How long an order's stock is held for payment.
pub const ORDER_HOLD: Duration = Duration::minutes(15);
/// How long a buyer has to pay: shorter than the hold, so a payment that comes at the
/// last moment still finds the stock held.
pub const PAYMENT_WINDOW: Duration = Duration::minutes(10);

/// What the customer is told when the payment failed.
pub const PAYMENT_FAILED_NOTICE: &str =
    "Your payment failed; the items are no longer held for you.";
/// What the customer is told when no payment came in time.
pub const TIMED_OUT_NOTICE: &str = "No payment came in time; the items are no longer held for you.";
/// What the customer is told when a payment came after the stock was gone.
pub const REFUND_NOTICE: &str = "Your payment came after the items were released and they are no longer available; it will be refunded.";
/// Why such a payment is refunded.
pub const REFUND_REASON: &str = "the stock could no longer be held when the payment came";

/// What the process does about one order event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStep {
    /// Placed: hold its stock, or reject it.
    Reserve,
    /// Paid: sell what is held, or refund.
    Settle,
    /// The payment failed: let the stock go.
    ReleaseUnpaid,
    /// Nothing beyond keeping the order on the payment clock.
    Nothing,
}

/// The step the process takes for `event`.
pub fn step_for(event: &OrderEvent) -> OrderStep {
    match event {
        OrderEvent::OrderPlaced { .. } => OrderStep::Reserve,
        OrderEvent::OrderPaid { .. } => OrderStep::Settle,
        OrderEvent::OrderPaymentFailed { .. } => OrderStep::ReleaseUnpaid,
        _ => OrderStep::Nothing,
    }
}

/// Whether the order, read when the process gets to it, still wants the step: an
/// order cancelled before its stock was held gets none, and only a paid order is
/// settled. Releasing the stock of a failed payment is always safe.
pub fn still_wanted(step: OrderStep, order: &Order) -> bool {
    match step {
        OrderStep::Reserve => order.status == OrderStatus::Placed,
        OrderStep::Settle => order.status == OrderStatus::Paid,
        OrderStep::ReleaseUnpaid => true,
        OrderStep::Nothing => false,
    }
}

/// Until when a hold taken at `now` for an order lasts.
pub fn hold_until(now: DateTime<Utc>) -> DateTime<Utc> {
    now + ORDER_HOLD
}

/// The order command that records how holding the order's stock went: reserved
/// (the payment is due [`PAYMENT_WINDOW`] from `now`) or rejected for the shortages.
pub fn record_reservation(
    reservation: &Reservation,
    explanation: String,
    now: DateTime<Utc>,
) -> OrderCommand {
    match reservation.status {
        ReservationStatus::Held | ReservationStatus::Confirmed => OrderCommand::RecordReserved {
            lines: reservation.lines.clone(),
            expires_at: reservation.expires_at.unwrap_or_else(|| hold_until(now)),
            payment_due: now + PAYMENT_WINDOW,
            explanation,
        },
        _ => OrderCommand::Reject {
            reason: "insufficient_stock".into(),
            detail: reservation
                .shortages
                .iter()
                .map(|s| {
                    format!(
                        "{} in {}: {} wanted, {} available",
                        s.sku, s.warehouse_id, s.wanted, s.available
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        },
    }
}

/// The order command rejecting an order that could not be planned.
pub fn reject(refusal: &DomainError) -> OrderCommand {
    OrderCommand::Reject {
        reason: refusal.code.code().to_string(),
        detail: refusal.detail.clone(),
    }
}

/// The lines of a paid order whose holds ran out that must be held again: those no
/// earlier attempt already sold. Refused when the order was never reserved (the log
/// is not as the process wrote it, and nothing is sold on a guess).
pub fn lines_to_hold_again(
    order: &Order,
    sold_before: &[ReservationLine],
) -> Result<Vec<ReservationLine>, DomainError> {
    if order.reserved.is_empty() {
        return Err(DomainError::new(
            ErrorKind::Conflict,
            Refusal::NothingReserved,
            format!("order '{}' was paid but never reserved", order.order_id),
        ));
    }
    Ok(order
        .reserved
        .iter()
        .filter(|line| !sold_before.contains(line))
        .cloned()
        .collect())
}

/// A late payment whose remaining lines could not be held again: refunded when
/// nothing was sold, but when some lines were sold already a person decides (the
/// units sold stay sold).
pub fn hold_again_failed(sold_before: &[ReservationLine]) -> Result<(), DomainError> {
    if sold_before.is_empty() {
        return Ok(());
    }
    Err(DomainError::new(
        ErrorKind::Conflict,
        Refusal::PartlySold,
        "some lines were sold before their holds ran out and the rest can no longer be held",
    ))
}

/// The order commands once a paid order's units were sold (`Some`: confirm, one
/// shipment per warehouse) or could not be (`None`: refund and tell the customer).
pub fn settlement(sold: Option<Vec<ReservationLine>>) -> Vec<OrderCommand> {
    match sold {
        Some(lines) => {
            let mut shipments: BTreeMap<String, Vec<ReservationLine>> = BTreeMap::new();
            for line in lines {
                shipments
                    .entry(line.warehouse_id.clone())
                    .or_default()
                    .push(line);
            }
            vec![OrderCommand::Confirm {
                shipments: shipments.into_iter().collect(),
            }]
        }
        None => vec![
            OrderCommand::RequestRefund {
                reason: REFUND_REASON.into(),
            },
            notify(REFUND_NOTICE),
        ],
    }
}

/// The order commands after a failed payment's stock was let go.
pub fn payment_failed() -> Vec<OrderCommand> {
    vec![notify(PAYMENT_FAILED_NOTICE)]
}

/// Whether the order's payment is overdue at `now`: its stock is let go and then
/// [`time_out`]'s commands are sent.
pub fn payment_overdue(order: &Order, now: DateTime<Utc>) -> bool {
    order.status == OrderStatus::Reserved && order.payment_due.is_some_and(|due| due <= now)
}

/// The order commands for an order whose payment is overdue.
pub fn time_out() -> Vec<OrderCommand> {
    vec![OrderCommand::TimeOut, notify(TIMED_OUT_NOTICE)]
}

fn notify(message: &str) -> OrderCommand {
    OrderCommand::Notify {
        message: message.into(),
    }
}
