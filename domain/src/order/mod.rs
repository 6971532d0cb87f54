//! The Order aggregate: placed with lines priced from the catalog, then stock is
//! reserved for it (by the order process, from the log) or it is rejected.

use chrono::{DateTime, Utc};
use event_schemas::order::ORDER_AGGREGATE;
use event_schemas::{Destination, Money, OrderEvent, PricedLine, QuotedDelivery, ReservationLine};
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorKind};
use crate::validate::Validator;

mod apply;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    #[default]
    New,
    /// Placed; stock is being reserved.
    Placed,
    Reserved,
    Rejected,
    Cancelled,
    Paid,
    Confirmed,
    PaymentFailed,
    TimedOut,
    Refunded,
}

impl OrderStatus {
    /// No later event changes this status.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OrderStatus::Rejected
                | OrderStatus::Cancelled
                | OrderStatus::Confirmed
                | OrderStatus::Refunded
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            OrderStatus::New => "new",
            OrderStatus::Placed => "placed",
            OrderStatus::Reserved => "reserved",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Paid => "paid",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::PaymentFailed => "payment_failed",
            OrderStatus::TimedOut => "timed_out",
            OrderStatus::Refunded => "refunded",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OrderCommand {
    Place {
        order_id: String,
        customer: Option<String>,
        lines: Vec<PricedLine>,
        ship_to: Destination,
        priority: bool,
        /// A delivery quote the order uses: its fee is added to what the buyer pays,
        /// and the order ships from its pickup warehouse.
        delivery: Option<QuotedDelivery>,
    },
    /// Units a flash sale holds for the buyer: the order is placed reserved.
    PlaceForFlashSale {
        order_id: String,
        customer: String,
        sale_id: String,
        line: PricedLine,
        warehouse_id: String,
        payment_due: DateTime<Utc>,
    },
    /// A stay the listing holds for the guest: the order is placed reserved, for
    /// the stay's price, payable until the hold ends.
    PlaceForStay {
        order_id: String,
        customer: String,
        listing_id: String,
        stay_id: String,
        total: Money,
        payment_due: DateTime<Utc>,
    },
    RecordReserved {
        lines: Vec<ReservationLine>,
        expires_at: DateTime<Utc>,
        payment_due: DateTime<Utc>,
        explanation: String,
    },
    /// What the payment provider says (the webhook).
    RecordPayment {
        payment_id: String,
        succeeded: bool,
        amount: Money,
    },
    /// The held units were sold: confirm and ask for these shipments.
    Confirm {
        shipments: Vec<(String, Vec<ReservationLine>)>,
    },
    TimeOut,
    Notify {
        message: String,
    },
    RequestRefund {
        reason: String,
    },
    Reject {
        reason: String,
        detail: String,
    },
    /// A cancelled stay: give back `amount` of what was paid (its policy's share).
    RefundStay {
        amount: u64,
        reason: String,
    },
    Cancel {
        reason: String,
    },
    /// The fulfilment service reports that the shipment from `warehouse_id` left.
    DispatchShipment {
        warehouse_id: String,
        carrier: String,
        tracking_number: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: String,
    pub status: OrderStatus,
    pub customer: Option<String>,
    pub lines: Vec<PricedLine>,
    /// The goods' total (what the buyer pays adds a quoted delivery: `total_or_zero`).
    pub total: Option<Money>,
    pub ship_to: Option<Destination>,
    pub priority: bool,
    pub reserved: Vec<ReservationLine>,
    pub expires_at: Option<DateTime<Utc>>,
    pub payment_due: Option<DateTime<Utc>>,
    pub explanation: Option<String>,
    pub rejection: Option<String>,
    /// Payment ids already heard of, so a repeated webhook changes nothing.
    pub payments: Vec<String>,
    /// The payment that succeeded.
    pub paid: Option<(String, Money)>,
    /// Whether a payment's amount did not match (flagged for a human).
    pub amount_mismatch: bool,
    /// The flash sale whose units the order buys, if it is a flash-sale order.
    #[serde(default)]
    pub flash_sale: Option<String>,
    /// Why the payment is being refunded, once it is.
    #[serde(default)]
    pub refund_reason: Option<String>,
    /// The quoted delivery, when the order used a quote.
    #[serde(default)]
    pub delivery: Option<QuotedDelivery>,
    /// The stay the order pays for, if it is a stay's order.
    #[serde(default)]
    pub stay: Option<OrderedStay>,
    /// Shipments asked of warehouses, by warehouse, with the tracking number once
    /// the shipment left.
    #[serde(default)]
    pub shipments: Vec<(String, Option<String>)>,
}

/// What a stay's order pays for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderedStay {
    pub listing_id: String,
    pub stay_id: String,
}

/// The total of priced lines, if they share one currency and do not overflow.
pub fn total(lines: &[PricedLine]) -> Result<Money, DomainError> {
    let currency = lines
        .first()
        .map(|l| l.unit_price.currency.clone())
        .unwrap_or_default();
    let mut amount: i64 = 0;
    for line in lines {
        if line.unit_price.currency != currency {
            return Err(DomainError::new(
                ErrorKind::Invalid,
                crate::Refusal::MixedCurrencies,
                format!(
                    "the order mixes {currency} and {}",
                    line.unit_price.currency
                ),
            ));
        }
        amount = (line.quantity as i64)
            .checked_mul(line.unit_price.amount)
            .and_then(|line_total| amount.checked_add(line_total))
            .ok_or_else(|| {
                DomainError::new(
                    ErrorKind::Invalid,
                    crate::Refusal::TotalTooLarge,
                    "the order total is too large",
                )
            })?;
    }
    Ok(Money { amount, currency })
}

/// A quoted delivery goes with goods in its currency, and the two add up.
fn with_delivery(goods: &Money, delivery: &QuotedDelivery) -> Result<(), DomainError> {
    if delivery.fee.currency != goods.currency {
        return Err(DomainError::new(
            ErrorKind::Invalid,
            crate::Refusal::QuoteOtherCurrency,
            format!(
                "the delivery was quoted in {}, the goods are priced in {}",
                delivery.fee.currency, goods.currency
            ),
        ));
    }
    // Free delivery (and nothing else) depends on the value quoted: goods worth less
    // than that would get a fee priced for other goods.
    if goods.amount < i64::try_from(delivery.order_value).unwrap_or(i64::MAX) {
        return Err(DomainError::new(
            ErrorKind::Invalid,
            crate::Refusal::QuoteOrderValue,
            format!(
                "the delivery was quoted for goods worth {}, these are worth {}",
                delivery.order_value, goods.amount
            ),
        ));
    }
    if goods.amount.checked_add(delivery.fee.amount).is_none() {
        return Err(DomainError::new(
            ErrorKind::Invalid,
            crate::Refusal::TotalTooLarge,
            "the order total is too large",
        ));
    }
    Ok(())
}

impl Order {
    /// No later event changes its status: a final status, except that a confirmed
    /// stay's order is still refunded when the stay is cancelled.
    pub fn is_settled(&self) -> bool {
        self.status.is_final() && !(self.stay.is_some() && self.status == OrderStatus::Confirmed)
    }

