//! Open stock holds, with when each runs out: what the expiry sweep works from, so a
//! hold expires on time after a restart, and whichever process took it.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use event_schemas::stock::STOCK_AGGREGATE;
use event_schemas::{RecordedEvent, StockEvent};

use crate::runtime::{ProjectionError, SqlModel};
use event_log::{on_reader, on_tx, Database, LogRecord, WriteTx};

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
struct Change {
    /// Where the hold starts from in this batch.
    base: Base,
    /// Units sold from it since.
    less: i64,
    /// A new end set since (extended).
    until: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Base {
    /// The row as stored.
    Stored,
    /// Held (again) in this batch, with this quantity and end.
    Held(i64, Option<i64>),
    /// Released, or sold out, in this batch.
    Gone,
}

impl Change {
    fn new(base: Base) -> Self {
        Change {
            base,
            less: 0,
            until: None,
        }
    }

    fn then(self, event: Change) -> Change {
        match event.base {
            Base::Held(..) | Base::Gone => event,
            Base::Stored if self.base == Base::Gone => self,
            Base::Stored => Change {
                base: self.base,
                less: self.less + event.less,
                until: event.until.or(self.until),
            },
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
                Change::new(Base::Held(
                    quantity as i64,
                    expires_at.map(|at| at.timestamp_micros()),
                )),
            ),
            StockEvent::StockSold {
                sku,
                warehouse_id,
                hold_id: Some(hold_id),
                quantity,
                ..
            } => (
                (sku, warehouse_id, hold_id),
                Change {
                    less: quantity as i64,
                    ..Change::new(Base::Stored)
                },
            ),
            StockEvent::StockHoldExtended {
                sku,
                warehouse_id,
                hold_id,
                expires_at,
            } => (
                (sku, warehouse_id, hold_id),
                Change {
                    until: Some(expires_at.timestamp_micros()),
                    ..Change::new(Base::Stored)
                },
            ),
            StockEvent::StockHoldReleased {
                sku,
                warehouse_id,
                hold_id,
                ..
            } => ((sku, warehouse_id, hold_id), Change::new(Base::Gone)),
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
    const TABLE: &'static str = "open_holds";

    fn reads(&self, record: &LogRecord) -> bool {
        record.aggregate_type == STOCK_AGGREGATE
    }

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
            let key = (
                generation,
                sku.as_str(),
                warehouse_id.as_str(),
                hold_id.as_str(),
            );
            match change.base {
                Base::Gone => delete(tx, key).await?,
                Base::Held(quantity, expires_at_us) => {
                    let quantity = quantity - change.less;
                    if quantity <= 0 {
                        delete(tx, key).await?;
                    } else {
                        on_tx!(&mut *tx, t => {
                            sqlx::query(
                                "INSERT INTO open_holds (generation, sku, warehouse_id, hold_id, quantity, expires_at_us)
                                 VALUES ($1, $2, $3, $4, $5, $6)
                                 ON CONFLICT (generation, sku, warehouse_id, hold_id)
                                 DO UPDATE SET quantity = EXCLUDED.quantity, expires_at_us = EXCLUDED.expires_at_us",
                            )
                            .bind(key.0).bind(key.1).bind(key.2).bind(key.3)
                            .bind(quantity).bind(change.until.or(expires_at_us))
                            .execute(&mut **t).await?;
                        });
                    }
                }
                Base::Stored => {
                    on_tx!(&mut *tx, t => {
                        sqlx::query(
                            "UPDATE open_holds SET quantity = quantity - $5, expires_at_us = COALESCE($6, expires_at_us)
                             WHERE generation = $1 AND sku = $2 AND warehouse_id = $3 AND hold_id = $4",
                        )
                        .bind(key.0).bind(key.1).bind(key.2).bind(key.3)
                        .bind(change.less).bind(change.until)
                        .execute(&mut **t).await?;
                        sqlx::query(
                            "DELETE FROM open_holds
                             WHERE generation = $1 AND sku = $2 AND warehouse_id = $3 AND hold_id = $4 AND quantity <= 0",
                        )
                        .bind(key.0).bind(key.1).bind(key.2).bind(key.3)
                        .execute(&mut **t).await?;
                    });
                }
            }
        }
        Ok(())
    }
}

async fn delete(
    tx: &mut WriteTx,
    (generation, sku, warehouse_id, hold_id): (i64, &str, &str, &str),
) -> Result<(), ProjectionError> {
    on_tx!(tx, t => {
        sqlx::query("DELETE FROM open_holds WHERE generation = $1 AND sku = $2 AND warehouse_id = $3 AND hold_id = $4")
            .bind(generation).bind(sku).bind(warehouse_id).bind(hold_id)
            .execute(&mut **t).await?;
    });
    Ok(())
}

/// An open hold, as an operator reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenHold {
    pub warehouse_id: String,
    pub hold_id: String,
    pub quantity: i64,
    /// `None` for a hold without an end (a flash sale's units, say).
    pub expires_at: Option<DateTime<Utc>>,
}

/// A SKU's open holds, the soonest to run out first (at most `limit`).
pub async fn of_sku(db: &Database, sku: &str, limit: i64) -> Result<Vec<OpenHold>, sqlx::Error> {
    let rows: Vec<(String, String, i64, Option<i64>)> = on_reader!(db, pool => {
        sqlx::query_as(
            "SELECT h.warehouse_id, h.hold_id, h.quantity, h.expires_at_us
             FROM projection_active a
             JOIN open_holds h ON h.generation = a.generation
             WHERE a.name = $1 AND h.sku = $2
             ORDER BY h.expires_at_us IS NULL, h.expires_at_us, h.warehouse_id, h.hold_id
             LIMIT $3",
        )
        .bind(OpenHolds::NAME)
        .bind(sku)
        .bind(limit)
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|(warehouse_id, hold_id, quantity, micros)| OpenHold {
            warehouse_id,
            hold_id,
            quantity,
            expires_at: micros.and_then(|m| Utc.timestamp_micros(m).single()),
        })
        .collect())
}

/// Per stock with timed holds, when its next hold runs out (active generation).
pub async fn next_expiries(
    db: &Database,
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
    use super::{Base, Change};

    fn less(units: i64) -> Change {
        Change {
            less: units,
            ..Change::new(Base::Stored)
        }
    }

    fn until(at: i64) -> Change {
        Change {
            until: Some(at),
            ..Change::new(Base::Stored)
        }
    }

    #[test]
    fn changes_to_one_hold_fold_in_order() {
        let held = Change::new(Base::Held(5, Some(1)));
        assert_eq!(
            held.then(less(2)).then(until(9)),
            Change {
                until: Some(9),
                less: 2,
                ..held
            }
        );
        assert_eq!(less(1).then(less(2)), less(3));
        assert_eq!(
            less(1).then(Change::new(Base::Gone)),
            Change::new(Base::Gone)
        );
        assert_eq!(Change::new(Base::Gone).then(held), held);
        assert_eq!(
            Change::new(Base::Gone).then(less(1)),
            Change::new(Base::Gone)
        );
        assert_eq!(until(3).then(until(4)), until(4));
    }
}
