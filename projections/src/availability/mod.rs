//! Availability: stock on hand, held and available per SKU and warehouse, kept in
//! SQL (the durable copy: rebuilds, other processes) and in each process's memory
//! ([`live`], which the API answers from).
//!
//! Each batch of events is folded in memory into one change per (SKU, warehouse) —
//! a count that sets on hand, plus deltas — and written with one upsert per row, so a
//! rebuild touches each row once per batch however many events it had.

use std::collections::HashMap;

use event_schemas::stock::STOCK_AGGREGATE;
use event_schemas::{RecordedEvent, StockEvent};

use event_log::{on_reader, Database, LogRecord, WriteTx};
use serde::Serialize;

use crate::runtime::{ProjectionError, SqlModel};

pub mod live;
pub use live::LiveAvailability;

pub struct Availability;

/// One warehouse's stock of a SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WarehouseAvailability {
    pub warehouse_id: String,
    pub on_hand: i64,
    pub held: i64,
    pub available: i64,
}

/// A SKU's stock over all warehouses, and the log position it reflects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AvailabilityView {
    pub sku: String,
    pub on_hand: i64,
    pub held: i64,
    pub available: i64,
    pub warehouses: Vec<WarehouseAvailability>,
    pub position: i64,
}

/// The change a batch makes to one row.
#[derive(Debug, Default, Clone, Copy)]
pub struct Change {
    /// A count in the batch set on hand to this (before `on_hand_delta`).
    set_on_hand: Option<i64>,
    on_hand_delta: i64,
    held_delta: i64,
}

const TABLES: &[&str] = &["CREATE TABLE IF NOT EXISTS availability (
        generation BIGINT NOT NULL,
        sku TEXT NOT NULL,
        warehouse_id TEXT NOT NULL,
        on_hand BIGINT NOT NULL,
        held BIGINT NOT NULL,
        PRIMARY KEY (generation, sku, warehouse_id))"];

const UPSERT_ONE: &str = "INSERT INTO availability (generation, sku, warehouse_id, on_hand, held)
     VALUES ($1, $2, $3, COALESCE($4, 0) + $5, $6)
     ON CONFLICT (generation, sku, warehouse_id) DO UPDATE SET
        on_hand = COALESCE($4, availability.on_hand) + $5,
        held = availability.held + $6";

/// The same change for many rows at once. Updates need the existing row (a count
/// replaces on hand, deltas add to it), so existing rows are updated and the rest
/// inserted; the checkpoint lock keeps other runners out meanwhile.
const UPSERT_MANY: &str = "WITH u AS (
        SELECT * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
            AS u(sku, warehouse_id, set_on_hand, on_hand_delta, held_delta)),
     updated AS (
        UPDATE availability s
        SET on_hand = COALESCE(u.set_on_hand, s.on_hand) + u.on_hand_delta,
            held = s.held + u.held_delta
        FROM u
        WHERE s.generation = $1 AND s.sku = u.sku AND s.warehouse_id = u.warehouse_id
        RETURNING s.sku, s.warehouse_id)
     INSERT INTO availability (generation, sku, warehouse_id, on_hand, held)
     SELECT $1, u.sku, u.warehouse_id, COALESCE(u.set_on_hand, 0) + u.on_hand_delta, u.held_delta
     FROM u
     WHERE NOT EXISTS (SELECT 1 FROM updated d WHERE d.sku = u.sku AND d.warehouse_id = u.warehouse_id)";

impl Change {
    /// On hand and held after this change to `(on_hand, held)`.
    pub fn applied_to(&self, (on_hand, held): (i64, i64)) -> (i64, i64) {
        (
            self.set_on_hand.unwrap_or(on_hand) + self.on_hand_delta,
            held + self.held_delta,
        )
    }
}

/// What a batch of records changes in each (SKU, warehouse)'s stock: the one
/// reading of stock events, for the SQL model and every copy kept in memory.
pub fn fold(events: &[LogRecord]) -> Result<HashMap<(String, String), Change>, ProjectionError> {
    let mut changes: HashMap<(String, String), Change> = HashMap::new();
    for record in events {
        if record.aggregate_type != STOCK_AGGREGATE {
            continue;
        }
        let RecordedEvent::Stock(event) = record.decode()? else {
            continue;
        };
        let (sku, warehouse_id) = event.stock_key();
        let change = changes
            .entry((sku.to_string(), warehouse_id.to_string()))
            .or_default();
        match &event {
            StockEvent::StockReceived { quantity, .. } => change.on_hand_delta += *quantity as i64,
            StockEvent::StockSold {
                quantity, hold_id, ..
            } => {
                change.on_hand_delta -= *quantity as i64;
                if hold_id.is_some() {
                    change.held_delta -= *quantity as i64;
                }
            }
            StockEvent::StockAdjusted { new_quantity, .. } => {
                change.set_on_hand = Some(*new_quantity as i64);
                change.on_hand_delta = 0;
            }
            StockEvent::StockShortfallDetected { .. } | StockEvent::StockHoldExtended { .. } => {}
            StockEvent::StockHeld { quantity, .. } => change.held_delta += *quantity as i64,
            StockEvent::StockHoldReleased { quantity, .. } => change.held_delta -= *quantity as i64,
        }
    }
    Ok(changes)
}

