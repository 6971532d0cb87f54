//! Open stock holds, with when each runs out: what the expiry sweep works from, so a
//! hold expires on time after a restart, and whichever process took it.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use event_schemas::stock::STOCK_AGGREGATE;
use event_schemas::{RecordedEvent, StockEvent};

use crate::db::{ReadDb, WriteTx};
use crate::log::LogRecord;
use crate::runtime::{ProjectionError, SqlModel};
use crate::{on_reader, on_tx};

pub struct OpenHolds;

const TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS open_holds (
        generation BIGINT NOT NULL,
        sku TEXT NOT NULL,
        warehouse_id TEXT NOT NULL,
        hold_id TEXT NOT NULL,
        quantity BIGINT NOT NULL,
        -- microseconds since the epoch; NULL for a hold without an end
        expires_at_us BIGINT,
        PRIMARY KEY (generation, sku, warehouse_id, hold_id))",
    "CREATE INDEX IF NOT EXISTS open_holds_expiry ON open_holds (generation, expires_at_us)",
];

/// What a batch does to one hold, folded over its events in order.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Change {
    /// Held (again) with this quantity and end.
    Set(i64, Option<i64>),
    /// Sold from by this many units (the row may not be in this batch).
    Less(i64),
    Gone,
}

impl Change {
    fn then(self, next: Change) -> Change {
        match (self, next) {
            (_, Change::Set(..)) | (_, Change::Gone) => next,
            (Change::Set(q, at), Change::Less(d)) if q > d => Change::Set(q - d, at),
            (Change::Set(..), Change::Less(_)) => Change::Gone,
            (Change::Less(a), Change::Less(b)) => Change::Less(a + b),
            (Change::Gone, Change::Less(_)) => Change::Gone,
        }
    }
}

type HoldKey = (String, String, String);

fn fold(records: &[LogRecord]) -> Result<Vec<(HoldKey, Change)>, ProjectionError> {
    let mut order = Vec::new();
    let mut changes: HashMap<HoldKey, Change> = HashMap::new();
    for record in records {
        if record.aggregate_type != STOCK_AGGREGATE {
            continue;
        }
        let RecordedEvent::Stock(event) = record.decode()? else {
            continue;
        };
        let (key, change) = match event {
            StockEvent::StockHeld {
                sku,
                warehouse_id,
                hold_id,
                quantity,
                expires_at,
            } => (
                (sku, warehouse_id, hold_id),
                Change::Set(quantity as i64, expires_at.map(|at| at.timestamp_micros())),
            ),
            StockEvent::StockSold {
                sku,
                warehouse_id,
                hold_id: Some(hold_id),
                quantity,
                ..
            } => ((sku, warehouse_id, hold_id), Change::Less(quantity as i64)),
            StockEvent::StockHoldReleased {
                sku,
                warehouse_id,
                hold_id,
                ..
            } => ((sku, warehouse_id, hold_id), Change::Gone),
            _ => continue,
        };
        match changes.get_mut(&key) {
            Some(existing) => *existing = existing.then(change),
            None => {
                order.push(key.clone());
                changes.insert(key, change);
            }
        }
    }
    Ok(order
        .into_iter()
        .map(|key| {
            let change = changes[&key];
            (key, change)
        })
        .collect())
}

impl SqlModel for OpenHolds {
    const NAME: &'static str = "open_holds";

    fn tables(&self) -> &'static [&'static str] {
        TABLES
    }

    async fn apply(
        &self,
        tx: &mut WriteTx,
        generation: i64,
        events: &[LogRecord],
    ) -> Result<(), ProjectionError> {
        for ((sku, warehouse_id, hold_id), change) in fold(events)? {
            on_tx!(&mut *tx, t => {
                match change {
                    Change::Set(quantity, expires_at_us) => {
                        sqlx::query(
                            "INSERT INTO open_holds (generation, sku, warehouse_id, hold_id, quantity, expires_at_us)
                             VALUES ($1, $2, $3, $4, $5, $6)
                             ON CONFLICT (generation, sku, warehouse_id, hold_id)
                             DO UPDATE SET quantity = EXCLUDED.quantity, expires_at_us = EXCLUDED.expires_at_us",
                        )
                        .bind(generation).bind(&sku).bind(&warehouse_id).bind(&hold_id)
                        .bind(quantity).bind(expires_at_us)
                        .execute(&mut **t).await?;
                    }
                    Change::Less(units) => {
                        sqlx::query(
                            "UPDATE open_holds SET quantity = quantity - $5
                             WHERE generation = $1 AND sku = $2 AND warehouse_id = $3 AND hold_id = $4",
                        )
                        .bind(generation).bind(&sku).bind(&warehouse_id).bind(&hold_id).bind(units)
                        .execute(&mut **t).await?;
                        sqlx::query(
                            "DELETE FROM open_holds
                             WHERE generation = $1 AND sku = $2 AND warehouse_id = $3 AND hold_id = $4 AND quantity <= 0",
                        )
                        .bind(generation).bind(&sku).bind(&warehouse_id).bind(&hold_id)
                        .execute(&mut **t).await?;
                    }
                    Change::Gone => {
                        sqlx::query(
                            "DELETE FROM open_holds
                             WHERE generation = $1 AND sku = $2 AND warehouse_id = $3 AND hold_id = $4",
                        )
                        .bind(generation).bind(&sku).bind(&warehouse_id).bind(&hold_id)
                        .execute(&mut **t).await?;
                    }
                }
            });
        }
        Ok(())
    }

    async fn drop_generation(
        &self,
        tx: &mut WriteTx,
        generation: i64,
    ) -> Result<(), ProjectionError> {
        on_tx!(tx, t => {
            sqlx::query("DELETE FROM open_holds WHERE generation = $1")
                .bind(generation)
                .execute(&mut **t)
                .await?;
        });
        Ok(())
    }
}

/// Per stock with timed holds, when its next hold runs out (active generation).
pub async fn next_expiries(
    db: &ReadDb,
) -> Result<Vec<(String, String, DateTime<Utc>)>, sqlx::Error> {
    let rows: Vec<(String, String, i64)> = on_reader!(db, pool => {
        sqlx::query_as(
            "SELECT h.sku, h.warehouse_id, MIN(h.expires_at_us)
             FROM projection_active a
             JOIN open_holds h ON h.generation = a.generation
             WHERE a.name = $1 AND h.expires_at_us IS NOT NULL
             GROUP BY h.sku, h.warehouse_id",
        )
        .bind(OpenHolds::NAME)
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .filter_map(|(sku, warehouse_id, micros)| {
            Utc.timestamp_micros(micros)
                .single()
                .map(|at| (sku, warehouse_id, at))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::Change::*;

    #[test]
    fn changes_to_one_hold_fold_in_order() {
        assert_eq!(Set(5, None).then(Less(2)), Set(3, None));
        assert_eq!(Set(2, Some(9)).then(Less(2)), Gone);
        assert_eq!(Less(1).then(Less(2)), Less(3));
        assert_eq!(Less(1).then(Gone), Gone);
        assert_eq!(Gone.then(Set(4, None)), Set(4, None));
        assert_eq!(Gone.then(Less(1)), Gone);
    }
}
