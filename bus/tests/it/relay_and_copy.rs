//! The relay publishes the log, once each event, in order, as CloudEvents; a copy
//! taken from the stream equals the log; a second relay on the same database
//! waits; and a copy resumes where it left off without taking an event twice.

use std::time::Duration;

use async_nats::jetstream;
use bus::copier::spawn_copier;
use bus::relay::{spawn_relay, RelayState};
use event_log::{Database, EventStore};
use event_schemas::Envelope;
use serde_json::json;
use testkit::TestLog;

use crate::{fresh_prefix, nats_url};

const PATIENCE: Duration = Duration::from_secs(30);

/// Every event of the log, whole.
async fn log_of(db: &Database) -> Vec<Envelope> {
    db.read_envelopes_after(0, 1_000_000).await.unwrap()
}

async fn append_some(log: &mut TestLog, round: usize) {
    for i in 0..25 {
        log.append(
            "stock",
            &format!("sku-{}:ams", i % 5),
            "StockReceived",
            "1.0",
            json!({"StockReceived": {"sku": format!("sku-{}", i % 5), "round": round, "i": i}}),
        )
        .await;
    }
}

async fn open_copy() -> (tempfile::TempDir, EventStore) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::connect(None, dir.path()).await.unwrap();
    (dir, EventStore::open_copy(db).await.unwrap())
}

async fn wait_until(rx: &mut tokio::sync::watch::Receiver<i64>, position: i64) {
    tokio::time::timeout(PATIENCE, rx.wait_for(|p| *p >= position))
        .await
        .unwrap_or_else(|_| panic!("the copy never reached {position}"))
        .unwrap();
}

#[tokio::test]
async fn the_stream_and_a_copy_of_it_hold_the_log_once_each_in_order() {
    let mut log = TestLog::postgres().await;
    let naming = fresh_prefix();
    let client = bus::connect(&nats_url(), "bus-test").await.unwrap();
    // An event written at an old version travels upcast.
    log.append(
        "warehouse",
        "ams",
        "WarehouseRegistered",
        "1.0",
        json!({"WarehouseRegistered": {"warehouse_id": "ams", "name": "A", "region": "eu",
               "location": {"lat": 52.0, "lon": 4.0}, "ships_to": []}}),
    )
    .await;
    append_some(&mut log, 0).await;

    let mut relay = spawn_relay(log.store.clone(), client.clone(), naming.clone());
    // A second process's relay on the same database waits while the first relays.
    let second_store = EventStore::open(
        Database::connect(Some(&pg_url(&log)), log.dir.path())
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    let mut standby = spawn_relay(second_store, client.clone(), naming.clone());

    let (_copy_dir, copy) = open_copy().await;
    let mut copied = copy.committed();
    let reports = spawn_copier(copy.clone(), client.clone(), naming.clone(), "q1".into());
    wait_until(&mut copied, log.last_position).await;

    // More events while both run, in several commits.
    for round in 1..4 {
        append_some(&mut log, round).await;
    }
    wait_until(&mut copied, log.last_position).await;
    tokio::time::timeout(
        PATIENCE,
        relay.wait_for(|r| r.state == RelayState::Relaying && r.position == log.last_position),
    )
    .await
    .expect("the relay reports what it published")
    .unwrap();
    tokio::time::timeout(
        PATIENCE,
        standby.wait_for(|r| r.state == RelayState::Standby),
    )
    .await
    .expect("the second relay stands by")
    .unwrap();

    let source = log_of(&log.read).await;
    let copy_log = log_of(copy.database()).await;
    assert_eq!(copy_log.len(), source.len());
    for (copied, original) in copy_log.iter().zip(&source) {
        if original.event_type == "WarehouseRegistered" {
            assert_eq!(copied.event_version, "2.0");
            assert!(copied.payload["WarehouseRegistered"]
                .get("shipping_rates")
                .is_some());
            assert_eq!(copied.position, original.position);
        } else {
            assert_eq!(copied, original);
        }
    }

    // The stream holds exactly the log: one message per event, in log order.
    let jetstream = jetstream::new(client.clone());
    let stream = jetstream.get_stream(naming.stream()).await.unwrap();
    let mut positions = Vec::new();
    for sequence in 1..=source.len() as u64 + 1 {
        match stream.get_raw_message(sequence).await {
            Ok(message) => {
                let headers = &message.headers;
                assert_eq!(headers.get("ce-specversion").unwrap().as_str(), "1.0");
                assert_eq!(
                    headers.get("content-type").unwrap().as_str(),
                    "application/json"
                );
                assert_eq!(
                    headers.get("ce-id").unwrap().as_str(),
                    headers.get("Nats-Msg-Id").unwrap().as_str()
                );
                positions.push(bus::cloudevent::position(Some(headers), sequence).unwrap());
            }
            Err(_) => break,
        }
    }
    assert_eq!(
        positions,
        source.iter().map(|e| e.position).collect::<Vec<_>>()
    );
    assert_eq!(reports.borrow().stream_sequence, source.len() as u64);
    jetstream.delete_stream(naming.stream()).await.unwrap();
    log.drop_database().await;
}

/// A copy on PostgreSQL, in a database of its own.
async fn open_copy_on_postgres() -> (testkit::PgDatabase, tempfile::TempDir, EventStore) {
    let pg = testkit::PgDatabase::create_named("commerce_copy").await;
    let dir = tempfile::tempdir().unwrap();
    let db = Database::connect(Some(&pg.url), dir.path()).await.unwrap();
    (pg, dir, EventStore::open_copy(db).await.unwrap())
}

#[tokio::test]
async fn a_copy_on_postgres_resumes_where_it_stopped_and_takes_nothing_twice() {
    let mut log = TestLog::sqlite().await;
    let naming = fresh_prefix();
    let client = bus::connect(&nats_url(), "bus-test").await.unwrap();
    append_some(&mut log, 0).await;
    let _relay = spawn_relay(log.store.clone(), client.clone(), naming.clone());

    let (pg, _copy_dir, copy) = open_copy_on_postgres().await;
    let copied = bus::copier::copy_through(&copy, client.clone(), &naming, "q2", log.last_position)
        .await
        .unwrap();
    assert_eq!(copied, 25);
    append_some(&mut log, 1).await;
    let copied = bus::copier::copy_through(&copy, client.clone(), &naming, "q2", log.last_position)
        .await
        .unwrap();
    assert_eq!(copied, 25, "only the new events are copied");
    assert_eq!(log_of(copy.database()).await, log_of(&log.read).await);
    // The copy takes no appends of its own.
    let refused = copy
        .append(&[testkit::events::batch(
            "x",
            0,
            testkit::events::events("x", 1, 1),
        )])
        .await;
    assert!(
        matches!(refused, Err(event_log::StoreError::Copy)),
        "{refused:?}"
    );
    jetstream::new(client)
        .delete_stream(naming.stream())
        .await
        .unwrap();
    pg.drop_database().await;
}

fn pg_url(log: &TestLog) -> String {
    log.pg_url().expect("a PostgreSQL log").to_string()
}