    /// The goods' total; nothing (zero, no currency) before it is placed.
    pub fn goods_or_zero(&self) -> Money {
        self.total.clone().unwrap_or(Money {
            amount: 0,
            currency: String::new(),
        })
    }

    /// What the buyer pays: the goods and a quoted delivery's fee (checked not to
    /// overflow when placed); nothing before it is placed.
    pub fn total_or_zero(&self) -> Money {
        let mut total = self.goods_or_zero();
        if let Some(delivery) = &self.delivery {
            total.amount = total.amount.saturating_add(delivery.fee.amount);
        }
        total
    }

    pub fn decide(&self, command: &OrderCommand) -> Result<Vec<OrderEvent>, DomainError> {
        let order_id = self.order_id.clone();
        let conflict = |detail: String| {
            Err(DomainError::new(
                ErrorKind::Conflict,
                crate::Refusal::OrderState,
                detail,
            ))
        };
        match command {
            OrderCommand::Place {
                order_id,
                customer,
                lines,
                ship_to,
                priority,
                delivery,
            } => {
                let mut v = Validator::new();
                v.id("order_id", order_id);
                v.lines(lines.iter().map(|l| (l.sku.as_str(), None, l.quantity)));
                v.id("ship_to.region", &ship_to.region);
                // A destination point is optional; when given, it is a real one.
                v.geo(
                    "ship_to.",
                    ship_to.lat.unwrap_or(0.0),
                    ship_to.lon.unwrap_or(0.0),
                );
                v.finish()?;
                let total = total(lines)?;
                if let Some(delivery) = delivery {
                    with_delivery(&total, delivery)?;
                }
                if self.status != OrderStatus::New {
                    return if self.lines == *lines
                        && self.customer == *customer
                        && self.delivery == *delivery
                    {
                        Ok(vec![])
                    } else {
                        conflict(format!("order '{order_id}' exists with other lines"))
                    };
                }
                let placed = OrderEvent::OrderPlaced {
                    order_id: order_id.clone(),
                    customer: customer.clone(),
                    lines: lines.clone(),
                    total,
                    ship_to: ship_to.clone(),
                    priority: *priority,
                };
                let quoted = delivery.clone().map(|delivery| OrderEvent::DeliveryQuoted {
                    order_id: order_id.clone(),
                    delivery,
                });
                Ok(std::iter::once(placed).chain(quoted).collect())
            }
            OrderCommand::PlaceForFlashSale {
                order_id,
                customer,
                sale_id,
                line,
                warehouse_id,
                payment_due,
            } => {
                if self.status != OrderStatus::New {
                    // The purchase was retried: the order is there already.
                    return if self.flash_sale.as_ref() == Some(sale_id) {
                        Ok(vec![])
                    } else {
                        conflict(format!("order '{order_id}' exists"))
                    };
                }
                let total = total(std::slice::from_ref(line))?;
                Ok(vec![OrderEvent::FlashSaleOrderPlaced {
                    order_id: order_id.clone(),
                    customer: customer.clone(),
                    sale_id: sale_id.clone(),
                    line: line.clone(),
                    warehouse_id: warehouse_id.clone(),
                    total,
                    payment_due: *payment_due,
                }])
            }
            OrderCommand::PlaceForStay {
                order_id,
                customer,
                listing_id,
                stay_id,
                total,
                payment_due,
            } => {
                let stay = OrderedStay {
                    listing_id: listing_id.clone(),
                    stay_id: stay_id.clone(),
                };
                if self.status != OrderStatus::New {
                    // The booking was retried: the order is there already.
                    return if self.stay.as_ref() == Some(&stay) {
                        Ok(vec![])
                    } else {
                        conflict(format!("order '{order_id}' exists"))
                    };
                }
                let mut v = Validator::new();
                v.reference("order_id", order_id);
                v.check(total.amount >= 0, "total", "must not be negative");
                v.finish()?;
                Ok(vec![OrderEvent::StayOrderPlaced {
                    order_id: order_id.clone(),
                    customer: customer.clone(),
                    listing_id: listing_id.clone(),
                    stay_id: stay_id.clone(),
                    total: total.clone(),
                    payment_due: *payment_due,
                }])
            }
            OrderCommand::RecordReserved {
                lines,
                expires_at,
                payment_due,
                explanation,
            } => match self.status {
                OrderStatus::Placed => {
                    self.check_reserved_lines(lines)?;
                    Ok(vec![OrderEvent::OrderStockReserved {
                        order_id,
                        lines: lines.clone(),
                        expires_at: *expires_at,
                        payment_due: *payment_due,
                        explanation: explanation.clone(),
                    }])
                }
                OrderStatus::Reserved => Ok(vec![]),
                other => conflict(format!("the order is {}", other.name())),
            },
            OrderCommand::Reject { reason, detail } => match self.status {
                OrderStatus::Placed => Ok(vec![OrderEvent::OrderRejected {
                    order_id,
                    reason: reason.clone(),
                    detail: detail.clone(),
                }]),
                OrderStatus::Rejected => Ok(vec![]),
                other => conflict(format!("the order is {}", other.name())),
            },
            OrderCommand::DispatchShipment {
                warehouse_id,
                carrier,
                tracking_number,
            } => {
                if self.status == OrderStatus::New {
                    return Err(self.unknown());
                }
                let mut check = crate::validate::Validator::default();
                check.id("warehouse_id", warehouse_id);
                check.text("carrier", carrier);
                check.text("tracking_number", tracking_number);
                check.finish()?;
                match self.shipments.iter().find(|(w, _)| w == warehouse_id) {
                    None => conflict(format!(
                        "no shipment from warehouse '{warehouse_id}' was requested for this order"
                    )),
                    Some((_, Some(tracked))) if tracked == tracking_number => Ok(vec![]),
                    Some((_, Some(tracked))) => conflict(format!(
                        "the shipment from '{warehouse_id}' already left with tracking number {tracked}"
                    )),
                    Some((_, None)) => Ok(vec![OrderEvent::ShipmentDispatched {
                        order_id,
                        warehouse_id: warehouse_id.clone(),
                        carrier: carrier.clone(),
                        tracking_number: tracking_number.clone(),
                    }]),
                }
            }
            OrderCommand::Cancel { reason } => match self.status {
                OrderStatus::Placed | OrderStatus::Reserved => {
                    Ok(vec![OrderEvent::OrderCancelled {
                        order_id,
                        reason: reason.clone(),
                    }])
                }
                OrderStatus::Cancelled => Ok(vec![]),
                OrderStatus::New => Err(self.unknown()),
                other => conflict(format!("the order is {}", other.name())),
            },
            OrderCommand::RecordPayment {
                payment_id,
                succeeded,
                amount,
            } => {
                if self.status == OrderStatus::New {
                    return Err(self.unknown());
                }
                if self.payments.contains(payment_id) {
                    return Ok(vec![]);
                }
                if self.status == OrderStatus::Placed {
                    return conflict(
                        "the order's stock is not reserved yet; try again shortly".into(),
                    );
                }
                let total = self.total_or_zero();
                match (succeeded, self.status) {
                    // Nothing will be sent for this order: the money goes back, whatever
                    // the amount.
                    (true, OrderStatus::Rejected | OrderStatus::Cancelled) => {
                        Ok(vec![OrderEvent::RefundRequested {
                            order_id,
                            payment_id: payment_id.clone(),
                            amount: amount.clone(),
                            reason: format!(
                                "the payment came for an order that was {}",
                                self.status.name()
                            ),
                        }])
                    }
                    (true, _) if *amount != total => Ok(vec![OrderEvent::PaymentAmountMismatch {
                        order_id,
                        payment_id: payment_id.clone(),
                        expected: total,
                        received: amount.clone(),
                    }]),
                    // Paid twice (a buyer who clicked twice, two providers): the
                    // second payment goes back; the order is unchanged.
                    (true, OrderStatus::Paid | OrderStatus::Confirmed | OrderStatus::Refunded) => {
                        Ok(vec![OrderEvent::DuplicatePaymentRefunded {
                            order_id,
                            payment_id: payment_id.clone(),
                            amount: amount.clone(),
                        }])
                    }
                    (true, _) => Ok(vec![OrderEvent::OrderPaid {
                        order_id,
                        payment_id: payment_id.clone(),
                        amount: amount.clone(),
                    }]),
                    (false, OrderStatus::Reserved) => Ok(vec![OrderEvent::OrderPaymentFailed {
                        order_id,
                        payment_id: payment_id.clone(),
                    }]),
                    (false, _) => Ok(vec![]),
                }
            }
            OrderCommand::Confirm { shipments } => match self.status {
                OrderStatus::Paid => {
                    let mut events = vec![OrderEvent::OrderConfirmed {
                        order_id: order_id.clone(),
                    }];
                    for (warehouse_id, lines) in shipments {
                        events.push(OrderEvent::FulfillmentRequested {
                            order_id: order_id.clone(),
                            warehouse_id: warehouse_id.clone(),
                            lines: lines.clone(),
                        });
                    }
                    Ok(events)
                }
                OrderStatus::Confirmed => Ok(vec![]),
                other => conflict(format!("the order is {}", other.name())),
            },
            OrderCommand::TimeOut => match self.status {
                OrderStatus::Reserved => Ok(vec![OrderEvent::OrderPaymentTimedOut { order_id }]),
                _ => Ok(vec![]),
            },
            OrderCommand::Notify { message } => Ok(vec![OrderEvent::CustomerNotified {
                order_id,
                message: message.clone(),
            }]),
            OrderCommand::RefundStay { amount, reason } => {
                match (&self.paid, self.status, &self.stay) {
                    (_, OrderStatus::Refunded, _) => Ok(vec![]),
                    (_, _, _) if *amount == 0 => Ok(vec![]),
                    (
                        Some((payment_id, paid)),
                        OrderStatus::Paid | OrderStatus::Confirmed,
                        Some(_),
                    ) => {
                        let amount = i64::try_from(*amount).unwrap_or(i64::MAX).min(paid.amount);
                        Ok(vec![OrderEvent::RefundRequested {
                            order_id,
                            payment_id: payment_id.clone(),
                            amount: Money {
                                amount,
                                currency: paid.currency.clone(),
                            },
                            reason: reason.clone(),
                        }])
                    }
                    _ => conflict("nothing was paid for a stay to refund".into()),
                }
            }
            OrderCommand::RequestRefund { reason } => match (&self.paid, self.status) {
                (Some((payment_id, amount)), OrderStatus::Paid) => {
                    Ok(vec![OrderEvent::RefundRequested {
                        order_id,
                        payment_id: payment_id.clone(),
                        amount: amount.clone(),
                        reason: reason.clone(),
                    }])
                }
                (_, OrderStatus::Refunded) => Ok(vec![]),
                _ => conflict("nothing was paid to refund".into()),
            },
        }
    }

