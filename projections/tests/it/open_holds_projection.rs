//! Open holds: what the expiry sweep reads, including holds of other processes.

use chrono::{TimeZone, Utc};
use event_log::{AppendBatch, NewEvent};
use event_schemas::Metadata;
use event_schemas::StockEvent;
use projections::open_holds::{next_expiries, OpenHolds};
use projections::Projector;

use crate::support::{Backend, Writer};

crate::on_both_backends!(
    timed_holds_are_listed_until_sold_or_released,
    rebuilt_open_holds_match_live,
    the_checkpoint_moves_on_over_records_the_model_does_not_read
);

fn held(sku: &str, hold: &str, quantity: u64, minute: Option<u32>) -> StockEvent {
    StockEvent::StockHeld {
        sku: sku.into(),
        warehouse_id: "wh".into(),
        hold_id: hold.into(),
        quantity,
        expires_at: minute.map(|m| Utc.with_ymd_and_hms(2030, 1, 1, 0, m, 0).unwrap()),
    }
}

fn sold(sku: &str, hold: &str, quantity: u64) -> StockEvent {
    StockEvent::StockSold {
        sku: sku.into(),
        warehouse_id: "wh".into(),
        quantity,
        hold_id: Some(hold.into()),
        order_id: None,
    }
}

fn released(sku: &str, hold: &str) -> StockEvent {
    StockEvent::StockHoldReleased {
        sku: sku.into(),
        warehouse_id: "wh".into(),
        hold_id: hold.into(),
        quantity: 0,
        reason: "released".into(),
    }
}

async fn listed(backend: &Backend) -> Vec<(String, u32)> {
    let mut rows: Vec<(String, u32)> = next_expiries(&backend.read)
        .await
        .unwrap()
        .into_iter()
        .map(|(sku, _, at)| (sku, chrono::Timelike::minute(&at)))
        .collect();
    rows.sort();
    rows
}

async fn timed_holds_are_listed_until_sold_or_released(backend: &Backend) {
    let projector = Projector::open(backend.read.clone(), OpenHolds)
        .await
        .unwrap();
    let mut writer = Writer::default();
    writer
        .write(
            &backend.store,
            vec![
                held("A", "h1", 3, Some(15)),
                held("A", "h2", 1, Some(5)),
                held("B", "h1", 2, Some(30)),
                held("C", "h1", 2, None),
            ],
        )
        .await;
    projector.catch_up().await.unwrap();
    // Per stock, the earliest end; a hold without an end never expires.
    assert_eq!(listed(backend).await, [("A".into(), 5), ("B".into(), 30)]);
    // A partial sale keeps the hold; selling the rest, or releasing, ends it.
    writer
        .write(&backend.store, vec![sold("A", "h2", 1), sold("B", "h1", 1)])
        .await;
    projector.catch_up().await.unwrap();
    assert_eq!(listed(backend).await, [("A".into(), 15), ("B".into(), 30)]);
    // Within one batch: held, sold from in part, then released.
    writer
        .write(
            &backend.store,
            vec![
                released("B", "h1"),
                held("D", "h9", 4, Some(1)),
                sold("D", "h9", 1),
                released("A", "h1"),
            ],
        )
        .await;
    projector.catch_up().await.unwrap();
    assert_eq!(listed(backend).await, [("D".into(), 1)]);
}

async fn rebuilt_open_holds_match_live(backend: &Backend) {
    let projector = Projector::open(backend.read.clone(), OpenHolds)
        .await
        .unwrap();
    let mut writer = Writer::default();
    for round in 0..5u32 {
        let sku = format!("S{round}");
        writer
            .write(
                &backend.store,
                vec![
                    held(&sku, "a", 3, Some(round + 1)),
                    held(&sku, "b", 2, Some(round + 10)),
                    sold(&sku, "a", 3),
                ],
            )
            .await;
        projector.catch_up().await.unwrap();
    }
    let live = listed(backend).await;
    assert_eq!(live.len(), 5);
    assert!(live.iter().all(|(_, minute)| *minute >= 10), "{live:?}");
    projector.rebuild().await.unwrap();
    assert_eq!(listed(backend).await, live);
}

/// The runner takes only what its model reads, yet writes its checkpoint down past
/// long runs of other records, so a restart does not read them all again.
async fn the_checkpoint_moves_on_over_records_the_model_does_not_read(backend: &Backend) {
    let projector = Projector::open(backend.read.clone(), OpenHolds)
        .await
        .unwrap();
    let mut writer = Writer::default();
    writer
        .write(&backend.store, vec![held("A", "h1", 1, Some(5))])
        .await;
    let memos = |from: usize, count: usize| AppendBatch {
        aggregate_type: "memo".into(),
        aggregate_id: "m".into(),
        expected_sequence: from as i64,
        events: (from..from + count)
            .map(|n| NewEvent {
                event_id: uuid::Uuid::now_v7(),
                event_type: "Noted".into(),
                event_version: "1.0".into(),
                payload: format!(r#"{{"Noted":{{"n":{n}}}}}"#),
                metadata: Metadata::default(),
                occurred_at: Utc::now(),
            })
            .collect(),
        receipts: Vec::new(),
    };
    projector.catch_up().await.unwrap();
    // A few: followed, but not worth a write.
    backend.store.append(&[memos(0, 10)]).await.unwrap();
    let head = backend.store.last_committed();
    assert_eq!(projector.catch_up().await.unwrap(), head);
    let restarted = Projector::open(backend.read.clone(), OpenHolds)
        .await
        .unwrap();
    assert_eq!(restarted.position(), writer.last_position);
    // Many: written down.
    backend.store.append(&[memos(10, 10_000)]).await.unwrap();
    let head = backend.store.last_committed();
    assert_eq!(projector.catch_up().await.unwrap(), head);
    let restarted = Projector::open(backend.read.clone(), OpenHolds)
        .await
        .unwrap();
    assert_eq!(restarted.position(), head);
    assert_eq!(listed(backend).await, [("A".into(), 5)]);
}
