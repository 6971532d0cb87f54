//! Events of the Warehouse aggregate.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::values::{GeoPoint, ShippingRate};

/// Aggregate type under which warehouse events are stored.
pub const WAREHOUSE_AGGREGATE: &str = "warehouse";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum WarehouseEvent {
    WarehouseRegistered {
        warehouse_id: String,
        name: String,
        region: String,
        location: GeoPoint,
        ships_to: Vec<ShippingRate>,
    },
}

impl WarehouseEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            WarehouseEvent::WarehouseRegistered { .. } => "WarehouseRegistered",
        }
    }
}