    /// The lines the order process says it reserved must be the lines the order was
    /// placed with: each SKU in the quantity ordered, whatever warehouses it comes
    /// from. Anything else is refused, so no reservation can slip other goods into
    /// an order.
    fn check_reserved_lines(&self, reserved: &[ReservationLine]) -> Result<(), DomainError> {
        let mut wanted: std::collections::BTreeMap<&str, u64> = Default::default();
        for line in &self.lines {
            *wanted.entry(line.sku.as_str()).or_default() += line.quantity;
        }
        let mut got: std::collections::BTreeMap<&str, u64> = Default::default();
        for line in reserved {
            let units = got.entry(line.sku.as_str()).or_default();
            *units = units.saturating_add(line.quantity);
        }
        if wanted == got {
            return Ok(());
        }
        Err(DomainError::new(
            ErrorKind::Conflict,
            crate::Refusal::ReservedLinesMismatch,
            "the reserved lines are not the lines the order was placed with",
        ))
    }

    /// The order, if it was ever placed; else the refusal a read of it answers.
    pub fn must_exist(&self) -> Result<(), DomainError> {
        match self.status {
            OrderStatus::New => Err(self.unknown()),
            _ => Ok(()),
        }
    }

    fn unknown(&self) -> DomainError {
        DomainError::new(
            ErrorKind::NotFound,
            crate::Refusal::UnknownOrder,
            "there is no such order",
        )
    }
}

crate::aggregate::aggregate!(Order, ORDER_AGGREGATE, OrderCommand, OrderEvent,
    decide: |order, command, _services| order.decide(command));

impl crate::Hosted for Order {
    type View = Order;

    fn view(&self) -> Order {
        self.clone()
    }
}
