//! The registered warehouses and where they ship, read straight from their events
//! (there are few, and the events table's key starts with the aggregate type).

use event_schemas::warehouse::WAREHOUSE_AGGREGATE;
use event_schemas::{ShippingRate, WarehouseEvent};

use crate::db::ReadDb;
use crate::log::LogError;

/// A warehouse as allocation needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct WarehouseRates {
    pub warehouse_id: String,
    pub ships_to: Vec<ShippingRate>,
}

/// Every registered warehouse, in id order.
pub async fn all(db: &ReadDb) -> Result<Vec<WarehouseRates>, LogError> {
    const QUERY: &str = "SELECT position, CAST(payload AS TEXT) FROM events
         WHERE aggregate_type = $1 ORDER BY aggregate_id, sequence";
    let rows: Vec<(i64, String)> = crate::on_reader!(db, pool => {
        sqlx::query_as(QUERY).bind(WAREHOUSE_AGGREGATE).fetch_all(pool).await?
    });
    rows.into_iter()
        .map(|(position, payload)| {
            let event: WarehouseEvent =
                serde_json::from_str(&payload).map_err(|e| LogError::Corrupt {
                    position,
                    reason: e.to_string(),
                })?;
            let WarehouseEvent::WarehouseRegistered {
                warehouse_id,
                ships_to,
                ..
            } = event;
            Ok(WarehouseRates {
                warehouse_id,
                ships_to,
            })
        })
        .collect()
}
