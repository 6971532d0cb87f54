//! Availability in memory: it starts from the SQL read model wherever that stands
//! and follows the log from there, so it answers exactly what the SQL model answers
//! once both reached the same position; `min_position` waits for it.

use std::time::Duration;

use projections::availability::{self, Availability, LiveAvailability};
use projections::Projector;

use crate::support::{mixed_events, Backend, Expected, Writer};

crate::on_both_backends!(
    memory_answers_as_the_sql_model_from_any_starting_point,
    min_position_waits_for_the_memory_copy,
    catching_up_while_others_commit_applies_each_event_once,
);

/// What the memory copy shows for the expected keys, as (on_hand, held).
fn shown(live: &LiveAvailability, expected: &Expected) -> Expected {
    let mut rows = Expected::new();
    let skus: std::collections::BTreeSet<&String> = expected.keys().map(|(sku, _)| sku).collect();
    for sku in skus {
        let (view, _) = live.query(sku, None);
        let view = view.unwrap_or_else(|| panic!("{sku} is missing"));
        for w in view.warehouses {
            assert_eq!(w.available, (w.on_hand - w.held).max(0));
            rows.insert((sku.clone(), w.warehouse_id), (w.on_hand, w.held));
        }
    }
    rows
}

async fn memory_answers_as_the_sql_model_from_any_starting_point(backend: &Backend) {
    // Given a log of which the SQL model has applied only the first part
    let projector = Projector::open(backend.read.clone(), Availability)
        .await
        .unwrap();
    let mut writer = Writer::default();
    for round in 0..3 {
        writer.write(&backend.store, mixed_events(round, 20)).await;
    }
    projector.catch_up().await.unwrap();
    for round in 3..6 {
        writer.write(&backend.store, mixed_events(round, 20)).await;
    }
    // When the memory copy loads (from the SQL rows, then the log after them)
    let live = LiveAvailability::load(&projector).await.unwrap();
    // Then it shows every event, at the log's head
    assert_eq!(live.position(), writer.last_position);
    assert_eq!(shown(&live, &writer.expected), writer.expected);

    // And as more is written, a catch-up follows, agreeing with the SQL model row
    // for row, one warehouse at a time too
    for round in 6..9 {
        writer.write(&backend.store, mixed_events(round, 25)).await;
    }
    live.catch_up().await.unwrap();
    projector.catch_up().await.unwrap();
    assert_eq!(shown(&live, &writer.expected), writer.expected);
    for (sku, warehouse_id) in writer.expected.keys() {
        let (memory, _) = live.query(sku, Some(warehouse_id));
        let (sql, _) = availability::query(&backend.read, sku, Some(warehouse_id))
            .await
            .unwrap();
        let strip = |view: Option<availability::AvailabilityView>| {
            view.map(|v| (v.on_hand, v.held, v.available, v.warehouses))
        };
        assert_eq!(strip(memory), strip(sql), "{sku} in {warehouse_id}");
    }
    assert!(live.query("NO-SUCH-SKU", None).0.is_none());
}

async fn min_position_waits_for_the_memory_copy(backend: &Backend) {
    let projector = Projector::open(backend.read.clone(), Availability)
        .await
        .unwrap();
    let live = LiveAvailability::load(&projector).await.unwrap();
    live.spawn_follow(backend.store.committed());
    let mut writer = Writer::default();
    writer.write(&backend.store, mixed_events(0, 5)).await;
    live.wait_for(writer.last_position, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(shown(&live, &writer.expected), writer.expected);
    let beyond = writer.last_position + 1_000;
    let stale = live.wait_for(beyond, Duration::from_millis(50)).await;
    assert_eq!(
        stale,
        Err(projections::WaitError::Stale {
            current: live.position(),
            wanted: beyond
        })
    );
}

async fn catching_up_while_others_commit_applies_each_event_once(backend: &Backend) {
    // Given a copy that catches up over and over while a writer commits
    let projector = Projector::open(backend.read.clone(), Availability)
        .await
        .unwrap();
    let live = std::sync::Arc::new(LiveAvailability::load(&projector).await.unwrap());
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let follower = {
        let (live, done) = (live.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                live.catch_up().await.unwrap();
            }
        })
    };
    let mut writer = Writer::default();
    for round in 0..40 {
        writer.write(&backend.store, mixed_events(round, 4)).await;
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    follower.await.unwrap();
    // When it catches up once more
    live.catch_up().await.unwrap();
    // Then every event counts once: a read that saw events committed after the head
    // it read first must not read them again
    assert_eq!(live.position(), writer.last_position);
    assert_eq!(shown(&live, &writer.expected), writer.expected);
}
