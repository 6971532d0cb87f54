//! Backends for the tests: a fresh SQLite directory or a fresh PostgreSQL database.

use std::collections::BTreeMap;

use event_log::{AppendBatch, EventStore, NewEvent};
use event_schemas::{Metadata, StockEvent};

/// A fresh database with its log open: `testkit`'s.
pub use testkit::TestLog as Backend;

/// Expected rows per (sku, warehouse): (on_hand, held).
pub type Expected = BTreeMap<(String, String), (i64, i64)>;

/// Writes stock events straight to the log and folds them into what availability
/// must show. The events are facts: the projection must fold whatever is logged.
#[derive(Default)]
pub struct Writer {
    sequences: BTreeMap<String, i64>,
    pub expected: Expected,
    pub last_position: i64,
}

impl Writer {
    pub async fn write(&mut self, store: &EventStore, events: Vec<StockEvent>) {
        let mut batches: Vec<AppendBatch> = Vec::new();
        for event in &events {
            let (sku, warehouse) = event.stock_key();
            let id = format!("{sku}@{warehouse}");
            let sequence = self.sequences.entry(id.clone()).or_default();
            let new = NewEvent {
                event_id: uuid::Uuid::now_v7(),
                event_type: event.event_type().into(),
                event_version: "1.0".into(),
                payload: serde_json::to_string(event).unwrap(),
                metadata: Metadata::default(),
                occurred_at: chrono::Utc::now(),
            };
            match batches.iter_mut().find(|b| b.aggregate_id == id) {
                Some(batch) => batch.events.push(new),
                None => batches.push(AppendBatch {
                    aggregate_type: "stock".into(),
                    aggregate_id: id,
                    expected_sequence: *sequence,
                    events: vec![new],
                    receipts: Vec::new(),
                }),
            }
        }
        let results = store.append(&batches).await.unwrap();
        for (batch, result) in batches.iter().zip(results) {
            let positions = result.expect("no other writer");
            *self.sequences.get_mut(&batch.aggregate_id).unwrap() += positions.len() as i64;
            self.last_position = self.last_position.max(*positions.last().unwrap());
        }
        for event in events {
            fold(&mut self.expected, &event);
        }
    }
}

fn fold(expected: &mut Expected, event: &StockEvent) {
    let (sku, warehouse) = event.stock_key();
    let row = expected
        .entry((sku.to_string(), warehouse.to_string()))
        .or_default();
    match event {
        StockEvent::StockReceived { quantity, .. } => row.0 += *quantity as i64,
        StockEvent::StockSold {
            quantity, hold_id, ..
        } => {
            row.0 -= *quantity as i64;
            if hold_id.is_some() {
                row.1 -= *quantity as i64;
            }
        }
        StockEvent::StockAdjusted { new_quantity, .. } => row.0 = *new_quantity as i64,
        StockEvent::StockShortfallDetected { .. } | StockEvent::StockHoldExtended { .. } => {}
        StockEvent::StockHeld { quantity, .. } => row.1 += *quantity as i64,
        StockEvent::StockHoldReleased { quantity, .. } => row.1 -= *quantity as i64,
    }
}

/// A deterministic mix of stock events over `skus` × 3 warehouses, round `round`.
pub fn mixed_events(round: u64, skus: u64) -> Vec<StockEvent> {
    let mut events = Vec::new();
    for s in 0..skus {
        let sku = format!("SKU-{s}");
        let warehouse_id = format!("wh-{}", (s + round) % 3);
        let q = 1 + (s * 7 + round * 13) % 9;
        let hold_id = format!("h-{round}-{s}");
        events.push(StockEvent::StockReceived {
            sku: sku.clone(),
            warehouse_id: warehouse_id.clone(),
            quantity: q + 5,
        });
        events.push(StockEvent::StockHeld {
            sku: sku.clone(),
            warehouse_id: warehouse_id.clone(),
            hold_id: hold_id.clone(),
            quantity: 2,
            expires_at: None,
        });
        events.push(StockEvent::StockSold {
            sku: sku.clone(),
            warehouse_id: warehouse_id.clone(),
            quantity: 1,
            hold_id: Some(hold_id.clone()),
            order_id: None,
        });
        if (s + round).is_multiple_of(4) {
            events.push(StockEvent::StockHoldReleased {
                sku: sku.clone(),
                warehouse_id: warehouse_id.clone(),
                hold_id,
                quantity: 1,
                reason: "released".into(),
            });
        }
        if (s + round).is_multiple_of(5) {
            events.push(StockEvent::StockAdjusted {
                sku: sku.clone(),
                warehouse_id: warehouse_id.clone(),
                previous_quantity: 0,
                new_quantity: q * 3,
                reason: "count".into(),
            });
        }
        events.push(StockEvent::StockSold {
            sku,
            warehouse_id,
            quantity: 1,
            hold_id: None,
            order_id: None,
        });
    }
    events
}

/// One test per check and backend: `sqlite::name` and `postgres::name` call
/// `name(&Backend)` (or `name(&mut Backend)`) on a fresh database.
#[macro_export]
macro_rules! on_both_backends {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let mut backend = $crate::support::Backend::sqlite().await;
                    super::$check(&mut backend).await;
                    backend.drop_database().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let mut backend = $crate::support::Backend::postgres().await;
                    super::$check(&mut backend).await;
                    backend.drop_database().await;
                }
            )*
        }
    };
}
