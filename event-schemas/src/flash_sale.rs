//! Events of the FlashSale aggregate: a fixed number of units of one SKU, set aside
//! from a warehouse's stock as one Stock hold under the sale id, sold at a sale price
//! inside a window. Buyers' units are tracked here: held for a buyer while they pay,
//! then sold, or returned to the sale for the next buyer.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::values::Money;

/// Aggregate type under which flash-sale events are stored.
pub const FLASH_SALE_AGGREGATE: &str = "flash_sale";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum FlashSaleEvent {
    /// The sale exists; its units are held in stock under the sale id.
    FlashSaleScheduled {
        sale_id: String,
        sku: String,
        warehouse_id: String,
        units: u64,
        price: Money,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        per_user_limit: u64,
        payment_window_seconds: u64,
    },
    /// Units held for a buyer's order until they pay or `expires_at`.
    FlashSaleUnitsHeld {
        sale_id: String,
        order_id: String,
        user_id: String,
        quantity: u64,
        expires_at: DateTime<Utc>,
    },
    /// The buyer paid: their held units are sold.
    FlashSaleUnitsSold {
        sale_id: String,
        order_id: String,
        quantity: u64,
    },
    /// A buyer's units went back to the sale (payment failed, timed out, cancelled).
    FlashSaleUnitsReturned {
        sale_id: String,
        order_id: String,
        quantity: u64,
        reason: String,
    },
    /// No more purchases: the window closed or the sale was cancelled.
    FlashSaleEnded {
        sale_id: String,
        reason: String,
        /// Units neither sold nor held by a buyer when it ended.
        unsold: u64,
    },
}

impl FlashSaleEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            FlashSaleEvent::FlashSaleScheduled { .. } => "FlashSaleScheduled",
            FlashSaleEvent::FlashSaleUnitsHeld { .. } => "FlashSaleUnitsHeld",
            FlashSaleEvent::FlashSaleUnitsSold { .. } => "FlashSaleUnitsSold",
            FlashSaleEvent::FlashSaleUnitsReturned { .. } => "FlashSaleUnitsReturned",
            FlashSaleEvent::FlashSaleEnded { .. } => "FlashSaleEnded",
        }
    }
}
