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
    /// Stock is held for every line (under the order id) until `expires_at`.
    OrderStockReserved {
        order_id: String,
        lines: Vec<ReservationLine>,
        expires_at: DateTime<Utc>,
        explanation: String,
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
}

impl OrderEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            OrderEvent::OrderPlaced { .. } => "OrderPlaced",
            OrderEvent::OrderStockReserved { .. } => "OrderStockReserved",
            OrderEvent::OrderRejected { .. } => "OrderRejected",
            OrderEvent::OrderCancelled { .. } => "OrderCancelled",
        }
    }
}
