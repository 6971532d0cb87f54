//! Events of the Stock aggregate: one stream per (SKU, warehouse).
//!
//! Every event names its SKU and warehouse and carries the quantities it moved, so a
//! read model can be built from the events alone without knowing aggregate state.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Aggregate type under which stock events are stored.
pub const STOCK_AGGREGATE: &str = "stock";

/// The aggregate id of the stock of `sku` in `warehouse_id`. Ids are validated not to
/// contain `@`, so the id is unambiguous.
pub fn stock_aggregate_id(sku: &str, warehouse_id: &str) -> String {
    format!("{sku}@{warehouse_id}")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum StockEvent {
    /// Units arrived in the warehouse.
    StockReceived {
        sku: String,
        warehouse_id: String,
        quantity: u64,
    },
    /// Units left the warehouse sold, either from free stock or from a named hold
    /// (then the hold shrinks by `quantity`, and closes when it reaches zero).
    StockSold {
        sku: String,
        warehouse_id: String,
        quantity: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hold_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        order_id: Option<String>,
    },
    /// A count set the quantity on hand.
    StockAdjusted {
        sku: String,
        warehouse_id: String,
        previous_quantity: u64,
        new_quantity: u64,
        reason: String,
    },
    /// After an adjustment, fewer units are on hand than are held. Until the shortfall
    /// is cleared (by receipts, adjustments or releases) nothing new is held or sold.
    StockShortfallDetected {
        sku: String,
        warehouse_id: String,
        on_hand: u64,
        held: u64,
        shortfall: u64,
    },
    /// Units were set aside under a hold id, optionally until `expires_at`.
    StockHeld {
        sku: String,
        warehouse_id: String,
        hold_id: String,
        quantity: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<DateTime<Utc>>,
    },
    /// A hold's end moved later (a payment still in flight, say).
    StockHoldExtended {
        sku: String,
        warehouse_id: String,
        hold_id: String,
        expires_at: DateTime<Utc>,
    },
    /// A hold was let go; `quantity` is what it still held.
    StockHoldReleased {
        sku: String,
        warehouse_id: String,
        hold_id: String,
        quantity: u64,
        reason: String,
    },
}

impl StockEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            StockEvent::StockReceived { .. } => "StockReceived",
            StockEvent::StockSold { .. } => "StockSold",
            StockEvent::StockAdjusted { .. } => "StockAdjusted",
            StockEvent::StockShortfallDetected { .. } => "StockShortfallDetected",
            StockEvent::StockHeld { .. } => "StockHeld",
            StockEvent::StockHoldReleased { .. } => "StockHoldReleased",
            StockEvent::StockHoldExtended { .. } => "StockHoldExtended",
        }
    }

    /// The (sku, warehouse_id) the event belongs to.
    pub fn stock_key(&self) -> (&str, &str) {
        match self {
            StockEvent::StockReceived {
                sku, warehouse_id, ..
            }
            | StockEvent::StockSold {
                sku, warehouse_id, ..
            }
            | StockEvent::StockAdjusted {
                sku, warehouse_id, ..
            }
            | StockEvent::StockShortfallDetected {
                sku, warehouse_id, ..
            }
            | StockEvent::StockHeld {
                sku, warehouse_id, ..
            }
            | StockEvent::StockHoldReleased {
                sku, warehouse_id, ..
            }
            | StockEvent::StockHoldExtended {
                sku, warehouse_id, ..
            } => (sku, warehouse_id),
        }
    }
}
