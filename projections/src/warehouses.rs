//! The registered warehouses and where they ship, read straight from their events
//! (there are few, and the events table's key starts with the aggregate type).

use event_log::{Database, EventSource, LogError};
use event_schemas::warehouse::WAREHOUSE_AGGREGATE;
use event_schemas::{ShippingRate, WarehouseEvent};

/// A warehouse as allocation needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct WarehouseRates {
    pub warehouse_id: String,
    pub ships_to: Vec<ShippingRate>,
}

/// Every registered warehouse, in id order.
pub async fn all(db: &Database) -> Result<Vec<WarehouseRates>, LogError> {
    db.read_type(WAREHOUSE_AGGREGATE)
        .await?
        .iter()
        .map(|record| {
            let WarehouseEvent::WarehouseRegistered {
                warehouse_id,
                ships_to,
                ..
            } = record.decode_as()?;
            Ok(WarehouseRates {
                warehouse_id,
                ships_to,
            })
        })
        .collect()
}
