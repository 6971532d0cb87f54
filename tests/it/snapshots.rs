//! A cold aggregate loads as its newest snapshot and the events after it, in one
//! round trip, on both databases.

use event_log::{AppendBatch, Database, EventStore, NewEvent, Snapshot};
use event_schemas::Metadata;
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, Env};

on_both_backends!(a_cold_aggregate_loads_its_newest_snapshot_and_what_follows);

fn event(n: i64) -> NewEvent {
    NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: "Noted".into(),
        event_version: "1.0".into(),
        payload: json!({ "Noted": { "n": n } }).to_string(),
        metadata: Metadata::default(),
        occurred_at: chrono::Utc::now(),
    }
}

async fn a_cold_aggregate_loads_its_newest_snapshot_and_what_follows(backend: Backend) {
    let env = Env::new(backend).await;
    let db = Database::connect(env.database_url(), env.data_dir())
        .await
        .unwrap();
    let store = EventStore::open(db.clone()).await.unwrap();
    let batch = AppendBatch {
        aggregate_type: "note".into(),
        aggregate_id: "n-1".into(),
        expected_sequence: 0,
        events: (1..=5).map(event).collect(),
        receipts: Vec::new(),
    };
    store.append(&[batch]).await.unwrap().remove(0).unwrap();

    // Without a snapshot: every event, in order
    let (snapshot, events) = store.load_latest("note", "n-1").await.unwrap();
    assert!(snapshot.is_none());
    let sequences: Vec<i64> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, [1, 2, 3, 4, 5]);
    assert_eq!(events[4].payload, json!({ "Noted": { "n": 5 } }));

    // With snapshots at 2 and 3: the newest, and the events after it
    for last_sequence in [2, 3] {
        let snapshot = Snapshot {
            last_sequence,
            payload: json!({ "upto": last_sequence }),
        };
        store.save_snapshot("note", "n-1", &snapshot).await.unwrap();
    }
    let (snapshot, events) = store.load_latest("note", "n-1").await.unwrap();
    let snapshot = snapshot.expect("the snapshot");
    assert_eq!(snapshot.last_sequence, 3);
    assert_eq!(snapshot.payload, json!({ "upto": 3 }));
    let sequences: Vec<i64> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, [4, 5]);
    assert!(events.iter().all(|e| e.position > 0));

    // Another aggregate's stream and an unknown one stay apart
    let (none, nothing) = store.load_latest("note", "n-2").await.unwrap();
    assert!(none.is_none() && nothing.is_empty());
    crate::upcasting::close(db).await;
}