impl SqlModel for Availability {
    const NAME: &'static str = "availability";
    const TABLE: &'static str = "availability";

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
        let changes = fold(events);
        {
            let changes = changes?;
            match tx {
                WriteTx::Sqlite(t) => {
                    for ((sku, warehouse_id), change) in &changes {
                        sqlx::query(UPSERT_ONE)
                            .bind(generation)
                            .bind(sku)
                            .bind(warehouse_id)
                            .bind(change.set_on_hand)
                            .bind(change.on_hand_delta)
                            .bind(change.held_delta)
                            .execute(&mut **t)
                            .await?;
                    }
                }
                WriteTx::Postgres(t) => {
                    let mut skus = Vec::with_capacity(changes.len());
                    let mut warehouses = Vec::with_capacity(changes.len());
                    let mut sets = Vec::with_capacity(changes.len());
                    let mut on_hand = Vec::with_capacity(changes.len());
                    let mut held = Vec::with_capacity(changes.len());
                    for ((sku, warehouse_id), change) in &changes {
                        skus.push(sku.as_str());
                        warehouses.push(warehouse_id.as_str());
                        sets.push(change.set_on_hand);
                        on_hand.push(change.on_hand_delta);
                        held.push(change.held_delta);
                    }
                    sqlx::query(UPSERT_MANY)
                        .bind(generation)
                        .bind(&skus)
                        .bind(&warehouses)
                        .bind(&sets)
                        .bind(&on_hand)
                        .bind(&held)
                        .execute(&mut **t)
                        .await?;
                }
            }
            Ok(())
        }
    }
}

/// The rows of one SKU (optionally one warehouse) in the active generation, with the
/// position they reflect, read in one statement so the two agree. `None` when the
/// SKU (or that warehouse's stock of it) is unknown.
pub async fn query(
    db: &Database,
    sku: &str,
    warehouse_id: Option<&str>,
) -> Result<(Option<AvailabilityView>, i64), sqlx::Error> {
    type Row = (i64, Option<String>, Option<i64>, Option<i64>);
    let rows: Vec<Row> = on_reader!(db, pool => {
        sqlx::query_as(
            "SELECT c.position, s.warehouse_id, s.on_hand, s.held
             FROM projection_active a
             JOIN projection_checkpoints c ON c.name = a.name AND c.generation = a.generation
             LEFT JOIN availability s ON s.generation = a.generation AND s.sku = $2
                  AND ($3 IS NULL OR s.warehouse_id = $3)
             WHERE a.name = $1
             ORDER BY s.warehouse_id",
        )
        .bind(Availability::NAME)
        .bind(sku)
        .bind(warehouse_id)
        .fetch_all(pool)
        .await?
    });
    let position = rows.first().map(|r| r.0).unwrap_or(0);
    let warehouses: Vec<WarehouseAvailability> = rows
        .into_iter()
        .filter_map(|(_, warehouse_id, on_hand, held)| {
            let (on_hand, held) = (on_hand?, held?);
            Some(WarehouseAvailability {
                warehouse_id: warehouse_id?,
                on_hand,
                held,
                available: (on_hand - held).max(0),
            })
        })
        .collect();
    Ok((AvailabilityView::of(sku, warehouses, position), position))
}

impl AvailabilityView {
    /// A SKU's view from its warehouses' rows (`None` without any).
    pub fn of(sku: &str, warehouses: Vec<WarehouseAvailability>, position: i64) -> Option<Self> {
        if warehouses.is_empty() {
            return None;
        }
        Some(AvailabilityView {
            sku: sku.to_string(),
            on_hand: warehouses.iter().map(|w| w.on_hand).sum(),
            held: warehouses.iter().map(|w| w.held).sum(),
            available: warehouses.iter().map(|w| w.available).sum(),
            warehouses,
            position,
        })
    }
}
