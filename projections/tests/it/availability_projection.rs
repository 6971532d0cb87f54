//! The availability projection: live equals rebuilt, nothing applied twice, and
//! queries keep answering while a rebuild runs.

use std::sync::Arc;
use std::time::Duration;

use event_log::Database;
use projections::availability::{self, Availability};
use projections::Projector;

use crate::support::{mixed_events, Backend, Expected, Writer};

crate::on_both_backends!(
    live_projection_folds_every_event,
    rebuilt_copy_answers_like_the_live_one,
    two_runners_on_one_database_apply_each_event_once,
    queries_keep_answering_while_a_rebuild_runs_beside_new_writes,
    min_position_waits_for_the_live_runner,
);

/// Every row the projection shows for the expected keys, as (on_hand, held).
async fn shown(read: &Database, expected: &Expected) -> (Expected, i64) {
    let mut rows = Expected::new();
    let mut position = i64::MAX;
    let skus: std::collections::BTreeSet<&String> = expected.keys().map(|(sku, _)| sku).collect();
    for sku in skus {
        let (view, at) = availability::query(read, sku, None).await.unwrap();
        position = position.min(at);
        let view = view.unwrap_or_else(|| panic!("{sku} is missing"));
        assert_eq!(
            view.on_hand,
            view.warehouses.iter().map(|w| w.on_hand).sum::<i64>()
        );
        assert_eq!(
            view.held,
            view.warehouses.iter().map(|w| w.held).sum::<i64>()
        );
        for w in view.warehouses {
            assert_eq!(w.available, (w.on_hand - w.held).max(0));
            rows.insert((sku.clone(), w.warehouse_id), (w.on_hand, w.held));
        }
    }
    (rows, position)
}

async fn live_projection_folds_every_event(backend: &Backend) {
    let projector = Projector::open(backend.read.clone(), Availability)
        .await
        .unwrap();
    let mut writer = Writer::default();
    for round in 0..5 {
        writer.write(&backend.store, mixed_events(round, 20)).await;
    }
    let position = projector.catch_up().await.unwrap();
    assert_eq!(position, writer.last_position);
    let (rows, at) = shown(&backend.read, &writer.expected).await;
    assert_eq!(rows, writer.expected);
    assert_eq!(at, writer.last_position);
    let (unknown, _) = availability::query(&backend.read, "NO-SUCH-SKU", None)
        .await
        .unwrap();
    assert!(unknown.is_none());
}

async fn rebuilt_copy_answers_like_the_live_one(backend: &Backend) {
    let projector = Projector::open(backend.read.clone(), Availability)
        .await
        .unwrap();
    let mut writer = Writer::default();
    for round in 0..8 {
        writer.write(&backend.store, mixed_events(round, 30)).await;
    }
    projector.catch_up().await.unwrap();
    let live = shown(&backend.read, &writer.expected).await;
    let status = projector.rebuild().await.unwrap();
    assert_eq!(status.state, projections::RebuildState::Done);
    assert_eq!(status.generation, 2);
    assert_eq!(status.position, writer.last_position);
    let rebuilt = shown(&backend.read, &writer.expected).await;
    assert_eq!(rebuilt, live);
    assert_eq!(rebuilt.0, writer.expected);
    // The replaced generation's rows are gone, and the next rebuild takes the next one.
    let status = projector.rebuild().await.unwrap();
    assert_eq!(status.generation, 3);
    assert_eq!(shown(&backend.read, &writer.expected).await, live);
}

async fn two_runners_on_one_database_apply_each_event_once(backend: &Backend) {
    // Two projectors on one database stand for two server processes.
    let first = Projector::open(backend.read.clone(), Availability)
        .await
        .unwrap();
    let second = Projector::open(backend.read.clone(), Availability)
        .await
        .unwrap();
    let mut writer = Writer::default();
    for round in 0..6 {
        writer.write(&backend.store, mixed_events(round, 25)).await;
        let (a, b) = tokio::join!(first.catch_up(), second.catch_up());
        a.unwrap();
        b.unwrap();
    }
    // Replaying what is already applied changes nothing either.
    first.catch_up().await.unwrap();
    let (rows, at) = shown(&backend.read, &writer.expected).await;
    assert_eq!(rows, writer.expected);
    assert_eq!(at, writer.last_position);
}

async fn queries_keep_answering_while_a_rebuild_runs_beside_new_writes(backend: &Backend) {
    let projector = Projector::open(backend.read.clone(), Availability)
        .await
        .unwrap();
    projector.spawn_live(backend.store.committed());
    let mut writer = Writer::default();
    for round in 0..10 {
        writer.write(&backend.store, mixed_events(round, 40)).await;
    }
    projector
        .wait_for(writer.last_position, Duration::from_secs(30))
        .await
        .unwrap();

    let reader = {
        let read = backend.read.clone();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut answers = 0;
            let mut last = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                let (view, position) = availability::query(&read, "SKU-1", None).await.unwrap();
                assert!(view.is_some(), "SKU-1 vanished during the rebuild");
                assert!(
                    position >= last,
                    "the answer went back from {last} to {position}"
                );
                last = position;
                answers += 1;
                tokio::task::yield_now().await;
            }
            answers
        });
        (stop, task)
    };
    let rebuild = projector.start_rebuild().unwrap();
    assert_eq!(rebuild.state, projections::RebuildState::Running);
    assert!(matches!(
        projector.start_rebuild(),
        Err(projections::runtime::ProjectionError::RebuildRunning)
    ));
    for round in 10..14 {
        writer.write(&backend.store, mixed_events(round, 40)).await;
    }
    let mut status = projector.subscribe_rebuild();
    let done = status
        .wait_for(|s| s.state != projections::RebuildState::Running)
        .await
        .unwrap()
        .clone();
    assert_eq!(
        done.state,
        projections::RebuildState::Done,
        "{:?}",
        done.error
    );
    projector
        .wait_for(writer.last_position, Duration::from_secs(30))
        .await
        .unwrap();
    reader.0.store(true, std::sync::atomic::Ordering::Relaxed);
    let answers = reader.1.await.unwrap();
    assert!(answers > 0);
    let (rows, _) = shown(&backend.read, &writer.expected).await;
    assert_eq!(rows, writer.expected);
}

async fn min_position_waits_for_the_live_runner(backend: &Backend) {
    let projector = Projector::open(backend.read.clone(), Availability)
        .await
        .unwrap();
    projector.spawn_live(backend.store.committed());
    let mut writer = Writer::default();
    writer.write(&backend.store, mixed_events(0, 5)).await;
    projector
        .wait_for(writer.last_position, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(projector.position() >= writer.last_position);
    let beyond = writer.last_position + 1_000;
    let stale = projector.wait_for(beyond, Duration::from_millis(50)).await;
    assert_eq!(
        stale,
        Err(projections::WaitError::Stale {
            current: projector.position(),
            wanted: beyond
        })
    );
}
