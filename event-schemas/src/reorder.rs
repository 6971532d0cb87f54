//! Events of reorder suggestions: one stream per SKU × warehouse (`sku@warehouse`),
//! written by the replenishment process when available stock crosses the reorder
//! point, once per crossing.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Aggregate type of reorder suggestions.
pub const REORDER_AGGREGATE: &str = "reorder";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum ReorderEvent {
    /// Available stock fell to or under the reorder point: order this much.
    ReorderSuggested {
        sku: String,
        warehouse_id: String,
        available: i64,
        velocity: f64,
        safety_stock: f64,
        reorder_point: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        days_of_cover: Option<f64>,
        suggested_quantity: u64,
    },
    /// Available stock is above the reorder point again: the next fall is a new
    /// crossing.
    ReorderPointCleared {
        sku: String,
        warehouse_id: String,
        available: i64,
    },
}

impl ReorderEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            ReorderEvent::ReorderSuggested { .. } => "ReorderSuggested",
            ReorderEvent::ReorderPointCleared { .. } => "ReorderPointCleared",
        }
    }
}
