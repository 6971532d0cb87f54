//! Open holds: what the expiry sweep reads, including holds of other processes.

use chrono::{TimeZone, Utc};
use event_schemas::StockEvent;
use projections::open_holds::{next_expiries, OpenHolds};
use projections::Projector;

use crate::support::{Backend, Writer};

crate::on_both_backends!(
    timed_holds_are_listed_until_sold_or_released,
    rebuilt_open_holds_match_live
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
