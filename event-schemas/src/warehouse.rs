//! Events of the Warehouse aggregate.
//!
//! `WarehouseRegistered` is at version 2.0: version 1.0 named the shipping rates
//! `ships_to`; 2.0 names them `shipping_rates` (the field keeps its Rust name, which
//! the domain and the API use). [`crate::upcast`] brings 1.0 payloads forward.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::values::{GeoPoint, ShippingRate};

/// Aggregate type under which warehouse events are stored.
pub const WAREHOUSE_AGGREGATE: &str = "warehouse";

/// The version `WarehouseRegistered` is written with today.
pub const WAREHOUSE_REGISTERED_VERSION: &str = "2.0";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum WarehouseEvent {
    WarehouseRegistered {
        warehouse_id: String,
        name: String,
        region: String,
        location: GeoPoint,
        /// Stored as `shipping_rates` since version 2.0 (`ships_to` in 1.0).
        #[serde(rename = "shipping_rates")]
        ships_to: Vec<ShippingRate>,
    },
}

impl WarehouseEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            WarehouseEvent::WarehouseRegistered { .. } => "WarehouseRegistered",
        }
    }

    /// The version this event is written with.
    pub fn event_version(&self) -> &'static str {
        match self {
            WarehouseEvent::WarehouseRegistered { .. } => WAREHOUSE_REGISTERED_VERSION,
        }
    }
}
