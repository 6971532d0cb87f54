//! Availability in memory, in each process: the most-read answer in a shop (every
//! product page) served without a database round trip.
//!
//! It starts from the SQL read model (rows and checkpoint read in one statement, so
//! they agree) and then follows the log itself as a [`LiveCopy`], stock events only,
//! folding each round with the SQL model's own [`fold`]. Read-your-writes is the
//! same contract as the SQL model's: `min_position` waits until the copy has
//! reached that position.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use event_log::{on_reader, LogRecord};
use event_schemas::stock::STOCK_AGGREGATE;

use super::{fold, Availability, AvailabilityView, Change, WarehouseAvailability};
use crate::runtime::{InMemory, LiveCopy, ProjectionError, Projector, SqlModel};

/// On hand and held of one SKU in one warehouse.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Levels {
    on_hand: i64,
    held: i64,
}

/// Every SKU's stock per warehouse.
#[derive(Debug, Default)]
pub struct StockRows {
    rows: HashMap<String, BTreeMap<String, Levels>>,
}

impl InMemory for StockRows {
    const WHAT: &'static str = "live availability";
    const AGGREGATE_TYPE: Option<&'static str> = Some(STOCK_AGGREGATE);

    fn apply(&mut self, records: &[LogRecord]) -> Result<(), ProjectionError> {
        for ((sku, warehouse_id), change) in fold(records)? {
            let levels = self
                .rows
                .entry(sku)
                .or_default()
                .entry(warehouse_id)
                .or_default();
            apply(levels, change);
        }
        Ok(())
    }

    fn fresh(&self) -> Self {
        Self::default()
    }
}

/// Every SKU's stock per warehouse, in memory, as of its position.
pub type LiveAvailability = LiveCopy<StockRows>;

impl LiveCopy<StockRows> {
    /// Load the SQL read model's active generation (opened, so its tables exist),
    /// then catch up with the log.
    pub async fn load(sql: &Projector<Availability>) -> Result<Arc<Self>, ProjectionError> {
        let db = sql.db().clone();
        type Row = (
            i64,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<i64>,
        );
        let loaded: Vec<Row> = on_reader!(&db, pool => {
            sqlx::query_as(
                "SELECT c.position, s.sku, s.warehouse_id, s.on_hand, s.held
                 FROM projection_active a
                 JOIN projection_checkpoints c ON c.name = a.name AND c.generation = a.generation
                 LEFT JOIN availability s ON s.generation = a.generation
                 WHERE a.name = $1",
            )
            .bind(Availability::NAME)
            .fetch_all(pool)
            .await?
        });
        let position = loaded.first().map(|row| row.0).unwrap_or(0);
        let mut rows: HashMap<String, BTreeMap<String, Levels>> = HashMap::new();
        for (_, sku, warehouse_id, on_hand, held) in loaded {
            if let (Some(sku), Some(warehouse_id), Some(on_hand), Some(held)) =
                (sku, warehouse_id, on_hand, held)
            {
                rows.entry(sku)
                    .or_default()
                    .insert(warehouse_id, Levels { on_hand, held });
            }
        }
        let live = LiveCopy::new(db, StockRows { rows }, position);
        live.catch_up().await?;
        Ok(live)
    }

    /// A SKU's stock (in one warehouse, or all), and the position it reflects;
    /// `None` when no stock of it (there) was ever recorded.
    pub fn query(&self, sku: &str, warehouse_id: Option<&str>) -> (Option<AvailabilityView>, i64) {
        let (warehouses, position) = self.read(|stock| {
            stock
                .rows
                .get(sku)
                .into_iter()
                .flatten()
                .filter(|(id, _)| warehouse_id.is_none_or(|w| w == id.as_str()))
                .map(|(id, levels)| WarehouseAvailability {
                    warehouse_id: id.clone(),
                    on_hand: levels.on_hand,
                    held: levels.held,
                    available: (levels.on_hand - levels.held).max(0),
                })
                .collect::<Vec<_>>()
        });
        (AvailabilityView::of(sku, warehouses, position), position)
    }
}

/// A batch's change to one row, as the SQL model applies it.
fn apply(levels: &mut Levels, change: Change) {
    (levels.on_hand, levels.held) = change.applied_to((levels.on_hand, levels.held));
}
