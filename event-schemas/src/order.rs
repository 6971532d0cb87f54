//! Events of the Order aggregate.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::reservation::ReservationLine;
use crate::values::Money;

/// Aggregate type under which order events are stored.
pub const ORDER_AGGREGATE: &str = "order";

/// A line of an order, priced from the catalog when it was placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PricedLine {
    pub sku: String,
    pub quantity: u64,
    pub unit_price: Money,
}

/// A delivery charged as a quote promised it (`POST /v1/delivery/quotes`): the fee,
/// and everything it was priced from, so every fee charged can be explained later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct QuotedDelivery {
    pub fee: Money,
    /// Base fee plus distance, before any multiplier.
    pub base: u64,
    /// Every multiplier above 1: `demand`, `weather`, `rush_hour`, `local_event`.
    pub multipliers: Vec<ChargedMultiplier>,
    /// The rules that bound the fee, in the order they apply.
    pub bindings: Vec<ChargedRule>,
    /// The warehouse the order ships from, in one shipment.
    pub pickup_warehouse: String,
    /// The zone (H3 cell) it is delivered to.
    pub dropoff_cell: String,
    /// The goods' value the fee was priced for: the goods are worth at least this.
    pub order_value: u64,
    pub quoted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The log position the quote was priced at.
    pub priced_at_position: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChargedMultiplier {
    pub kind: String,
    pub value: f64,
}

/// A rule that bound a fee: `global_cap`, `emergency_cap` (multipliers before and
/// after), `floor`, `ceiling`, `free_delivery` (amounts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChargedRule {
    pub rule: String,
    pub before: f64,
    pub after: f64,
}

/// Where an order goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Destination {
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum OrderEvent {
    OrderPlaced {
        order_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        customer: Option<String>,
        lines: Vec<PricedLine>,
        total: Money,
        ship_to: Destination,
        priority: bool,
    },
    /// An order for units a flash sale holds for the buyer: placed and reserved at
    /// once, at the sale price, payable until `payment_due`.
    FlashSaleOrderPlaced {
        order_id: String,
        customer: String,
        sale_id: String,
        line: PricedLine,
        warehouse_id: String,
        total: Money,
        payment_due: DateTime<Utc>,
    },
    /// An order for a stay: the listing holds its nights for the guest until
    /// `payment_due`; paying confirms the stay. Nothing is allocated from stock.
    StayOrderPlaced {
        order_id: String,
        customer: String,
        listing_id: String,
        stay_id: String,
        total: Money,
        payment_due: DateTime<Utc>,
    },
    /// The order's delivery, at the fee its quote promised (recorded with the placing;
    /// the fee is part of what the buyer pays).
    DeliveryQuoted {
        order_id: String,
        delivery: QuotedDelivery,
    },
    /// Stock is held for every line (under the order id) until `expires_at`.
    OrderStockReserved {
        order_id: String,
        lines: Vec<ReservationLine>,
        expires_at: DateTime<Utc>,
        explanation: String,
        /// Until when the buyer may pay (before the holds run out).
        payment_due: DateTime<Utc>,
    },
    /// Stock could not be held; nothing is held.
    OrderRejected {
        order_id: String,
        reason: String,
        detail: String,
    },
    OrderCancelled {
        order_id: String,
        reason: String,
    },
    /// The payment provider says the buyer paid.
    OrderPaid {
        order_id: String,
        payment_id: String,
        amount: Money,
    },
    /// The held units were sold: the order is confirmed.
    OrderConfirmed {
        order_id: String,
    },
    /// One shipment to send, from one warehouse.
    FulfillmentRequested {
        order_id: String,
        warehouse_id: String,
        lines: Vec<ReservationLine>,
    },
    /// A requested shipment left its warehouse (reported by the fulfilment service).
    ShipmentDispatched {
        order_id: String,
        warehouse_id: String,
        carrier: String,
        tracking_number: String,
    },
    OrderPaymentFailed {
        order_id: String,
        payment_id: String,
    },
    /// No payment came in time; the stock was released.
    OrderPaymentTimedOut {
        order_id: String,
    },
    /// Something the customer must be told (a failed payment, a refund).
    CustomerNotified {
        order_id: String,
        message: String,
    },
    /// A payment came that does not match the order's total: refused, and flagged.
    PaymentAmountMismatch {
        order_id: String,
        payment_id: String,
        expected: Money,
        received: Money,
    },
    /// A second, different successful payment for an order already paid: that
    /// payment is given back; the order stays as it is.
    DuplicatePaymentRefunded {
        order_id: String,
        payment_id: String,
        amount: Money,
    },
    /// A payment came for stock that could no longer be held: give the money back.
    RefundRequested {
        order_id: String,
        payment_id: String,
        amount: Money,
        reason: String,
    },
}

impl OrderEvent {
    /// The order the event belongs to.
    pub fn order_id(&self) -> &str {
        match self {
            OrderEvent::OrderPlaced { order_id, .. }
            | OrderEvent::OrderStockReserved { order_id, .. }
            | OrderEvent::FlashSaleOrderPlaced { order_id, .. }
            | OrderEvent::StayOrderPlaced { order_id, .. }
            | OrderEvent::OrderRejected { order_id, .. }
            | OrderEvent::OrderCancelled { order_id, .. }
            | OrderEvent::OrderPaid { order_id, .. }
            | OrderEvent::OrderConfirmed { order_id }
            | OrderEvent::FulfillmentRequested { order_id, .. }
            | OrderEvent::ShipmentDispatched { order_id, .. }
            | OrderEvent::OrderPaymentFailed { order_id, .. }
            | OrderEvent::OrderPaymentTimedOut { order_id }
            | OrderEvent::CustomerNotified { order_id, .. }
            | OrderEvent::PaymentAmountMismatch { order_id, .. }
            | OrderEvent::RefundRequested { order_id, .. }
            | OrderEvent::DuplicatePaymentRefunded { order_id, .. }
            | OrderEvent::DeliveryQuoted { order_id, .. } => order_id,
        }
    }

    pub fn event_type(&self) -> &'static str {
        match self {
            OrderEvent::OrderPlaced { .. } => "OrderPlaced",
            OrderEvent::FlashSaleOrderPlaced { .. } => "FlashSaleOrderPlaced",
            OrderEvent::StayOrderPlaced { .. } => "StayOrderPlaced",
            OrderEvent::OrderStockReserved { .. } => "OrderStockReserved",
            OrderEvent::OrderRejected { .. } => "OrderRejected",
            OrderEvent::OrderCancelled { .. } => "OrderCancelled",
            OrderEvent::OrderPaid { .. } => "OrderPaid",
            OrderEvent::OrderConfirmed { .. } => "OrderConfirmed",
            OrderEvent::FulfillmentRequested { .. } => "FulfillmentRequested",
            OrderEvent::ShipmentDispatched { .. } => "ShipmentDispatched",
            OrderEvent::OrderPaymentFailed { .. } => "OrderPaymentFailed",
            OrderEvent::OrderPaymentTimedOut { .. } => "OrderPaymentTimedOut",
            OrderEvent::CustomerNotified { .. } => "CustomerNotified",
            OrderEvent::PaymentAmountMismatch { .. } => "PaymentAmountMismatch",
            OrderEvent::RefundRequested { .. } => "RefundRequested",
            OrderEvent::DuplicatePaymentRefunded { .. } => "DuplicatePaymentRefunded",
            OrderEvent::DeliveryQuoted { .. } => "DeliveryQuoted",
        }
    }
}
